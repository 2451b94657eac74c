# No plan may raise an account's monthly cost by more than 20 %. A first
# purchase has no percentage (nothing before it): budgets.yaml bounds those.
package main

import rego.v1

deny contains msg if {
	some account in input.accounts
	count(account.changes) > 0 # judge what the plan changes, as zplan does
	percent := account.totals.monthly_delta_percent
	percent != null
	to_number(percent) > 20
	msg := sprintf("%s: the monthly cost rises by %s%% (%s → %s), more than the 20%% allowed", [
		account.subdomain, percent,
		account.totals.recurring_before.monthly, account.totals.recurring_after.monthly,
	])
}
