"""The state-store contract (state.md, cli.md "apply"), run once against every backend.

Every test that takes ``cli`` or ``store_url`` runs on SQLite and on PostgreSQL.
zplan runs in this process (``cli(...)``) where that is enough, and as real
processes (``cli.spawn``, ``cli.terminal``) where the contract is about
processes: concurrency, signals, terminals.
"""

from __future__ import annotations

import json
import os
import re
import socket
import stat
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from zplan.apply.planfile import verify
from zplan.state import open_store
from zplan.state.base import LockInfo

from tests.conftest import TODAY, Zplan
from tests.state.conftest import (
    BILLING_ADMIN,
    OWNER,
    PROMPT,
    Cli,
    RawStore,
    StoreFactory,
    check_store,
    finish,
    subscription_file,
)

NO_CHANGES = "No changes. The subscription of acme matches the configuration."
STALE = (
    "Saved plan is stale: the subscription of acme changed after the plan was made. "
    "Run zplan plan again."
)
LOCK_ID = re.compile(r"lock id ([0-9a-f-]{36})")


def plan_json(cli: Cli, path: Path, at: str = TODAY) -> dict:
    result = cli("plan", "--format", "json", str(path), at=at)
    assert result.code == 0, result.output
    return json.loads(result.out)


def apply_file(cli: Cli, path: Path, *extra: str, at: str = TODAY) -> None:
    result = cli("apply", "--auto-approve", *extra, str(path), at=at)
    assert result.code == 0, result.output
    assert "Apply complete" in result.out, result.output


def save_plan(cli: Cli, path: Path, out: str, at: str = TODAY, actor: str | None = OWNER) -> dict:
    result = cli("plan", "--out", out, str(path), at=at, actor=actor)
    assert result.code == 0, result.output
    return json.loads(Path(out).read_text())


def serial_of(url: str, subdomain: str = "acme") -> int | None:
    with open_store(url) as store:
        account = store.account(subdomain)
    return None if account is None else account.serial


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


# Saved plans ---------------------------------------------------------------------


def test_saved_plan_applies_without_a_prompt(cli: Cli, tmp_path: Path) -> None:
    path = subscription_file(tmp_path)
    save_plan(cli, path, "plan.json")
    assert serial_of(cli.url) is None  # planning wrote nothing but the signing secret

    applied = cli("apply", "plan.json")  # stdin is not a terminal, and no --auto-approve
    assert applied.code == 0, applied.output
    assert "Apply complete: 1 account changed (acme)." in applied.out
    assert "Do you want" not in applied.output
    assert cli.check()["acme"].kinds == ["apply"]


def test_saved_plan_applied_twice_applies_once_and_says_when(cli: Cli, tmp_path: Path) -> None:
    path = subscription_file(tmp_path)
    save_plan(cli, path, "plan.json")
    first = cli("apply", "plan.json")
    assert first.code == 0, first.output
    with open_store(cli.url) as store:
        (version,) = store.versions("acme")

    second = cli("apply", "plan.json")
    assert second.code == 0, second.output
    assert (
        f"acme: this plan was already applied at {version.created_at}; nothing to do." in second.out
    )
    assert "Apply complete" not in second.out
    record = cli.check()["acme"]
    assert record.serial == 1 and len(record.invoices) == 1


def test_same_plan_applied_by_two_processes_at_once_is_charged_once(
    cli: Cli, tmp_path: Path
) -> None:
    path = subscription_file(tmp_path)
    apply_file(cli, path)
    bigger = subscription_file(tmp_path, agents=9, name="bigger")
    save_plan(cli, bigger, "plan.json")

    # Both processes are past their "already applied?" check and waiting for the lock
    # when it is released, so they really race for the one write.
    with (
        open_store(cli.url) as store,
        store.locked(
            ["acme"], LockInfo.mine("tester@acme.example", "test", "2026-11-27T00:00:00Z"), 0
        ),
    ):
        runs = [cli.spawn("apply", "plan.json", "--lock-timeout", "60") for _ in range(2)]
        time.sleep(1.5)
        assert all(r.poll() is None for r in runs), [finish(r).output for r in runs]
    results = [finish(r) for r in runs]

    applied = [r for r in results if "Apply complete: 1 account changed (acme)." in r.out]
    assert len(applied) == 1, [r.output for r in results]
    for result in results:
        if result is applied[0]:
            assert result.code == 0
        elif result.code == 0:
            assert "this plan was already applied at" in result.out, result.output
        else:
            assert "Saved plan is stale" in result.err or "is locked by" in result.err, (
                result.output
            )
    record = cli.check()["acme"]
    assert record.kinds == ["apply", "apply"]
    assert len(record.invoices) == 2  # the first purchase, and this plan once


