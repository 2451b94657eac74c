"""The owner's checklist for every kind of change (golden files under tests/cases/orders/).

Each scenario buys acme on BOUGHT as a sandbox record (and, for the withdrawals, makes a
change on the record before it goes live), marks it live, edits the file and applies on
TODAY; the golden file is what ``zplan order acme`` prints, and for one scenario also
the markdown of the pull-request comment. ``pytest --regen-golden`` rewrites them; the
diff is reviewed like code.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from zplan.model import Kind

from tests.apply.orders_support import BOUGHT, Live, subscription
from tests.conftest import TODAY

GOLDEN = Path(__file__).parent.parent / "cases" / "orders"
SUITE = {"edition": "professional", "agents": 10, "addons": {"copilot": 5}}
BARE = {"edition": "professional", "agents": 10}
SPLIT = {
    "support": {"edition": "professional", "agents": 5},
    "chat": {"edition": "professional", "agents": 5},
}


def suite(**line: Any) -> dict[str, Any]:
    return {"products": {"suite": {**SUITE, **line}}}


# name: (file bought, changes made on the record before it went live, type, file applied)
SCENARIOS: dict[str, tuple[dict[str, Any], dict[str, Any] | None, str | None, dict[str, Any]]] = {
    "agents_increase": ({}, None, None, suite(agents=12)),
    "agents_decrease": ({}, None, None, suite(agents=8)),
    "edition_upgrade": ({}, None, None, suite(edition="enterprise")),
    "edition_downgrade": (
        {"products": {"suite": BARE}},
        None,
        None,
        {"products": {"suite": {**BARE, "edition": "growth"}}},
    ),
    "addon_add": ({}, None, None, suite(addons={"copilot": 5, "quality_assurance": 3})),
    "addon_remove": ({}, None, None, suite(addons={})),
    "addon_increase": ({}, None, None, suite(addons={"copilot": 8})),
    "addon_decrease": ({}, None, None, suite(addons={"copilot": 2})),
    "product_add": (
        {"products": SPLIT},
        None,
        None,
        {"products": {**SPLIT, "guide": {"edition": "professional", "agents": 5}}},
    ),
    "product_remove": (
        {"products": SPLIT},
        None,
        None,
        {"products": {"support": SPLIT["support"]}},
    ),
    "suite_replacement": (
        {"products": SPLIT},
        None,
        None,
        {"products": {"suite": {"edition": "professional", "agents": 5}}},
    ),
    "cycle_change": (
        {"products": {"suite": BARE}},
        None,
        None,
        {"products": {"suite": BARE}, "cycle": "monthly"},
    ),
    "payment_change": ({}, None, None, {"payment_ref": "pm_9ZzY0001"}),
    "promo_add": ({}, None, None, {"promo": "LOYALTY5"}),
    "promo_remove": (
        {"products": {"suite": BARE}, "promo": "LOYALTY5"},
        None,
        None,
        {"products": {"suite": BARE}, "promo": None},
    ),
    "billing_admins_change": (
        {},
        None,
        None,
        {"admins": ("finance@acme.example", "ops@acme.example")},
    ),
    "cancel": ({}, None, None, {"status": "cancelled"}),
    "reactivate": ({}, {"status": "cancelled"}, None, {}),
    "withdraw_scheduled": ({}, suite(agents=8), None, {}),
    "managed_account_manager": ({}, None, "managed", suite(agents=12)),
    "add_agents_only": ({}, None, "add_agents_only", suite(agents=12)),
}


def open_order(tmp_path: Path, name: str) -> Live:
    bought, before_live, account_type, wanted = SCENARIOS[name]
    path = subscription(tmp_path / "acme.yaml", **bought)
    live = Live(str(tmp_path / "state.db"), path)
    live.ok("apply", "--auto-approve", str(path), at=BOUGHT)
    went_live = BOUGHT
    if before_live is not None:
        went_live = "2026-11-10"
        subscription(path, **{**bought, **before_live})
        live.ok("apply", "--auto-approve", "--allow-cancel", str(path), at=went_live)
    if account_type is not None:
        live.ok("admin", "account", "acme", "--type", account_type, at=went_live)
    live.ok("admin", "account", "acme", "--live", at=went_live)
    subscription(path, **{**bought, **wanted})
    live.ok("apply", "--auto-approve", "--allow-cancel", str(path), at=TODAY)
    return live


def golden(request: pytest.FixtureRequest, path: Path, text: str) -> None:
    if request.config.getoption("--regen-golden") or not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        if not request.config.getoption("--regen-golden"):
            pytest.fail(f"{path.name} was missing and has been written: review it and run again")
    assert text == path.read_text(encoding="utf-8")


@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_the_steps_of_each_kind_of_change(
    name: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    live = open_order(tmp_path, name)
    order = live.order()
    kinds = {c["kind"] for c in order["changes"]}
    if name in {k.value for k in Kind}:
        assert name in kinds, kinds
    assert order["invoice"]["total"] == order["totals"]["due_now"]
    golden(request, GOLDEN / f"{name}.txt", live.ok("order", "acme").out)


def test_every_kind_a_live_account_can_meet_has_a_golden_checklist() -> None:
    never = {Kind.SUBSCRIPTION_CREATE}  # a live account already has its subscription
    assert {k.value for k in Kind} - {k.value for k in never} <= set(SCENARIOS)


def test_the_pull_request_comment_shows_what_the_owner_will_do(
    tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    live = open_order(tmp_path, "agents_increase")
    golden(
        request, GOLDEN / "agents_increase.md", live.ok("order", "acme", "--format", "markdown").out
    )
    subscription(live.file, **suite(agents=14))
    comment = live.ok("plan", "--format", "markdown", str(live.file)).out
    # An order is open: the comment says so, and shows no second checklist (apply is refused).
    # The note is user-facing text, rendered inert: `#` never makes an issue reference.
    assert "change order <span>#</span>3 open since" in comment
    assert "#### What the owner will do" not in comment
    live.ok("cancel-order", "acme")
    comment = live.ok("plan", "--format", "markdown", str(live.file)).out
    assert "#### What the owner will do" in comment
    assert "4. Zendesk Suite: set the agent seats from 10 to 14" in comment
