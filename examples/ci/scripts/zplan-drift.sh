#!/bin/sh
# The scheduled drift check: does the state store still match the files?
#
#   exit 0  no drift: every account matches its file
#   exit 2  drift: some account differs from its file (changed by hand, or a
#           merged file that was never applied); the job fails with the list
#   exit 1  error (invalid files, store unreachable)
#
#   ZPLAN_DRIFT_REPORT  the plan document, JSON (default: zplan-drift.json)
#
# With Zendesk credentials (ZPLAN_ZENDESK_CREDENTIALS, a file; or ZENDESK_EMAIL +
# ZENDESK_API_TOKEN, or ZENDESK_OAUTH_TOKEN, for one account) the check also reads the
# live accounts, read-only (plan --refresh): seats in use above the record are drift too.
set -eu
. "$(dirname "$0")/lib.sh"

dir=$ZPLAN_ACCOUNTS_DIR
report=${ZPLAN_DRIFT_REPORT:-zplan-drift.json}
require_state

refresh=""
if [ -n "${ZPLAN_ZENDESK_CREDENTIALS:-}" ] || [ -n "${ZENDESK_OAUTH_TOKEN:-}" ] ||
	{ [ -n "${ZENDESK_EMAIL:-}" ] && [ -n "${ZENDESK_API_TOKEN:-}" ]; }; then
	refresh="--refresh"
fi

rc=0
zplan plan "$dir" ${refresh:+"$refresh"} --detailed-exitcode --no-color || rc=$?
if [ "$rc" -ne 0 ] && [ "$rc" -ne 2 ]; then
	say "the drift check failed (exit $rc): see above"
	exit 1
fi
zplan plan "$dir" ${refresh:+"$refresh"} --format json >"$report" || true
summary=$("${ZPLAN_PYTHON:-python3}" "$(dirname "$0")/drift-summary.py" "$report" "$dir")
printf '%s\n' "$summary"
if [ -n "${GITHUB_STEP_SUMMARY:-}" ]; then
	printf '%s\n' "$summary" >>"$GITHUB_STEP_SUMMARY"
fi
if [ "$rc" -eq 2 ]; then
	if [ "${GITHUB_ACTIONS:-}" = true ]; then
		echo "::error title=zplan drift::the state store differs from the files in $dir (see the job summary)"
	fi
	exit 2
fi