def test_stale_saved_plan_is_refused(cli: Cli, tmp_path: Path) -> None:
    path = subscription_file(tmp_path)
    apply_file(cli, path)
    save_plan(cli, subscription_file(tmp_path, agents=7, name="seven"), "plan.json")
    apply_file(cli, subscription_file(tmp_path, agents=9, name="nine"))

    refused = cli("apply", "plan.json")
    assert refused.code == 1, refused.output
    assert STALE in refused.err
    record = cli.check()["acme"]
    assert record.serial == 2 and len(record.invoices) == 2
    with open_store(cli.url) as store:
        account = store.account("acme")
    assert account is not None and account.subscription is not None
    assert account.subscription.now.to_json()["products"]["suite"]["agents"] == 9


def test_saved_plan_from_another_day_is_refused(cli: Cli, tmp_path: Path) -> None:
    path = subscription_file(tmp_path)
    save_plan(cli, path, "plan.json")
    refused = cli("apply", "plan.json", at="2026-11-28")
    assert refused.code == 1, refused.output
    assert "the plan was priced on 2026-11-27, and today is 2026-11-28" in refused.err
    assert serial_of(cli.url) is None


def _edit_money(document: dict) -> None:
    account = document["accounts"][0]
    account["invoice"]["due_now"] = "1.00"
    account["totals"]["due_now"] = "1.00"
    account["invoice"]["lines"][0]["amount"] = "1.00"


def _edit_other(document: dict) -> None:
    document["accounts"][0]["desired"]["config"]["products"]["suite"]["agents"] = 50


def _edit_and_recompute_plan_id(document: dict) -> None:
    from zplan.apply.planfile import plan_id_of

    document["created_at"] = "2026-11-27T00:00:01Z"
    document["plan_id"] = plan_id_of(document)  # the id is no secret; the signature is


def _strip_signature(document: dict) -> None:
    del document["signature"]


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (_edit_money, "signature does not match"),
        (_edit_other, "signature does not match"),
        (_edit_and_recompute_plan_id, "signature does not match"),
        (_strip_signature, "the plan file has no signature"),
    ],
    ids=["money", "desired-agents", "recomputed-plan-id", "no-signature"],
)
def test_tampered_plan_file_is_refused(
    cli: Cli, tmp_path: Path, edit: object, message: str
) -> None:
    path = subscription_file(tmp_path)
    document = save_plan(cli, path, "plan.json")
    edit(document)  # type: ignore[operator]
    Path("plan.json").write_text(json.dumps(document, indent=2))

    refused = cli("apply", "plan.json")
    assert refused.code == 1, refused.output
    assert message in refused.err
    assert serial_of(cli.url) is None


def test_plan_signed_by_another_store_is_refused(
    cli: Cli, tmp_path: Path, store_kind: str, store_factory: StoreFactory
) -> None:
    path = subscription_file(tmp_path)
    save_plan(cli, path, "plan.json")

    never_signed = Cli(cli.zplan, store_factory.new(store_kind))
    refused = never_signed("apply", "plan.json")
    assert refused.code == 1, refused.output
    assert "this state store has never signed a plan" in refused.err

    other = Cli(cli.zplan, store_factory.new(store_kind))
    save_plan(other, subscription_file(tmp_path, "beta", owner=OWNER), "other.json")
    refused = other("apply", "plan.json")
    assert refused.code == 1, refused.output
    assert "signature does not match" in refused.err
    assert serial_of(other.url) is None
    assert serial_of(cli.url) is None


