#!/bin/sh
# The scheduled drift check: does the state store still match the files?
#
#   exit 0  no drift: every account matches its file
#   exit 2  drift: some account differs from its file (changed by hand, or a
#           merged file that was never applied); the job fails with the list
#   exit 1  error (invalid files, store unreachable)
#
#   exit 3  the record: an account's audit chain does not verify, or does not
#           reach the head last published (ZPLAN_HEADS_FILE, when there is one);
#           also when no heads were published and ZPLAN_REQUIRE_HEADS is "true"
#
#   ZPLAN_DRIFT_REPORT   the plan document, JSON (default: zplan-drift.json)
#   ZPLAN_HEADS_FILE     the heads the last job that wrote published (default: zplan-heads.json)
#   ZPLAN_REQUIRE_HEADS  "true": fail (exit 3) when there are none; otherwise a warning says
#                        that the record was checked without them
#
# With Zendesk credentials (ZPLAN_ZENDESK_CREDENTIALS, a file; or ZENDESK_EMAIL +
# ZENDESK_API_TOKEN, or ZENDESK_OAUTH_TOKEN, for one account) the check also reads the
# live accounts, read-only (plan --refresh): seats in use above the record are drift too.
set -eu
. "$(dirname "$0")/lib.sh"

dir=$ZPLAN_ACCOUNTS_DIR
report=${ZPLAN_DRIFT_REPORT:-zplan-drift.json}
heads=${ZPLAN_HEADS_FILE:-zplan-heads.json}
require_state

# 0. The record itself, against the heads published after the last write.
if [ -f "$heads" ]; then
	# A heads file that cannot be read is an error, never "nothing to check".
	subdomains=$("${ZPLAN_PYTHON:-python3}" -c 'import json, sys; print(" ".join(h["subdomain"] for h in json.load(open(sys.argv[1]))))' "$heads") || {
		say "cannot read the published heads in $heads: not the JSON of zplan state heads"
		exit 1
	}
	broken=0
	for subdomain in $subdomains; do
		out=$(zplan history "$subdomain" --verify --heads "$heads" --no-color 2>&1) || {
			printf '%s\n' "$out" | tail -n 2
			say "$subdomain: the audit chain does not verify or does not reach its published head"
			broken=1
		}
	done
	if [ "$broken" -ne 0 ]; then
		if [ "${GITHUB_ACTIONS:-}" = true ]; then
			echo "::error title=zplan record::an audit chain does not reach its published head"
		fi
		exit 3
	fi
	say "every audit chain verified and reaches its published head ($heads)"
else
	# Said loudly: without published heads a truncated or rolled-back history does not show.
	missing="no audit heads published yet ($heads): the record was NOT checked against them, so a truncated or rolled-back history would not show"
	say "$missing"
	if [ "${GITHUB_ACTIONS:-}" = true ]; then
		echo "::warning title=zplan record::$missing"
	fi
	if [ -n "${GITHUB_STEP_SUMMARY:-}" ]; then
		printf '**zplan record:** %s\n\n' "$missing" >>"$GITHUB_STEP_SUMMARY"
	fi
	if [ "${ZPLAN_REQUIRE_HEADS:-}" = true ]; then
		say "ZPLAN_REQUIRE_HEADS is true: failing"
		exit 3
	fi
fi

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
