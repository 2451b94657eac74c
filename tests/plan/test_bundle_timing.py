"""Timing is decided against what is in force today (issue 14), checked on generated histories.

Two properties that would have caught the bundle-timing defects:

- the due-now invoice and what takes effect now depend only on what is in
  force today (``now``), the file, the date and the promotion record, not on
  what happens to be scheduled for the renewal: two histories that reach the
  same ``now`` give the same invoice for the same file;
- after any apply, ``now`` and ``next`` are each valid subscriptions under the
  catalog's rules (above all: a suite never stands beside a product it
  replaces).

Histories are made the way applies make them: ``plan_account`` results, one
after the other, as in tests/plan/test_properties.py.
"""

from __future__ import annotations

import datetime as dt

from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from zplan.model import Account, Config, Cycle, ProductLine

from tests.plan.test_properties import (
    BUNDLE,
    CATALOG,
    CURRENCY,
    STANDALONE,
    configs,
    days,
    plan,
    purchased,
)

SETTINGS = settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.filter_too_much]
)


def problems(config: Config) -> list[str]:
    """What breaks the catalog's rules in ``config`` (subscription.md, pricing.md)."""
    found = []
    ids = set(config.product_ids)
    if not config.products and not config.cancelled:
        found.append("no products")
    for product_id in ids:
        for replaced in CATALOG.replacing(product_id):
            if replaced in ids:
                found.append(f"{product_id} beside {replaced}, which it replaces")
    for line in config.products:
        product = CATALOG.products[line.product]
        edition = product.editions[line.edition]
        if config.cycle not in edition.price[CURRENCY]:
            found.append(f"{edition.name} not sold on {config.cycle.value}")
        if line.agents < edition.min_agents or (
            edition.max_agents is not None and line.agents > edition.max_agents
        ):
            found.append(f"{edition.name} with {line.agents} agents")
        for addon_id, seats in line.addons:
            addon = CATALOG.addons[addon_id]
            lowest = addon.available_on.get(line.product)
            if lowest is None or edition.rank < product.editions[lowest].rank:
                found.append(f"{addon_id} not sold with {line.product} {line.edition}")
            if config.cycle not in addon.cycles:
                found.append(f"{addon_id} not sold on {config.cycle.value}")
            if addon.unit.value == "agent" and seats > line.agents:
                found.append(f"{addon_id}: {seats} seats for {line.agents} agents")
    return found


@st.composite
def lowered(draw: st.DrawFn, config: Config) -> Config:
    """A file at or below ``config`` on every count: what an apply only schedules.

    Fewer agents, lower editions, fewer or no add-ons, products dropped, the
    other cycle, and the bundle moves: standalone products into a suite, or a
    suite into standalone products (the plan decides whether that is now).
    """
    lines = []
    for line in config.products:
        product = CATALOG.products[line.product]
        rank = product.editions[line.edition].rank
        editions = sorted(e.id for e in product.editions.values() if e.rank <= rank)
        edition = draw(st.sampled_from(editions))
        agents = draw(st.integers(min_value=1, max_value=line.agents))
        addons = tuple((a, min(q, agents)) for a, q in line.addons if draw(st.integers(0, 2)) > 0)
        lines.append(ProductLine(line.product, edition, agents, addons))
    move = draw(st.integers(0, 3))
    if move == 0 and config.product(BUNDLE) is None:
        edition = draw(st.sampled_from(sorted(CATALOG.products[BUNDLE].editions)))
        agents = draw(st.integers(min_value=1, max_value=max(p.agents for p in lines)))
        lines = [ProductLine(BUNDLE, edition, agents)]
    elif move == 0:
        chosen = draw(st.lists(st.sampled_from(STANDALONE), min_size=1, max_size=4, unique=True))
        lines = []
        for product_id in sorted(chosen):
            editions = sorted(CATALOG.products[product_id].editions)
            lines.append(
                ProductLine(product_id, draw(st.sampled_from(editions)), draw(st.integers(1, 20)))
            )
    elif move == 1 and len(lines) > 1:
        lines.pop(draw(st.integers(0, len(lines) - 1)))
    cycle = draw(st.sampled_from(list(Cycle))) if draw(st.booleans()) else config.cycle
    return Config(cycle, tuple(sorted(lines, key=lambda p: p.product)))


