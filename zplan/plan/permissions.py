"""Who may make which change: account-type and role rules (pricing.md, "Account types and roles").

``permission_problems`` checks planned changes against the account type and
the actor's role.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import NamedTuple

from zplan.diagnostics import Diagnostic, Severity
from zplan.load.document import Document
from zplan.model import Account, AccountType, Change, Kind


class Rule(NamedTuple):
    name: str
    allowed: frozenset[AccountType]


_ALL = frozenset(AccountType)
_SELF = frozenset({AccountType.SELF_SERVICE})
_ASSISTED = frozenset({AccountType.SELF_SERVICE, AccountType.ONLINE_ASSISTED})
_NOT_MANAGED = frozenset(_ALL - {AccountType.MANAGED})

RULES: dict[Kind, Rule] = {
    Kind.AGENTS_INCREASE: Rule("more agents", _NOT_MANAGED),
    Kind.ADDON_ADD: Rule("add add-ons or add-on seats; edition upgrade", _ASSISTED),
    Kind.ADDON_INCREASE: Rule("add add-ons or add-on seats; edition upgrade", _ASSISTED),
    Kind.EDITION_UPGRADE: Rule("add add-ons or add-on seats; edition upgrade", _ASSISTED),
    Kind.PROMO_ADD: Rule("promo code added, replaced, removed", _ASSISTED),
    Kind.PROMO_REMOVE: Rule("promo code added, replaced, removed", _ASSISTED),
    Kind.PRODUCT_ADD: Rule("add a product; suite replacement", _SELF),
    Kind.SUITE_REPLACEMENT: Rule("add a product; suite replacement", _SELF),
    Kind.SUBSCRIPTION_CREATE: Rule("add a product; suite replacement", _SELF),
    Kind.AGENTS_DECREASE: Rule("fewer agents or seats; downgrade; removals", _SELF),
    Kind.ADDON_DECREASE: Rule("fewer agents or seats; downgrade; removals", _SELF),
    Kind.EDITION_DOWNGRADE: Rule("fewer agents or seats; downgrade; removals", _SELF),
    Kind.PRODUCT_REMOVE: Rule("fewer agents or seats; downgrade; removals", _SELF),
    Kind.ADDON_REMOVE: Rule("fewer agents or seats; downgrade; removals", _SELF),
    Kind.CYCLE_CHANGE: Rule("billing cycle; payment method and reference", _SELF),
    Kind.PAYMENT_CHANGE: Rule("billing cycle; payment method and reference", _SELF),
    # Not in pricing.md's table: treated as a billing setting, like the payment method.
    Kind.BILLING_ADMINS_CHANGE: Rule("billing cycle; payment method and reference", _SELF),
    Kind.CANCEL: Rule("cancel; withdraw a scheduled change; reactivate", _SELF),
    Kind.WITHDRAW_SCHEDULED: Rule("cancel; withdraw a scheduled change; reactivate", _SELF),
    Kind.REACTIVATE: Rule("cancel; withdraw a scheduled change; reactivate", _SELF),
}

# What a billing admin may not do (pricing.md: cancel, payment changes, the billing admins).
OWNER_ONLY = {
    Kind.CANCEL,
    Kind.PAYMENT_CHANGE,
    Kind.BILLING_ADMINS_CHANGE,
    Kind.SUBSCRIPTION_CREATE,
}

_TYPE_ADVICE = {
    AccountType.MANAGED: "this account is managed by Zendesk: contact your account manager to "
    "change the subscription",
    AccountType.ADD_AGENTS_ONLY: "this account may only add agents; for anything else contact "
    "your account manager",
    AccountType.ONLINE_ASSISTED: "this account may add agents, add-ons and upgrades; for this "
    "change contact your account manager",
}


def role_of(account: Account, actor: str) -> str | None:
    """owner, billing_admin, or None; e-mail addresses compare without case."""
    wanted = actor.strip().lower()
    if account.owner.lower() == wanted:
        return "owner"
    if any(admin.lower() == wanted for admin in account.billing_admins):
        return "billing_admin"
    return None


def renewals_refusal(account: Account, actor: str) -> tuple[str, str] | None:
    """Why ``actor`` may not write the renewals due on ``account`` (an apply without
    changes), as (message, hint); None for the owner or a billing admin."""
    if role_of(account, actor) is not None:
        return None
    return (
        f"{actor} is neither the owner nor a billing admin of {account.subdomain} on record: "
        "they may plan but not apply (the renewals due are written by the owner's or a "
        "billing admin's next apply)",
        f"ask the owner on record ({account.owner}) to apply",
    )


def permission_problems(
    account: Account,
    changes: Iterable[Change],
    actor: str | None,
    document: Document | None,
    path: str,
) -> Iterator[Diagnostic]:
    """Every change the account type, or the actor's role when an actor is known, refuses."""
    changes = [c for c in changes if not (c.kind is Kind.PROMO_REMOVE and c.reason)]
    role = role_of(account, actor) if actor else None
    for change in changes:
        rule = RULES[change.kind]
        # A live account's change is made in Zendesk by whoever may make it: what the
        # Admin Center does not let this type do goes to the account manager (apply/orders.py).
        if account.type not in rule.allowed and not account.live:
            yield _at(
                document,
                path,
                change,
                "account-type",
                f"{change.kind.value} is not allowed on an account of type {account.type.value} "
                f"(rule: {rule.name}: {', '.join(sorted(t.value for t in rule.allowed))})",
                _TYPE_ADVICE.get(account.type),
            )
    if actor is None:
        return
    new = not account.lineage  # no account on record yet: the file's owner buys it
    on_record = "in the file (a new account)" if new else "on record"
    owner = (
        f"the file's owner ({account.owner})" if new else f"the owner on record ({account.owner})"
    )
    if role is None:
        if changes:
            first = changes[0]
            yield _at(
                document,
                path,
                first,
                "role",
                f"{actor} is neither the owner nor a billing admin of {account.subdomain} "
                f"{on_record}: they may plan but not apply",
                f"ask {owner} to apply, or to make you a billing admin",
            )
        return
    if role == "billing_admin":
        for change in changes:
            if change.kind is Kind.SUBSCRIPTION_CREATE:
                yield _at(
                    document,
                    path,
                    change,
                    "role",
                    f"{actor} is a billing admin of {account.subdomain}: buying a subscription "
                    "needs the account owner (rule: the first purchase accepts the agreements "
                    "and sets the payment method, which only the owner may do)",
                    f"ask {owner} to apply",
                )
            elif change.kind in OWNER_ONLY:
                yield _at(
                    document,
                    path,
                    change,
                    "role",
                    f"{actor} is a billing admin of {account.subdomain}: {change.kind.value} "
                    "needs the account owner (rule: billing admins may not cancel, change "
                    "payment or change the billing admins)",
                    f"ask the owner on record ({account.owner}) to apply this change",
                )


def _at(
    document: Document | None, path: str, change: Change, code: str, message: str, hint: str | None
) -> Diagnostic:
    if document is not None:
        return document.error(change.path, code, message, hint)
    return Diagnostic(path, 1, 1, Severity.ERROR, change.address, code, message, hint)
