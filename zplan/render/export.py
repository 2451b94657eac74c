"""The current subscription as a subscription file (adopt an account, or fix drift).

What is exported is what renews (``next``), so that planning the exported
file shows no changes. ``payment_ref`` is left out: absent means unchanged.
"""

from __future__ import annotations

from typing import Any

import yaml

from zplan.errors import ZplanError
from zplan.model import Account

HEADER = "# yaml-language-server: $schema=https://zplan.dev/schemas/subscription.schema.json\n"


def export_data(account: Account) -> dict[str, Any]:
    sub = account.subscription
    if sub is None:
        raise ZplanError(
            f"{account.subdomain} has no subscription to export",
            hint="it was cancelled and has ended; write a new file to buy again",
        )
    next_ = sub.next
    account_part: dict[str, Any] = {"subdomain": account.subdomain, "owner": account.owner}
    if account.billing_admins:
        account_part["billing_admins"] = list(account.billing_admins)
    account_part["currency"] = account.currency
    billing: dict[str, Any] = {"cycle": next_.cycle.value, "payment": sub.payment.method}
    if sub.promotion is not None:
        billing["promo_code"] = sub.promotion.code
    products: dict[str, Any] = {}
    for line in next_.products:
        entry: dict[str, Any] = {"edition": line.edition, "agents": line.agents}
        if line.addons:
            entry["addons"] = dict(line.addons)
        products[line.product] = entry
    data: dict[str, Any] = {
        "zplan": 1,
        "account": account_part,
        "billing": billing,
        "agreements": {"master_subscription_agreement": "accepted", "privacy_policy": "accepted"},
        "products": products,
        "status": "cancelled" if next_.cancelled else "active",
    }
    return data


def export_yaml(account: Account, *, per_account_addons: set[str] | None = None) -> str:
    data = export_data(account)
    for product in data["products"].values():
        for addon_id in list(product.get("addons", {})):
            if per_account_addons and addon_id in per_account_addons:
                product["addons"][addon_id] = True
    body = yaml.safe_dump(data, sort_keys=False, default_flow_style=False, allow_unicode=True)
    note = (
        f"# Exported by zplan from the state store: the subscription of {account.subdomain} "
        "as it renews.\n# payment_ref is left out on purpose (absent means unchanged).\n"
    )
    return HEADER + note + body