def test_concurrent_first_saved_plans_share_one_signing_secret(cli: Cli, tmp_path: Path) -> None:
    """Several processes that find no store (and no secret) at once all plan, against one secret."""
    path = subscription_file(tmp_path)
    runs = [cli.spawn("plan", "--out", f"plan-{n}.json", str(path)) for n in range(4)]
    results = [finish(r) for r in runs]
    assert [r.code for r in results] == [0] * 4, [r.output for r in results]
    with open_store(cli.url) as store:
        secret = store.signing_secret(create=False)
    assert secret is not None
    for n in range(4):
        verify(json.loads(Path(f"plan-{n}.json").read_text()), secret)


# Locks and concurrency -----------------------------------------------------------


def test_concurrent_applies_of_different_plans_one_wins(cli: Cli, tmp_path: Path) -> None:
    path = subscription_file(tmp_path)
    apply_file(cli, path)
    save_plan(cli, subscription_file(tmp_path, agents=7, name="seven"), "seven.json")
    save_plan(cli, subscription_file(tmp_path, agents=9, name="nine"), "nine.json")

    runs = {n: cli.spawn("apply", f"{n}.json") for n in ("seven", "nine")}
    results = {n: finish(r) for n, r in runs.items()}

    winners = [n for n, r in results.items() if r.code == 0]
    assert len(winners) == 1, {n: r.output for n, r in results.items()}
    (loser,) = set(results) - set(winners)
    assert "Apply complete: 1 account changed (acme)." in results[winners[0]].out
    assert results[loser].code == 1
    assert STALE in results[loser].err or "the state of acme is locked by" in results[loser].err
    record = cli.check()["acme"]
    assert record.serial == 2
    assert len(record.invoices) == 2  # the purchase, and one of the two plans
    with open_store(cli.url) as store:
        account = store.account("acme")
    assert account is not None and account.subscription is not None
    wanted = {"seven": 7, "nine": 9}[winners[0]]
    assert account.subscription.now.to_json()["products"]["suite"]["agents"] == wanted


def test_lock_timeout_waits_for_the_holder_then_applies(cli: Cli, tmp_path: Path) -> None:
    path = subscription_file(tmp_path)
    holder = LockInfo.mine("holder@acme.example", "apply", "2026-11-27T09:00:00Z")
    with open_store(cli.url) as store, store.locked(["acme"], holder, 0):
        refused = cli("apply", "--auto-approve", str(path))
        assert refused.code == 1, refused.output
        assert "the state of acme is locked by holder@acme.example" in refused.err
        assert f"lock id {holder.id}" in refused.err
        assert f"zplan force-unlock acme {holder.id}" in refused.err
        # The lock says what, where and since when.
        assert "(operation: apply, " in refused.err
        assert f"host: {socket.gethostname()}" in refused.err
        assert "created_at: 2026-11-27T09:00:00Z" in refused.err

        started = time.monotonic()
        short = cli("apply", "--auto-approve", "--lock-timeout", "0.5", str(path))
        assert short.code == 1 and "is locked by" in short.err, short.output
        assert time.monotonic() - started >= 0.5

        waiting = cli.spawn("apply", "--auto-approve", "--lock-timeout", "60", str(path))
        time.sleep(1.5)
        assert waiting.poll() is None, finish(waiting).output  # still waiting for the lock
        assert serial_of(cli.url) is None
    done = finish(waiting)
    assert done.code == 0, done.output
    assert "Apply complete: 1 account changed (acme)." in done.out
    assert cli.check()["acme"].serial == 1


def test_force_unlock_removes_the_lock_of_a_killed_sqlite_holder(
    zplan: Zplan, tmp_path: Path
) -> None:
    cli = Cli(zplan, str(tmp_path / "state" / "state.db"))
    path = subscription_file(tmp_path)
    holder = cli.terminal("apply", str(path))
    holder.expect(PROMPT)  # the apply holds the lock while it asks
    holder.kill()

    refused = cli("apply", "--auto-approve", str(path))
    assert refused.code == 1, refused.output
    assert f"pid: {holder.process.pid} (no longer running)" in refused.err
    match = LOCK_ID.search(refused.err)
    assert match, refused.err
    lock_id = match.group(1)

    wrong = cli("force-unlock", "acme", "00000000-0000-0000-0000-000000000000")
    assert wrong.code == 1 and f"has id {lock_id}" in wrong.err, wrong.output
    removed = cli("force-unlock", "acme", lock_id)
    assert removed.code == 0, removed.output
    assert f"Removed the lock {lock_id} on acme." in removed.out
    again = cli("force-unlock", "acme", lock_id)
    assert again.code == 1 and "acme is not locked" in again.err

    apply_file(cli, path)
    assert cli.check()["acme"].kinds == ["apply"]


