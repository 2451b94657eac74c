"""The planner's shortcuts (issue 18) give what the long way gives, on generated subscriptions.

Each shortcut skips work whose result is known: a renewal figure nothing
discounts is summed without building its invoice, a list total without
building billable lines, a proration of an unchanged config is empty. Here the
long way is run beside each one.
"""

from __future__ import annotations

import datetime as dt

from hypothesis import given
from zplan.model import Config, Cycle
from zplan.money import ZERO, round_money
from zplan.plan.pricing import (
    add_months,
    billables,
    full_cycle_lines,
    list_total,
    price_invoice,
    proration_lines,
    recurring,
    term_end,
)

from tests.plan.test_properties import CATALOG, CURRENCY, SETTINGS, configs, days, promo_codes


@SETTINGS
@given(config=configs(), day=days)
def test_undiscounted_renewal_is_its_invoice_subtotal(config: Config, day: dt.date) -> None:
    end = term_end(day, config.cycle, day)
    lines = full_cycle_lines(CATALOG, config, CURRENCY, "renewal", day, end)
    invoice = price_invoice(
        day=day,
        cycle=config.cycle,
        kind="renewal",
        lines=lines,
        currency=CURRENCY,
        promotion=None,
        balance=ZERO,
        full_cycle=True,
    ).invoice
    figure = recurring(CATALOG, config, CURRENCY, day, None)
    assert figure.per_cycle == round_money(invoice.subtotal, CURRENCY)
    assert figure.monthly == round_money(invoice.subtotal / config.cycle.months, CURRENCY)
    # Lines without descriptions carry the same amounts.
    bare = full_cycle_lines(CATALOG, config, CURRENCY, "renewal", day, end, describe=False)
    assert [(x.line, x.amount, x.product) for x in bare] == [
        (x.line, x.amount, x.product) for x in lines
    ]


@SETTINGS
@given(config=configs())
def test_list_total_sums_the_billable_lines(config: Config) -> None:
    for cycle in Cycle:
        lines = billables(CATALOG, config, CURRENCY, cycle).values()
        assert list_total(CATALOG, config, CURRENCY, cycle) == sum(
            (b.cycle_amount for b in lines), ZERO
        )


@SETTINGS
@given(config=configs(), day=days)
def test_an_unchanged_config_prorates_nothing(config: Config, day: dt.date) -> None:
    # A copy, not the same object: equal configs are what the shortcut recognises.
    same = Config(config.cycle, tuple(config.products), config.cancelled)
    assert proration_lines(CATALOG, config, same, CURRENCY, 10, 365, (day, day)) == []


def test_add_months_clamps_only_past_the_28th() -> None:
    assert add_months(dt.date(2026, 1, 28), 1, 28) == dt.date(2026, 2, 28)
    assert add_months(dt.date(2026, 1, 31), 1, 31) == dt.date(2026, 2, 28)
    assert add_months(dt.date(2027, 12, 29), 2, 29) == dt.date(2028, 2, 29)
    assert add_months(dt.date(2026, 2, 28), 1, 31) == dt.date(2026, 3, 31)


@SETTINGS
@given(config=configs())
def test_hints_worked_out_once_are_the_hints_of_each_price_book(config: Config) -> None:
    from zplan.load.catalog import load_catalog
    from zplan.plan.planner import _hints, _hints_of

    from tests.conftest import EXAMPLES

    negotiated = load_catalog(EXAMPLES / "catalogs" / "acme-negotiated.yaml")
    for catalog in (CATALOG, negotiated, CATALOG):  # the cache is keyed by the price book
        assert _hints_of(catalog, config, CURRENCY) == tuple(_hints(catalog, config, CURRENCY))
        assert _hints_of(catalog, config, CURRENCY) == tuple(_hints(catalog, config, CURRENCY))


@SETTINGS
@given(config=configs(), day=days, code=promo_codes)
def test_a_first_purchases_renewal_figure_from_its_lines_is_the_figure(
    config: Config, day: dt.date, code: str | None
) -> None:
    from zplan.model import PromotionRecord

    end = term_end(day, config.cycle, day)
    lines = full_cycle_lines(CATALOG, config, CURRENCY, "purchase", day, end)
    terms = CATALOG.promotion(code) if code else None
    for record in (None, None if terms is None else PromotionRecord(terms, day, config.cycle)):
        assert recurring(CATALOG, config, CURRENCY, end, record, lines) == recurring(
            CATALOG, config, CURRENCY, end, record
        )
