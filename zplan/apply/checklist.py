"""The owner's checklist: one numbered step per change, in the Admin Center's own order.

The steps follow Zendesk's help article on managing a subscription in the Admin Center
(the French original is in the project's reference material): Products icon > Admin
Center; Billing icon > Subscription; Manage (or Add agents); the changes; the promo
code; the summary to check (with the amount for each day); the Master Subscription
Agreement and the privacy terms; Go to payment; Buy. A change the account type cannot
make in the Admin Center turns the checklist into a message for the account manager.
Built from an account of the plan document, so the PR comment and the order say the same.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from zplan.load.catalog import Catalog
from zplan.model import AccountType, Kind
from zplan.money import fmt, quantum, to_json
from zplan.plan.permissions import RULES

# The Admin Center's own words (Zendesk help, "Managing your subscription in Admin Center").
ADMIN_CENTER = "Admin Center"
SUBSCRIPTION_PAGE = "Account > Billing > Subscription"


def handled_by(account_type: AccountType, kinds: Sequence[Kind]) -> str:
    """``owner`` when the Admin Center lets this account make every change itself, else
    ``account_manager`` (managed accounts, and changes beyond what the account type may do)."""
    if account_type is AccountType.MANAGED:
        return "account_manager"
    if all(account_type in RULES[kind].allowed for kind in kinds):
        return "owner"
    return "account_manager"


# The steps, in the owner's words ---------------------------------------------------


class Names:
    """Catalog names for products, editions and add-ons (ids when the catalog lacks one)."""

    def __init__(self, catalog: Catalog) -> None:
        self.catalog = catalog

    def product(self, product_id: str) -> str:
        product = self.catalog.products.get(product_id)
        return product.name if product is not None else product_id

    def edition(self, product_id: str, edition_id: str) -> str:
        product = self.catalog.products.get(product_id)
        if product is None or edition_id not in product.editions:
            return edition_id
        return product.editions[edition_id].name

    def addon(self, addon_id: str) -> str:
        addon = self.catalog.addons.get(addon_id)
        return addon.name if addon is not None else addon_id


def _seats(count: Any) -> str:
    if count is True:
        return "on"
    return f"{count} seat{'s' if count != 1 else ''}"


def _product_words(names: Names, product_id: str, value: Any) -> str:
    if not isinstance(value, dict) or "edition" not in value:
        return names.product(product_id)
    text = f"{names.edition(product_id, value['edition'])} with {value['agents']} agent seats"
    addons = value.get("addons") or {}
    if addons:
        text += " and " + ", ".join(f"{names.addon(a)} ({_seats(q)})" for a, q in addons.items())
    return text


def change_words(change: dict[str, Any], names: Names, currency: str) -> str:
    """One change as an instruction for the Admin Center's Manage page."""
    kind = change["kind"]
    address = change["address"]
    parts = address.split(".")
    before, after = change["before"], change["after"]
    product_id = parts[1] if len(parts) > 1 and parts[0] == "products" else ""
    product = names.product(product_id) if product_id else ""
    when = (
        "takes effect now"
        if change["effective"] == "now"
        else f"takes effect at the renewal on {change['effective_on']}"
    )
    if kind == "product_add":
        text = f"Add {product}: {_product_words(names, product_id, after)}"
    elif kind == "product_remove":
        text = f"Remove the product {product} (today: {_product_words(names, product_id, before)})"
    elif kind in ("edition_upgrade", "edition_downgrade"):
        verb = "upgrade" if kind == "edition_upgrade" else "downgrade"
        text = (
            f"{product}: {verb} the edition from {names.edition(product_id, str(before))} "
            f"to {names.edition(product_id, str(after))}"
        )
    elif kind in ("agents_increase", "agents_decrease"):
        text = f"{product}: set the agent seats from {before} to {after}"
        if kind == "agents_decrease":
            text += (
                " (first downgrade the agents who give up their seats: otherwise Zendesk "
                "downgrades the last agents alphabetically at the renewal)"
            )
    elif kind.startswith("addon_"):
        addon = names.addon(parts[-1])
        if kind == "addon_add":
            text = f"{product}: add the add-on {addon} ({_seats(after)})"
        elif kind == "addon_remove":
            text = f"{product}: remove the add-on {addon} (today {_seats(before)})"
        else:
            text = f"{product}: set the add-on {addon} from {_seats(before)} to {_seats(after)}"
    elif kind == "suite_replacement":
        if isinstance(before, dict) and "edition" not in before:
            replaced = ", ".join(names.product(p) for p in before)
            text = f"Replace {replaced} with {_product_words(names, product_id, after)}"
        else:
            into = ", ".join(_product_words(names, p, v) for p, v in (after or {}).items())
            text = f"Replace {product} with {into}"
    elif kind == "cycle_change":
        text = f"Billing cycle: choose {str(after).capitalize()} billing (today {before})"
    elif kind == "cancel":
        text = "Cancel the account's subscription (Cancel your account)"
    elif kind == "reactivate":
        text = "Keep the subscription: withdraw the scheduled cancellation"
    elif kind == "withdraw_scheduled":
        text = f"Withdraw the scheduled change of {address}: keep {after}"
    elif kind == "promo_add":
        text = f"Promo code: click Did you receive a promo code from us?, enter {after} and click Apply"
    elif kind == "promo_remove":
        text = (
            f"Promo code {before}: leave the promo code field empty; if the summary still "
            "shows its discount, stop and ask Zendesk to remove it"
        )
    elif kind == "payment_change":
        text = f"Payment: at Go to payment, choose {after if isinstance(after, str) else 'the new payment method'}"
    elif kind == "billing_admins_change":
        text = (
            f"Billing admins (Admin Center > People > Team members, role Billing admin): "
            f"from {', '.join(before or []) or 'none'} to {', '.join(after or []) or 'none'}"
        )
    else:  # a kind added later: still one step, in the plan's terms
        text = f"{address}: from {before} to {after}"
    delta = Decimal(change["monthly_delta"])
    money = f"; {fmt(delta, currency, signed=True)}/mo from the renewal" if delta else ""
    return f"{text} ({when}{money})."