def test_killed_holder_leaves_nothing_half_written(cli: Cli, tmp_path: Path) -> None:
    """An apply killed at its prompt wrote nothing; after the lock is gone, apply works."""
    path = subscription_file(tmp_path)
    apply_file(cli, path)
    holder = cli.terminal("apply", str(subscription_file(tmp_path, agents=8, name="eight")))
    holder.expect(PROMPT)
    holder.kill()
    assert cli.check()["acme"].serial == 1
    if cli.url.startswith("postgresql://"):
        # The server ends the dead client's session and with it the advisory lock.
        apply_file(cli, subscription_file(tmp_path, agents=9, name="nine"), "--lock-timeout", "10")
    else:
        refused = cli("apply", "--auto-approve", str(path))
        match = LOCK_ID.search(refused.err)
        assert refused.code == 1 and match, refused.output
        assert cli("force-unlock", "acme", match.group(1)).code == 0
        apply_file(cli, subscription_file(tmp_path, agents=9, name="nine"))
    assert cli.check()["acme"].kinds == ["apply", "apply"]


# The audit log -------------------------------------------------------------------


def _three_versions(cli: Cli, tmp_path: Path) -> None:
    for agents in (5, 7, 9):
        apply_file(cli, subscription_file(tmp_path, agents=agents))


TAMPERING = {
    "audit-edited": (
        [
            'UPDATE audit SET entry = replace(entry, \'"actor":"owner@acme.example"\', '
            "'\"actor\":\"someone@else.example\"') WHERE subdomain = 'acme' AND serial = 2"
        ],
        "entry 2 does not match its hash: it was edited",
    ),
    "audit-hash-edited": (
        ["UPDATE audit SET hash = 'ab' || substr(hash, 3) WHERE subdomain = 'acme' AND serial = 2"],
        "entry 2 does not match its hash",
    ),
    "audit-deleted": (
        ["DELETE FROM audit WHERE subdomain = 'acme' AND serial = 2"],
        "entry 2 is missing",
    ),
    "version-edited": (
        [
            "UPDATE versions SET state = replace(state, '\"agents\":7', '\"agents\":70') "
            "WHERE subdomain = 'acme' AND serial = 2"
        ],
        "version 2 does not match its audit entry",
    ),
    "version-kind-edited": (
        ["UPDATE versions SET kind = 'admin' WHERE subdomain = 'acme' AND serial = 2"],
        "version 2 does not match its audit entry",
    ),
    "version-deleted": (
        ["DELETE FROM versions WHERE subdomain = 'acme' AND serial = 2"],
        "version 2 is missing",
    ),
    "invoice-edited": (
        [
            'UPDATE invoices SET body = replace(body, \'"total":"298.00"\', \'"total":"2.98"\') '
            "WHERE subdomain = 'acme' AND serial = 2"
        ],
        "the invoice of version 2 does not match its audit entry",
    ),
    "invoice-total-column-edited": (
        ["UPDATE invoices SET total = '2.98' WHERE subdomain = 'acme' AND serial = 2"],
        "the invoice of version 2 does not match its audit entry",
    ),
    "invoice-deleted": (
        ["DELETE FROM invoices WHERE subdomain = 'acme' AND serial = 2"],
        "the invoice of version 2 does not match its audit entry",
    ),
    "last-version-deleted": (
        [
            "DELETE FROM audit WHERE subdomain = 'acme' AND serial = 3",
            "DELETE FROM versions WHERE subdomain = 'acme' AND serial = 3",
            "DELETE FROM invoices WHERE subdomain = 'acme' AND serial = 3",
        ],
        "entry 3 is missing: acme is at serial 3, the log ends at 2",
    ),
    "current-state-edited": (
        [
            "UPDATE accounts SET state = replace(state, '\"agents\":9', '\"agents\":90') "
            "WHERE subdomain = 'acme'"
        ],
        "the current state of acme does not match",
    ),
}


