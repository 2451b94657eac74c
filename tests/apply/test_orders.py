"""Change orders on live accounts (issue 16): apply opens an order instead of charging;
confirm moves the record after a matching invoice (or a recorded reason); cancel-order
withdraws it; an open order blocks other applies; an old one expires.

All through the command line, on real SQLite stores.
"""

from __future__ import annotations

import json
import sqlite3
from decimal import Decimal
from pathlib import Path

import pytest

from tests.apply.orders_support import (
    ADMIN,
    BOUGHT,
    OWNER,
    STRANGER,
    Live,
    live_account,
    subscription,
)
from tests.conftest import TODAY

MORE = {"suite": {"edition": "professional", "agents": 12, "addons": {"copilot": 5}}}


def opened(tmp_path: Path) -> tuple[Live, dict[str, object]]:
    """A live acme with an open order for two more agents, priced on TODAY."""
    live = live_account(tmp_path)
    subscription(live.file, products=MORE)
    plan = live.plan_json()
    result = live.apply()
    assert result.code == 0, result.output
    return live, plan


def current_serial(live: Live) -> int:
    return int(live.history()["versions"][-1]["serial"])


# Live accounts ---------------------------------------------------------------------


def test_a_record_made_by_zplan_stays_a_sandbox_record(tmp_path: Path) -> None:
    path = subscription(tmp_path / "acme.yaml")
    live = Live(str(tmp_path / "state.db"), path)
    live.ok("apply", "--auto-approve", str(path), at=BOUGHT)
    subscription(path, products=MORE)
    plan = live.plan_json()
    assert "live" not in plan["accounts"][0]
    assert "live account" not in live.ok("plan", str(path)).out
    applied = live.apply()
    assert "Apply complete: 1 account changed (acme)" in applied.out
    assert "change order" not in applied.out
    assert live.history()["versions"][-1]["kind"] == "apply"
    assert "live: false" in live.state_show()


def test_marking_live_is_an_audited_version_and_every_view_says_so(tmp_path: Path) -> None:
    live = live_account(tmp_path)
    last = live.history()["versions"][-1]
    assert last["kind"] == "admin" and last["actor"] == OWNER
    assert last["changes"] == [{"address": "account.live", "before": False, "after": True}]
    assert "live: true" in live.state_show()
    subscription(live.file, products=MORE)
    text = live.ok("plan", str(live.file)).out
    assert "live account: apply opens a change order" in text
    assert "What the owner will do (after apply):" in text
    markdown = live.ok("plan", "--format", "markdown", str(live.file)).out
    assert "#### What the owner will do" in markdown and "Live account" in markdown
    again = live.ok("admin", "account", "acme", "--live", at=BOUGHT)
    assert "is live" in again.out
    assert current_serial(live) == 2  # marking twice writes nothing more


def test_admin_account_needs_type_or_live(tmp_path: Path) -> None:
    live = live_account(tmp_path)
    refused = live("admin", "account", "acme")
    assert refused.code == 1 and "--type TYPE, --live" in refused.output


# apply writes an order, not a charge -------------------------------------------------


def test_apply_opens_an_order_whose_amounts_are_the_plans_to_the_cent(tmp_path: Path) -> None:
    live, plan = opened(tmp_path)
    account = plan["accounts"][0]  # type: ignore[index]
    order = live.order()
    assert order["status"] == "open" and order["number"] == 3
    assert order["invoice"]["total"] == account["invoice"]["due_now"]
    assert order["invoice"]["lines"] == account["invoice"]["lines"]  # with periods, formulas
    assert order["invoice"]["lines"][0]["period"] == {"from": TODAY, "to": "2027-11-01"}
    assert order["changes"] == account["changes"]
    assert order["totals"] == account["totals"]
    assert order["priced_on"] == TODAY and order["expires_on"] == "2026-12-04"
    assert "signature" not in order  # bound by the audit entry that opened it (its sha256)
    assert live.history()["versions"][-1]["order"]["sha256"].__len__() == 64
    due = Decimal(order["invoice"]["total"])
    summary = next(s for s in order["checklist"]["steps"] if s["text"].startswith("Review"))
    assert f"${due:,.2f} due today" in summary["text"]
    assert summary["amount"] == order["invoice"]["total"]
    assert "If the summary differs by more than $0.01, stop and re-plan" in summary["text"]
    # Every later day it may be confirmed, priced: the same figure confirm will expect.
    assert "2026-11-28 $" in summary["text"] and "2026-12-03 $" in summary["text"]
    assert "2026-12-04" not in summary["text"]
    # Nothing charged, the subscription unchanged, one change_order version.
    history = live.history()
    last = history["versions"][-1]
    assert last["kind"] == "change_order" and last["charged"] is None
    assert last["order"]["status"] == "open"
    assert history["verify"]["ok"] is True
    assert "agents: 10" in live.state_show()


