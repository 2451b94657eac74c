"""The price book: products, editions, add-ons, promotions, and their queries.

A catalog is a YAML file validated by ``schemas/catalog.schema.json`` and then
checked for consistency (every price in every listed currency, add-ons on
editions that exist, ...). zplan ships a default one built from public list
prices; ``--catalog FILE`` or ``ZPLAN_CATALOG`` selects a customer's own.
"""

from __future__ import annotations

import datetime as dt
import enum
import functools
import hashlib
import json
import os
from collections.abc import Mapping
from decimal import Decimal
from pathlib import Path
from typing import Any, NamedTuple

from zplan.diagnostics import Diagnostic, Severity, has_errors, sort_diagnostics
from zplan.errors import UsageError, ZplanError
from zplan.load import schema
from zplan.load.document import Document, load_bytes, load_file
from zplan.model import Cycle, Duration, Promotion
from zplan.money import ZERO, parse_amount

DEFAULT_CATALOG = "zendesk-list-2026-11.yaml"


class Unit(enum.Enum):
    AGENT = "agent"
    ACCOUNT = "account"


PriceTable = Mapping[str, Mapping[Cycle, Decimal]]  # currency -> cycle -> per unit per month


class Edition(NamedTuple):
    id: str
    name: str
    rank: int
    price: PriceTable
    source: str | None
    estimate: bool
    min_agents: int
    max_agents: int | None
    included_light_agents: int
    features: tuple[str, ...]
    raw: Mapping[str, Any]


class Product(NamedTuple):
    id: str
    name: str
    replaces: tuple[str, ...]
    editions: Mapping[str, Edition]
    raw: Mapping[str, Any]

    def edition(self, edition_id: str) -> Edition:
        return self.editions[edition_id]

    @property
    def lowest(self) -> Edition:
        return min(self.editions.values(), key=lambda e: e.rank)


class Addon(NamedTuple):
    id: str
    name: str
    unit: Unit
    cycles: tuple[Cycle, ...]
    price: PriceTable
    source: str | None
    estimate: bool
    available_on: Mapping[str, str]
    raw: Mapping[str, Any]


class Catalog(NamedTuple):
    id: str
    as_of: str
    currencies: tuple[str, ...]
    products: Mapping[str, Product]
    addons: Mapping[str, Addon]
    promotions: Mapping[str, Promotion]  # by upper-case code
    sha256: str
    path: str
    raw: Mapping[str, Any]

    def promotion(self, code: str) -> Promotion | None:
        return self.promotions.get(code.upper())

    def replacing(self, product_id: str) -> tuple[str, ...]:
        """The products that ``product_id`` (a bundle such as suite) replaces."""
        product = self.products.get(product_id)
        return product.replaces if product else ()

    def bundles_replacing(self, product_id: str) -> tuple[str, ...]:
        return tuple(p.id for p in self.products.values() if product_id in p.replaces)

    def addon_price(self, addon_id: str, currency: str, cycle: Cycle) -> Decimal:
        """Per unit per month; on a cycle the add-on is not sold on, its other cycle's price."""
        table = self.addons[addon_id].price.get(currency, {})
        price = table.get(cycle)
        return price if price is not None else next(iter(table.values()), ZERO)

    def edition_price(
        self, product_id: str, edition_id: str, currency: str, cycle: Cycle
    ) -> Decimal:
        table = self.products[product_id].editions[edition_id].price.get(currency, {})
        price = table.get(cycle)  # one look-up: every line of every account priced comes here
        return price if price is not None else next(iter(table.values()), ZERO)

    def to_json(self) -> dict[str, Any]:
        """The catalog as ``zplan catalog --format json`` prints it (pricing.md's structure)."""
        result: dict[str, Any] = _jsonable(self.raw)
        # Optional keys are printed with their defaults, so readers need not know them.
        result.setdefault("addons", {})
        result.setdefault("promotions", {})
        for product in result["products"].values():
            product.setdefault("replaces", [])
        for promotion in result["promotions"].values():
            promotion.setdefault("applies_to", None)
            promotion.setdefault("requires_cycle", None)
            promotion.setdefault("expires", None)
            promotion.setdefault("void_on_downgrade", False)
        return result


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_jsonable(v) for v in value]
    return value


class CatalogError(ZplanError):
    """The catalog file cannot be used; its diagnostics say why."""

    def __init__(self, path: str, diagnostics: list[Diagnostic]) -> None:
        self.diagnostics = diagnostics
        first = diagnostics[0] if diagnostics else None
        detail = (
            f"{first.file}:{first.line}:{first.column}: {first.path}: {first.message}"
            if first
            else ""
        )
        others = len(diagnostics) - 1
        more = f" (and {others} more problem{'s' * (others > 1)})" if others else ""
        super().__init__(
            f"the catalog {path} is not valid: {detail}{more}",
            hint=f"run: zplan validate {path}",
        )