@st.composite
def two_histories(draw: st.DrawFn) -> tuple[Account, Account, dt.date, Config]:
    """The same first purchase, with and without a scheduled step; the same ``now`` after it."""
    first = draw(configs())
    bought = draw(days)
    promo = draw(st.sampled_from([None, "LOYALTY5"]))
    plain = purchased(first, bought, promo)
    sub = plain.subscription
    assert sub is not None
    term_days = (sub.term_end - sub.term_start).days
    assume(term_days > 2)
    step = draw(st.integers(min_value=1, max_value=term_days - 2))
    later = draw(st.integers(min_value=step, max_value=term_days - 1))
    middle = draw(lowered(first) | configs())
    assume(not problems(middle))
    scheduled = plan(bought + dt.timedelta(days=step), plain, middle, promo)
    assume(not scheduled.has_errors and scheduled.result is not None)
    assert scheduled.result is not None and scheduled.result.subscription is not None
    # Only histories whose step scheduled everything: the same now, balance and promotion.
    assume(scheduled.result.subscription.now == sub.now)
    assume(scheduled.result.subscription.promotion == sub.promotion)
    assume(scheduled.result.balance == plain.balance)
    assume(scheduled.result.subscription.next != sub.next)
    wanted = draw(configs())
    return plain, scheduled.result, bought + dt.timedelta(days=later), wanted


@SETTINGS
@given(two_histories(), st.sampled_from([None, "LOYALTY5"]))
def test_due_now_depends_only_on_what_is_in_force_today(
    histories: tuple[Account, Account, dt.date, Config], promo: str | None
) -> None:
    plain, scheduled, today, wanted = histories
    record = plain.subscription.promotion if plain.subscription else None
    code = record.code if record is not None else promo
    without = plan(today, plain, wanted, code)
    with_step = plan(today, scheduled, wanted, code)
    assume(not without.has_errors and not with_step.has_errors)
    assert with_step.due_now == without.due_now
    assert with_step.invoice is not None or with_step.due_now == 0
    lines = [(x.line, x.amount) for x in (without.invoice.lines if without.invoice else ())]
    again = [(x.line, x.amount) for x in (with_step.invoice.lines if with_step.invoice else ())]
    assert again == lines
    # What takes effect now is the same: today's subscription after the apply.
    assert without.result is not None and with_step.result is not None
    assert without.result.subscription is not None and with_step.result.subscription is not None
    assert with_step.result.subscription.now == without.result.subscription.now
    assert with_step.result.subscription.next == without.result.subscription.next


@SETTINGS
@given(configs(), days, st.lists(st.tuples(st.integers(1, 200), configs()), max_size=3))
def test_after_any_apply_now_and_next_are_valid(
    first: Config, bought: dt.date, steps: list[tuple[int, Config]]
) -> None:
    account = purchased(first, bought)
    day = bought
    for wait, wanted in steps:
        assume(not problems(wanted))
        day += dt.timedelta(days=wait)
        applied = plan(day, account, wanted)
        if applied.has_errors or applied.result is None:
            continue
        account = applied.result
        sub = account.subscription
        if sub is None:
            continue
        assert problems(sub.now) == [], (sub.now, [c.kind.value for c in applied.changes])
        assert problems(sub.next) == [], sub.next
    # And across the renewals that follow.
    later = plan(day + dt.timedelta(days=400), account, first)
    if later.result is not None and later.result.subscription is not None:
        assert problems(later.result.subscription.now) == []
        assert problems(later.result.subscription.next) == []
