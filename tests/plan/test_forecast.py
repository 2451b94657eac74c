"""The forecast (issue 17): its months sum to the invoices that applying and renewing produce.

Each example builds a real store: a subscription bought at an earlier date,
then a file with changes planned today. The forecast's "after" is then held
against what really happens: the file applied today, and applied again on the
forecast's last day (which writes every renewal that fell due), each invoice
read back from the store.
"""

from __future__ import annotations

import datetime as dt
import json
import tempfile
from decimal import Decimal
from pathlib import Path

from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from zplan.plan.forecast import horizon_end
from zplan.state import open_store
from zplan.state.base import Mode

from tests.conftest import TODAY, Zplan, init_store, invoke

OWNER = "owner@forecast.example"
EDITIONS = ["team", "growth", "professional", "enterprise"]
PROMOTIONS = [None, "WELCOME10", "STARTUP50", "ANNUAL100", "LOYALTY5"]


def subscription(
    cycle: str, edition: str, agents: int, promo: str | None, status: str = "active"
) -> str:
    promo_line = f"  promo_code: {promo}\n" if promo else ""
    return (
        "zplan: 1\naccount:\n  subdomain: forecast\n"
        f"  owner: {OWNER}\n  currency: USD\n"
        f"billing:\n  cycle: {cycle}\n  payment: card\n{promo_line}"
        "agreements:\n  master_subscription_agreement: accepted\n  privacy_policy: accepted\n"
        f"products:\n  suite:\n    edition: {edition}\n    agents: {agents}\n"
        f"status: {status}\n"
    )


files = st.builds(
    subscription,
    st.sampled_from(["annual", "monthly"]),
    st.sampled_from(EDITIONS),
    st.integers(min_value=1, max_value=60),
    st.sampled_from(PROMOTIONS),
    st.sampled_from(["active", "active", "active", "cancelled"]),
)


def apply(state: str, at: str, path: Path) -> int:
    result = invoke(
        [
            "--state",
            state,
            "--at",
            at,
            "--actor",
            OWNER,
            "apply",
            "--auto-approve",
            "--allow-cancel",
            str(path),
        ]
    )
    return result.code


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    bought=files,
    wanted=files,
    days_before=st.integers(min_value=1, max_value=500),
    months=st.integers(min_value=1, max_value=14),
)
def test_forecast_months_sum_to_the_invoices_of_applying_and_renewing(
    bought: str, wanted: str, days_before: int, months: int
) -> None:
    today = dt.date.fromisoformat(TODAY)
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        state = init_store(str(work / "state.db"))
        first, second = work / "first.yaml", work / "second.yaml"
        first.write_text(bought.replace("status: cancelled", "status: active"))
        second.write_text(wanted)
        start = (today - dt.timedelta(days=days_before)).isoformat()
        assume(apply(state, start, first) == 0)

        result = invoke(
            [
                "--state",
                state,
                "--at",
                TODAY,
                "forecast",
                str(second),
                "--months",
                str(months),
                "--format",
                "json",
            ]
        )
        assert result.code == 0, result.output
        forecast = json.loads(result.out)
        assume(forecast["accounts"])  # a plan with errors (a refused promotion) has none
        [account] = forecast["accounts"]
        predicted = sum((Decimal(m["after"]["invoiced"]) for m in account["months"]), Decimal(0))
        assert Decimal(account["annual_after"]) == predicted
        assert Decimal(forecast["totals"][0]["annual_after"]) == predicted

        with open_store(state, mode=Mode.READ) as store:
            written_before = len(store.versions("forecast"))
        assert apply(state, TODAY, second) == 0
        end = horizon_end(today, months)
        last_day = end - dt.timedelta(days=1)
        if last_day > today:
            assert apply(state, last_day.isoformat(), second) == 0
        with open_store(state, mode=Mode.READ) as store:
            versions = store.versions("forecast")[written_before:]
        charged = sum(
            (
                Decimal(v.invoice["total"])
                for v in versions
                if v.invoice is not None and dt.date.fromisoformat(v.invoice["date"]) < end
            ),
            Decimal(0),
        )
        assert charged == predicted


def test_a_cancellation_and_a_promotion_ending_are_events(
    zplan: Zplan, state: str, tmp_path: Path
) -> None:
    bought = tmp_path / "bought.yaml"
    bought.write_text(subscription("monthly", "professional", 4, "STARTUP50"))
    assert apply(state, "2026-06-10", bought) == 0
    cancelled = tmp_path / "cancelled.yaml"
    cancelled.write_text(subscription("monthly", "professional", 4, "STARTUP50", "cancelled"))
    result = zplan("--state", state, "--at", TODAY, "forecast", str(cancelled), "--format", "json")
    assert result.code == 0, result.output
    [account] = json.loads(result.out)["accounts"]
    before = [(e["date"], e["kind"]) for e in account["events"]["before"]]
    after = [(e["date"], e["kind"]) for e in account["events"]["after"]]
    assert ("2026-12-10", "promotion_ends") in before  # 6 monthly cycles from 2026-06-10
    assert after[-1] == ("2026-12-10", "cancellation")
    # In force on December 1st at half price; from the 10th, ended (after) or at list (before).
    december, january = account["months"][1], account["months"][2]
    assert december["after"]["run_rate"] == december["before"]["run_rate"] == "298.00"
    assert january["after"]["run_rate"] == "0.00"
    assert january["before"]["run_rate"] == "596.00"
    assert january["after"]["invoiced"] == "0.00"
    assert january["before"]["invoiced"] == "596.00"