@pytest.mark.parametrize("tampering", sorted(TAMPERING))
def test_history_verify_detects_edited_and_deleted_rows(
    cli: Cli, tmp_path: Path, tampering: str
) -> None:
    _three_versions(cli, tmp_path)
    assert cli("history", "acme", "--verify").code == 0

    statements, problem = TAMPERING[tampering]
    with RawStore(cli.url) as raw:
        for statement in statements:
            assert raw.execute(statement) == 1, statement

    text = cli("history", "acme", "--verify")
    assert text.code == 1, text.output
    assert "Audit chain BROKEN at entry" in text.out
    assert problem in text.out
    as_json = cli("history", "acme", "--verify", "--format", "json")
    assert as_json.code == 1
    result = json.loads(as_json.out)["verify"]
    assert result["ok"] is False and problem in result["problem"]


def test_history_text_and_json(cli: Cli, tmp_path: Path) -> None:
    apply_file(cli, subscription_file(tmp_path, agents=5))
    env = {
        "GITHUB_SERVER_URL": "https://github.example",
        "GITHUB_REPOSITORY": "acme/billing",
        "GITHUB_RUN_ID": "4242",
        "GITHUB_SHA": "c0ffee" * 6 + "c0fe",
    }
    result = cli.zplan(
        *cli.argv(
            "apply",
            "--auto-approve",
            str(subscription_file(tmp_path, agents=7)),
            actor=BILLING_ADMIN,
        ),
        env=env,
    )
    assert result.code == 0, result.output

    text = cli("history", "acme", "--verify")
    assert text.code == 0, text.output
    lines = text.out.splitlines()
    assert lines[0] == "History of acme (2 versions)"
    assert re.search(
        r"^#1  2026-11-27T\S+  apply    owner@acme\.example  charged \$745\.00$", text.out, re.M
    ), text.out
    assert re.search(
        r"^#2  2026-11-27T\S+  apply    finance@acme\.example  charged \$298\.00$", text.out, re.M
    ), text.out
    assert "products.suite.agents 5 → 7" in text.out
    assert "CI run https://github.example/acme/billing/actions/runs/4242" in text.out
    assert "commit c0ffeec0ffee" in text.out
    assert "Audit chain verified: 2 entries, no break." in text.out

    data = json.loads(cli("history", "acme", "--format", "json").out)
    assert data["subdomain"] == "acme" and data["verify"] is None
    first, second = data["versions"]
    assert (first["serial"], first["kind"], first["actor"], first["charged"]) == (
        1,
        "apply",
        OWNER,
        "745.00",
    )
    assert (second["serial"], second["kind"], second["actor"], second["charged"]) == (
        2,
        "apply",
        BILLING_ADMIN,
        "298.00",
    )
    assert second["ci_run_url"] == "https://github.example/acme/billing/actions/runs/4242"
    assert second["git_commit"] == env["GITHUB_SHA"]
    assert [c["kind"] for c in second["changes"]] == ["agents_increase"]
    assert first["plan_id"] != second["plan_id"]
    assert second["invoice"]["payment"] == {"method": "card", "ref": "…4242"}
    verified = json.loads(cli("history", "acme", "--verify", "--format", "json").out)["verify"]
    assert verified == {"ok": True, "entries": 2, "problem": None, "serial": None}

    missing = cli("history", "nobody")
    assert missing.code == 1 and "there is no account nobody" in missing.err


