"""Prices, invoices, promotions, terms and renewals: pricing.md turned into pure functions.

Nothing here reads a clock or a store: every date is an argument.
"""

from __future__ import annotations

import calendar
import datetime as dt
from collections.abc import Iterable, Iterator
from decimal import Decimal
from typing import NamedTuple

from zplan.load.catalog import Catalog
from zplan.model import (
    Account,
    Config,
    Cycle,
    Invoice,
    InvoiceLine,
    LineMath,
    ProductLine,
    PromotionRecord,
    Recurring,
    Renewal,
    Subscription,
)
from zplan.money import HUNDRED, ZERO, fmt, round_money

# Terms -----------------------------------------------------------------------


def add_months(day: dt.date, months: int, anchor_day: int) -> dt.date:
    """``day`` moved by whole months, landing on ``anchor_day`` clamped to the month's end."""
    index = day.year * 12 + (day.month - 1) + months
    year, month = divmod(index, 12)
    if anchor_day <= 28:  # every month has the day (most anchors): no calendar look-up
        return dt.date(year, month + 1, anchor_day)
    last = calendar.monthrange(year, month + 1)[1]
    return dt.date(year, month + 1, min(anchor_day, last))


def term_end(term_start: dt.date, cycle: Cycle, anchor: dt.date) -> dt.date:
    """The end of a term starting at ``term_start``: the anchor's day, a cycle later."""
    return add_months(term_start, cycle.months, anchor.day)


# Billable lines --------------------------------------------------------------


class Billable(NamedTuple):
    """A billable line: one per product, one per (product, add-on)."""

    key: str  # products.suite | products.suite.addons.copilot
    product: str
    addon: str | None
    edition: str
    quantity: int
    unit_price: Decimal  # per unit per month at the cycle priced
    cycle: Cycle

    @property
    def cycle_amount(self) -> Decimal:
        return self.unit_price * self.quantity * self.cycle.months


def billables(
    catalog: Catalog, config: Config, currency: str, cycle: Cycle | None = None
) -> dict[str, Billable]:
    """The billable lines of ``config``, priced at ``cycle`` (default: its own)."""
    at = cycle or config.cycle
    lines: dict[str, Billable] = {}
    for product in config.products:
        key = f"products.{product.product}"
        price = catalog.edition_price(product.product, product.edition, currency, at)
        lines[key] = Billable(
            key, product.product, None, product.edition, product.agents, price, at
        )
        for addon_id, quantity in product.addons:
            addon_key = f"{key}.addons.{addon_id}"
            addon_price = catalog.addon_price(addon_id, currency, at)
            lines[addon_key] = Billable(
                addon_key, product.product, addon_id, product.edition, quantity, addon_price, at
            )
    return lines


def list_total(
    catalog: Catalog, config: Config, currency: str, cycle: Cycle | None = None
) -> Decimal:
    """Unrounded list price per cycle of ``config`` (at ``cycle``), no promotions."""
    return sum(cycle_amounts(catalog, config, currency, cycle or config.cycle), ZERO)


def cycle_amounts(
    catalog: Catalog, config: Config, currency: str, cycle: Cycle
) -> Iterator[Decimal]:
    """The billables' cycle amounts (unrounded), in their order, without building them:
    hints, monthly deltas and renewal figures price whole subscriptions for every account."""
    months = cycle.months
    for product in config.products:
        price = catalog.edition_price(product.product, product.edition, currency, cycle)
        yield price * product.agents * months
        for addon_id, quantity in product.addons:
            yield catalog.addon_price(addon_id, currency, cycle) * quantity * months


def monthly_list(
    catalog: Catalog, config: Config, currency: str, cycle: Cycle | None = None
) -> Decimal:
    """List price per month (unrounded): what ``monthly_delta`` values are differences of."""
    if config.cancelled:
        return ZERO
    at = cycle or config.cycle
    return list_total(catalog, config, currency, at) / at.months


def line_name(catalog: Catalog, billable: Billable) -> str:
    product = catalog.products[billable.product]
    if billable.addon is None:
        return product.editions[billable.edition].name
    return catalog.addons[billable.addon].name


