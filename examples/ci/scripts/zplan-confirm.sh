#!/bin/sh
# The confirmation job: close a live account's change order once the owner has
# made the change in Zendesk's Admin Center and has the invoice. A manual job,
# started by the owner (GitHub: workflow_dispatch behind a protected
# environment; GitLab: a manual job on the protected default branch), never a
# pull-request comment. See docs/change-orders.md.
#
#   ZPLAN_CONFIRM_ACCOUNT    the account (subdomain)                      required
#   ZPLAN_INVOICE_TOTAL      the invoice's total before tax, e.g. 3213.45  required
#   ZPLAN_INVOICE_REF        the invoice's number
#   ZPLAN_CONFIRM_ON         the day the owner made the change (default: today)
#   ZPLAN_ACCEPT_DIFFERENCE  why a total that differs from zplan's price is right
#   ZPLAN_UNVERIFIED_REASON  why the live account is not read (no Zendesk credentials)
#   ZPLAN_ACTOR              who confirms: the owner (or a billing admin) on record
#   ZPLAN_RESULT_FILE        a Markdown report (default: zplan-confirm.md)
#   ZPLAN_HEADS_FILE         where the audit heads are published after the write
#                            (default: zplan-heads.json; docs/ci.md#audit-heads)
#
# Exit 1, nothing written, when the total differs from the order's price on
# that day (to the cent), the order expired, or the actor may not confirm it.
set -eu
. "$(dirname "$0")/lib.sh"

account=${ZPLAN_CONFIRM_ACCOUNT:?ZPLAN_CONFIRM_ACCOUNT: which account to confirm}
total=${ZPLAN_INVOICE_TOTAL:?ZPLAN_INVOICE_TOTAL: the invoice total before tax}
result=${ZPLAN_RESULT_FILE:-zplan-confirm.md}
log=${result%.md}.log
require_state

set -- confirm "$account" --invoice-total "$total" --no-color
[ -z "${ZPLAN_INVOICE_REF:-}" ] || set -- "$@" --invoice-ref "$ZPLAN_INVOICE_REF"
[ -z "${ZPLAN_CONFIRM_ON:-}" ] || set -- "$@" --on "$ZPLAN_CONFIRM_ON"
[ -z "${ZPLAN_ACCEPT_DIFFERENCE:-}" ] || set -- "$@" --accept-difference "$ZPLAN_ACCEPT_DIFFERENCE"
[ -z "${ZPLAN_UNVERIFIED_REASON:-}" ] || set -- "$@" --unverified "$ZPLAN_UNVERIFIED_REASON"

rc=0
zplan "$@" >"$log" 2>&1 || rc=$?
cat "$log"
if [ "$rc" -eq 0 ]; then
	publish_heads # a confirmation writes: its audit heads are published as an apply's are
fi
{
	echo "<!-- zplan-confirm -->"
	if [ "$rc" -eq 0 ]; then
		echo "### ✅ zplan: the change order of \`$account\` was confirmed"
	else
		echo "### ❌ zplan: the change order of \`$account\` was not confirmed"
	fi
	echo
	echo "By ${ZPLAN_ACTOR:-(no actor)}, invoice total $total${ZPLAN_RUN_URL:+ · [CI run]($ZPLAN_RUN_URL)}"
	echo
	echo '```text'
	cat "$log"
	echo '```'
} >"$result"
to_summary "$result"
output confirmed "$([ "$rc" -eq 0 ] && echo true || echo false)"
[ "$rc" -eq 0 ] || exit 1
