"""Applies at the I/O floor (issue 18): accounts read in batches, all of an apply's locks
taken in one transaction, about one commit per account, and every check before any write.

Each test runs on SQLite and PostgreSQL (tests/state/conftest.py) unless it names one.
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest
from zplan.apply.session import BatchedAccounts
from zplan.errors import LockHeld, StateError
from zplan.state import open_store
from zplan.state.base import LockInfo, Mode

from tests.state.conftest import (
    OWNER,
    Cli,
    RawStore,
    StoreFactory,
    subscription_file,
    zplan_argv,
)
from tests.state.contract_support import save_plan

NAMES = ["alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf"]


def _apply_all(cli: Cli, tmp_path: Path, names: list[str], agents: int = 3) -> Path:
    directory = tmp_path / "accounts"
    for name in names:
        subscription_file(directory, name, agents=agents, owner=OWNER)
    applied = cli("apply", "--auto-approve", str(directory))
    assert applied.code == 0, applied.output
    return directory


def test_batched_reads_return_what_one_by_one_reads_return(cli: Cli, tmp_path: Path) -> None:
    _apply_all(cli, tmp_path, NAMES)
    asked = [*reversed(NAMES), "nobody", "alpha"]  # out of order, a missing one, a repeat
    with open_store(cli.url) as store:
        one_by_one = {s: store.account(s) for s in asked}
        for batch in (500, 2):  # one query; and several, each of two accounts
            store.BATCH = batch  # type: ignore[attr-defined]
            assert store.accounts(asked) == {s: a for s, a in one_by_one.items() if a}
        reader = BatchedAccounts(store, NAMES, batch=3)
        assert [reader(s) for s in [*NAMES, "nobody"]] == [one_by_one[s] for s in NAMES] + [None]
        assert reader("alpha") == one_by_one["alpha"]  # asked again, out of order

        plan_id = store.versions("alpha")[0].audit["plan_id"]  # type: ignore[index]
        applied = {s: store.applied(plan_id, s) for s in asked}
        assert store.applied_many(plan_id, asked) == {s: w for s, w in applied.items() if w}
        assert set(store.applied_many(plan_id, asked)) == set(NAMES)
        assert store.applied_many("sha256:other", asked) == {}


@pytest.mark.parametrize("via", ["files", "saved-plan"])
def test_when_the_last_account_fails_a_check_nothing_is_written(
    cli: Cli, tmp_path: Path, via: str
) -> None:
    """Every check runs for every account before the first write (chunked writes too)."""
    _apply_all(cli, tmp_path, NAMES[:-1])
    last = NAMES[-1]  # golf: the last in every order zplan uses, owned by someone else
    other = "someone@golf.example"
    directory = tmp_path / "accounts"
    lone = subscription_file(tmp_path / "lone", last, agents=3, owner=other)
    assert cli("apply", "--auto-approve", str(lone), actor=other).code == 0
    before = {s: r.serial for s, r in cli.check().items()}
    assert before == dict.fromkeys(NAMES, 1)

    for name in NAMES:  # every account changes; the owner may change all but golf
        subscription_file(directory, name, agents=5, owner=other if name == last else OWNER)
    if via == "files":
        refused = cli("apply", "--auto-approve", str(directory))
    else:
        save_plan(cli, directory, "all.json", actor=None)  # plans check roles only for an actor
        refused = cli("apply", "all.json")
    assert refused.code == 1, refused.output
    assert f"{OWNER} is neither the owner nor a billing admin of {last}" in refused.output
    assert {s: r.serial for s, r in cli.check().items()} == before
    with RawStore(cli.url) as raw:
        assert raw.rows("SELECT COUNT(*) FROM locks") == [(0,)]


@pytest.mark.postgres
def test_postgres_takes_all_locks_in_one_transaction_all_or_none(
    store_factory: StoreFactory, tmp_path: Path
) -> None:
    url = store_factory.new("postgresql")
    names = ["a1", "a2", "a3", "a4"]
    mine = LockInfo.mine("me@example.com", "apply", "2026-11-27T00:00:00Z")
    theirs = LockInfo.mine("them@example.com", "apply", "2026-11-27T00:00:00Z")
    with (
        open_store(url, mode=Mode.WRITE) as first,
        open_store(url, mode=Mode.WRITE) as second,
        open_store(url, mode=Mode.WRITE) as third,
    ):
        with first.locked(names[:3], mine, 0):
            with RawStore(url) as raw:
                rows = raw.rows("SELECT subdomain, xmin::text FROM locks ORDER BY subdomain")
            assert [r[0] for r in rows] == names[:3]
            assert len({r[1] for r in rows}) == 1, rows  # one transaction wrote them all

            # a4 is free and a3 is held: the second apply gets neither (all or none) ...
            with pytest.raises(LockHeld) as held, second.locked(["a4", "a3"], theirs, 0.2):
                pass
            assert held.value.subdomain == "a3"
            assert held.value.holder["who"] == "me@example.com"
            # ... so a4 was not left locked by it: a third apply takes it at once.
            with third.locked(["a4"], theirs, 0):
                pass

            # Another process is excluded too (zplan apply, its own server session).
            files = tmp_path / "files"
            subscription_file(files, "a2", owner=OWNER)
            process = _zplan_apply(url, files)
            assert process.returncode == 1, process.stdout + process.stderr
            assert "the state of a2 is locked by me@example.com" in process.stderr
        # Released together, in one go: the rows are gone and the locks free again.
        with RawStore(url) as raw:
            assert raw.rows("SELECT COUNT(*) FROM locks") == [(0,)]
        with second.locked(names, theirs, 0):
            pass


def _zplan_apply(url: str, files: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "zplan", *zplan_argv(url, "apply", "--auto-approve", str(files))],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        stdin=subprocess.DEVNULL,
    )


class Commits:
    """pg_stat_database's committed transactions, less those of the readings themselves.

    Each reading is a session of its own, whose own commits arrive when it ends, as do
    those of any session that ended; the count is read until it grows by the same step
    twice (only the readings' own commits are still arriving).
    """

    def __init__(self, url: str) -> None:
        from zplan.state.postgres import split_url

        self.conninfo = split_url(url)[0]
        self.reads = 0

    def _read(self) -> int:
        import psycopg

        self.reads += 1
        with psycopg.connect(self.conninfo, autocommit=True) as conn:
            row = conn.execute(
                "SELECT xact_commit FROM pg_stat_database WHERE datname = current_database()"
            ).fetchone()
        assert row is not None
        return int(row[0])

    def now(self) -> tuple[int, int, int]:
        """(count, number of this reading, commits per reading)."""
        values = [self._read()]
        for _ in range(50):
            time.sleep(0.2)
            values.append(self._read())
            if len(values) >= 3 and values[-1] - values[-2] == values[-2] - values[-3]:
                return values[-1], self.reads, values[-1] - values[-2]
        raise AssertionError(f"pg_stat_database never settled: {values}")

    @staticmethod
    def between(before: tuple[int, int, int], after: tuple[int, int, int]) -> int:
        return after[0] - before[0] - after[2] * (after[1] - before[1])


@pytest.mark.postgres
def test_postgres_apply_makes_about_one_commit_per_account(
    store_factory: StoreFactory, tmp_path: Path
) -> None:
    """The commits of an apply: one per account written and a constant (opening the store,
    the locks taken and released, the batched reads), not several per account. (Before
    issue 18: seven per account, the locks each in small transactions of their own.)"""
    commits = {}
    for count in (10, 40):
        url = store_factory.new("postgresql")
        files = tmp_path / f"files-{count}"
        for index in range(count):
            subscription_file(files, f"acct{index:03d}", owner=OWNER)
        counter = Commits(url)
        before = counter.now()
        process = _zplan_apply(url, files)
        assert process.returncode == 0, process.stdout + process.stderr
        commits[count] = Commits.between(before, counter.now())
    # 30 more accounts, about 30 more commits (a few spare: autovacuum counts there too)
    assert 30 <= commits[40] - commits[10] <= 35, commits
    assert commits[10] <= 10 + 60, commits


@pytest.mark.postgres
def test_postgres_too_many_accounts_to_lock_is_one_clear_line_and_leaves_no_lock(
    store_factory: StoreFactory,
) -> None:
    """Each account of an apply holds one advisory lock; past the server's lock table, the
    apply fails before anything is written and keeps none of the locks it got."""
    url = store_factory.new("postgresql")
    with open_store(url, mode=Mode.WRITE) as store, RawStore(url) as raw:
        settings = raw.rows(
            "SELECT current_setting('max_locks_per_transaction')::int * "
            "(current_setting('max_connections')::int + "
            "current_setting('max_prepared_transactions')::int)"
        )
        too_many = 10 * int(settings[0][0])
        mine = LockInfo.mine("me@example.com", "apply", "2026-11-27T00:00:00Z")
        with (
            pytest.raises(StateError) as failed,
            store.locked([f"acct{i:06d}" for i in range(too_many)], mine, 0),
        ):
            pass
        assert f"cannot lock {too_many} accounts at once" in failed.value.message
        assert "max_locks_per_transaction" in (failed.value.hint or "")
        held = store.conn.execute(  # type: ignore[attr-defined]
            "SELECT COUNT(*) FROM pg_locks WHERE pid = pg_backend_pid() AND locktype = 'advisory'"
        ).fetchone()
        assert held == (0,)
        assert raw.rows("SELECT COUNT(*) FROM locks") == [(0,)]
        with store.locked(["acct000001", "acct000002"], mine, 0):
            pass
