"""Catalog facts a subscription file must keep, beyond the schema; account-type and role rules.

``check_subscription`` turns a schema-valid document into a ``Desired``
subscription and reports every rule it breaks as a positioned diagnostic.
``permission_problems`` checks planned changes against the account type and
the actor's role (pricing.md, "Account types and roles").
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from collections.abc import Iterable, Iterator
from typing import Any, NamedTuple

from zplan.catalog import Catalog, Cycle, Unit
from zplan.diagnostics import Diagnostic, Severity, did_you_mean
from zplan.document import Document
from zplan.model import (
    UNSET,
    Account,
    AccountType,
    Change,
    Config,
    Desired,
    Kind,
    PaymentRef,
    ProductLine,
)

DEFAULT_CURRENCY = "USD"


# The schema's e-mail pattern, anchored for Python (\Z: no final newline either).
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+\Z")


def looks_like_email(text: str) -> bool:
    return len(text) <= 254 and _EMAIL.match(text) is not None


_INVISIBLE = re.compile(r"[\x00-\x1f\x7f-\x9f\u200b-\u200f\u202a-\u202e\u2060-\u2069\ufeff]")


def control_characters(document: Document) -> list[Diagnostic]:
    """Keys and values with control or invisible characters (a newline, a bidi override).

    No key or value of a subscription file is free text: such a character can
    only hide what a reviewer reads (``acme\n`` would print as ``acme``), and
    Python's ``$`` in the schema's patterns would let a final newline through.
    """
    found: list[Diagnostic] = []

    def walk(value: Any, path: tuple[str | int, ...]) -> None:
        if isinstance(value, dict):
            for key, item in value.items():
                if _INVISIBLE.search(key):
                    found.append(_invisible(document, (*path, key), key, key=True))
                walk(item, (*path, key))
        elif isinstance(value, list):
            for index, item in enumerate(value):
                walk(item, (*path, index))
        elif isinstance(value, str) and _INVISIBLE.search(value):
            found.append(_invisible(document, path, value, key=False))

    walk(document.data, ())
    return found


def _invisible(document: Document, path: tuple[str | int, ...], text: str, *, key: bool
               ) -> Diagnostic:  # fmt: skip
    char = _INVISIBLE.search(text)
    assert char is not None
    shown = text.encode("unicode_escape").decode("ascii")
    return document.error(
        path,
        "control-character",
        f"{'the key' if key else 'the value'} '{shown[:60]}' holds the invisible character "
        f"U+{ord(char.group()):04X}",
        "remove it: no key or value of a subscription file needs one",
        key=key,
    )


def payment_ref_hash(subdomain: str, ref: str) -> PaymentRef:
    """The only form in which zplan keeps a payment reference."""
    digest = hashlib.sha256(f"zplan-payment-ref\0{subdomain}\0{ref}".encode()).hexdigest()
    return PaymentRef(digest, ref[-4:])


def check_subscription(
    document: Document, catalog: Catalog, today: dt.date
) -> tuple[Desired | None, list[Diagnostic]]:
    """Catalog rules for a schema-valid subscription file; the desired subscription if it is usable."""
    data = document.data
    problems: list[Diagnostic] = []
    account = data["account"]
    billing = data["billing"]
    subdomain = account["subdomain"]
    currency = account.get("currency", DEFAULT_CURRENCY)
    cycle = Cycle(billing["cycle"])
    cancelled = data.get("status", "active") == "cancelled"
    products_data: dict[str, Any] = data.get("products") or {}

    if currency not in catalog.currencies:
        problems.append(
            document.error(
                ("account", "currency"),
                "unknown-currency",
                f"{currency} is not a currency of the catalog {catalog.id}",
                did_you_mean(currency, catalog.currencies)
                or f"the catalog prices in {', '.join(catalog.currencies)}",
            )
        )
    if not products_data and not cancelled:
        where = ("products",) if "products" in data else ()
        problems.append(
            document.error(
                where,
                "no-products",
                "an active subscription needs at least one product",
                "list a product under products:, or set status: cancelled",
            )
        )

    lines = []
    for product_id, spec in products_data.items():
        line = _check_product(document, catalog, product_id, spec, cycle, currency, problems)
        if line is not None:
            lines.append(line)

    for bundle_id in products_data:
        for replaced in catalog.replacing(bundle_id):
            if replaced in products_data:
                name = catalog.products[bundle_id].name
                problems.append(
                    document.error(
                        ("products", replaced),
                        "suite-conflict",
                        f"{replaced} cannot stand beside {bundle_id}: {name} replaces it",
                        f"remove products.{replaced}; {bundle_id} includes it",
                        key=True,
                    )
                )

    promo_code = billing.get("promo_code")
    if promo_code is not None:
        promotion = catalog.promotion(promo_code)
        if promotion is None:
            problems.append(
                document.error(
                    ("billing", "promo_code"),
                    "unknown-promotion",
                    f"'{promo_code}' is not a promotion code of the catalog {catalog.id}",
                    did_you_mean(promo_code, [p.code for p in catalog.promotions.values()]),
                )
            )
        else:
            promo_code = promotion.code
            if promotion.expires is not None and today > promotion.expires:
                # A code already on record stays valid; only the plan (which sees the
                # state) can tell, so validate warns here and plan decides.
                problems.append(
                    document.error(
                        ("billing", "promo_code"),
                        "promo-expired",
                        f"the promotion {promotion.code} expired on {promotion.expires.isoformat()}",
                        "a code already on the subscription keeps its terms; a new one is refused",
                        severity=Severity.WARNING,
                    )
                )
            if promotion.requires_cycle is not None and promotion.requires_cycle is not cycle:
                problems.append(
                    document.error(
                        ("billing", "promo_code"),
                        "promo-cycle",
                        f"the promotion {promotion.code} needs {promotion.requires_cycle.value} "
                        f"billing, and this file bills {cycle.value}",
                        "zplan plan refuses it when it is newly added",
                        severity=Severity.WARNING,
                    )
                )
            if promotion.applies_to is not None and not set(promotion.applies_to) & set(
                products_data
            ):
                problems.append(
                    document.error(
                        ("billing", "promo_code"),
                        "promo-not-eligible",
                        f"the promotion {promotion.code} applies to {', '.join(promotion.applies_to)}, "
                        "and this file has none of them",
                        "zplan plan refuses it when it is newly added",
                        severity=Severity.WARNING,
                    )
                )

    if any(d.is_error for d in problems):
        return None, problems
    raw_ref = billing.get("payment_ref", UNSET) if "payment_ref" in billing else UNSET
    payment_ref = (
        UNSET
        if raw_ref is UNSET
        else None
        if raw_ref is None
        else payment_ref_hash(subdomain, raw_ref)
    )
    desired = Desired(
        subdomain=subdomain,
        owner=account["owner"],
        billing_admins=tuple(account.get("billing_admins") or ()),
        currency=currency,
        config=Config(cycle, tuple(sorted(lines, key=lambda p: p.product)), cancelled),
        payment_method=billing["payment"],
        payment_ref=payment_ref,
        promo_code=promo_code,
        products_given="products" in data,
        path=document.path,
        sha256=hashlib.sha256(document.text.encode()).hexdigest(),
    )
    return desired, problems


def _check_product(
    document: Document,
    catalog: Catalog,
    product_id: str,
    spec: dict[str, Any],
    cycle: Cycle,
    currency: str,
    problems: list[Diagnostic],
) -> ProductLine | None:
    where = ("products", product_id)
    product = catalog.products.get(product_id)
    if product is None:
        problems.append(
            document.error(
                where,
                "unknown-product",
                f"'{product_id}' is not a product of the catalog {catalog.id}",
                did_you_mean(product_id, list(catalog.products)),
                key=True,
            )
        )
        return None
    edition = product.editions.get(spec["edition"])
    if edition is None:
        problems.append(
            document.error(
                (*where, "edition"),
                "unknown-edition",
                f"'{spec['edition']}' is not an edition of {product_id}",
                did_you_mean(spec["edition"], list(product.editions))
                or f"editions of {product_id}: {', '.join(product.editions)}",
            )
        )
        return None
    agents = spec["agents"]
    if agents < edition.min_agents:
        problems.append(
            document.error(
                (*where, "agents"),
                "seat-limit",
                f"{edition.name} needs at least {edition.min_agents} agents, not {agents}",
            )
        )
    if edition.max_agents is not None and agents > edition.max_agents:
        higher = [
            e.name
            for e in product.editions.values()
            if e.rank > edition.rank and (e.max_agents is None or e.max_agents >= agents)
        ]
        problems.append(
            document.error(
                (*where, "agents"),
                "seat-limit",
                f"{edition.name} allows at most {edition.max_agents} agents, not {agents}",
                f"{higher[0]} allows {agents}" if higher else None,
            )
        )
    if currency in catalog.currencies and cycle not in edition.price.get(currency, {}):
        problems.append(
            document.error(
                ("billing", "cycle"),
                "cycle-not-sold",
                f"{edition.name} is not sold on {cycle.value} billing",
            )
        )
    addons: list[tuple[str, int]] = []
    for addon_id, quantity in (spec.get("addons") or {}).items():
        checked = _check_addon(
            document, catalog, product_id, edition.rank, agents, addon_id, quantity, cycle, problems
        )
        if checked is not None:
            addons.append((addon_id, checked))
    return ProductLine(product_id, edition.id, agents, tuple(sorted(addons)))


def _check_addon(
    document: Document,
    catalog: Catalog,
    product_id: str,
    rank: int,
    agents: int,
    addon_id: str,
    quantity: int | bool,
    cycle: Cycle,
    problems: list[Diagnostic],
) -> int | None:
    where = ("products", product_id, "addons", addon_id)
    addon = catalog.addons.get(addon_id)
    if addon is None:
        problems.append(
            document.error(
                where,
                "unknown-addon",
                f"'{addon_id}' is not an add-on of the catalog {catalog.id}",
                did_you_mean(addon_id, list(catalog.addons)),
                key=True,
            )
        )
        return None
    product = catalog.products[product_id]
    lowest = addon.available_on.get(product_id)
    if lowest is None:
        sold_with = ", ".join(addon.available_on) or "no product"
        problems.append(
            document.error(
                where,
                "addon-product",
                f"{addon.name} is not sold with {product_id}",
                f"it is sold with {sold_with}",
                key=True,
            )
        )
        return None
    if rank < product.editions[lowest].rank:
        problems.append(
            document.error(
                where,
                "addon-edition",
                f"{addon.name} needs {product.editions[lowest].name} or above",
                f"upgrade products.{product_id}.edition to {lowest} or above, or remove the add-on",
                key=True,
            )
        )
    if cycle not in addon.cycles:
        problems.append(
            document.error(
                where,
                "addon-cycle",
                f"{addon.name} is sold on {' and '.join(c.value for c in addon.cycles)} billing only, "
                f"not {cycle.value}",
                "change billing.cycle, or remove the add-on",
                key=True,
            )
        )
    if addon.unit is Unit.ACCOUNT:
        if quantity is not True:
            problems.append(
                document.error(
                    where,
                    "addon-unit",
                    f"{addon.name} is sold per account: write true, not {quantity}",
                )
            )
            return None
        return 1
    if quantity is True:
        problems.append(
            document.error(
                where, "addon-unit", f"{addon.name} is sold per agent: give the number of seats"
            )
        )
        return None
    assert isinstance(quantity, int)
    if quantity > agents:
        problems.append(
            document.error(
                where,
                "addon-seats",
                f"{quantity} seats of {addon.name} but only {agents} agents on {product_id}",
                f"at most {agents} seats, or more agents",
            )
        )
    return quantity


# Account types and roles ------------------------------------------------------


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
        if account.type not in rule.allowed:
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
