"""Properties of the pure planner (pricing.md), checked on generated subscriptions.

Stored accounts are made the way an apply makes them: a first purchase
planned at an earlier date, its ``result`` given a lineage. Expected prices
are computed here from the catalog's unit prices (unit price x quantity x
months, one rounding per line), not with zplan's pricing functions.
"""

from __future__ import annotations

import datetime as dt
import json
import tempfile
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from zplan.load.catalog import Catalog, load_catalog
from zplan.model import UNSET, Account, AccountPlan, Config, Cycle, Desired, ProductLine
from zplan.plan.planner import Context, plan_account

from tests.conftest import init_store, invoke
from tests.plan.golden import CASES, Scenario, run_scenario

CATALOG: Catalog = load_catalog(None)
CURRENCY = "USD"
CENT = Decimal("0.01")
BUNDLE = "suite"
STANDALONE = tuple(CATALOG.products[BUNDLE].replaces)  # support, chat, guide, talk

SETTINGS = settings(max_examples=100, deadline=None)


# Generators ------------------------------------------------------------------


@st.composite
def product_lines(draw: st.DrawFn, product_id: str, cycle: Cycle) -> ProductLine:
    """A product with an edition, agents, and add-ons it may carry on ``cycle``."""
    product = CATALOG.products[product_id]
    edition = draw(st.sampled_from(sorted(product.editions)))
    agents = draw(st.integers(min_value=1, max_value=40))
    addons = []
    for addon in sorted(CATALOG.addons.values(), key=lambda a: a.id):
        lowest = addon.available_on.get(product_id)
        if lowest is None or cycle not in addon.cycles:
            continue
        if product.editions[edition].rank < product.editions[lowest].rank:
            continue
        if draw(st.integers(min_value=0, max_value=3)) == 0:  # about one add-on in four
            addons.append((addon.id, draw(st.integers(min_value=1, max_value=agents))))
    return ProductLine(product_id, edition, agents, tuple(addons))


@st.composite
def configs(draw: st.DrawFn) -> Config:
    """A valid subscription: the suite alone, or one to four standalone products."""
    cycle = draw(st.sampled_from(list(Cycle)))
    if draw(st.booleans()):
        ids = [BUNDLE]
    else:
        ids = draw(st.lists(st.sampled_from(STANDALONE), min_size=1, max_size=4, unique=True))
    lines = [draw(product_lines(product_id, cycle)) for product_id in sorted(ids)]
    return Config(cycle, tuple(lines))


days = st.dates(min_value=dt.date(2026, 1, 1), max_value=dt.date(2027, 12, 31))
later = st.integers(min_value=0, max_value=800)  # days after the purchase; crosses renewals
promo_codes = st.sampled_from([None, "LOYALTY5", "WELCOME10", "STARTUP50", "ANNUAL100"])


# Helpers -----------------------------------------------------------------------


def desired(config: Config, promo_code: str | None = None) -> Desired:
    return Desired(
        subdomain="acme",
        owner="owner@acme.example",
        billing_admins=(),
        currency=CURRENCY,
        config=config,
        payment_method="card",
        payment_ref=UNSET,
        promo_code=promo_code,
    )


def plan(
    day: dt.date, stored: Account | None, config: Config, promo: str | None = None
) -> AccountPlan:
    return plan_account(Context(CATALOG, day, actor=None), stored, desired(config, promo))


def purchased(config: Config, day: dt.date, promo: str | None = None) -> Account:
    """The account a first purchase of ``config`` on ``day`` leaves in the store."""
    first = plan(day, None, config, promo)
    assume(not first.has_errors)
    assert first.result is not None
    return first.result._replace(lineage="00000000-0000-4000-8000-000000000000")


def with_history(
    first: Config, middle: Config | None, bought: dt.date, step: int
) -> tuple[Account, dt.date]:
    """A first purchase, then (optionally) ``middle`` applied ``step`` days later.

    The second apply leaves changes scheduled for renewal (``now`` and ``next``
    differ) whenever ``middle`` lowers something. Returns the account and the
    date of its last write.
    """
    stored = purchased(first, bought)
    if middle is None:
        return stored, bought
    day = bought + dt.timedelta(days=step)
    applied = plan(day, stored, middle)
    assume(not applied.has_errors)
    assert applied.result is not None
    return applied.result, day