def test_the_apply_output_is_the_owners_checklist(tmp_path: Path) -> None:
    live = live_account(tmp_path)
    subscription(live.file, products=MORE)
    out = live.apply().out
    assert "1 change order opened (acme); nothing charged until zplan confirm" in out
    assert "Change order #3 for acme: open" in out
    order = out.split("Change order #3 for acme: open")[1]
    steps = [line.strip() for line in order.splitlines() if line[:4].strip().rstrip(".").isdigit()]
    expected_starts = [
        "1. Sign in to Zendesk as the account owner (owner@acme.example)",
        "2. In the sidebar, click the Billing icon, then select Subscription",
        "3. Click Manage.",
        "4. Zendesk Suite: set the agent seats from 10 to 12",
        "5. Review the summary: before tax it should show",
        "6. Tick the box to accept the Master Subscription Agreement and the Privacy Policy",
        "7. Click Go to payment",
        "8. When the invoice arrives, close the order",
    ]
    assert len(steps) == len(expected_starts), out
    for step, start in zip(steps, expected_starts, strict=True):
        assert step.startswith(start), (step, start)


def test_a_plan_without_changes_opens_no_order(tmp_path: Path) -> None:
    live = live_account(tmp_path)
    result = live.apply()
    assert "Apply complete: no changes." in result.out
    refused = live("order", "acme")
    assert refused.code == 1 and "acme has no change orders" in refused.err


def test_a_saved_plan_of_a_live_account_opens_an_order(tmp_path: Path) -> None:
    live = live_account(tmp_path)
    subscription(live.file, products=MORE)
    live.ok("plan", "--out", str(tmp_path / "plan.json"), str(live.file))
    saved = json.loads((tmp_path / "plan.json").read_text())
    assert saved["accounts"][0]["change_order"]["handled_by"] == "owner"
    from zplan.load import schema

    assert schema.validate_data(schema.PLAN, saved) == []
    broken = {**saved, "accounts": [{**saved["accounts"][0], "live": False}]}
    assert schema.validate_data(schema.PLAN, broken) != []
    result = live.ok("apply", str(tmp_path / "plan.json"))
    assert "Change order #3 for acme: open" in result.out
    assert live.order()["plan"] == saved["plan_id"]


# While an order is open ------------------------------------------------------------


def test_a_second_apply_is_refused_while_an_order_is_open(tmp_path: Path) -> None:
    live, _ = opened(tmp_path)
    serial = current_serial(live)
    subscription(live.file, products={"suite": {"edition": "enterprise", "agents": 12}})
    note = live.ok("plan", str(live.file)).out
    assert "change order #3 open since" in note and "waiting for the owner" in note
    for at in (TODAY, "2026-11-30"):
        refused = live.apply(at)
        assert refused.code == 1
        assert "change order #3 is open since" in refused.err
        assert "zplan confirm acme" in refused.err and "zplan cancel-order acme" in refused.err
    assert current_serial(live) == serial


def test_the_file_of_the_open_order_is_not_drift(tmp_path: Path) -> None:
    live, _ = opened(tmp_path)
    account = live.plan_json()["accounts"][0]
    assert account["drift"] is False
    assert account["open_order"]["number"] == 3
    assert any("planned from" in note and "not drift" in note for note in account["notes"])


def test_the_store_itself_refuses_a_second_open_order(tmp_path: Path) -> None:
    live, _ = opened(tmp_path)
    conn = sqlite3.connect(live.state)
    with pytest.raises(sqlite3.IntegrityError, match="UNIQUE"):
        conn.execute(
            "INSERT INTO change_orders (subdomain, number, status, opened_at, expires_on, body) "
            "VALUES ('acme', 99, 'open', 'x', 'y', '{}')"
        )
    conn.close()


