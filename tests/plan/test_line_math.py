"""Every invoice line of every golden plan can be checked by hand from what the plan prints.

Issue 14: lines carry their period, ``quantity × unit price`` and the proration
fraction. This recomputes each line's amount from those fields alone (one
rounding per line, half up, as pricing.md says) and compares it with the
amount zplan charged, for today's invoice and for every pending renewal.
"""

from __future__ import annotations

import datetime as dt
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any

import pytest

from tests.plan.golden import Scenario, scenarios

CENT = Decimal("0.01")


def _by_hand(line: dict[str, Any]) -> Decimal:
    if "percent_off" in line:
        return -(Decimal(line["of"]) * Decimal(line["percent_off"]) / 100).quantize(
            CENT, ROUND_HALF_UP
        )
    after: Decimal = int(line["quantity"]) * Decimal(line["unit_price"]) * int(line["months"])
    if "proration" not in line:
        return after.quantize(CENT, ROUND_HALF_UP)
    before = int(line["before"]["quantity"]) * Decimal(line["before"]["unit_price"])
    before *= int(line["months"])
    days, term = int(line["proration"]["days"]), int(line["proration"]["term_days"])
    return ((after - before) * days / term).quantize(CENT, ROUND_HALF_UP)


def _invoices(account: dict[str, Any]) -> list[list[dict[str, Any]]]:
    invoice = account.get("invoice") or {"lines": [], "renewals": []}
    return [invoice["lines"], *[r["lines"] for r in invoice["renewals"]]]


@pytest.mark.parametrize("path", scenarios(), ids=lambda p: p.stem)
def test_every_line_is_checkable_by_hand(path: Path) -> None:
    golden = Scenario.load(path).data.get("golden") or {}
    for lines in _invoices(golden):
        for line in lines:
            if line["line"] == "promotion":  # an amount code: its amount is the catalog's
                continue
            assert "formula" in line, line
            assert _by_hand(line) == Decimal(line["amount"]), line
            period = line["period"]
            assert dt.date.fromisoformat(period["from"]) < dt.date.fromisoformat(period["to"])
            if "proration" in line:
                days = (
                    dt.date.fromisoformat(period["to"]) - dt.date.fromisoformat(period["from"])
                ).days
                assert days == line["proration"]["days"], line


def test_the_spec_example_line_reads_as_pricing_md_computes_it() -> None:
    scenario = Scenario.load(
        Path(__file__).parent.parent / "cases" / "plan" / "edition_upgrade_spec_example.yaml"
    )
    (line,) = scenario.data["golden"]["invoice"]["lines"]
    assert line["formula"] == "(25 × $169.00 − 25 × $115.00) × 12 months × 92/365"
    assert line["period"] == {"from": "2026-11-27", "to": "2027-02-27"}
    assert line["amount"] == "4083.29"
