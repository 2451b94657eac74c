"""The state-store contract (state.md, cli.md "apply"): plan, apply, and what one apply
writes; account types and roles; confirmation; cancellation; several accounts and
renewals.

Every test that takes ``cli`` or ``store_url`` runs on SQLite and on PostgreSQL
(fixtures in tests/state/conftest.py). zplan runs in this process (``cli(...)``)
where that is enough, and as real processes (``cli.spawn``, ``cli.terminal``)
where the contract is about processes: concurrency, signals, terminals.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
from zplan.state import open_store

from tests.state.conftest import BILLING_ADMIN, OWNER, PROMPT, Cli, RawStore, subscription_file
from tests.state.contract_support import NO_CHANGES, apply_file, plan_json, save_plan, serial_of

# Plan, apply, and what one apply writes ----------------------------------------------


def test_plan_apply_then_plan_shows_no_changes(cli: Cli, tmp_path: Path) -> None:
    path = subscription_file(tmp_path)
    planned = cli("plan", "--detailed-exitcode", str(path))
    assert planned.code == 2, planned.output
    assert "Due now: $745.00 (excluding tax)" in planned.out

    apply_file(cli, path)

    again = cli("plan", "--detailed-exitcode", str(path))
    assert again.code == 0, again.output
    assert NO_CHANGES in again.out


def test_one_apply_writes_one_version_one_invoice_one_audit_entry(cli: Cli, tmp_path: Path) -> None:
    path = subscription_file(tmp_path)
    due_now = plan_json(cli, path)["accounts"][0]["invoice"]["due_now"]
    apply_file(cli, path)

    record = cli.check()["acme"]
    assert record.serial == 1
    assert record.kinds == ["apply"]
    assert record.invoices == {1: due_now}
    with open_store(cli.url) as store:
        assert store.subdomains() == ["acme"]
        (version,) = store.versions("acme")
        assert version.serial == 1 and version.kind == "apply"
        assert version.account.serial == 1 and version.account.owner == OWNER
        assert version.invoice is not None and version.invoice["total"] == due_now
        assert version.audit is not None
        assert version.audit["serial"] == 1 and version.audit["kind"] == "apply"
        assert version.audit["actor"] == OWNER
        assert version.audit["previous_hash"] == ""
        assert version.audit["amounts"]["due_now"] == due_now
        (raw,) = store.raw_audit("acme")
        assert raw[0] == 1
        assert store.applied(str(version.audit["plan_id"]), "acme") == version.created_at
    with RawStore(cli.url) as raw_store:
        assert raw_store.rows("SELECT count(*) FROM applied_plans") == [(1,)]
        # Sensitive values are kept only as hashes: the payment token is nowhere in clear.
        for table in ("accounts", "versions", "invoices", "audit", "applied_plans"):
            for row in raw_store.rows(f"SELECT * FROM {table}"):
                assert "pm_1QxY4242" not in json.dumps(row, default=str), table


def test_an_unchanged_account_gets_no_version(cli: Cli, tmp_path: Path) -> None:
    path = subscription_file(tmp_path)
    apply_file(cli, path)
    again = cli("apply", "--auto-approve", str(path))
    assert again.code == 0, again.output
    assert NO_CHANGES in again.out
    assert cli.check()["acme"].kinds == ["apply"]


# Account types and roles ------------------------------------------------------------


def test_managed_account_refuses_more_agents(cli: Cli, tmp_path: Path) -> None:
    apply_file(cli, subscription_file(tmp_path, agents=5))
    admin = cli("admin", "account", "acme", "--type", "managed", actor="sales@zendesk.example")
    assert admin.code == 0, admin.output
    assert "acme is now managed (serial 2)." in admin.out
    record = cli.check()["acme"]
    assert record.kinds == ["apply", "admin"] and set(record.invoices) == {1}

    more = subscription_file(tmp_path, agents=8)
    planned = cli("plan", str(more))
    assert planned.code == 1, planned.output
    assert "contact your account manager" in planned.out
    refused = cli("apply", "--auto-approve", str(more))
    assert refused.code == 1
    assert "contact your account manager" in refused.output
    assert cli.check()["acme"].serial == 2


@pytest.mark.parametrize("via", ["files", "saved-plan"])
def test_someone_neither_owner_nor_billing_admin_cannot_apply(
    cli: Cli, tmp_path: Path, via: str
) -> None:
    mallory = "mallory@acme.example"
    apply_file(cli, subscription_file(tmp_path, agents=5))
    files = [
        subscription_file(tmp_path, agents=8),
        # Adding oneself to billing_admins in the file does not help: the store decides.
        subscription_file(tmp_path, agents=8, billing_admins=[BILLING_ADMIN, mallory]),
    ]
    for path in files:
        if via == "files":
            refused = cli("apply", "--auto-approve", str(path), actor=mallory)
        else:
            save_plan(cli, path, "plan.json", actor=None)  # plans check roles only for an actor
            refused = cli("apply", "plan.json", actor=mallory)
        assert refused.code == 1, refused.output
        assert f"{mallory} is neither the owner nor a billing admin of acme" in refused.output
        assert cli.check()["acme"].serial == 1
    if via == "saved-plan":  # the same plan, applied by the owner, is fine
        applied = cli("apply", "plan.json")
        assert applied.code == 0, applied.output
        assert cli.check()["acme"].serial == 2


def test_apply_needs_an_actor(cli: Cli, tmp_path: Path) -> None:
    path = subscription_file(tmp_path)
    refused = cli("apply", "--auto-approve", str(path), actor=None)
    assert refused.code == 1, refused.output
    assert "apply needs to know who is acting" in refused.err
    assert serial_of(cli.url) is None

    # git config user.email is the fallback (the fixtures point git at an empty config).
    subprocess.run(["git", "config", "--global", "user.email", OWNER], check=True)
    apply_file_as = cli("apply", "--auto-approve", str(path), actor=None)
    assert apply_file_as.code == 0, apply_file_as.output
    with open_store(cli.url) as store:
        (version,) = store.versions("acme")
    assert version.audit is not None and version.audit["actor"] == OWNER


# Confirmation ---------------------------------------------------------------------


def test_apply_without_a_terminal_and_without_auto_approve_is_refused(
    cli: Cli, tmp_path: Path
) -> None:
    path = subscription_file(tmp_path)
    in_process = cli("apply", str(path), input="yes\n")
    assert in_process.code == 1, in_process.output
    assert "apply asks for confirmation, and stdin is not a terminal" in in_process.err
    piped = cli.sub("apply", str(path))  # `echo yes | zplan apply FILE` in a pipeline
    assert piped.code == 1, piped.output
    assert "stdin is not a terminal" in piped.err
    assert serial_of(cli.url) is None


def test_interactive_prompt_yes_applies_and_holds_the_lock_meanwhile(
    cli: Cli, tmp_path: Path
) -> None:
    path = subscription_file(tmp_path)
    terminal = cli.terminal("apply", str(path))
    try:
        terminal.expect(PROMPT)
        assert "Due now: $745.00" in terminal.output
        other = cli("apply", "--auto-approve", str(subscription_file(tmp_path, agents=6)))
        assert other.code == 1, other.output
        assert "the state of acme is locked by owner@acme.example (operation: apply" in other.err
        terminal.send("yes")
        code, output = terminal.finish()
    except BaseException:
        terminal.kill()
        raise
    assert code == 0, output
    assert "Apply complete: 1 account changed (acme)." in output
    assert cli.check()["acme"].kinds == ["apply"]


@pytest.mark.parametrize("answer", ["y", "yes please"])
def test_interactive_prompt_anything_but_yes_cancels(cli: Cli, tmp_path: Path, answer: str) -> None:
    path = subscription_file(tmp_path)
    terminal = cli.terminal("apply", str(path))
    try:
        terminal.expect(PROMPT)
        terminal.send(answer)
        code, output = terminal.finish()
    except BaseException:
        terminal.kill()
        raise
    assert code == 1, output
    assert "Apply cancelled." in output
    assert serial_of(cli.url) is None
    apply_file(cli, path)  # the lock was released
    assert cli.check()["acme"].serial == 1


# Cancellation -------------------------------------------------------------------


def test_cancellation_needs_allow_cancel(cli: Cli, tmp_path: Path) -> None:
    apply_file(cli, subscription_file(tmp_path))
    cancel = subscription_file(tmp_path, status="cancelled")
    refused = cli("apply", "--auto-approve", str(cancel))
    assert refused.code == 1, refused.output
    assert "this plan cancels the subscription of acme" in refused.err
    assert "--allow-cancel" in refused.err
    assert cli.check()["acme"].serial == 1

    save_plan(cli, cancel, "cancel.json")
    refused = cli("apply", "cancel.json")
    assert refused.code == 1 and "cancelling needs --allow-cancel" in refused.err
    assert cli.check()["acme"].serial == 1

    applied = cli("apply", "--allow-cancel", "cancel.json")
    assert applied.code == 0, applied.output
    with open_store(cli.url) as store:
        account = store.account("acme")
    assert account is not None and account.subscription is not None
    assert account.subscription.next.to_json()["status"] == "cancelled"
    assert cli.check()["acme"].kinds == ["apply", "apply"]


def test_cancellation_at_the_prompt_needs_the_subdomain_typed(cli: Cli, tmp_path: Path) -> None:
    apply_file(cli, subscription_file(tmp_path))
    cancel = subscription_file(tmp_path, status="cancelled")
    for answer, code_wanted in (("yes", 1), ("acme", 0)):
        terminal = cli.terminal("apply", "--allow-cancel", str(cancel))
        try:
            terminal.expect("Type acme to confirm and apply")
            terminal.send(answer)
            code, output = terminal.finish()
        except BaseException:
            terminal.kill()
            raise
        assert code == code_wanted, output
        if answer == "yes":
            assert "Apply cancelled." in output
            assert cli.check()["acme"].serial == 1
    assert "Apply complete: 1 account changed (acme)." in output
    assert cli.check()["acme"].kinds == ["apply", "apply"]


# Several accounts, renewals --------------------------------------------------------


def test_several_accounts_in_one_apply(cli: Cli, tmp_path: Path) -> None:
    accounts = tmp_path / "accounts"
    subscription_file(accounts, "acme")
    subscription_file(accounts, "beta", agents=3, owner=OWNER)
    applied = cli("apply", "--auto-approve", str(accounts))
    assert applied.code == 0, applied.output
    assert "Apply complete: 2 accounts changed (acme, beta)." in applied.out
    records = cli.check()
    assert {s: (r.kinds, len(r.invoices)) for s, r in records.items()} == {
        "acme": (["apply"], 1),
        "beta": (["apply"], 1),
    }

    # A saved plan over both: one account stale, so nothing is written for either.
    subscription_file(accounts, "acme", agents=6)
    subscription_file(accounts, "beta", agents=4, owner=OWNER)
    save_plan(cli, accounts, "both.json")
    apply_file(cli, subscription_file(tmp_path, "beta", agents=9, owner=OWNER, name="beta9"))
    refused = cli("apply", "both.json")
    assert refused.code == 1, refused.output
    assert "the subscription of beta changed after the plan was made" in refused.err
    assert {s: r.serial for s, r in cli.check().items()} == {"acme": 1, "beta": 2}

    subscription_file(accounts, "beta", agents=9, owner=OWNER)
    save_plan(cli, accounts, "both.json")
    subscription_file(accounts, "beta", agents=10, owner=OWNER)
    save_plan(cli, accounts, "both.json")
    applied = cli("apply", "both.json")
    assert applied.code == 0, applied.output
    assert "Apply complete: 2 accounts changed (acme, beta)." in applied.out
    assert {s: r.serial for s, r in cli.check().items()} == {"acme": 2, "beta": 3}


def test_pending_renewals_are_written_first_each_with_one_invoice(cli: Cli, tmp_path: Path) -> None:
    apply_file(cli, subscription_file(tmp_path, agents=5, cycle="monthly"))
    later = "2027-01-27"  # two monthly terms later
    planned = cli("plan", str(subscription_file(tmp_path, agents=7)), at=later)
    assert "renewal pending on 2026-12-27: $745.00" in planned.out
    assert "renewal pending on 2027-01-27: $745.00" in planned.out
    save_plan(cli, subscription_file(tmp_path, agents=7), "plan.json", at=later)
    applied = cli("apply", "plan.json", at=later)
    assert applied.code == 0, applied.output

    record = cli.check()["acme"]
    assert record.kinds == ["apply", "renewal", "renewal", "apply"]
    assert [record.invoices[s] for s in (2, 3)] == ["745.00", "745.00"]
    with open_store(cli.url) as store:
        versions = store.versions("acme")
    dates = [v.invoice["date"] for v in versions if v.invoice is not None]
    assert dates == ["2026-11-27", "2026-12-27", "2027-01-27", "2027-01-27"]
    assert versions[2].account.subscription is not None
    assert versions[2].account.subscription.term_start.isoformat() == "2027-01-27"

    # Only renewals pending, no change: they are written all the same.
    again = cli(
        "apply", "--auto-approve", str(subscription_file(tmp_path, agents=7)), at="2027-03-27"
    )
    assert again.code == 0, again.output
    assert cli.check()["acme"].kinds == [
        "apply",
        "renewal",
        "renewal",
        "apply",
        "renewal",
        "renewal",
    ]
