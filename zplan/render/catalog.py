"""The price book for people: the whole catalog, and one product's editions side by side."""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal

from zplan.diagnostics import did_you_mean
from zplan.errors import UsageError
from zplan.load.catalog import Catalog
from zplan.model import Cycle, Promotion
from zplan.money import fmt, round_percent


def _price(table: Mapping[Cycle, Decimal], cycle: Cycle, currency: str) -> str:
    return fmt(table[cycle], currency) if cycle in table else "—"


def render_catalog(catalog: Catalog) -> str:
    currency = catalog.currencies[0]
    out = [
        f"Catalog {catalog.id} (as of {catalog.as_of}; currencies {', '.join(catalog.currencies)})",
        f"Prices in {currency} per agent per month (annual billing / monthly billing); "
        "* marks an estimate.",
        "",
    ]
    for product in catalog.products.values():
        replaces = f" (replaces {', '.join(product.replaces)})" if product.replaces else ""
        out.append(f"{product.id}: {product.name}{replaces}")
        for edition in product.editions.values():
            table = edition.price.get(currency, {})
            star = "*" if edition.estimate else " "
            out.append(
                f"  {edition.id:<14}{star} {_price(table, Cycle.ANNUAL, currency):>10} / "
                f"{_price(table, Cycle.MONTHLY, currency):>10}  {edition.name}"
            )
        out.append("")
    if catalog.addons:
        out.append("Add-ons (per unit per month):")
        for addon in catalog.addons.values():
            table = addon.price.get(currency, {})
            star = "*" if addon.estimate else " "
            where = ", ".join(f"{p} {e}+" for p, e in addon.available_on.items())
            out.append(
                f"  {addon.id:<22}{star} {_price(table, Cycle.ANNUAL, currency):>10} / "
                f"{_price(table, Cycle.MONTHLY, currency):>10}  per {addon.unit.value}; "
                f"on {where}"
            )
        out.append("")
    if catalog.promotions:
        out.append("Promotions:")
        for promotion in catalog.promotions.values():
            out.append(f"  {promotion.code:<12} {_promotion_terms(promotion, currency)}")
        out.append("")
    return "\n".join(out)


def _promotion_terms(promotion: Promotion, currency: str) -> str:
    """``$100.00 off; one invoice; annual billing only; expires 2027-03-31``."""
    if promotion.percent_off is not None:
        off = f"{promotion.percent_off.normalize():f}% off"
    else:
        amount = (promotion.amount_off or {}).get(currency)
        off = f"{fmt(amount, currency)} off" if amount is not None else "an amount off"
    if promotion.applies_to:
        off += f" {', '.join(promotion.applies_to)}"
    terms = [off, promotion.duration.describe()]
    if promotion.requires_cycle:
        terms.append(f"{promotion.requires_cycle.value} billing only")
    terms.append(f"expires {promotion.expires.isoformat() if promotion.expires else 'never'}")
    if promotion.void_on_downgrade:
        terms.append("void on downgrade")
    return "; ".join(terms)


def render_compare(catalog: Catalog, product_id: str, currency: str | None) -> str:
    product = catalog.products.get(product_id)
    if product is None:
        raise UsageError(
            f"'{product_id}' is not a product of the catalog {catalog.id}",
            hint=did_you_mean(product_id, list(catalog.products))
            or f"products: {', '.join(catalog.products)}",
        )
    currency = currency or catalog.currencies[0]
    if currency not in catalog.currencies:
        raise UsageError(
            f"the catalog {catalog.id} has no prices in {currency}",
            hint=f"currencies: {', '.join(catalog.currencies)}",
        )
    editions = list(product.editions.values())
    header = ["", *(e.name + ("*" if e.estimate else "") for e in editions)]
    rows: list[list[str]] = [header]

    def row(label: str, values: list[str]) -> None:
        rows.append([label, *values])

    tables = [e.price.get(currency, {}) for e in editions]
    row("Annual billing, per agent/mo", [_price(t, Cycle.ANNUAL, currency) for t in tables])
    row("Monthly billing, per agent/mo", [_price(t, Cycle.MONTHLY, currency) for t in tables])
    savings = []
    for table in tables:
        if Cycle.ANNUAL in table and Cycle.MONTHLY in table and table[Cycle.MONTHLY] > 0:
            per_year = (table[Cycle.MONTHLY] - table[Cycle.ANNUAL]) * 12
            percent = round_percent(
                (table[Cycle.MONTHLY] - table[Cycle.ANNUAL]) / table[Cycle.MONTHLY] * 100
            )
            savings.append(f"{fmt(per_year, currency)}/agent/yr ({percent}%)")
        else:
            savings.append("—")
    row("Annual saving", savings)
    row(
        "Agents",
        [
            f"{e.min_agents}–{e.max_agents}" if e.max_agents else f"{e.min_agents}+"
            for e in editions
        ],
    )
    row("Light agents included", [f"{e.included_light_agents:,}" for e in editions])
    depth = max((len(e.features) for e in editions), default=0)
    for index in range(depth):
        row(
            "Features" if index == 0 else "",
            [e.features[index] if index < len(e.features) else "" for e in editions],
        )
    widths = [max(len(r[i]) for r in rows) for i in range(len(header))]
    widths = [min(w, 34) for w in widths]
    out = [f"{product.name}: editions compared ({currency}, excluding tax)", ""]
    for index, cells in enumerate(rows):
        text = "  ".join(_fit(c, w) for c, w in zip(cells, widths, strict=True))
        out.append(text.rstrip())
        if index == 0:
            out.append("  ".join("-" * w for w in widths))
    if any(e.estimate for e in editions):
        out += [
            "",
            "* estimated price: no trustworthy public source (see the catalog's estimate_note).",
        ]
    sources = sorted({e.source for e in editions if e.source})
    if sources:
        out.append("Sources: " + "; ".join(sources))
    return "\n".join(out) + "\n"


def _fit(text: str, width: int) -> str:
    if len(text) > width:
        return text[: width - 1] + "…"
    return text.ljust(width)
