"""The embedded default: one SQLite file, private to its owner, in WAL mode.

Every write is one ``BEGIN IMMEDIATE`` transaction. Locks are rows in the
``locks`` table, taken in their own short transactions and held until the
apply commits or gives up; a lock left by a process that died is removed by
``zplan force-unlock``.
"""

from __future__ import annotations

import contextlib
import errno
import os
import sqlite3
import time
import urllib.parse
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import quote

from zplan.errors import LockHeld, StateError
from zplan.state import files
from zplan.state.base import (
    MIGRATIONS,
    LockInfo,
    Mode,
    SqlStore,
    holder_details,
    machine_timestamp,
)

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
        self.why_read_only: str | None = None  # why this process may not write it, if so
        try:
            if mode is Mode.READ:
                self._open_read(path)
                return
            if mode is Mode.INIT:
                files.create_private(path)
            else:
                files.check_store_file(path)
                why = _not_writable(path)
                if why is not None:  # say so at the first write, in one line
                    self._open_read_only(path, why)
                    return
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
            raise _mapped(exc, path, "opening it") from None
        except OSError as exc:
            raise StateError(
                f"cannot open the state store {path}: {exc.strerror}",
                hint=_OS_HINTS.get(exc.errno or 0, "check the path and its permissions"),
            ) from None

    def _open_read_only(self, path: Path, why: str) -> None:
        """Open a store this process may not write: for commands that only read.

        ``mode=ro`` reads a WAL store when its ``-shm`` file is there or can be
        made; in a directory nobody may write, ``immutable=1`` reads the file as it
        stands (no writer can change it there either).
        """
        self.read_only, self.why_read_only = True, why
        base = "file:" + quote(str(path.absolute())) + "?mode=ro"
        wal = path.with_name(path.name + "-wal")
        pending = wal.exists() and wal.stat().st_size > 0
        # Without a WAL to read, immutable reads the file and leaves no -shm behind
        # (one made by a read-only open would stop later writes).
        uris = (base, base + "&immutable=1") if pending else (base + "&immutable=1",)
        for uri in uris:
            try:
                self.conn = sqlite3.connect(
                    uri, uri=True, isolation_level=None, check_same_thread=False
                )
                self.conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
                self.conn.execute("PRAGMA query_only = ON")
                self._check_zplan()
                self._migrate()
                return
            except sqlite3.OperationalError:
                with contextlib.suppress(sqlite3.Error):
                    self.conn.close()
        raise StateError(
            f"cannot read the state store {path}: {why}",
            hint="ask for access to the store, or work on a copy of it",
        )

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
        why = _not_writable(path)
        if why is not None:  # a -shm made here would stop later writes: see _open_read_only
            self._open_read_only(path, why)
            return
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

    def _timestamp(self, cur: Any) -> str:
        return machine_timestamp()  # the store's clock is the machine's (SqlStore._now)

    def _execute_all(self, cur: Any, statements: Sequence[tuple[str, Sequence[Any]]]) -> None:
        for statement, params in statements:  # SQLite takes write's ``?`` as they are
            cur.execute(statement, params)  # noqa: S608, RUF100 - write's literals

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
        if getattr(self, "why_read_only", None) is not None:  # memory() makes no why
            raise StateError(
                f"cannot write the state store {self.path}: {self.why_read_only}; "
                "nothing was written",
                hint="commands that only read (plan, history, state show, export) work; "
                "to apply, run where the store is writable",
            )
        cur = self.conn.cursor()
        try:
            cur.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError as exc:
            cur.close()
            raise _mapped(exc, self.path, "starting a write") from None
        try:
            yield cur
            cur.execute("COMMIT")
        except sqlite3.OperationalError as exc:
            with contextlib.suppress(sqlite3.Error):
                cur.execute("ROLLBACK")
            raise _mapped(exc, self.path, "writing") from None
        except BaseException:
            with contextlib.suppress(sqlite3.Error):
                cur.execute("ROLLBACK")
            raise
        finally:
            cur.close()

    @contextlib.contextmanager
    def _read_tx(self) -> Iterator[Any]:
        cur = self.conn.cursor()
        try:
            cur.execute("BEGIN")
            yield cur
        except sqlite3.OperationalError as exc:
            raise _mapped(exc, self.path, "reading") from None
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
        if not wanted:
            yield
            return
        self._take(wanted, info, timeout)
        try:
            yield
        except BaseException as exc:
            stuck = self._release(info)
            if stuck is None:
                raise
            first = exc.message if isinstance(exc, StateError) else f"{type(exc).__name__}"
            raise StateError(
                f"{first}; and the lock on {_names(wanted)} could not be released: {stuck}",
                hint=f"once that is fixed, run: zplan force-unlock {wanted[0]} {info.id}",
            ) from None
        stuck = self._release(info)
        if stuck is not None:
            raise StateError(
                f"the changes were written, but the lock on {_names(wanted)} could not be "
                f"released: {stuck}",
                hint=f"once that is fixed, run: zplan force-unlock {wanted[0]} {info.id}",
            )

    def _release(self, info: LockInfo) -> str | None:
        """Remove this run's lock rows; why they could not be removed, or None."""
        problem = ""
        for attempt in range(3):
            try:
                with self._write_tx() as cur:
                    cur.execute("DELETE FROM locks WHERE lock_id = ?", (info.id,))
                return None
            except StateError as exc:
                problem = exc.message
                time.sleep(0.05 * (attempt + 1))
        return problem

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