histories = st.tuples(configs(), st.none() | configs(), days, st.integers(0, 400))


def money(amount: Decimal) -> Decimal:
    return amount.quantize(CENT, rounding=ROUND_HALF_UP)


def unit_price(line: ProductLine, addon_id: str | None, cycle: Cycle) -> Decimal:
    if addon_id is None:
        return CATALOG.products[line.product].editions[line.edition].price[CURRENCY][cycle]
    return CATALOG.addons[addon_id].price[CURRENCY][cycle]


def billable_lines(config: Config, cycle: Cycle) -> dict[str, Decimal]:
    """Each billable line's full-cycle amount at ``cycle``: unit price x quantity x months."""
    amounts = {}
    for line in config.products:
        key = f"products.{line.product}"
        amounts[key] = unit_price(line, None, cycle) * line.agents * cycle.months
        for addon_id, seats in line.addons:
            price = unit_price(line, addon_id, cycle)
            amounts[f"{key}.addons.{addon_id}"] = price * seats * cycle.months
    return amounts


def renewal_price(config: Config) -> Decimal:
    """The renewal invoice of ``config`` without promotions: one rounding per line."""
    return sum((money(a) for a in billable_lines(config, config.cycle).values()), Decimal(0))


def with_more_agents(config: Config, index: int, extra: int) -> Config:
    line = config.products[index % len(config.products)]
    return config.with_product(line._replace(agents=line.agents + extra))


# Properties ----------------------------------------------------------------------


@SETTINGS
@given(configs(), days, later, promo_codes)
def test_a_subscription_planned_against_itself_has_no_changes(
    config: Config, bought: dt.date, after: int, promo: str | None
) -> None:
    stored = purchased(config, bought, promo)
    result = plan(bought + dt.timedelta(days=after), stored, config, promo)
    assert result.changes == ()
    assert result.due_now == 0


@SETTINGS
@given(histories, configs(), later, st.integers(min_value=0, max_value=60), promo_codes)
def test_the_applied_result_plans_no_changes(
    history: tuple[Config, Config | None, dt.date, int],
    second: Config,
    after: int,
    wait: int,
    promo: str | None,
) -> None:
    stored, last = with_history(*history)
    today = last + dt.timedelta(days=after)
    changed = plan(today, stored, second, promo)
    assume(not changed.has_errors)
    assert changed.result is not None
    again = plan(today, changed.result, second, promo)
    assert again.changes == (), [c.kind.value for c in again.changes]
    assert again.renewals == ()
    assert again.due_now == 0
    assert again.recurring_after == changed.recurring_after
    # Later on, across renewals too: still nothing to change.
    assert plan(today + dt.timedelta(days=wait), changed.result, second, promo).changes == ()


@SETTINGS
@given(histories, configs(), later, st.integers(0, 7), st.integers(1, 25))
def test_more_agents_never_cost_less(
    history: tuple[Config, Config | None, dt.date, int],
    second: Config,
    after: int,
    index: int,
    extra: int,
) -> None:
    stored, last = with_history(*history)
    today = last + dt.timedelta(days=after)
    fewer = plan(today, stored, second)
    more = plan(today, stored, with_more_agents(second, index, extra))
    assert more.due_now >= fewer.due_now
    assert more.recurring_after.per_cycle >= fewer.recurring_after.per_cycle
    assert more.recurring_after.monthly >= fewer.recurring_after.monthly


@SETTINGS
@given(histories, configs(), later)
def test_due_now_never_exceeds_the_full_cycle_difference(
    history: tuple[Config, Config | None, dt.date, int], second: Config, after: int
) -> None:
    """Prorations are a fraction of the yearly (or monthly) list difference of today's lines.

    One rounding per line may add at most half a cent per line (a credit line
    rounded towards zero), hence the tolerance.
    """
    stored, last = with_history(*history)
    result = plan(last + dt.timedelta(days=after), stored, second)
    assert result.current is not None and result.current.subscription is not None
    assert result.result is not None and result.result.subscription is not None
    now = result.current.subscription.now
    now_after = result.result.subscription.now
    cycle = now.cycle
    before, after_ = billable_lines(now, cycle), billable_lines(now_after, cycle)
    difference = sum(after_.values(), Decimal(0)) - sum(before.values(), Decimal(0))
    touched = len(set(before) | set(after_))
    tolerance = Decimal("0.005") * touched
    assert result.due_now <= max(difference, Decimal(0)) + tolerance