def test_state_show_serial(cli: Cli, tmp_path: Path) -> None:
    apply_file(cli, subscription_file(tmp_path, agents=5))
    apply_file(cli, subscription_file(tmp_path, agents=7, edition="enterprise"))

    first = cli("state", "show", "acme", "--serial", "1")
    assert first.code == 0, first.output
    assert "serial: 1\n" in first.out
    assert "edition: professional\n" in first.out and "agents: 5\n" in first.out
    second = cli("state", "show", "acme", "--serial", "2")
    assert "serial: 2\n" in second.out
    assert "edition: enterprise\n" in second.out and "agents: 7\n" in second.out
    current = cli("state", "show", "acme")
    assert "serial: 2\n" in current.out and "agents: 7\n" in current.out
    assert "pm_1QxY4242" not in first.out + second.out + current.out
    assert "(sensitive, …4242)" in current.out

    missing = cli("state", "show", "acme", "--serial", "3")
    assert missing.code == 1 and "acme has no version 3" in missing.err


def test_export_then_plan_shows_no_changes(cli: Cli, tmp_path: Path) -> None:
    apply_file(cli, subscription_file(tmp_path, agents=5))
    apply_file(cli, subscription_file(tmp_path, agents=12, edition="enterprise"))
    exported = cli("export", "acme", "-o", "exported.yaml")
    assert exported.code == 0, exported.output

    planned = cli("plan", "--detailed-exitcode", "exported.yaml")
    assert planned.code == 0, planned.output
    assert NO_CHANGES in planned.out


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


# SQLite only ------------------------------------------------------------------------


def test_sqlite_store_is_private_and_in_wal_mode(zplan: Zplan, tmp_path: Path) -> None:
    url = str(tmp_path / "private" / "state.db")
    cli = Cli(zplan, url)
    apply_file(cli, subscription_file(tmp_path))
    assert stat.S_IMODE(os.stat(tmp_path / "private").st_mode) == 0o700
    for name in ("state.db", "state.db-wal", "state.db-shm"):
        file = tmp_path / "private" / name
        if file.exists():
            assert stat.S_IMODE(file.stat().st_mode) == 0o600, name
    with RawStore(url) as raw:
        assert raw.rows("PRAGMA journal_mode") == [("wal",)]


