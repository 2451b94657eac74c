"""The embedded default: one SQLite file, private to its owner, in WAL mode.

Every write is one ``BEGIN IMMEDIATE`` transaction. Locks are rows in the
``locks`` table, taken in their own short transactions and held until the
apply commits or gives up; a lock left by a process that died is removed by
``zplan force-unlock``.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import time
import urllib.parse
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from zplan.errors import LockHeld, StateError
from zplan.state import files
from zplan.state.base import MIGRATIONS, LockInfo, Mode, SqlStore, holder_details

BUSY_TIMEOUT_MS = 30_000


class SqliteStore(SqlStore):
    def __init__(self, path: Path, *, mode: Mode = Mode.WRITE) -> None:
        """Open the store at ``path`` to read, to write, or to create it (``state init``).

        Reading never creates anything: a missing file reads as an empty store
        (held in memory), and an existing one is opened read-only, whoever owns
        it. Writing needs a store made by ``state init`` that passes the file
        checks (``zplan.state.files``); creating refuses a path that exists.
        """
        self.path = path
        self.url = f"sqlite:///{path}"
        self.read_only = mode is Mode.READ
        try:
            if mode is Mode.READ:
                self._open_read(path)
                return
            if mode is Mode.INIT:
                files.create_private(path)
            else:
                files.check_store_file(path)
            self.conn = sqlite3.connect(
                path, timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None, check_same_thread=False
            )
            self.conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
            if mode is not Mode.INIT:
                self._check_zplan()
            self._use_wal()
            # FULL: a commit is on disk when it returns, power loss included (it moves money).
            self.conn.execute("PRAGMA synchronous = FULL")
            self.conn.execute("PRAGMA foreign_keys = ON")
            self._migrate()
        except sqlite3.DatabaseError as exc:
            raise StateError(
                f"cannot open the state store {path}: {exc}", hint="is it a zplan state file?"
            ) from None
        except OSError as exc:
            raise StateError(f"cannot open the state store {path}: {exc.strerror}") from None

    @classmethod
    def memory(cls, url: str) -> SqliteStore:
        """An empty store in memory, standing for a store that does not exist (reads only)."""
        store = cls.__new__(cls)
        store.path, store.url, store.read_only = Path(url), url, True
        store.conn = sqlite3.connect(":memory:", isolation_level=None, check_same_thread=False)
        store._migrate()
        return store

    def _open_read(self, path: Path) -> None:
        if not os.path.lexists(path):
            self.conn = sqlite3.connect(":memory:", isolation_level=None, check_same_thread=False)
            self._migrate()
            return
        if path.is_file() and path.stat().st_size == 0:
            raise StateError(
                f"the state store {path} is an empty file (zero bytes), not a zplan store",
                hint="remove it if it is stray; zplan never reads it as an empty store",
            )
        uri = f"file:{urllib.parse.quote(str(path.resolve()))}?mode=ro"
        self.conn = sqlite3.connect(
            uri,
            uri=True,
            timeout=BUSY_TIMEOUT_MS / 1000,
            isolation_level=None,
            check_same_thread=False,
        )
        self.conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        self.conn.execute("PRAGMA query_only = ON")
        self._check_zplan()

    def _check_zplan(self) -> None:
        """A zplan store has zplan's tables; anything else is refused, never written into."""
        known = self.conn.execute(
            "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'zplan_schema'"
        ).fetchone()
        if not known:
            raise StateError(
                f"{self.path} is not a zplan state store (an SQLite file without zplan's tables)",
                hint="point --state at the store zplan state init made",
            )

    def _use_wal(self) -> None:
        """Switch the file to WAL (once: the mode is kept in the file).

        The switch takes an exclusive lock, and SQLite answers "database is
        locked" at once, without the busy timeout, to a zplan that asks while
        another is switching: that happens when several start on a new store.
        So wait for it here, as long as the busy timeout.
        """
        deadline = time.monotonic() + BUSY_TIMEOUT_MS / 1000
        while True:
            try:
                # A switch that cannot be made now answers the mode the file keeps.
                if self.conn.execute("PRAGMA journal_mode = WAL").fetchone()[0] == "wal":
                    return
            except sqlite3.OperationalError as exc:
                if "locked" not in str(exc):
                    raise
            if time.monotonic() > deadline:
                raise sqlite3.OperationalError("database is locked: cannot switch it to WAL")
            time.sleep(0.005)

    def close(self) -> None:
        with contextlib.suppress(sqlite3.Error):
            self.conn.close()

    def _migrate(self) -> None:
        known = self.conn.execute(
            "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'zplan_schema'"
        ).fetchone()
        if known:
            current = self.conn.execute(
                "SELECT COALESCE(MAX(version), 0) FROM zplan_schema"
            ).fetchone()[0]
            if current >= MIGRATIONS[-1][0]:
                return  # up to date: opening the store writes nothing
            if self.read_only:
                raise StateError(
                    f"the state store {self.path} was made by an older zplan",
                    hint="the next write (by a role that may write) upgrades it",
                )
        with self._write_tx() as cur:
            cur.execute(
                "CREATE TABLE IF NOT EXISTS zplan_schema (version INTEGER PRIMARY KEY, "
                "applied_at TEXT NOT NULL)"
            )
            current = cur.execute("SELECT COALESCE(MAX(version), 0) FROM zplan_schema").fetchone()[
                0
            ]
            for number, statements in MIGRATIONS:
                if number <= current:
                    continue
                for statement in statements:
                    cur.execute(statement)
                cur.execute(
                    "INSERT INTO zplan_schema (version, applied_at) VALUES (?, datetime('now'))",
                    (number,),
                )

    @contextlib.contextmanager
    def _write_tx(self) -> Iterator[Any]:
        cur = self.conn.cursor()
        try:
            cur.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError as exc:
            raise StateError(f"the state store {self.path} is busy: {exc}") from None
        try:
            yield cur
        except BaseException:
            with contextlib.suppress(sqlite3.Error):
                cur.execute("ROLLBACK")
            raise
        else:
            cur.execute("COMMIT")
        finally:
            cur.close()

    @contextlib.contextmanager
    def _read_tx(self) -> Iterator[Any]:
        cur = self.conn.cursor()
        try:
            cur.execute("BEGIN")
            yield cur
        finally:
            with contextlib.suppress(sqlite3.Error):
                cur.execute("COMMIT")
            cur.close()

    # Locks ------------------------------------------------------------------

    @contextlib.contextmanager
    def locked(self, subdomains: Sequence[str], info: LockInfo, timeout: float) -> Iterator[None]:
        """Every account's lock, taken all at once in one transaction (all or none, so no
        deadlock between applies that share accounts), retried until ``timeout``."""
        wanted = sorted(set(subdomains))
        taken = False
        try:
            if wanted:
                self._take(wanted, info, timeout)
                taken = True
            yield
        finally:
            if taken:
                with contextlib.suppress(sqlite3.Error, StateError), self._write_tx() as cur:
                    cur.execute("DELETE FROM locks WHERE lock_id = ?", (info.id,))

    def _take(self, subdomains: list[str], info: LockInfo, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while True:
            with self._write_tx() as cur:
                held = None
                for chunk in range(0, len(subdomains), 500):
                    part = subdomains[chunk : chunk + 500]
                    marks = ", ".join("?" for _ in part)
                    held = cur.execute(
                        "SELECT lock_id, who, operation, host, pid, created_at, subdomain "  # noqa: S608
                        f"FROM locks WHERE subdomain IN ({marks}) ORDER BY subdomain LIMIT 1",
                        part,
                    ).fetchone()
                    if held is not None:
                        break
                if held is None:
                    cur.executemany(
                        "INSERT INTO locks (subdomain, lock_id, who, operation, host, pid, "
                        "created_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
                        [
                            (
                                s,
                                info.id,
                                info.who,
                                info.operation,
                                info.host,
                                info.pid,
                                info.created_at,
                            )
                            for s in subdomains
                        ],
                    )
                    return
            if time.monotonic() >= deadline:
                holder = holder_details(held[:6])
                import socket

                if holder["host"] == socket.gethostname() and not _alive(int(holder["pid"])):
                    holder["pid"] += " (no longer running)"
                raise LockHeld(held[6], holder)
            time.sleep(0.05)

    def force_unlock(self, subdomain: str, lock_id: str) -> None:
        with self._write_tx() as cur:
            row = cur.execute(
                "SELECT lock_id FROM locks WHERE subdomain = ?", (subdomain,)
            ).fetchone()
            if row is None:
                raise StateError(f"{subdomain} is not locked")
            if row[0] != lock_id:
                raise StateError(
                    f"the lock on {subdomain} has id {row[0]}, not {lock_id}",
                    hint="copy the lock id from the 'locked' message",
                )
            # One apply's lock covers all the accounts it took: release them together.
            cur.execute("DELETE FROM locks WHERE lock_id = ?", (lock_id,))


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