# confirm ------------------------------------------------------------------------------


def test_confirm_with_the_matching_total_moves_the_record(tmp_path: Path) -> None:
    live, plan = opened(tmp_path)
    due = plan["accounts"][0]["invoice"]["due_now"]  # type: ignore[index]
    done = live.ok(
        "confirm",
        "acme",
        "--invoice-total",
        due,
        "--invoice-ref",
        "INV-1",
        "--unverified",
        "no token",
    )
    assert "Change order #3 of acme confirmed: the record moved to version 4." in done.out
    assert "not checked against the live account: no token" in done.out
    last = live.history()["versions"][-1]
    assert last["kind"] == "change_order" and last["order"]["status"] == "confirmed"
    assert last["charged"] == due and last["invoice"]["invoice_ref"] == "INV-1"
    assert last["invoice"]["expected_total"] == due and last["invoice"]["difference"] == "0.00"
    assert live.history()["verify"]["ok"] is True
    assert "agents: 12" in live.state_show()
    assert "open_order" not in live.state_show()
    assert "No changes" in live.ok("plan", str(live.file)).out
    assert live.order()["status"] == "confirmed"
    again = live("confirm", "acme", "--invoice-total", due, "--unverified", "x")
    assert again.code == 1 and "acme has no open change order" in again.err


def test_confirm_on_a_later_day_reprices_at_that_day(tmp_path: Path) -> None:
    live, _ = opened(tmp_path)
    later = live.plan_json("2026-11-30")["accounts"][0]["invoice"]["due_now"]
    order = live.order()
    summary = next(s for s in order["checklist"]["steps"] if s["text"].startswith("Review"))
    assert f"2026-11-30 ${Decimal(later):,.2f}" in summary["text"]
    done = live(
        "confirm",
        "acme",
        "--on",
        "2026-11-30",
        "--invoice-total",
        later,
        "--unverified",
        "x",
        at="2026-12-01",
    )
    assert done.code == 0, done.output
    last = live.history()["versions"][-1]
    assert last["charged"] == later and last["invoice"]["date"] == "2026-11-30"


def test_confirm_with_a_differing_total_is_refused_showing_both(tmp_path: Path) -> None:
    live, plan = opened(tmp_path)
    due = Decimal(plan["accounts"][0]["invoice"]["due_now"])  # type: ignore[index]
    serial = current_serial(live)
    wrong = str(due + Decimal("0.01"))
    refused = live("confirm", "acme", "--invoice-total", wrong, "--unverified", "x")
    assert refused.code == 1
    assert f"the invoice total ${due + Decimal('0.01'):,.2f}" in refused.err
    assert f"${due:,.2f} (difference +$0.01)" in refused.err
    assert "--accept-difference REASON" in refused.err
    assert current_serial(live) == serial
    accepted = live(
        "confirm",
        "acme",
        "--invoice-total",
        wrong,
        "--accept-difference",
        "Zendesk rounded up",
        "--unverified",
        "x",
    )
    assert accepted.code == 0, accepted.output
    assert "difference +$0.01, accepted" in accepted.out
    last = live.history()["versions"][-1]
    assert (
        last["charged"] == wrong and last["invoice"]["accepted_difference"] == "Zendesk rounded up"
    )
    assert last["invoice"]["expected_total"] == str(due)
    assert live.history()["verify"]["ok"] is True


def test_confirm_checks_its_inputs(tmp_path: Path) -> None:
    live, plan = opened(tmp_path)
    due = plan["accounts"][0]["invoice"]["due_now"]  # type: ignore[index]
    serial = current_serial(live)
    cases = {
        ("--invoice-total", due): "no Zendesk credentials",
        ("--invoice-total", "12,x", "--unverified", "x"): "is not an amount",
        ("--invoice-total", "1.001", "--unverified", "x"): "more decimals than USD",
        ("--on", "2026-11-28", "--unverified", "x"): "is in the future",
        ("--on", "2026-11-26", "--unverified", "x"): "before the order was priced",
        ("--on", "soon", "--unverified", "x"): "--on: 'soon' is not a date",
        ("--unverified", " "): "--unverified needs a reason",
        ("--accept-difference", "r", "--unverified", "x"): "needs --invoice-total",
    }
    for args, message in cases.items():
        refused = live("confirm", "acme", *args)
        assert refused.code == 1, (args, refused.output)
        assert message in refused.err, (args, refused.err)
        assert refused.err.count("\n") <= 2 and "Traceback" not in refused.err
    assert current_serial(live) == serial