def describe_line(catalog: Catalog, billable: Billable) -> str:
    name = line_name(catalog, billable)
    if billable.addon is None:
        return f"{name}, {billable.quantity} agent{'s' if billable.quantity != 1 else ''}"
    if catalog.addons[billable.addon].unit.value == "account":
        return name
    return f"{name}, {billable.quantity} seat{'s' if billable.quantity != 1 else ''}"


# Promotions ------------------------------------------------------------------


def promotion_end(record: PromotionRecord) -> dt.date | None:
    """The first day a ``{cycles: N}`` promotion no longer discounts (None: no such end)."""
    duration = record.terms.duration
    if duration.kind != "cycles":
        return None
    return add_months(
        record.added_on, duration.cycles * record.cycle_at_add.months, record.added_on.day
    )


def promotion_applies(
    record: PromotionRecord | None, day: dt.date, cycle: Cycle, full_cycle: bool
) -> bool:
    """Whether the promotion may discount an invoice dated ``day`` on ``cycle``."""
    if record is None or not record.active_on(day) or day < record.added_on:
        return False
    terms = record.terms
    if terms.requires_cycle is not None and terms.requires_cycle is not cycle:
        return False
    if terms.percent_off is None and not full_cycle:
        return False  # amount promotions discount full-cycle invoices only
    end = promotion_end(record)
    return end is None or day < end


def eligible(record: PromotionRecord, lines: Iterable[InvoiceLine]) -> list[InvoiceLine]:
    return [
        line
        for line in lines
        if line.amount != 0 and line.product is not None and record.terms.covers(line.product)
    ]


class Priced(NamedTuple):
    invoice: Invoice
    promotion: PromotionRecord | None  # the promotion after this invoice (a once used up)
    balance: Decimal  # the account balance after this invoice


def price_invoice(
    *,
    day: dt.date,
    cycle: Cycle,
    kind: str,
    lines: list[InvoiceLine],
    currency: str,
    promotion: PromotionRecord | None,
    balance: Decimal,
    full_cycle: bool,
) -> Priced:
    """Steps 2 to 5 of pricing.md's invoice: discounts, sum, negative to balance, balance applied."""
    all_lines = list(lines)
    if promotion is not None and promotion_applies(promotion, day, cycle, full_cycle):
        targets = eligible(promotion, lines)
        terms = promotion.terms
        if targets:
            if terms.percent_off is not None:
                for line in targets:
                    off = round_money(line.amount * terms.percent_off / HUNDRED, currency)
                    if off != 0:
                        math = None
                        if line.math is not None:
                            math = LineMath(
                                line.math.period_from,
                                line.math.period_to,
                                percent_off=terms.percent_off,
                                of=line.amount,
                            )
                        all_lines.append(
                            InvoiceLine(
                                line.line,
                                f"{terms.code} {terms.percent_off.normalize():f}% off {line.line}",
                                "discount",
                                -off,
                                line.product,
                                math,
                            )
                        )
            else:
                assert terms.amount_off is not None
                positive = sum((line.amount for line in targets if line.amount > 0), ZERO)
                off = min(terms.amount_off.get(currency, ZERO), positive)
                if off > 0:
                    all_lines.append(
                        InvoiceLine(
                            "promotion", f"{terms.code} {fmt(off, currency)} off", "discount", -off
                        )
                    )
            if terms.duration.kind == "once":
                # Used up: no other invoice, not even one of the same day, gets it.
                promotion = promotion._replace(ended_on=day, end_reason="used")
    subtotal = sum((line.amount for line in all_lines), ZERO)
    balance_created = ZERO
    total = subtotal
    if total < 0:
        balance_created = -total
        total = ZERO
    balance_applied = min(balance, total)
    total -= balance_applied
    invoice = Invoice(
        day, cycle, kind, tuple(all_lines), subtotal, balance_applied, balance_created, total
    )
    return Priced(invoice, promotion, balance - balance_applied + balance_created)


