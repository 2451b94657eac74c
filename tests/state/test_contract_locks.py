"""The state-store contract for locks and concurrency: one apply wins, lock timeouts,
force-unlock, and a killed holder leaves nothing half written.

Every test that takes ``cli`` or ``store_url`` runs on SQLite and on PostgreSQL
(fixtures in tests/state/conftest.py). zplan runs in this process (``cli(...)``)
where that is enough, and as real processes (``cli.spawn``, ``cli.terminal``)
where the contract is about processes: concurrency, signals, terminals.
"""

from __future__ import annotations

import socket
import time
from pathlib import Path

from zplan.state import open_store
from zplan.state.base import LockInfo

from tests.conftest import Zplan, init_store
from tests.state.conftest import PROMPT, Cli, finish, subscription_file
from tests.state.contract_support import LOCK_ID, STALE, apply_file, save_plan, serial_of

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
    cli = Cli(zplan, init_store(str(tmp_path / "state" / "state.db")))
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