def test_confirm_by_someone_who_is_not_the_owner(tmp_path: Path) -> None:
    live, plan = opened(tmp_path)
    due = plan["accounts"][0]["invoice"]["due_now"]  # type: ignore[index]
    serial = current_serial(live)
    refused = live("confirm", "acme", "--invoice-total", due, "--unverified", "x", actor=STRANGER)
    assert refused.code == 1
    assert "someone@else.example may not confirm change order #3" in refused.err
    assert current_serial(live) == serial
    # A billing admin may confirm what billing admins may do in the Admin Center.
    done = live("confirm", "acme", "--invoice-total", due, "--unverified", "x", actor=ADMIN)
    assert done.code == 0, done.output
    assert live.history()["versions"][-1]["actor"] == ADMIN


def test_a_billing_admin_may_not_confirm_a_cancellation(tmp_path: Path) -> None:
    live = live_account(tmp_path)
    subscription(live.file, status="cancelled")
    live.ok("apply", "--auto-approve", "--allow-cancel", str(live.file))
    refused = live("confirm", "acme", "--unverified", "x", actor=ADMIN)
    assert refused.code == 1 and "needs the account owner" in refused.err
    done = live("confirm", "acme", "--invoice-total", "0.00", "--unverified", "x")
    assert done.code == 0, done.output


# cancel-order and expiry ----------------------------------------------------------


def test_cancel_order_withdraws_it_and_apply_works_again(tmp_path: Path) -> None:
    live, _ = opened(tmp_path)
    refused = live("cancel-order", "acme", actor=STRANGER)
    assert refused.code == 1 and "may not withdraw change order #3" in refused.err
    done = live.ok("cancel-order", "acme", "--reason", "owner changed their mind")
    assert "Change order #3 of acme withdrawn (recorded as cancelled)." in done.out
    last = live.history()["versions"][-1]
    assert last["order"] == {"number": 3, "status": "cancelled"}
    assert live.order(TODAY, "--number", "3")["status"] == "cancelled"
    assert "agents: 10" in live.state_show()
    again = live.apply()
    assert "Change order #5 for acme: open" in again.out
    nothing = live("cancel-order", "acme", at="2026-11-28")
    assert nothing.code == 0
    nothing = live("cancel-order", "acme", at="2026-11-28")
    assert nothing.code == 1 and "has no open change order" in nothing.err


def test_an_order_expires_after_seven_days(tmp_path: Path) -> None:
    live, _ = opened(tmp_path)
    assert live.order("2026-12-03")["status"] == "open"
    assert live.order("2026-12-04")["status"] == "expired"
    plan = live.ok("plan", str(live.file), at="2026-12-04").out
    assert "change order #3" in plan and "expired on 2026-12-04" in plan
    due = live.plan_json("2026-12-03")["accounts"][0]["invoice"]["due_now"]
    refused = live(
        "confirm",
        "acme",
        "--on",
        "2026-12-03",
        "--invoice-total",
        due,
        "--unverified",
        "x",
        at="2026-12-04",
    )
    assert refused.code == 1
    assert "expired on 2026-12-04 and can no longer be confirmed" in refused.err
    # The next apply closes it (expired) and opens a new order priced that day.
    again = live.apply("2026-12-04")
    assert again.code == 0, again.output
    versions = live.history()["versions"]
    assert [v["order"] for v in versions[-2:]] == [
        {"number": 3, "status": "expired"},
        {"number": 5, "status": "open", "sha256": versions[-1]["order"]["sha256"]},
    ]
    assert live.order("2026-12-04", "--number", "3")["status"] == "expired"
    assert live.order("2026-12-04")["priced_on"] == "2026-12-04"
    assert live.history()["verify"]["ok"] is True