def test_sqlite_store_made_by_many_at_once_opens_for_all(tmp_path: Path) -> None:
    """Regressions (CI's slow run, then this test): two zplans that both found no directory
    raced to mkdir it, and the loser stopped with "File exists"; and one that switched the
    new file to WAL while another did got "database is locked" at once. Threads released
    by one barrier, 30 fresh stores."""
    from zplan.state.sqlite import SqliteStore

    def open_at(path: Path, barrier: threading.Barrier, errors: list[BaseException]) -> None:
        barrier.wait()
        try:
            SqliteStore(path).close()
        except BaseException as exc:  # every failure is the test's result
            errors.append(exc)

    errors: list[BaseException] = []
    for round_ in range(30):
        path = tmp_path / f"r{round_}" / "private" / "state.db"
        barrier = threading.Barrier(8)
        threads = [threading.Thread(target=open_at, args=(path, barrier, errors)) for _ in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        with RawStore(str(path)) as raw:
            assert raw.rows("PRAGMA journal_mode") == [("wal",)]
    assert errors == []


def test_sqlite_url_form_names_the_same_store(zplan: Zplan, tmp_path: Path) -> None:
    path = tmp_path / "s" / "state.db"
    apply_file(Cli(zplan, f"sqlite:///{path}"), subscription_file(tmp_path))
    assert check_store(str(path))["acme"].serial == 1


def test_default_state_path_without_the_guard(
    zplan: Zplan, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("ZPLAN_TEST_GUARD")
    path = subscription_file(tmp_path / "accounts")
    result = zplan("--at", TODAY, "--actor", OWNER, "apply", "--auto-approve", str(path))
    assert result.code == 0, result.output
    store = tmp_path / ".zplan" / "state.db"
    assert store.is_file()
    assert stat.S_IMODE((tmp_path / ".zplan").stat().st_mode) == 0o700
    assert stat.S_IMODE(store.stat().st_mode) == 0o600
    history = zplan("history", "acme", "--verify")
    assert history.code == 0 and "Audit chain verified: 1 entries" in history.out
    assert check_store(str(store))["acme"].serial == 1


def test_state_migrate_from_sqlite(
    zplan: Zplan, tmp_path: Path, store_url: str, store_factory: StoreFactory
) -> None:
    source = Cli(zplan, store_factory.new("sqlite"))
    accounts = tmp_path / "accounts"
    apply_file(source, subscription_file(accounts, "acme", agents=5))
    apply_file(source, subscription_file(accounts, "beta", agents=3, owner=OWNER))
    apply_file(source, subscription_file(accounts, "acme", agents=7), at="2026-12-28")
    assert source("admin", "account", "beta", "--type", "managed").code == 0
    save_plan(source, subscription_file(accounts, "acme", agents=9), "plan.json", at="2026-12-28")
    before = source.check()
    assert before["acme"].kinds == ["apply", "renewal", "apply"]

    migrated = zplan("state", "migrate", "--from", source.url, "--to", store_url)
    assert migrated.code == 0, migrated.output
    assert "acme: 3 versions copied, audit chain verified" in migrated.out
    assert "beta: 2 versions copied, audit chain verified" in migrated.out
    assert "Migrated 2 accounts from" in migrated.out
    assert "with the plan-signing secret" in migrated.out

    target = Cli(zplan, store_url)
    assert target.check() == before
    for subdomain in ("acme", "beta"):
        verified = target("history", subdomain, "--verify")
        assert verified.code == 0, verified.output
    with open_store(source.url) as a, open_store(store_url) as b:
        assert a.signing_secret(create=False) == b.signing_secret(create=False)
        for subdomain in ("acme", "beta"):
            assert a.dump_account(subdomain) == b.dump_account(subdomain)

    applied = target("apply", "plan.json", at="2026-12-28")
    assert applied.code == 0, applied.output
    assert "Apply complete: 1 account changed (acme)." in applied.out
    assert target.check()["acme"].kinds == ["apply", "renewal", "apply", "apply"]

    again = zplan("state", "migrate", "--from", source.url, "--to", store_url)
    assert again.code == 1 and "already exists in the target store" in again.err
    same = zplan("state", "migrate", "--from", store_url, "--to", store_url)
    assert same.code == 1 and "--from and --to name the same store" in same.err


def test_state_migrate_refuses_a_broken_source(
    zplan: Zplan, tmp_path: Path, store_url: str, store_factory: StoreFactory
) -> None:
    source = Cli(zplan, store_factory.new("sqlite"))
    apply_file(source, subscription_file(tmp_path, agents=5))
    apply_file(source, subscription_file(tmp_path, agents=7))
    with RawStore(source.url) as raw:
        raw.execute("DELETE FROM audit WHERE serial = 1")
    refused = zplan("state", "migrate", "--from", source.url, "--to", store_url)
    assert refused.code == 1, refused.output
    assert "acme: the source audit chain is broken (entry 1 is missing" in refused.err
    with open_store(store_url) as target:
        assert target.subdomains() == []


@pytest.mark.postgres
def test_postgres_password_is_never_shown(zplan: Zplan, tmp_path: Path) -> None:
    url = "postgresql://zplan:s3cr3t-pw@/postgres?host=/nonexistent-zplan-socket-dir&schema=t"
    result = Cli(zplan, url)("plan", str(subscription_file(tmp_path)))
    assert result.code == 1, result.output
    assert "cannot connect to the state store postgresql://zplan:***@/postgres" in result.err
    assert "s3cr3t-pw" not in result.output


# The suite itself ---------------------------------------------------------------------


@pytest.mark.parametrize(("ci", "outcome"), [("true", "1 error"), ("", "1 skipped")])
def test_without_a_server_postgres_tests_fail_in_ci_and_skip_elsewhere(
    ci: str, outcome: str
) -> None:
    root = Path(__file__).resolve().parents[2]
    env = {
        **os.environ,
        "CI": ci,
        "ZPLAN_TEST_POSTGRES_URL": "postgresql://nobody@/postgres?host=/nonexistent-zplan-dir",
    }
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            "-p",
            "no:xdist",
            "tests/state/test_contract.py::test_plan_apply_then_plan_shows_no_changes[postgresql]",
        ],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert outcome in done.stdout, done.stdout + done.stderr
    assert done.returncode == (1 if ci else 0), done.stdout
    if ci:
        assert "CI=true and PostgreSQL is unavailable" in done.stdout