@SETTINGS
@given(histories, configs(), later)
def test_recurring_figures_are_the_renewal_prices_at_list(
    history: tuple[Config, Config | None, dt.date, int], second: Config, after: int
) -> None:
    stored, last = with_history(*history)
    result = plan(last + dt.timedelta(days=after), stored, second)
    assert result.current is not None and result.current.subscription is not None
    renewing = result.current.subscription.next
    assert result.recurring_before.per_cycle == renewal_price(renewing)
    assert result.recurring_after.cycle is second.cycle
    assert result.recurring_after.per_cycle == renewal_price(second)
    assert result.recurring_after.monthly == money(renewal_price(second) / second.cycle.months)


@SETTINGS
@given(configs(), days)
def test_a_first_purchase_charges_one_full_cycle(config: Config, bought: dt.date) -> None:
    result = plan(bought, None, config)
    assert [c.kind.value for c in result.changes] == ["subscription_create"]
    assert result.due_now == renewal_price(config)
    assert result.recurring_before.per_cycle == 0
    assert result.recurring_after.per_cycle == renewal_price(config)


# payment_ref is never printed ------------------------------------------------------

_FILE = """\
zplan: 1
account: {{subdomain: acme, owner: owner@acme.example}}
billing: {{cycle: annual, payment: card{ref}}}
agreements: {{master_subscription_agreement: accepted, privacy_policy: accepted}}
products:
  suite: {{edition: professional, agents: {agents}}}
"""


def _plan_outputs(state: str, at: str, path: Path) -> list[str]:
    outputs = []
    for form in ("json", "text", "markdown"):
        done = invoke(["--state", state, "--at", at, "plan", "--format", form, str(path)])
        assert done.code in (0, 1), done.output
        outputs.append(done.output)
    return outputs


def test_the_payment_ref_scenario_never_prints_either_token(tmp_path: Path) -> None:
    scenario = Scenario.load(CASES / "plan" / "payment_ref_change_never_printed.yaml")
    document = run_scenario(scenario, tmp_path)
    outputs = [json.dumps(document, ensure_ascii=False)]
    outputs += _plan_outputs(
        str(tmp_path / "state.db"), str(scenario.data["plan"]["at"]), tmp_path / "desired.yaml"
    )
    for token in ("pm_OLDSECRET4242", "pm_NEWSECRET9876", "OLDSECRET", "NEWSECRET"):
        for output in outputs:
            assert token not in output


# Letters only: a long run of digits could pass for a card number, which zplan refuses.
tokens = st.text(
    alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz_", min_size=8, max_size=24
).map(lambda body: "pm_" + body)


@settings(
    max_examples=10, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(old=tokens, new=tokens)
def test_no_payment_ref_is_ever_printed(old: str, new: str) -> None:
    assume(old != new)
    with tempfile.TemporaryDirectory() as scratch:
        work = Path(scratch)
        state = init_store(str(work / "state.db"))
        first = work / "first.yaml"
        first.write_text(_FILE.format(ref=f", payment_ref: {old}", agents=10), encoding="utf-8")
        done = invoke(
            [
                "--state",
                state,
                "--at",
                "2026-02-27",
                "--actor",
                "owner@acme.example",
                "apply",
                "--auto-approve",
                str(first),
            ]
        )
        assert done.code == 0, done.output
        assert old not in done.output
        second = work / "second.yaml"
        second.write_text(_FILE.format(ref=f", payment_ref: {new}", agents=12), encoding="utf-8")
        for output in _plan_outputs(state, "2026-11-27", second):
            # At most the last four characters may show.
            assert old not in output and new not in output
            assert old[:-4] not in output and new[:-4] not in output