def full_cycle_lines(
    catalog: Catalog,
    config: Config,
    currency: str,
    kind: str,
    start: dt.date,
    end: dt.date,
    *,
    describe: bool = True,
) -> list[InvoiceLine]:
    """Lines of a whole-term invoice (first purchase, renewal): full cycle amounts.

    ``describe=False``: only the amounts (no description, no math), for totals.
    """
    result = []
    for billable in billables(catalog, config, currency).values():
        amount = round_money(billable.cycle_amount, currency)
        if not describe:
            result.append(InvoiceLine(billable.key, "", kind, amount, billable.product))
            continue
        description = (
            f"{describe_line(catalog, billable)}, {config.cycle.value} "
            f"{start.isoformat()} to {end.isoformat()}"
        )
        math = LineMath(start, end, billable.quantity, billable.unit_price, billable.cycle.months)
        result.append(InvoiceLine(billable.key, description, kind, amount, billable.product, math))
    return result


def recurring(
    catalog: Catalog,
    config: Config,
    currency: str,
    day: dt.date,
    promotion: PromotionRecord | None,
    lines: list[InvoiceLine] | None = None,
) -> Recurring:
    """The renewal invoice of ``config`` on ``day``, promotions included, balance left out.

    ``lines``: ``config``'s full-cycle lines when the caller has them (a first purchase's
    invoice): the renewal's amounts are theirs, and are not worked out again."""
    if config.cancelled or not config.products:
        return Recurring(config.cycle, ZERO, ZERO)
    promotion = end_promotion_if_due(promotion, day, config.cycle)
    if promotion is None or not promotion_applies(promotion, day, config.cycle, True):
        # Nothing discounts it (most accounts): the sum of the rounded lines, as
        # price_invoice would make it, without the invoice (every account planned runs this).
        if lines is not None:
            per_cycle = sum((line.amount for line in lines), ZERO)
        else:
            amounts = cycle_amounts(catalog, config, currency, config.cycle)
            per_cycle = sum((round_money(amount, currency) for amount in amounts), ZERO)
    else:
        end = term_end(day, config.cycle, day)
        if lines is None:  # only the totals are used: no descriptions
            lines = full_cycle_lines(catalog, config, currency, "renewal", day, end, describe=False)
        priced = price_invoice(
            day=day,
            cycle=config.cycle,
            kind="renewal",
            lines=lines,
            currency=currency,
            promotion=promotion,
            balance=ZERO,
            full_cycle=True,
        )
        per_cycle = priced.invoice.subtotal
    monthly = round_money(per_cycle / config.cycle.months, currency)
    return Recurring(config.cycle, round_money(per_cycle, currency), monthly)


# Renewals --------------------------------------------------------------------


def end_promotion_if_due(
    record: PromotionRecord | None, day: dt.date, cycle: Cycle
) -> PromotionRecord | None:
    """At a renewal on ``day``: a promotion past its cycles, or on a cycle it does not allow, ends."""
    if record is None or record.ended_on is not None:
        return record
    end = promotion_end(record)
    if end is not None and day >= end:
        return record._replace(ended_on=end, end_reason="expired")
    required = record.terms.requires_cycle
    if required is not None and required is not cycle:
        return record._replace(ended_on=day, end_reason="cycle")
    return record


