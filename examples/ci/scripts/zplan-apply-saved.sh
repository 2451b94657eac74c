#!/bin/sh
# The approval job: apply exactly the plan saved by the pull-request job.
#
#   zplan-apply-saved.sh [PLANFILE]     (default: $ZPLAN_PLAN_FILE, else plan.json)
#
#   ZPLAN_ACTOR         the approver's e-mail: an owner or billing admin on record
#   ZPLAN_ALLOW_CANCEL  "true" to allow a plan that cancels a subscription
#   ZPLAN_RESULT_FILE   a Markdown report for the pull request (default: zplan-apply.md)
#
# zplan refuses, and nothing is written, when the plan was edited (signature),
# was made against another store, on another day, with another catalog, or is
# stale (an account changed after the plan was made). A plan applied already
# is not applied again (exit 0). Exit 1 on any refusal or error.
set -eu
. "$(dirname "$0")/lib.sh"

plan_file=${1:-${ZPLAN_PLAN_FILE:-plan.json}}
result=${ZPLAN_RESULT_FILE:-zplan-apply.md}
log=${result%.md}.log
require_state
policy_setup

rc=0
if [ ! -f "$plan_file" ]; then
	echo "zplan-ci: no saved plan at $plan_file: nothing applied. Wait for the plan job, or re-run it." >"$log"
	rc=1
else
	set -- apply "$plan_file" --no-color
	if [ "${ZPLAN_ALLOW_CANCEL:-}" = true ]; then
		set -- "$@" --allow-cancel
	fi
	zplan "$@" >"$log" 2>&1 || rc=$?
fi
cat "$log"
if [ "$rc" -eq 0 ]; then
	publish_heads
fi

commit=${ZPLAN_COMMIT:-${GITHUB_SHA:-${CI_COMMIT_SHA:-}}}
{
	echo "<!-- zplan-apply -->"
	if [ "$rc" -eq 0 ]; then
		echo "### ✅ zplan: the saved plan was applied"
	else
		echo "### ❌ zplan: the saved plan was not applied"
	fi
	echo
	echo "By ${ZPLAN_ACTOR:-(no actor)}${commit:+ for commit $commit}${ZPLAN_RUN_URL:+ · [CI run]($ZPLAN_RUN_URL)}"
	echo
	echo '```text'
	cat "$log"
	echo '```'
	if [ "$rc" -eq 0 ]; then
		# Live accounts: the change orders waiting for their owners, with the checklists.
		echo
		zplan order --format markdown
	fi
	if [ "$rc" -ne 0 ]; then
		echo
		echo "Nothing was written. A plan from another day, or one that went stale, must be made again: re-run the plan job, then approve (or comment \`/apply\`) again."
	fi
} >"$result"
to_summary "$result"
output applied "$([ "$rc" -eq 0 ] && echo true || echo false)"
[ "$rc" -eq 0 ] || exit 1
