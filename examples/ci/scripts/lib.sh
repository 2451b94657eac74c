# Shared by the zplan CI scripts (sourced, not run). POSIX sh.
#
# Environment the scripts read (all optional unless a script says otherwise):
#   ZPLAN_ACCOUNTS_DIR  the directory of subscription files (default: accounts/)
#   ZPLAN_STATE         the shared state store, postgresql://… (a CI secret)
#   ZPLAN_ACTOR         who is acting (the approver's e-mail); apply needs it
#   ZPLAN_COMMIT        the commit being planned or applied, when the CI's own
#                       GITHUB_SHA / CI_COMMIT_SHA is another one (a pull-request
#                       merge ref, a review or comment event): recorded by apply
#   ZPLAN_CMD           how to run zplan (default: zplan from PATH)
#   ZPLAN_POLICY_DIR    guardrails: the directory of Rego policies and budgets.yaml
#                       in the repository (docs/guardrails.md)
#   ZPLAN_POLICY_REF    the base branch to read them from (origin/main): a pull
#                       request cannot relax the rules it is judged by
#   ZPLAN_PR_LABELS     the pull request's labels, comma-separated: policy data
#                       {"pr": {"labels": [...]}}
#   ZPLAN_HEADS_FILE    where a job that writes publishes the audit heads, and
#                       where the drift job finds the last published ones
#                       (default: zplan-heads.json)
#
# Keys (docs/security.md): only a job that writes holds ZPLAN_SIGNING_KEY (and
# the write credential in ZPLAN_STATE); the pull-request plan job holds only
# ZPLAN_PLAN_KEY and a read-only ZPLAN_STATE.

zplan() {
	if [ -n "${ZPLAN_CMD:-}" ]; then
		# shellcheck disable=SC2086 # ZPLAN_CMD may be a command with arguments
		$ZPLAN_CMD "$@"
	else
		command zplan "$@"
	fi
}

say() {
	printf 'zplan-ci: %s\n' "$*" >&2
}

# zplan records GITHUB_SHA (or CI_COMMIT_SHA) as the commit of an apply.
if [ -n "${ZPLAN_COMMIT:-}" ]; then
	GITHUB_SHA=$ZPLAN_COMMIT
	CI_COMMIT_SHA=$ZPLAN_COMMIT
	export GITHUB_SHA CI_COMMIT_SHA
fi

ZPLAN_ACCOUNTS_DIR=${ZPLAN_ACCOUNTS_DIR:-accounts/}

# This CI run, for links in comments (zplan itself records the same URL).
if [ -z "${ZPLAN_RUN_URL:-}" ]; then
	if [ -n "${GITHUB_RUN_ID:-}" ] && [ -n "${GITHUB_REPOSITORY:-}" ]; then
		ZPLAN_RUN_URL=${GITHUB_SERVER_URL:-https://github.com}/$GITHUB_REPOSITORY/actions/runs/$GITHUB_RUN_ID
	else
		ZPLAN_RUN_URL=${CI_PIPELINE_URL:-}
	fi
fi

# A CI job without the shared store would plan against an empty local one.
require_state() {
	if [ -z "${ZPLAN_STATE:-}" ] && [ "${CI:-}" = true ]; then
		say "ZPLAN_STATE is not set: give the job the shared store (a postgresql:// URL) as a secret"
		say "(pull requests from forks get no secrets)"
		exit 1
	fi
}

# Validation problems as CI annotations: GitHub workflow commands under GitHub
# Actions, text elsewhere.
diag_format() {
	if [ "${GITHUB_ACTIONS:-}" = true ]; then echo github; else echo text; fi
}

# Append a file to the GitHub job summary, when there is one.
to_summary() {
	if [ -n "${GITHUB_STEP_SUMMARY:-}" ] && [ -f "$1" ]; then
		cat "$1" >>"$GITHUB_STEP_SUMMARY"
	fi
}

# After a write: every account's audit head (serial and hash of its newest entry),
# to ZPLAN_HEADS_FILE (kept as an artifact) and the job summary. A record kept
# outside the store is what shows a truncated, rolled-back or deleted history.
publish_heads() {
	heads=${ZPLAN_HEADS_FILE:-zplan-heads.json}
	zplan state heads --format json >"$heads"
	say "audit heads published to $heads"
	if [ -n "${GITHUB_STEP_SUMMARY:-}" ]; then
		{
			echo "### zplan audit heads"
			echo
			echo '```json'
			cat "$heads"
			echo '```'
		} >>"$GITHUB_STEP_SUMMARY"
	fi
}

# Set a step output (GitHub) / print it (elsewhere).
output() {
	if [ -n "${GITHUB_OUTPUT:-}" ]; then
		printf '%s=%s\n' "$1" "$2" >>"$GITHUB_OUTPUT"
	fi
}

# Guardrails: the policies and budgets as they are on the base branch, and the
# pull request's labels as their data. Sets ZPLAN_POLICY and ZPLAN_POLICY_DATA,
# which zplan plan and zplan apply read.
policy_setup() {
	if [ -z "${ZPLAN_POLICY_DIR:-}" ]; then
		return 0
	fi
	policies=${TMPDIR:-/tmp}/zplan-policies.$$
	rm -rf "$policies"
	mkdir -p "$policies"
	if [ -n "${ZPLAN_POLICY_REF:-}" ]; then
		git archive "$ZPLAN_POLICY_REF" -- "$ZPLAN_POLICY_DIR" | tar -x -C "$policies"
	else
		say "ZPLAN_POLICY_REF is not set: the policies of the checked-out commit are used"
		mkdir -p "$policies/$ZPLAN_POLICY_DIR"
		cp -R "$ZPLAN_POLICY_DIR/." "$policies/$ZPLAN_POLICY_DIR/"
	fi
	"${ZPLAN_PYTHON:-python3}" -c 'import json, os, sys
labels = sorted({l.strip() for l in os.environ.get("ZPLAN_PR_LABELS", "").split(",") if l.strip()})
with open(sys.argv[1], "w", encoding="utf-8") as out:
    json.dump({"pr": {"labels": labels}}, out)' "$policies/labels.json"
	ZPLAN_POLICY=$policies/$ZPLAN_POLICY_DIR
	ZPLAN_POLICY_DATA=$policies/labels.json
	export ZPLAN_POLICY ZPLAN_POLICY_DATA
}
