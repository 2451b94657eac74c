"""Change orders on an imported account, checked against a real local Zendesk (issue 16).

Imported means live: apply opens a change order; confirm with Zendesk credentials reads
the account (seats in use within the ordered seats) before the record moves, and says
that the read cannot prove the change; a plan reading the owner's new agents while the
order is open calls it the order's work, not drift.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import EXAMPLES, Zplan
from tests.zendesk.fake import FakeZendesk, team

OWNER = "owner@acme.example"


def agents_of(file: Path, count: int) -> None:
    text = (EXAMPLES / "accounts" / "acme.yaml").read_text()
    file.write_text(text.replace("agents: 25", f"agents: {count}"))


@pytest.fixture
def ordered(zplan: Zplan, state: str, tmp_path: Path, zendesk: FakeZendesk) -> Path:
    """acme imported mid-term (25 seats, 20 in use), then an order for 30 seats."""
    file = tmp_path / "acme.yaml"
    file.write_text((EXAMPLES / "accounts" / "acme.yaml").read_text())
    zendesk.add("acme", team(20))
    done = run(zplan, state, zendesk, "import", str(file), "--term-start", "2026-06-15",
               "--promo-uses", "1")  # fmt: skip
    assert done.code == 0, done.output
    agents_of(file, 30)
    applied = run(zplan, state, zendesk, "apply", "--auto-approve", str(file))
    assert applied.code == 0, applied.output
    assert "1 change order opened (acme)" in applied.out
    return file


def run(zplan: Zplan, state: str, zendesk: FakeZendesk, *argv: str):  # type: ignore[no-untyped-def]
    return zplan(
        "--state", state, "--at", "2026-11-27", "--actor", OWNER, *argv,
        env={"ZPLAN_ZENDESK_URL": zendesk.url, **zendesk.env("acme")},
    )  # fmt: skip


def due(zplan: Zplan, state: str) -> str:
    shown = zplan("--state", state, "--at", "2026-11-27", "order", "acme", "--format", "json")
    return str(json.loads(shown.out)["invoice"]["total"])


def test_an_imported_account_is_live(
    zplan: Zplan, state: str, ordered: Path, zendesk: FakeZendesk
) -> None:
    shown = zplan("--state", state, "state", "show", "acme")
    assert "live: true" in shown.out
    history = json.loads(zplan("--state", state, "history", "acme", "--format", "json").out)
    assert [v["kind"] for v in history["versions"]] == ["import", "change_order"]


def test_confirm_reads_the_live_account_and_says_what_it_cannot_prove(
    zplan: Zplan, state: str, ordered: Path, zendesk: FakeZendesk
) -> None:
    zendesk.add("acme", team(28))  # the owner added seats and agents in the Admin Center
    done = run(zplan, state, zendesk, "confirm", "acme", "--invoice-total", due(zplan, state))
    assert done.code == 0, done.output
    assert "seats in use: 28 of 30 ordered" in done.out
    assert "cannot prove the change was made" in done.out
    last = json.loads(zplan("--state", state, "history", "acme", "--format", "json").out)
    verification = last["versions"][-1]
    assert verification["order"]["status"] == "confirmed"


def test_confirm_refuses_when_the_live_account_contradicts_the_order(
    zplan: Zplan, state: str, ordered: Path, zendesk: FakeZendesk
) -> None:
    zendesk.add("acme", team(33))
    refused = run(zplan, state, zendesk, "confirm", "acme", "--invoice-total", due(zplan, state))
    assert refused.code == 1
    assert "the live account does not show change order" in refused.err
    assert "seats in use: 33 of 30 ordered" in refused.err
    history = json.loads(zplan("--state", state, "history", "acme", "--format", "json").out)
    assert history["versions"][-1]["order"]["status"] == "open"


def test_a_wrong_token_is_one_line_and_nothing_moves(
    zplan: Zplan, state: str, ordered: Path, zendesk: FakeZendesk
) -> None:
    env = {**zendesk.env("acme"), "ZENDESK_API_TOKEN": "wrong", "ZPLAN_ZENDESK_URL": zendesk.url}
    refused = zplan(
        "--state", state, "--at", "2026-11-27", "--actor", OWNER,
        "confirm", "acme", "--invoice-total", due(zplan, state), env=env,
    )  # fmt: skip
    assert refused.code == 1 and refused.err.count("\n") <= 2
    assert "wrong" not in refused.err
    history = json.loads(zplan("--state", state, "history", "acme", "--format", "json").out)
    assert history["versions"][-1]["order"]["status"] == "open"


def test_seats_added_by_the_owner_within_the_order_are_not_drift(
    zplan: Zplan, state: str, ordered: Path, zendesk: FakeZendesk
) -> None:
    zendesk.add("acme", team(28))
    plan = run(zplan, state, zendesk, "plan", "--refresh", str(ordered))
    assert plan.code == 0, plan.output
    assert "within change order #2 (30): the owner may have made the change" in plan.out
    assert "drift:" not in plan.out
    zendesk.add("acme", team(31))
    plan = run(zplan, state, zendesk, "plan", "--refresh", str(ordered))
    assert "drift:" in plan.out