def test_an_order_expires_at_the_renewal_first(tmp_path: Path) -> None:
    bare = {"suite": {"edition": "professional", "agents": 10}}
    live = live_account(tmp_path, cycle="monthly", products=bare)
    subscription(
        live.file, cycle="monthly", products={"suite": {"edition": "professional", "agents": 12}}
    )
    live.ok("apply", "--auto-approve", str(live.file), at="2026-11-28")
    order = live.order("2026-11-28")
    assert order["expires_on"] == "2026-12-01"  # the monthly renewal, before seven days
    summary = next(s for s in order["checklist"]["steps"] if s["text"].startswith("Review"))
    assert "2026-11-30 $" in summary["text"] and "2026-12-01" not in summary["text"]
    cancelled = live.ok("cancel-order", "acme", at="2026-12-02")
    assert "recorded as expired" in cancelled.out


def test_order_max_age_is_configurable(tmp_path: Path) -> None:
    live = live_account(tmp_path)
    subscription(live.file, products=MORE)
    live.ok("apply", "--auto-approve", "--order-max-age", "2", str(live.file))
    assert live.order()["expires_on"] == "2026-11-29"


# Who carries it out ------------------------------------------------------------------


def test_a_managed_account_gets_the_message_for_its_account_manager(tmp_path: Path) -> None:
    live = live_account(tmp_path)
    live.ok("admin", "account", "acme", "--type", "managed", at=BOUGHT)
    subscription(live.file, products=MORE)
    plan = live.plan_json()
    assert plan["applyable"] is True  # live: the account manager makes it, no type error
    out = live.apply().out
    order = live.order()
    assert order["checklist"]["handled_by"] == "account_manager"
    message = order["checklist"]["message"]
    assert message.startswith("Subject: Subscription change for acme.zendesk.com")
    assert "- Zendesk Suite: set the agent seats from 10 to 12" in message
    assert f"${Decimal(order['invoice']['total']):,.2f} before tax on {TODAY}" in message
    assert "Message for the account manager:" in out
    assert "Click Manage" not in out


# history and --verify ----------------------------------------------------------------


def test_verify_catches_an_order_edited_in_the_store(tmp_path: Path) -> None:
    live, _ = opened(tmp_path)
    conn = sqlite3.connect(live.state)
    with conn:
        conn.execute("UPDATE change_orders SET status = 'confirmed' WHERE number = 3")
    broken = live("history", "acme", "--verify")
    assert broken.code == 1 and "change order #3 is confirmed in the store" in broken.out
    with conn:
        conn.execute("UPDATE change_orders SET status = 'open' WHERE number = 3")
        body = json.loads(conn.execute("SELECT body FROM change_orders").fetchone()[0])
        body["invoice"]["total"] = "1.00"
        conn.execute("UPDATE change_orders SET body = ?", (json.dumps(body),))
    broken = live("history", "acme", "--verify")
    assert broken.code == 1 and "change order #3 does not match its audit entry" in broken.out
    refused = live("confirm", "acme", "--invoice-total", "1.00", "--unverified", "x")
    assert refused.code == 1 and "does not match its audit entry: it was edited" in refused.err
    with conn:
        conn.execute("DELETE FROM change_orders")
    broken = live("history", "acme", "--verify")
    assert broken.code == 1 and "change order #3 is missing" in broken.out
    conn.close()


def test_history_names_each_step_of_an_order(tmp_path: Path) -> None:
    live, plan = opened(tmp_path)
    due = plan["accounts"][0]["invoice"]["due_now"]  # type: ignore[index]
    live.ok("confirm", "acme", "--invoice-total", due, "--unverified", "x")
    text = live.ok("history", "acme", "--verify").out
    assert "change order #3 open: products.suite.agents 10 → 12" in text
    assert "change order #3 confirmed: products.suite.agents 10 → 12" in text
    assert "Audit chain verified: 4 entries, no break." in text


def test_state_migrate_moves_orders_with_the_account(tmp_path: Path) -> None:
    live, _ = opened(tmp_path)
    target = str(tmp_path / "new" / "state.db")
    moved = Live(target, live.file)  # a sandbox store, as the source
    live.ok("state", "migrate", "--from", live.state, "--to", target, at=None)
    assert moved.order()["number"] == 3
    assert moved.history()["verify"]["ok"] is True