def load_catalog(path: str | None) -> Catalog:
    """The active catalog: the file at ``path``, or the one shipped with zplan."""
    if not path:
        return _default_catalog()
    if not os.path.lexists(path):
        raise UsageError(
            f"--catalog {path}: not found (cannot read the file: no such file or directory)",
            hint="give the path of a price book, or leave --catalog out for the shipped one",
        )
    document = load_file(Path(path), path)
    if document.ok and document.kind is not document.kind.CATALOG:
        document.diagnostics.append(
            Diagnostic(
                path,
                1,
                1,
                Severity.ERROR,
                "(file)",
                "not-a-catalog",
                "this file is not a catalog (no 'catalog:' key at the top)",
            )
        )
    return _checked(document, path, trusted=False)


@functools.cache
def _default_catalog() -> Catalog:
    """The shipped catalog, read once per process (it cannot change while zplan runs)."""
    raw = (Path(__file__).parent.parent / "catalogs" / DEFAULT_CATALOG).read_bytes()
    document = load_bytes(raw, f"(default catalog) {DEFAULT_CATALOG}")
    return _checked(document, DEFAULT_CATALOG, trusted=True)


def _checked(document: Document, name: str, *, trusted: bool) -> Catalog:
    catalog, diagnostics = build_catalog(document, trusted=trusted)
    errors = [d for d in diagnostics if d.is_error]
    if catalog is None or errors:
        raise CatalogError(name, errors)
    return catalog


def check_catalog(document: Document) -> list[Diagnostic]:
    """Every problem with a catalog document (for ``zplan validate``)."""
    return build_catalog(document)[1]


