"""The main job end to end: plan, apply, plan again, history."""

from __future__ import annotations

from pathlib import Path

from tests.conftest import TODAY, Zplan


def test_first_purchase_round_trip(zplan: Zplan, state: str, example: Path) -> None:
    common = ["--state", state, "--at", TODAY, "--actor", "owner@acme.example"]
    planned = zplan(*common, "plan", str(example))
    assert planned.code == 0, planned.output
    assert "Due now: $48,330.00 (excluding tax)" in planned.out

    applied = zplan(*common, "apply", "--auto-approve", str(example))
    assert applied.code == 0, applied.output
    assert "Apply complete: 1 account changed (acme)." in applied.out

    again = zplan(*common, "plan", "--detailed-exitcode", str(example))
    assert again.code == 0, again.output
    assert "No changes. The subscription of acme matches the configuration." in again.out

    history = zplan(*common, "history", "acme", "--verify")
    assert history.code == 0
    assert "Audit chain verified: 1 entries" in history.out


def test_default_state_is_unreachable_from_tests(zplan: Zplan, example: Path) -> None:
    result = zplan("plan", str(example))
    assert result.code == 1
    assert "not reachable under the test guard" in result.err
    assert not Path(".zplan").exists()
