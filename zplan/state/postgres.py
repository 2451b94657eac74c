"""PostgreSQL: one store shared by a team and its CI runners, through psycopg 3.

``postgresql://user@host/db?schema=team_a``: the ``schema`` parameter (default
``zplan``) keeps several teams apart in one database. zplan creates and
migrates its tables itself, under a transaction-scoped advisory lock so that
two processes starting at once do not race. Account locks are session
advisory locks, as Terraform's ``pg`` backend takes them: the server releases
them when the client's session ends, however it ends. A ``locks`` row beside
each lock says who holds it, for the "lock held" message. An apply takes the
locks of all its accounts in one transaction (all or none), and releases them
in one.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import re
import time
from collections.abc import Iterator, Sequence
from typing import Any
from urllib.parse import quote, unquote

import psycopg
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from zplan.errors import LockHeld, StateError, UsageError
from zplan.redact import SECRET_KEYS, redact_secrets, redact_url
from zplan.state.base import MIGRATIONS, LockInfo, Mode, SqlStore, holder_details, missing_store

DEFAULT_SCHEMA = "zplan"
_SCHEMA_NAME = re.compile(r"[a-z_][a-z0-9_]{0,62}")
_MIGRATION_LOCK = 0x7A706C616E  # "zplan": serialises schema migrations across processes


def _key(*parts: str) -> int:
    digest = hashlib.sha256("\0".join(parts).encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


def _parse(url: str) -> tuple[dict[str, Any], str]:
    """(libpq connection parameters, schema name) of a URL, in every form libpq reads.

    ``schema`` is zplan's own parameter: it is taken out of the query as written
    (the rest is left to libpq untouched: ``postgresql:///db?host=/run/postgresql``,
    several hosts, percent-encoded passwords).
    """
    head, _, query = url.partition("?")
    kept, schema = [], DEFAULT_SCHEMA
    for part in query.split("&") if query else []:
        key, _, value = part.partition("=")
        if unquote(key) == "schema":
            schema = unquote(value)
        else:
            kept.append(part)
    rest = head + (f"?{'&'.join(kept)}" if kept else "")
    try:
        params = conninfo_to_dict(rest)
    except psycopg.ProgrammingError as exc:
        raise UsageError(
            f"--state: not a PostgreSQL URL: {redact_secrets(_first_line(exc))}",
            hint="postgresql://USER@HOST:PORT/DATABASE?schema=NAME, or "
            "postgresql:///DATABASE?host=/run/postgresql",
        ) from None
    return params, schema


def display_url(url: str) -> str:
    """The URL as zplan shows it: rebuilt from the parsed parameters, without any secret."""
    try:
        params, schema = _parse(url)
    except UsageError:
        return redact_url(url)
    user = params.pop("user", "")
    hidden = bool(params.pop("password", None))
    host = params.pop("host", "")
    if "@" in host:  # a password with an unencoded '@': libpq reads its tail as the host
        host, hidden = host.rpartition("@")[2], True
    port = params.pop("port", "")
    dbname = params.pop("dbname", "")
    query = {}
    if "/" in host:
        query["host"] = host
        host = ""
        if port:
            query["port"], port = port, ""
    userinfo = f"{quote(user, safe='')}{':***' if hidden else ''}@" if user or hidden else ""
    where = host + (f":{port}" if port else "")
    for key in sorted(params):
        query[key] = "***" if key in SECRET_KEYS else str(params[key])
    if schema != DEFAULT_SCHEMA:
        query["schema"] = schema
    shown = f"postgresql://{userinfo}{where}/{quote(dbname, safe='')}"
    if query:
        shown += "?" + "&".join(f"{k}={quote(v, safe='/,*')}" for k, v in query.items())
    return shown


def split_url(url: str) -> tuple[str, str]:
    """(libpq conninfo without ``schema``, schema name)."""
    params, schema = _parse(url)
    if not _SCHEMA_NAME.fullmatch(schema):
        raise UsageError(
            f"--state: schema {schema!r} is not a plain lower-case name",
            hint="use letters, digits and underscores, e.g. ?schema=team_a",
        )
    params.setdefault("connect_timeout", "10")
    params.setdefault("application_name", "zplan")
    return make_conninfo("", **params), schema


def _redact(url: str) -> str:
    return display_url(url)


class PostgresStore(SqlStore):
    def __init__(self, url: str, *, mode: Mode = Mode.WRITE) -> None:
        """Connect; reading never creates anything, writing needs a store ``state init`` made."""
        self.url = _redact(url)
        self.mode = mode
        conninfo, self.schema = split_url(url)
        try:
            self.conn = psycopg.connect(conninfo, autocommit=True)
        except psycopg.OperationalError as exc:
            raise StateError(
                f"cannot connect to the state store {self.url}: "
                f"{_hide(_first_line(exc), _secrets_of(url))}",
                hint="check the URL, the server, and your credentials",
            ) from None
        try:
            version = self._current_version()
            if version == 0 and mode is not Mode.INIT:
                self.close()
                if mode is Mode.WRITE:
                    raise missing_store(self.url)
                self.empty = True
                return
            if mode is Mode.READ and version < MIGRATIONS[-1][0]:
                self.close()
                raise StateError(
                    f"the state store {self.url} was made by an older zplan",
                    hint="the next write (by a role that may write) upgrades it",
                )
            if mode is not Mode.READ:
                self._migrate()
            self.conn.execute(sql.SQL("SET search_path TO {}").format(sql.Identifier(self.schema)))
        except psycopg.OperationalError as exc:  # the server went away (a restart, a failover)
            self.close()
            raise StateError(
                f"the state store {self.url} failed while opening: "
                f"{_first_line(exc)}; nothing was written",
                hint="run the command again",
            ) from None
        except psycopg.Error as exc:
            self.close()
            raise StateError(
                f"cannot prepare the state store {self.url}: {_first_line(exc)}",
                hint="zplan needs CREATE on the database (or an existing schema it "
                "may create tables in)",
            ) from None

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self.conn.close()

    empty = False  # a read of a schema zplan never created: the caller reads an empty store

    def _q(self, statement: str) -> str:
        return statement.replace("?", "%s")

    def _now(self, cur: Any) -> dt.datetime:
        # The server's clock, so that a CI runner's clock cannot move a shared store's dates.
        cur.execute("SELECT now()")
        row = cur.fetchone()
        return row[0].astimezone(dt.UTC)  # type: ignore[no-any-return]

    def _current_version(self) -> int:
        """The store's schema version; 0 when zplan's tables are not there yet."""
        table = sql.SQL("SELECT COALESCE(MAX(version), 0) FROM {}.zplan_schema").format(
            sql.Identifier(self.schema)
        )
        try:
            with self.conn.transaction():
                row = self.conn.execute(table).fetchone()
        except (psycopg.errors.UndefinedTable, psycopg.errors.InvalidSchemaName):
            return 0
        return int(row[0]) if row else 0

    def _migrate(self) -> None:
        if self._current_version() >= MIGRATIONS[-1][0]:
            return  # up to date: a role that may only read and write rows can use the store
        schema = sql.Identifier(self.schema)
        with self.conn.transaction(), self.conn.cursor() as cur:
            cur.execute("SELECT pg_advisory_xact_lock(%s)", (_MIGRATION_LOCK,))
            cur.execute(sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(schema))
            cur.execute(sql.SQL("SET LOCAL search_path TO {}").format(schema))
            cur.execute(
                "CREATE TABLE IF NOT EXISTS zplan_schema (version INTEGER PRIMARY KEY, "
                "applied_at TIMESTAMPTZ NOT NULL DEFAULT now())"
            )
            cur.execute("SELECT COALESCE(MAX(version), 0) FROM zplan_schema")
            row = cur.fetchone()
            current = row[0] if row else 0
            for number, statements in MIGRATIONS:
                if number <= current:
                    continue
                for statement in statements:
                    cur.execute(statement)
                cur.execute("INSERT INTO zplan_schema (version) VALUES (%s)", (number,))

    def _refused(self, exc: psycopg.Error, doing: str) -> StateError:
        """What a driver error means to the user; nothing was written (each write is one
        transaction, rolled back)."""
        reason = _first_line(exc)
        if isinstance(exc, psycopg.errors.UniqueViolation):
            return StateError(
                f"a concurrent write to the state store won: {reason}; nothing was written",
                hint="run zplan plan again",
            )
        if isinstance(exc, psycopg.errors.InsufficientPrivilege):
            return StateError(
                f"the state store {self.url} refused: {reason}; nothing was written",
                hint="this role may not do that; see 'Privileges zplan needs' in docs/state.md",
            )
        if doing == "writing":
            return StateError(
                f"the state store {self.url} failed during a write: {reason}; the transaction "
                "was rolled back",
                hint="run the command again",
            )
        return StateError(
            f"the state store {self.url} failed while {doing}: {reason}; nothing was written",
            hint="run the command again",
        )

    @contextlib.contextmanager
    def _write_tx(self) -> Iterator[Any]:
        try:
            with self.conn.transaction(), self.conn.cursor() as cur:
                yield cur
        except psycopg.Error as exc:
            raise self._refused(exc, "writing") from None

    @contextlib.contextmanager
    def _read_tx(self) -> Iterator[Any]:
        try:
            with self.conn.transaction(), self.conn.cursor() as cur:
                cur.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
                yield cur
        except psycopg.Error as exc:
            raise self._refused(exc, "reading") from None

    # The server's clock, read with the account's rows (see SqlStore._read_parts).
    _NOW_SQL = (
        "SELECT 'now', CAST(NULL AS INTEGER), CAST(NULL AS INTEGER), to_char(now() AT TIME ZONE "
        "'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'), CAST(NULL AS TEXT), CAST(NULL AS TEXT), "
        "CAST(NULL AS TEXT), CAST(NULL AS TEXT)"
    )

    def _execute_all(self, cur: Any, statements: Sequence[tuple[str, Sequence[Any]]]) -> None:
        """A write's inserts as one statement: each insert a data-modifying WITH query
        (one round trip, one statement to prepare; an error still raises here)."""
        if len(statements) < 2:
            super()._execute_all(cur, statements)
            return
        parts = ", ".join(f"w{i} AS ({statement})" for i, (statement, _) in enumerate(statements))
        params = [value for _, values in statements for value in values]
        cur.execute(self._q(f"WITH {parts} SELECT 1"), params)  # noqa: S608, RUF100 - reviewed

    def _serialise_account(self, cur: Any, subdomain: str) -> None:
        # Writers of one account queue here; the shared code then re-reads the serial.
        cur.execute(
            "SELECT pg_advisory_xact_lock(%s)", (_key("zplan-write", self.schema, subdomain),)
        )

    # Locks ------------------------------------------------------------------

    @contextlib.contextmanager
    def locked(self, subdomains: Sequence[str], info: LockInfo, timeout: float) -> Iterator[None]:
        """Every account's lock, taken all at once in one transaction (all or none: no
        deadlock between applies that share accounts), retried until ``timeout``; released
        together in one transaction."""
        wanted = sorted(set(subdomains))
        if not wanted:
            yield
            return
        keys = [self._lock_key(s) for s in wanted]
        try:
            with self._session(f"locking {_names(wanted)}"):
                self._take_all(wanted, keys, info, timeout)
        except StateError as exc:
            self._release_mine(keys)  # a failed statement keeps the session locks it took
            if "out of shared memory" in exc.message:
                raise StateError(
                    f"the state store {self.url} cannot lock {len(wanted)} accounts at once: "
                    "the server's lock table is full (out of shared memory); nothing was written",
                    hint="apply fewer accounts at a time, or raise the server's "
                    "max_locks_per_transaction (each account of an apply holds one lock)",
                ) from None
            raise
        try:
            yield
        finally:
            with contextlib.suppress(psycopg.Error), self.conn.transaction():
                self.conn.execute("DELETE FROM locks WHERE lock_id = %s", (info.id,))
                self.conn.execute(
                    "SELECT pg_advisory_unlock(k) FROM unnest(%s::bigint[]) k", (keys,)
                )

    def _release_mine(self, keys: list[int]) -> None:
        """Release those of ``keys`` this session holds (after a failure, whatever it took)."""
        with contextlib.suppress(psycopg.Error):
            held = self.conn.execute(
                "SELECT (classid::bigint << 32) | objid::bigint FROM pg_locks WHERE pid = "
                "pg_backend_pid() AND locktype = 'advisory' AND objsubid = 1 AND granted"
            ).fetchall()
            mine = {int(r[0]) & 0xFFFFFFFFFFFFFFFF for r in held}
            taken = [k for k in keys if k & 0xFFFFFFFFFFFFFFFF in mine]
            if taken:
                self.conn.execute(
                    "SELECT pg_advisory_unlock(k) FROM unnest(%s::bigint[]) k", (taken,)
                )

    def _lock_key(self, subdomain: str) -> int:
        return _key("zplan-lock", self.schema, subdomain)

    @contextlib.contextmanager
    def _session(self, doing: str) -> Iterator[None]:
        """Statements outside a transaction: a lost server is a StateError, not a crash."""
        try:
            yield
        except psycopg.Error as exc:
            raise self._refused(exc, doing) from None

    def _take_all(self, wanted: list[str], keys: list[int], info: LockInfo, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while True:
            with self.conn.transaction():
                # Session locks: a rollback would not release them, so those taken when
                # another is held are released by hand below.
                row = self.conn.execute(
                    "SELECT array_agg(k) FILTER (WHERE got), bool_and(got), pg_backend_pid() "
                    "FROM (SELECT k, pg_try_advisory_lock(k) AS got "
                    "FROM unnest(%s::bigint[]) WITH ORDINALITY AS t(k, i) ORDER BY i) taken",
                    (keys,),
                ).fetchone()
                assert row is not None
                taken, complete, pid = row
                if complete:
                    self.conn.execute(
                        "INSERT INTO locks (subdomain, lock_id, who, operation, host, pid, "
                        "created_at) SELECT s, %s, %s, %s, %s, %s, %s FROM unnest(%s::text[]) s "
                        "ON CONFLICT (subdomain) DO UPDATE SET lock_id = excluded.lock_id, "
                        "who = excluded.who, operation = excluded.operation, "
                        "host = excluded.host, pid = excluded.pid, "
                        "created_at = excluded.created_at",
                        (
                            info.id,
                            info.who,
                            info.operation,
                            info.host,
                            pid,
                            info.created_at,
                            wanted,
                        ),
                    )
                    return
                if taken:
                    self.conn.execute(
                        "SELECT pg_advisory_unlock(k) FROM unnest(%s::bigint[]) k", (taken,)
                    )
            if time.monotonic() >= deadline:
                self._held(wanted, set(taken or ()))
            time.sleep(0.05)

    def _held(self, wanted: list[str], taken: set[int]) -> None:
        """Raise LockHeld naming the first account whose lock another session holds."""
        subdomain = next(s for s in wanted if self._lock_key(s) not in taken)
        holder = self.conn.execute(
            "SELECT lock_id, who, operation, host, pid, created_at FROM locks WHERE subdomain = %s",
            (subdomain,),
        ).fetchone()
        details = (
            holder_details(holder)
            if holder
            else {"id": "?", "who": "another session", "operation": "?"}
        )
        if holder:
            details["pid"] = f"{details['pid']} (server session)"
        raise LockHeld(subdomain, details)

    def force_unlock(self, subdomain: str, lock_id: str) -> None:
        with self._session(f"unlocking {subdomain}"):
            self._force_unlock(subdomain, lock_id)

    def _force_unlock(self, subdomain: str, lock_id: str) -> None:
        row = self.conn.execute(
            "SELECT lock_id, pid FROM locks WHERE subdomain = %s", (subdomain,)
        ).fetchone()
        if row is None:
            raise StateError(f"{subdomain} is not locked")
        if row[0] != lock_id:
            raise StateError(f"the lock on {subdomain} has id {row[0]}, not {lock_id}")
        key = self._lock_key(subdomain) & 0xFFFFFFFFFFFFFFFF
        held = self.conn.execute(
            "SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND granted AND objsubid = 1 "
            "AND classid = %s::bigint::oid AND objid = %s::bigint::oid",
            (key >> 32, key & 0xFFFFFFFF),
        ).fetchone()
        if held:
            raise StateError(
                f"the lock on {subdomain} is held by a live server session (pid {row[1]})",
                hint="PostgreSQL releases it when that session ends; stop the process holding it",
            )
        self.conn.execute("DELETE FROM locks WHERE subdomain = %s", (subdomain,))


def _secrets_of(url: str) -> list[str]:
    """What a driver message might quote of a password: the password itself, and the
    part of a host before an '@' (a password with an unencoded '@' spills there)."""
    try:
        params, _ = _parse(url)
    except UsageError:
        return []
    found = [str(params[key]) for key in SECRET_KEYS if params.get(key)]
    host = str(params.get("host", ""))
    if "@" in host:
        found.append(host.rpartition("@")[0])
    return sorted((s for s in found if s), key=len, reverse=True)


def _hide(text: str, secrets: list[str]) -> str:
    for secret in secrets:
        text = text.replace(secret, "***")
    return text


def _first_line(exc: BaseException) -> str:
    """The first line of a driver error, without any secret it may quote."""
    text = str(exc).strip()
    return redact_secrets(text.splitlines()[0]) if text else type(exc).__name__


def _names(subdomains: list[str]) -> str:
    shown = ", ".join(subdomains[:5])
    return shown + (f" and {len(subdomains) - 5} more" if len(subdomains) > 5 else "")