def _not_writable(path: Path) -> str | None:
    """Why this process may not write the store at ``path`` (None when it may).

    SQLite writes the file and, in WAL mode, makes ``-wal`` and ``-shm`` files
    beside it: the directory must be writable too.
    """
    directory = path.parent if str(path.parent) else Path(".")
    if path.exists() and not os.access(path, os.W_OK):
        return f"the file {path} is read-only"
    companions = [path.with_name(path.name + suffix) for suffix in ("-wal", "-shm")]
    if (
        directory.exists()
        and not os.access(directory, os.W_OK)
        and not all(c.exists() and os.access(c, os.W_OK) for c in companions)
    ):
        return f"the directory {directory} is read-only"
    for companion in companions:
        if companion.exists() and not os.access(companion, os.W_OK):
            return (
                f"the file {companion} is read-only (remove it when no zplan is running: "
                "SQLite makes it again)"
            )
    return None


_OS_HINTS = {
    errno.EACCES: "you may not read or write there: check the permissions",
    errno.EPERM: "you may not read or write there: check the permissions",
    errno.EROFS: "the file system is read-only",
    errno.ENOSPC: "the disk is full: free some space and run the command again",
    errno.EDQUOT: "your disk quota is used up",
    errno.ENOTDIR: "a part of the path is a file, not a directory",
    errno.ENOENT: "a directory on the way does not exist",
}


def _mapped(exc: sqlite3.DatabaseError, path: Path, doing: str) -> StateError:
    """A SQLite error as one line: what happened to the store, and what to do."""
    text = str(exc)
    lowered = text.lower()
    if "readonly" in lowered or "read-only" in lowered:
        return StateError(
            f"cannot write the state store {path}: it is read-only ({text}); this write was undone",
            hint="check the permissions of the file and of its directory",
        )
    if "full" in lowered:
        return StateError(
            f"the state store {path} could not be written: the disk is full or the file size "
            f"limit is reached ({text}); this write was undone",
            hint="free some space (or raise ulimit -f) and run the command again",
        )
    if "disk i/o" in lowered:
        return StateError(
            f"the state store {path} failed while {doing}: a disk I/O error ({text}); "
            "this write was undone",
            hint="check the disk (space, permissions, ulimit -f) and run the command again",
        )
    if "locked" in lowered or "busy" in lowered:
        return StateError(
            f"the state store {path} is busy: {text}",
            hint="another zplan is writing it; run the command again when it has finished",
        )
    if "unable to open" in lowered or "cannot open" in lowered:
        return StateError(
            f"cannot open the state store {path}: {text}",
            hint="check that the path exists and that you may read and write it",
        )
    return StateError(
        f"cannot use the state store {path} while {doing}: {text}",
        hint="is it a zplan state file?",
    )


def _names(subdomains: list[str]) -> str:
    shown = ", ".join(subdomains[:5])
    return shown + (f" and {len(subdomains) - 5} more" if len(subdomains) > 5 else "")