_FLOW_ORDER = {
    "promo_add": 2,
    "promo_remove": 2,
    "payment_change": 4,
    "billing_admins_change": 5,
    "cycle_change": 1,
}


def steps(
    account_doc: dict[str, Any],
    names: Names,
    later_days: Sequence[tuple[str, str]] = (),
    priced_on: str | None = None,
) -> dict[str, Any]:
    """The checklist for one account's planned changes (an account of the plan document).

    ``{"handled_by": "owner" | "account_manager", "steps": [{"n", "text", "amount"}],
    "message": str | None}``; amounts in the plan's money format.
    """
    subdomain = account_doc["subdomain"]
    currency = account_doc["totals"]["currency"]
    prior = account_doc["prior"]
    owner = (account_doc.get("desired") or {}).get("owner") or "the account owner"
    changes = account_doc["changes"]
    due = Decimal(account_doc["invoice"]["due_now"])
    day = priced_on or account_doc["invoice"].get("date") or ""
    kinds = [Kind(c["kind"]) for c in changes]
    account_type = AccountType(prior.get("account_type") or "self_service")
    who = handled_by(account_type, kinds)
    ordered = sorted(changes, key=lambda c: _FLOW_ORDER.get(c["kind"], 0))
    change_lines = [change_words(c, names, currency) for c in ordered]
    invoice_lines = [
        f"{line['description']}: {fmt(Decimal(line['amount']), currency)}"
        for line in account_doc["invoice"]["lines"]
    ]
    totals = account_doc["totals"]
    recurring = (
        f"{fmt(Decimal(totals['recurring_before']['per_cycle']), currency)} "
        f"{totals['recurring_before']['cycle']} → "
        f"{fmt(Decimal(totals['recurring_after']['per_cycle']), currency)} "
        f"{totals['recurring_after']['cycle']}"
    )
    summary = (
        f"Review the summary: before tax it should show {fmt(due, currency)} due today"
        f" (priced on {day})"
    )
    if invoice_lines:
        summary += " — " + "; ".join(invoice_lines)
    summary += f". Recurring charge per cycle: {recurring}."
    if later_days:
        summary += (
            " If you act on a later day it should show: "
            + ", ".join(f"{d} {fmt(Decimal(a), currency)}" for d, a in later_days)
            + "."
        )
    summary += (
        f" If the summary differs by more than {fmt(quantum(currency), currency)}, stop and "
        "re-plan (zplan plan, then zplan apply)."
    )
    confirm = (
        f"When the invoice arrives, close the order with its total before tax: "
        f"zplan confirm {subdomain} --invoice-total {to_json(due, currency)} "
        f"--invoice-ref INVOICE-NUMBER [--on DATE-YOU-ACTED]"
    )
    out: list[dict[str, Any]] = []

    def step(text: str, amount: str | None = None) -> None:
        out.append({"n": len(out) + 1, "text": text, "amount": amount})

    if who == "account_manager":
        message = _manager_message(
            subdomain, owner, change_lines, invoice_lines, due, currency, day, recurring
        )
        step("Send the message below to your Zendesk account manager (or support@zendesk.com).")
        step(
            f"When the account manager has made the change, check the invoice: before tax it "
            f"should be {fmt(due, currency)} (priced on {day}).",
            to_json(due, currency),
        )
        step(confirm)
        return {"handled_by": who, "steps": out, "message": message}
    step(
        f"Sign in to Zendesk as the account owner ({owner}). Click the Zendesk Products icon "
        f"in the top bar, then select {ADMIN_CENTER}."
    )
    step(
        "In the sidebar, click the Billing icon, then select Subscription "
        f"({SUBSCRIPTION_PAGE}). The summary of your subscriptions shows."
    )
    if account_type is AccountType.ADD_AGENTS_ONLY:
        step("Click Add agents (this account's only subscription change in the Admin Center).")
    else:
        step("Click Manage.")
    for line, change in zip(change_lines, ordered, strict=True):
        delta = Decimal(change["monthly_delta"])
        step(line, to_json(delta, currency) if delta else None)
    step(summary, to_json(due, currency))
    step(
        "Tick the box to accept the Master Subscription Agreement and the Privacy Policy "
        "of Zendesk."
    )
    step(
        "Click Go to payment, choose the payment method (credit or debit card, or PayPal), "
        "enter the payment details and click Buy."
    )
    step(confirm)
    return {"handled_by": who, "steps": out, "message": None}


def _manager_message(
    subdomain: str,
    owner: str,
    change_lines: list[str],
    invoice_lines: list[str],
    due: Decimal,
    currency: str,
    day: str,
    recurring: str,
) -> str:
    lines = [
        f"Subject: Subscription change for {subdomain}.zendesk.com",
        "",
        "Hello,",
        "",
        f"Please make these changes to the Zendesk subscription of {subdomain}.zendesk.com "
        f"(account owner: {owner}):",
        "",
        *[f"- {line}" for line in change_lines],
        "",
        f"We expect an invoice of {fmt(due, currency)} before tax on {day}"
        + (": " + "; ".join(invoice_lines) if invoice_lines else "")
        + f", and a recurring charge per cycle of {recurring}.",
        "Please tell us if your figures differ, and send the invoice to the account owner.",
        "",
        "Thank you,",
        owner,
    ]
    return "\n".join(lines)
