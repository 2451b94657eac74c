"""Catalog facts a subscription file must keep, beyond the schema.

``check_subscription`` turns a schema-valid document into a ``Desired``
subscription and reports every rule it breaks as a positioned diagnostic.
Who may make a change (account types and roles) is ``zplan.plan.permissions``.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from typing import Any

from zplan.diagnostics import Diagnostic, Severity, did_you_mean
from zplan.load.catalog import Catalog, Unit
from zplan.load.document import INVISIBLE, Document
from zplan.model import (
    UNSET,
    Config,
    Cycle,
    Desired,
    PaymentRef,
    ProductLine,
)
from zplan.redact import looks_like_card

DEFAULT_CURRENCY = "USD"


# The schema's e-mail pattern, anchored for Python (\Z: no final newline either).
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+\Z")


def looks_like_email(text: str) -> bool:
    return len(text) <= 254 and _EMAIL.match(text) is not None


def control_characters(document: Document) -> list[Diagnostic]:
    """Keys and values with control or invisible characters (a newline, a bidi override).

    No key or value of a subscription file is free text: such a character can
    only hide what a reviewer reads (``acme\n`` would print as ``acme``), and
    Python's ``$`` in the schema's patterns would let a final newline through.
    """
    found: list[Diagnostic] = []
    if not document.invisible:  # known from loading it: none anywhere
        return found

    def walk(value: Any, path: tuple[str | int, ...]) -> None:
        if isinstance(value, dict):
            for key, item in value.items():
                if INVISIBLE.search(key):
                    found.append(_invisible(document, (*path, key), key, key=True))
                walk(item, (*path, key))
        elif isinstance(value, list):
            for index, item in enumerate(value):
                walk(item, (*path, index))
        elif isinstance(value, str) and INVISIBLE.search(value):
            found.append(_invisible(document, path, value, key=False))

    walk(document.data, ())
    return found


def _invisible(document: Document, path: tuple[str | int, ...], text: str, *, key: bool
               ) -> Diagnostic:  # fmt: skip
    char = INVISIBLE.search(text)
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
    """The only form in which zplan keeps a payment reference.

    With its last four characters, when it has eight or more: the last four of a
    shorter one would show half of it or all of it.
    """
    digest = hashlib.sha256(f"zplan-payment-ref\0{subdomain}\0{ref}".encode()).hexdigest()
    return PaymentRef(digest, ref[-4:] if len(ref) >= 8 else "")


def odd_character(email: str) -> str | None:
    """Why an e-mail address could pass for another, or None.

    A character that Unicode folds into another (fullwidth letters, ligatures),
    or letters from two scripts at once (``fіnance@acme.example`` with a
    Cyrillic і): each makes an address that reads like someone else's.
    """
    if email.isascii():  # one script, nothing to fold: the usual address
        return None
    import unicodedata

    scripts: dict[str, str] = {}
    for char in email:
        if char.isascii():
            if char.isalpha():
                scripts.setdefault("LATIN", char)
            continue
        name = unicodedata.name(char, f"U+{ord(char):04X}")
        if unicodedata.normalize("NFKC", char) != char:
            return f"U+{ord(char):04X} {name} reads like '{unicodedata.normalize('NFKC', char)}'"
        if not char.isalpha():
            return f"U+{ord(char):04X} {name}"
        scripts.setdefault(name.split(" ")[0], char)
    if len(scripts) > 1:
        odd = next(c for s, c in scripts.items() if s != "LATIN" or len(scripts) == 1)
        shown = ", ".join(sorted(scripts))
        return f"U+{ord(odd):04X} {unicodedata.name(odd, '?')} mixes scripts ({shown})"
    return None


def email_problems(document: Document) -> list[Diagnostic]:
    """Owner and billing admins that could pass for another address."""
    account = document.data.get("account") if isinstance(document.data, dict) else None
    if not isinstance(account, dict):
        return []
    found: list[tuple[tuple[str | int, ...], str]] = []
    if isinstance(account.get("owner"), str):
        found.append((("account", "owner"), account["owner"]))
    admins = account.get("billing_admins")
    if isinstance(admins, list):
        found += [
            (("account", "billing_admins", i), a)
            for i, a in enumerate(admins)
            if isinstance(a, str)
        ]
    problems = []
    for path, email in found:
        why = odd_character(email)
        if why:
            problems.append(
                document.error(
                    path,
                    "look-alike-email",
                    f"the e-mail address '{email.encode('unicode_escape').decode('ascii')}' "
                    f"could pass for another: {why}",
                    "write the address in one script, as the mail server knows it",
                )
            )
    return problems


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

    raw_ref = billing.get("payment_ref", UNSET) if "payment_ref" in billing else UNSET
    if isinstance(raw_ref, str) and looks_like_card(raw_ref):
        problems.append(
            document.error(
                ("billing", "payment_ref"),
                "card-number",
                "this payment_ref holds the digits of a payment card number; "
                "zplan refuses files that hold card data",
                "give payment_ref the token your payment provider issued (such as pm_…)",
            )
        )
    problems.extend(email_problems(document))
    if any(d.is_error for d in problems):
        return None, problems
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
