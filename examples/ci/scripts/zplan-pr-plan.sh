#!/bin/sh
# The pull-request job: validate (as annotations), plan every account in
# ZPLAN_ACCOUNTS_DIR, save the signed plan for the apply job, and write the
# pull-request comment.
#
#   ZPLAN_PLAN_FILE     the signed plan to keep as an artifact (default: plan.json)
#   ZPLAN_COMMENT_FILE  the Markdown comment, marker first (default: zplan-comment.md)
#   ZPLAN_CODEQUALITY   also write the validation problems there as a GitLab
#                       Code Quality report (they show on the merge request's diff)
#   ZPLAN_COMMENT_FOOTER  text added at the end of the comment (how to apply)
#   ZPLAN_POLICY_DIR, ZPLAN_POLICY_REF, ZPLAN_PR_LABELS  guardrails (lib.sh)
#
# Exit 0 when there is a plan, with or without changes (zplan's exit code 2,
# "changes", is not a failure here); 1 when the files are invalid or zplan
# failed. The comment is written in every case, so the pull request says why.
set -eu
. "$(dirname "$0")/lib.sh"

dir=$ZPLAN_ACCOUNTS_DIR
plan_file=${ZPLAN_PLAN_FILE:-plan.json}
comment=${ZPLAN_COMMENT_FILE:-zplan-comment.md}
require_state
policy_setup
rm -f "$plan_file" "$comment"

# 1. Schema and rules. Annotations point at the offending line of each file.
valid=0
zplan validate --format "$(diag_format)" "$dir" || valid=$?
if [ -n "${ZPLAN_CODEQUALITY:-}" ]; then
	zplan validate --format json "$dir" >"$ZPLAN_CODEQUALITY.zplan.json" || true
	"${ZPLAN_PYTHON:-python3}" "$(dirname "$0")/codequality.py" "$ZPLAN_CODEQUALITY.zplan.json" >"$ZPLAN_CODEQUALITY"
	rm -f "$ZPLAN_CODEQUALITY.zplan.json"
fi

# 2. The priced plan, saved (signed) for the apply job. A plan with errors
# cannot be saved: invalid files, or what only the store reveals (a role, a
# currency change); the comment shows them all the same.
rc=0
if [ "$valid" -eq 0 ]; then
	zplan plan "$dir" --out "$plan_file" --format markdown --detailed-exitcode >"$comment" || rc=$?
fi
# A guardrail that denies the plan fails the job (zplan saved the plan, so that an
# owner may override it): its results as annotations and Code Quality entries on
# the subscription files, then the plan is not kept.
if [ -f "$plan_file" ] && [ -n "${ZPLAN_POLICY:-}" ]; then
	if [ "${GITHUB_ACTIONS:-}" = true ]; then
		zplan show "$plan_file" --format github || true
	fi
	if [ -n "${ZPLAN_CODEQUALITY:-}" ]; then
		"${ZPLAN_PYTHON:-python3}" "$(dirname "$0")/codequality.py" "$plan_file" >"$ZPLAN_CODEQUALITY.policy.json"
		"${ZPLAN_PYTHON:-python3}" -c 'import json, sys
merged = json.load(open(sys.argv[1])) + json.load(open(sys.argv[2]))
json.dump(merged, open(sys.argv[1], "w"), indent=2)' "$ZPLAN_CODEQUALITY" "$ZPLAN_CODEQUALITY.policy.json"
		rm -f "$ZPLAN_CODEQUALITY.policy.json"
	fi
fi
if [ "$valid" -ne 0 ] || { [ "$rc" -ne 0 ] && [ "$rc" -ne 2 ]; }; then
	rm -f "$plan_file"
	zplan plan "$dir" --format markdown >"$comment" || true
	rc=1
fi
if [ ! -s "$comment" ]; then
	# zplan could not plan at all (store unreachable, say): the log says why.
	{
		echo "<!-- zplan-plan -->"
		echo "### ❌ zplan could not make a plan"
		echo
		echo "See the job log${ZPLAN_RUN_URL:+: $ZPLAN_RUN_URL}."
	} >"$comment"
fi
{
	echo
	if [ -n "${ZPLAN_COMMIT:-${GITHUB_SHA:-${CI_COMMIT_SHA:-}}}" ]; then
		echo "<sub>Plan for commit ${ZPLAN_COMMIT:-${GITHUB_SHA:-${CI_COMMIT_SHA:-}}}${ZPLAN_RUN_URL:+ · [CI run]($ZPLAN_RUN_URL)}</sub>"
	fi
	if [ -n "${ZPLAN_COMMENT_FOOTER:-}" ] && [ "$rc" -ne 1 ]; then
		echo
		printf '%s\n' "$ZPLAN_COMMENT_FOOTER"
	fi
} >>"$comment"
to_summary "$comment"

# 3. The same plan as text, for the job log.
if [ -f "$plan_file" ]; then
	zplan show "$plan_file" --no-color
fi

case $rc in
0)
	output changes false
	say "no changes: the store matches the files in $dir"
	;;
2)
	output changes true
	say "plan saved to $plan_file; comment written to $comment"
	;;
*)
	output changes false
	say "no plan: fix the problems above (see $comment)"
	exit 1
	;;
esac
