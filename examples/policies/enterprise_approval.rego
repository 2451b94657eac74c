# An Enterprise edition costs enough that finance signs it off: a plan that
# moves an account onto Enterprise needs the pull request's finance-approved
# label, passed in as data: zplan plan --policy-data labels.json, where
# labels.json is {"pr": {"labels": ["finance-approved", ...]}}.
package main

import rego.v1

default labels := []

labels := data.pr.labels

was_enterprise(account, product) if {
	account.prior.next.products[product].edition == "enterprise"
}

deny contains msg if {
	some account in input.accounts
	count(account.changes) > 0
	some product, line in account.desired.config.products
	line.edition == "enterprise"
	not was_enterprise(account, product)
	not "finance-approved" in labels
	msg := sprintf("%s: %s Enterprise needs the finance-approved label on the pull request", [account.subdomain, product])
}
