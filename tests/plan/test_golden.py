"""Every golden plan scenario: hand-checked figures, the whole plan JSON, the plan schema."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from zplan.load import schema

from tests.plan.golden import Scenario, run_scenario, scenarios, stable, write_golden


def _figures(account: dict[str, Any]) -> dict[str, Any]:
    errors = sorted({d["code"] for d in account["diagnostics"] if d["severity"] == "error"})
    if "totals" not in account:  # the file broke a rule: no plan, only its diagnostics
        return {"errors": errors, "changes": []}
    totals = account["totals"]
    return {
        "due_now": totals["due_now"],
        "renewals_due": totals.get("renewals_due", "0.00"),
        "recurring_before": totals["recurring_before"]["per_cycle"],
        "recurring_after": totals["recurring_after"]["per_cycle"],
        "monthly_before": totals["recurring_before"]["monthly"],
        "monthly_after": totals["recurring_after"]["monthly"],
        "monthly_delta": totals["monthly_delta"],
        "changes": [[c["kind"], c["effective"]] for c in account["changes"]],
        "errors": errors,
    }


@pytest.mark.parametrize("path", scenarios(), ids=lambda p: p.stem)
def test_scenario(path: Path, tmp_path: Path, request: pytest.FixtureRequest) -> None:
    scenario = Scenario.load(path)
    document = run_scenario(scenario, tmp_path)
    assert schema.validate_data(schema.PLAN, document) == []
    account = stable(document)

    # Figures checked by hand (a second computation), independent of the golden file.
    figures = _figures(account)
    for key, expected in (scenario.data.get("expect") or {}).items():
        actual = figures[key]
        if isinstance(expected, (str, int, float)) and key not in ("changes", "errors"):
            assert Decimal(str(actual)) == Decimal(str(expected)), f"{key}: {actual} != {expected}"
        else:
            assert actual == expected, f"{key}: {actual} != {expected}"

    if request.config.getoption("--regen-golden"):
        write_golden(scenario, account)
        return
    assert "golden" in scenario.data, f"{path.name} has no golden plan: run pytest --regen-golden"
    assert account == scenario.data["golden"]


def test_there_are_enough_scenarios() -> None:
    assert len(scenarios()) >= 30