def build_catalog(
    document: Document, *, trusted: bool = False
) -> tuple[Catalog | None, list[Diagnostic]]:
    """The catalog in ``document``, and its problems.

    ``trusted`` skips the JSON Schema pass for the catalog shipped inside the
    package: the test suite validates it, and every command would otherwise
    pay for importing and running the schema validator on start-up.
    """
    diagnostics = list(document.diagnostics)
    if not document.ok:
        return None, sort_diagnostics(diagnostics)
    if not trusted:
        diagnostics.extend(schema.check(document, schema.CATALOG))
    if has_errors(diagnostics):
        return None, sort_diagnostics(diagnostics)
    data = document.data
    currencies = tuple(data["currencies"])
    problems: list[Diagnostic] = []

    def price_table(
        where: tuple[str | int, ...], table: Mapping[str, Any], cycles: tuple[Cycle, ...] | None
    ) -> PriceTable:
        result: dict[str, dict[Cycle, Decimal]] = {}
        for currency in currencies:
            if currency not in table:
                problems.append(
                    document.error((*where, "price"), "missing-price", f"no {currency} price")
                )
                continue
            result[currency] = {}
            for cycle_name, amount in table[currency].items():
                try:
                    value = parse_amount(amount)
                except ValueError as exc:
                    problems.append(
                        document.error(
                            (*where, "price", currency, cycle_name), "invalid-price", str(exc)
                        )
                    )
                    continue
                if value < 0:
                    problems.append(
                        document.error(
                            (*where, "price", currency, cycle_name),
                            "invalid-price",
                            "a price cannot be negative",
                        )
                    )
                result[currency][Cycle(cycle_name)] = value
            if cycles is not None and set(result[currency]) != set(cycles):
                problems.append(
                    document.error(
                        (*where, "price", currency),
                        "price-cycles",
                        f"prices for {', '.join(sorted(c.value for c in result[currency]))} "
                        f"but the add-on is sold on {', '.join(c.value for c in cycles)}",
                        "give a price for exactly the cycles listed under cycles",
                    )
                )
        for currency in table:
            if currency not in currencies:
                problems.append(
                    document.error(
                        (*where, "price", currency),
                        "unknown-currency",
                        f"{currency} is not in the catalog's currencies",
                    )
                )
        return result

    products: dict[str, Product] = {}
    for product_id, product in data["products"].items():
        editions: dict[str, Edition] = {}
        for rank, (edition_id, edition) in enumerate(product["editions"].items()):
            where: tuple[str | int, ...] = ("products", product_id, "editions", edition_id)
            editions[edition_id] = Edition(
                id=edition_id,
                name=edition.get("name", edition_id),
                rank=rank,
                price=price_table(where, edition["price"], None),
                source=edition.get("source"),
                estimate=bool(edition.get("estimate", False)),
                min_agents=edition.get("min_agents", 1),
                max_agents=edition.get("max_agents"),
                included_light_agents=edition.get("included_light_agents", 0),
                features=tuple(edition.get("features", ())),
                raw=edition,
            )
        products[product_id] = Product(
            product_id,
            product.get("name", product_id),
            tuple(product.get("replaces", ())),
            editions,
            product,
        )
    for product in products.values():
        for index, replaced in enumerate(product.replaces):
            if replaced not in data["products"] or replaced == product.id:
                problems.append(
                    document.error(
                        ("products", product.id, "replaces", index),
                        "unknown-product",
                        f"'{replaced}' is not another product of this catalog",
                    )
                )
    addons: dict[str, Addon] = {}
    for addon_id, addon in data.get("addons", {}).items():
        cycles = tuple(Cycle(c) for c in addon["cycles"])
        for product_id, edition_id in addon["available_on"].items():
            if product_id not in products:
                problems.append(
                    document.error(
                        ("addons", addon_id, "available_on", product_id),
                        "unknown-product",
                        f"no product '{product_id}'",
                        key=True,
                    )
                )
            elif edition_id not in products[product_id].editions:
                problems.append(
                    document.error(
                        ("addons", addon_id, "available_on", product_id),
                        "unknown-edition",
                        f"'{edition_id}' is not an edition of {product_id}",
                    )
                )
        addons[addon_id] = Addon(
            id=addon_id,
            name=addon.get("name", addon_id),
            unit=Unit(addon["unit"]),
            cycles=cycles,
            price=price_table(("addons", addon_id), addon["price"], cycles),
            source=addon.get("source"),
            estimate=bool(addon.get("estimate", False)),
            available_on=dict(addon["available_on"]),
            raw=addon,
        )
    promotions: dict[str, Promotion] = {}
    for code, promo in (data.get("promotions") or {}).items():
        if code.upper() in promotions:
            problems.append(
                document.error(
                    ("promotions", code),
                    "duplicate-key",
                    f"the code {code} is listed twice (codes ignore case)",
                    key=True,
                )
            )
        for index, product_id in enumerate(promo.get("applies_to") or ()):
            if product_id not in products:
                problems.append(
                    document.error(
                        ("promotions", code, "applies_to", index),
                        "unknown-product",
                        f"no product '{product_id}'",
                    )
                )
        amount_off = promo.get("amount_off")
        if amount_off is not None:
            for currency in currencies:
                if currency not in amount_off:
                    problems.append(
                        document.error(
                            ("promotions", code, "amount_off"),
                            "missing-price",
                            f"no {currency} amount",
                        )
                    )
        try:
            expires = (
                None if promo.get("expires") is None else dt.date.fromisoformat(promo["expires"])
            )
        except ValueError:
            problems.append(
                document.error(
                    ("promotions", code, "expires"),
                    "invalid-format",
                    f"'{promo['expires']}' is not a date",
                )
            )
            expires = None
        promotions[code.upper()] = Promotion(
            code=code,
            description=promo.get("description", ""),
            percent_off=None if promo.get("percent_off") is None else Decimal(promo["percent_off"]),
            amount_off=None
            if amount_off is None
            else {c: Decimal(a) for c, a in amount_off.items()},
            duration=Duration.from_json(promo["duration"]),
            expires=expires,
            applies_to=None if promo.get("applies_to") is None else tuple(promo["applies_to"]),
            requires_cycle=None
            if promo.get("requires_cycle") is None
            else Cycle(promo["requires_cycle"]),
            void_on_downgrade=bool(promo.get("void_on_downgrade", False)),
        )
    diagnostics.extend(problems)
    if has_errors(problems):
        return None, sort_diagnostics(diagnostics)
    canonical = json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    catalog = Catalog(
        id=str(data["catalog"]),
        as_of=str(data["as_of"]),
        currencies=currencies,
        products=products,
        addons=addons,
        promotions=promotions,
        sha256=hashlib.sha256(canonical.encode()).hexdigest(),
        path=document.path,
        raw=data,
    )
    return catalog, sort_diagnostics(diagnostics)


def uses_estimates(catalog: Catalog, items: list[tuple[str, str | None]]) -> bool:
    """Whether any (product, edition) or (addon, None) priced from the catalog is an estimate."""
    for key, edition in items:
        if edition is not None:
            if catalog.products[key].editions[edition].estimate:
                return True
        elif catalog.addons[key].estimate:
            return True
    return False


__all__ = ["Catalog", "CatalogError", "Cycle", "Severity", "load_catalog"]
