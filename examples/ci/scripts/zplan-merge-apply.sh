#!/bin/sh
# The alternative to applying on approval: on the main branch, after a merge,
# plan again and apply with --auto-approve. The plan is printed (and written
# as Markdown for the merged pull request): it is the record of what was
# applied. zplan holds the accounts' locks from the plan to the write.
#
#   ZPLAN_ACTOR         who applies (the merger's e-mail, or a billing mailbox
#                       that is a billing admin of every account)
#   ZPLAN_ALLOW_CANCEL  "true" to allow cancelling subscriptions
#   ZPLAN_COMMENT_FILE  the Markdown record (default: zplan-comment.md); for a
#                       live account it ends with the change order's checklist
#                       ("What the owner will do", docs/change-orders.md)
set -eu
. "$(dirname "$0")/lib.sh"

dir=$ZPLAN_ACCOUNTS_DIR
comment=${ZPLAN_COMMENT_FILE:-zplan-comment.md}
require_state
policy_setup

zplan validate --format "$(diag_format)" "$dir"

rc=0
zplan plan "$dir" --format markdown --detailed-exitcode >"$comment" || rc=$?
if [ "$rc" -eq 1 ]; then
	say "the plan failed: nothing applied"
	exit 1
fi
to_summary "$comment"

set -- apply "$dir" --auto-approve --no-color
if [ "${ZPLAN_ALLOW_CANCEL:-}" = true ]; then
	set -- "$@" --allow-cancel
fi
zplan "$@"
# Live accounts: the apply opened change orders; their checklists go on the
# merged pull request and in the job summary.
orders=${comment%.md}-orders.md
zplan order --format markdown >"$orders"
if [ -s "$orders" ]; then
	cat "$orders" >>"$comment"
	to_summary "$orders"
fi
publish_heads
