# Monthly billing costs about a fifth more than annual: above 50 agents on a
# product, finance wants annual billing.
package main

import rego.v1

deny contains msg if {
	some account in input.accounts
	count(account.changes) > 0 # judge what the plan changes, as zplan does
	account.desired.config.cycle == "monthly"
	some product, line in account.desired.config.products
	line.agents > 50
	msg := sprintf("%s: monthly billing is not allowed above 50 agents (%s has %d)", [account.subdomain, product, line.agents])
}

# Plan-wide (zplan's pass over the sums): say when a plan touches many accounts.
warn contains msg if {
	some total in input.totals
	total.changed > 25
	msg := sprintf("this plan changes %d accounts billed in %s: review it in parts if you can", [total.changed, total.currency])
}