def roll_over(
    catalog: Catalog, account: Account, today: dt.date, *, describe: bool = True
) -> tuple[Account, list[Renewal]]:
    """Every renewal due on or before ``today``: the account after them, and each renewal.

    ``now := next``, a new term at the old ``term_end`` with ``next``'s cycle, a
    renewal invoice; a cancelled ``next`` ends the subscription instead.
    ``describe=False`` leaves the lines' descriptions and math empty (the forecast needs totals).
    """
    renewals: list[Renewal] = []
    while account.subscription is not None and today >= account.subscription.term_end:
        sub = account.subscription
        day = sub.term_end
        if sub.next.cancelled:
            account = account._replace(subscription=None, serial=account.serial + 1)
            invoice = Invoice(day, sub.now.cycle, "renewal", (), ZERO, ZERO, ZERO, ZERO)
            renewals.append(Renewal(invoice, account, ended=True))
            break
        config = sub.next
        end = term_end(day, config.cycle, sub.anchor)
        promotion = end_promotion_if_due(sub.promotion, day, config.cycle)
        lines = full_cycle_lines(
            catalog, config, account.currency, "renewal", day, end, describe=describe
        )
        priced = price_invoice(
            day=day,
            cycle=config.cycle,
            kind="renewal",
            lines=lines,
            currency=account.currency,
            promotion=promotion,
            balance=account.balance,
            full_cycle=True,
        )
        new_sub = Subscription(sub.anchor, day, end, config, config, sub.payment, priced.promotion)
        account = account._replace(
            subscription=new_sub, balance=priced.balance, serial=account.serial + 1
        )
        renewals.append(Renewal(priced.invoice, account))
    return account, renewals


# Proration -------------------------------------------------------------------


def proration_lines(
    catalog: Catalog,
    before: Config,
    after: Config,
    currency: str,
    remaining: int,
    term_days: int,
    period: tuple[dt.date, dt.date] | None = None,
) -> list[InvoiceLine]:
    """One line per billable line an immediate change touches, prorated by whole days.

    ``amount = round((after - before) * remaining / term_days)``, both at the
    current term's cycle (``before.cycle``); one rounding per line.
    """
    if before == after:
        return []  # nothing changes today (most plans): no line differs
    cycle = before.cycle
    old = billables(catalog, before, currency, cycle)
    new = billables(catalog, after, currency, cycle)
    result = []
    for key in sorted(set(old) | set(new), key=_line_order):
        was, will = old.get(key), new.get(key)
        amount_before = was.cycle_amount if was else ZERO
        amount_after = will.cycle_amount if will else ZERO
        if amount_before == amount_after:
            continue
        amount = round_money((amount_after - amount_before) * remaining / term_days, currency)
        days = f"{remaining} of {term_days} days"
        ref = will or was
        assert ref is not None
        if was is None:
            description = f"{describe_line(catalog, ref)}, added, {days}"
        elif will is None:
            description = f"{describe_line(catalog, was)}, removed, credit for {days}"
        else:
            description = f"{_transition(catalog, was, will)}, {days}"
        kind = "proration" if amount >= 0 else "credit"
        math = None
        if period is not None:
            math = LineMath(
                period[0],
                period[1],
                will.quantity if will else 0,
                will.unit_price if will else ZERO,
                cycle.months,
                was.quantity if was else 0,
                was.unit_price if was else ZERO,
                remaining,
                term_days,
            )
        result.append(InvoiceLine(key, description, kind, amount, ref.product, math))
    return result


def _transition(catalog: Catalog, was: Billable, will: Billable) -> str:
    name_was, name_will = line_name(catalog, was), line_name(catalog, will)
    unit = "agents" if was.addon is None else "seats"
    name = (
        name_was
        if name_was == name_will
        else f"{name_was} → {_after_shared_words(name_was, name_will)}"
    )
    count = (
        f"{was.quantity} {unit}"
        if was.quantity == will.quantity
        else f"{was.quantity} → {will.quantity} {unit}"
    )
    return f"{name}, {count}"


def _after_shared_words(before: str, after: str) -> str:
    """``Suite Enterprise`` after ``Suite Professional`` reads ``Enterprise``."""
    shared = 0
    for a, b in zip(before.split(), after.split(), strict=False):
        if a != b:
            break
        shared += 1
    rest = after.split()[shared:]
    return " ".join(rest) if rest else after


def _line_order(key: str) -> tuple[str, int, str]:
    parts = key.split(".")
    return (parts[1], 0 if len(parts) == 2 else 1, key)


def first_purchase_lines(
    catalog: Catalog, config: Config, currency: str, start: dt.date, end: dt.date
) -> list[InvoiceLine]:
    return full_cycle_lines(catalog, config, currency, "purchase", start, end)


def products_of(config: Config) -> list[ProductLine]:
    return list(config.products)
