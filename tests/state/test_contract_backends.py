"""The state-store contract, backend by backend: SQLite files (private, WAL, made by
many at once, URL form, default path), migration between stores, PostgreSQL
passwords never shown, and how the suite behaves without a PostgreSQL server.
"""

from __future__ import annotations

import os
import stat
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from zplan.state import open_store

from tests.conftest import TODAY, Zplan, init_store
from tests.state.conftest import OWNER, Cli, RawStore, StoreFactory, check_store, subscription_file
from tests.state.contract_support import apply_file, save_plan

# SQLite only ------------------------------------------------------------------------


def test_sqlite_store_is_private_and_in_wal_mode(zplan: Zplan, tmp_path: Path) -> None:
    url = init_store(str(tmp_path / "private" / "state.db"))
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
    by one barrier, 30 fresh stores. Since issue 12 a store is made by ``state init``
    only: one of the eight makes it, the others are told it exists, and nothing else fails."""
    from zplan.errors import StateError
    from zplan.state.base import Mode
    from zplan.state.sqlite import SqliteStore

    def open_at(path: Path, barrier: threading.Barrier, errors: list[BaseException]) -> None:
        barrier.wait()
        try:
            SqliteStore(path, mode=Mode.INIT).close()
        except StateError as exc:
            if "already exists" not in str(exc):
                errors.append(exc)
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
    apply_file(Cli(zplan, init_store(f"sqlite:///{path}")), subscription_file(tmp_path))
    assert check_store(str(path))["acme"].serial == 1


def test_default_state_path_without_the_guard(
    zplan: Zplan, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("ZPLAN_TEST_GUARD")
    path = subscription_file(tmp_path / "accounts")
    refused = zplan("--at", TODAY, "--actor", OWNER, "apply", "--auto-approve", str(path))
    assert refused.code == 1 and "no state store at .zplan/state.db" in refused.err
    assert not (tmp_path / ".zplan").exists()
    assert zplan("state", "init", "--sandbox").code == 0
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
    assert "acme: 3 versions moved, audit chain verified" in migrated.out
    assert "beta: 2 versions moved, audit chain verified" in migrated.out
    assert "Moved 2 accounts from" in migrated.out
    assert "with the key registry" in migrated.out

    target = Cli(zplan, store_url)
    assert target.check() == before
    for subdomain in ("acme", "beta"):
        verified = target("history", subdomain, "--verify")
        assert verified.code == 0, verified.output
    with open_store(source.url) as a, open_store(store_url) as b:
        assert a.dump_trust() == b.dump_trust()
        for subdomain in ("acme", "beta"):
            assert a.dump_account(subdomain) == b.dump_account(subdomain)

    applied = target("apply", "plan.json", at="2026-12-28")
    assert applied.code == 0, applied.output
    assert "Apply complete: 1 account changed (acme)." in applied.out
    assert target.check()["acme"].kinds == ["apply", "renewal", "apply", "apply"]

    again = zplan("state", "migrate", "--from", source.url, "--to", store_url)
    assert again.code == 1 and "was already moved to" in again.err
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
            "tests/state/test_contract_apply.py::test_plan_apply_then_plan_shows_no_changes[postgresql]",
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
