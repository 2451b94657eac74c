"""The state store interface, and the SQL both backends share.

A store keeps, per account: the current record (type, owner, billing admins,
subscription, balance) with its ``lineage`` and ``serial``; every version
ever written; one invoice per apply or renewal version; the (plan id,
subdomain) pairs applied; and a hash-chained audit log. Every write is one
transaction: the whole of an account's apply, or nothing.
"""

from __future__ import annotations

import abc
import contextlib
import hashlib
import json
import os
from collections.abc import Iterator, Sequence
from typing import Any, NamedTuple

from zplan.errors import StateError
from zplan.model import Account, Observation

SCHEMA_VERSION = 2


def canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def sha256_text(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def chain_hash(previous: str, entry: dict[str, Any]) -> str:
    """``sha256(previous entry's hash + canonical JSON of this entry)``."""
    return sha256_text(previous + canonical(entry))


class LockInfo(NamedTuple):
    """Who holds a lock, for the "lock held" message."""

    who: str
    operation: str
    id: str = ""
    host: str = ""
    pid: int = 0
    created_at: str = ""

    @classmethod
    def mine(cls, who: str, operation: str, created_at: str) -> LockInfo:
        import socket
        import uuid

        return cls(who, operation, str(uuid.uuid4()), socket.gethostname(), os.getpid(), created_at)

    def as_dict(self) -> dict[str, str]:
        return {
            "id": self.id,
            "who": self.who,
            "operation": self.operation,
            "host": self.host,
            "pid": str(self.pid),
            "created_at": self.created_at,
        }


class VersionWrite(NamedTuple):
    """One version to write: the account after it, its kind, invoice and audit entry."""

    account: Account
    kind: str  # apply | renewal | admin
    created_at: str
    invoice: dict[str, Any] | None
    audit: dict[str, Any]  # the entry's fields; serial, hashes of state and invoice are added


class Version(NamedTuple):
    subdomain: str
    serial: int
    kind: str
    created_at: str
    account: Account
    invoice: dict[str, Any] | None
    audit: dict[str, Any] | None


class VerifyResult(NamedTuple):
    ok: bool
    entries: int
    problem: str | None = None
    serial: int | None = None


class AuditSnapshot(NamedTuple):
    """An account's audit log, versions, current record and invoice columns, as stored."""

    audit: Sequence[tuple[int, str, str]]  # (serial, entry JSON, hash)
    versions: Sequence[Version]
    current: Account | None
    # (invoice_date, currency, total) per serial: the columns kept beside each invoice's body
    invoice_columns: dict[int, tuple[str, str, str]] | None = None


def check_chain(subdomain: str, snapshot: AuditSnapshot) -> VerifyResult:
    """The first place where the stored history does not match its hash-chained audit log.

    Each entry must hash to its stored hash from the previous one; each version's
    state, kind, time and invoice must be the ones its entry recorded; no version may
    lack an entry; and the account as it stands must be the last entry's version
    (which also catches the newest versions deleted together with their entries).
    """
    rows = snapshot.audit
    versions = {v.serial: v for v in snapshot.versions}
    entries = len(rows)

    def broken(problem: str, serial: int | None) -> VerifyResult:
        return VerifyResult(False, entries, problem, serial)

    previous = ""
    last_state: str | None = None
    for index, (serial, entry_text, stored_hash) in enumerate(rows, start=1):
        if serial != index:
            return broken(f"entry {index} is missing (found {serial})", index)
        try:
            entry = json.loads(entry_text)
        except ValueError:
            return broken(f"entry {serial} is not valid JSON", serial)
        if not isinstance(entry, dict) or chain_hash(previous, entry) != stored_hash:
            return broken(f"entry {serial} does not match its hash: it was edited", serial)
        version = versions.get(serial)
        if version is None:
            return broken(f"version {serial} is missing", serial)
        state_hash = sha256_text(canonical(version.account.to_json()))
        if (entry.get("state_sha256"), entry.get("kind"), entry.get("time")) != (
            state_hash,
            version.kind,
            version.created_at,
        ):
            return broken(f"version {serial} does not match its audit entry: it was edited", serial)
        invoice_hash = None if version.invoice is None else sha256_text(canonical(version.invoice))
        if entry.get("invoice_sha256") != invoice_hash or not _invoice_columns_match(
            version, snapshot.invoice_columns
        ):
            return broken(f"the invoice of version {serial} does not match its audit entry", serial)
        previous = stored_hash
        last_state = entry.get("state_sha256")
    if len(versions) != entries:
        extra = sorted(set(versions) - {r[0] for r in rows})
        return broken(
            f"version {extra[0] if extra else '?'} has no audit entry", extra[0] if extra else None
        )
    current = snapshot.current
    if current is None:
        if entries:
            return broken(f"the account {subdomain} is missing, though its log has entries", None)
        return VerifyResult(True, entries)
    if current.serial > entries:
        return broken(
            f"entry {entries + 1} is missing: {subdomain} is at serial {current.serial}, "
            f"the log ends at {entries}",
            entries + 1,
        )
    if current.serial != entries or sha256_text(canonical(current.to_json())) != last_state:
        return broken(
            f"the current state of {subdomain} does not match entry {entries}: it was edited",
            entries,
        )
    return VerifyResult(True, entries)


def _invoice_columns_match(
    version: Version, columns: dict[int, tuple[str, str, str]] | None
) -> bool:
    if columns is None:
        return True
    stored = columns.get(version.serial)
    if version.invoice is None:
        return stored is None
    invoice = version.invoice
    return stored == (invoice.get("date"), version.account.currency, invoice.get("total"))


class Store(abc.ABC):
    """What zplan needs of a state backend. SQLite and PostgreSQL pass one contract suite."""

    url: str

    @abc.abstractmethod
    def close(self) -> None: ...

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @abc.abstractmethod
    def account(self, subdomain: str) -> Account | None:
        """The account as it stands (one consistent read)."""

    @abc.abstractmethod
    def subdomains(self) -> list[str]: ...

    @abc.abstractmethod
    def signing_secret(self, *, create: bool) -> bytes | None:
        """The plan-signing secret; made (once, race-free) when ``create``."""

    @abc.abstractmethod
    def locked(
        self, subdomains: Sequence[str], info: LockInfo, timeout: float
    ) -> contextlib.AbstractContextManager[None]:
        """Hold every account's lock (taken in sorted order) for the duration of the block."""

    @abc.abstractmethod
    def force_unlock(self, subdomain: str, lock_id: str) -> None: ...

    @abc.abstractmethod
    def applied(self, plan_id: str, subdomain: str) -> str | None:
        """When the plan was applied to the account, if it was."""

    @abc.abstractmethod
    def write(
        self,
        subdomain: str,
        expected: tuple[str, int] | None,
        versions: Sequence[VersionWrite],
        plan_id: str | None,
    ) -> None:
        """Write versions in one transaction, if the account is still at ``expected``.

        ``expected`` is (lineage, serial), or None for an account that must not
        exist yet. Raises ``StaleState`` when it moved, ``AlreadyApplied`` when
        ``plan_id`` was applied to the account already.
        """

    @abc.abstractmethod
    def versions(self, subdomain: str) -> list[Version]: ...

    @abc.abstractmethod
    def version(self, subdomain: str, serial: int) -> Version | None: ...

    @abc.abstractmethod
    def raw_audit(self, subdomain: str) -> list[tuple[int, str, str]]:
        """(serial, entry JSON, hash) in serial order, as stored."""

    def verify(self, subdomain: str) -> VerifyResult:
        """Recompute the audit chain; name the first entry that does not match."""
        return check_chain(subdomain, self._audit_snapshot(subdomain))

    def _audit_snapshot(self, subdomain: str) -> AuditSnapshot:
        """What verify reads (a backend with transactions reads it from one snapshot)."""
        return AuditSnapshot(
            self.raw_audit(subdomain), self.versions(subdomain), self.account(subdomain)
        )

    # Copying a whole store (zplan state migrate) -------------------------------

    @abc.abstractmethod
    def dump_account(self, subdomain: str) -> dict[str, Any]:
        """Everything about one account, rows as stored (for migration)."""

    @abc.abstractmethod
    def load_account(self, dump: dict[str, Any]) -> None:
        """Write a dumped account into this store (it must not exist here)."""

    @abc.abstractmethod
    def set_signing_secret(self, secret: bytes) -> None: ...

    # The live account, as last observed (issue 15) ----------------------------

    @abc.abstractmethod
    def record_observation(self, observation: Observation) -> None:
        """Keep an observation beside the record (one transaction; the record is untouched)."""

    @abc.abstractmethod
    def observations(self) -> dict[str, Observation]:
        """The latest observation of each account that has one (one query, for a whole plan)."""


class StaleState(StateError):
    def __init__(self, subdomain: str) -> None:
        self.subdomain = subdomain
        super().__init__(
            f"Saved plan is stale: the subscription of {subdomain} changed after the plan was "
            "made. Run zplan plan again."
        )


class AlreadyApplied(StateError):
    def __init__(self, subdomain: str, when: str) -> None:
        self.subdomain = subdomain
        self.when = when
        super().__init__(f"this plan was already applied to {subdomain} at {when}")


def audit_row(previous_hash: str, write: VersionWrite, serial: int) -> tuple[str, str]:
    """The audit entry's JSON and hash for a version at ``serial``."""
    entry = dict(write.audit)
    entry["serial"] = serial
    entry["kind"] = write.kind
    entry["time"] = write.created_at
    entry["state_sha256"] = sha256_text(canonical(write.account.to_json()))
    entry["invoice_sha256"] = (
        None if write.invoice is None else sha256_text(canonical(write.invoice))
    )
    entry["previous_hash"] = previous_hash
    return canonical(entry), chain_hash(previous_hash, entry)


_VERSIONS_SQL = (
    "SELECT v.serial, v.kind, v.created_at, v.state, i.body, a.entry "
    "FROM versions v LEFT JOIN invoices i ON i.subdomain = v.subdomain AND i.serial = v.serial "
    "LEFT JOIN audit a ON a.subdomain = v.subdomain AND a.serial = v.serial "
    "WHERE v.subdomain = ?"
)


class SqlStore(Store):
    """SQL shared by SQLite and PostgreSQL; ``?`` placeholders, translated by each backend."""

    conn: Any

    # Each backend: a transaction that is the only writer while it runs.
    @abc.abstractmethod
    def _write_tx(self) -> contextlib.AbstractContextManager[Any]: ...

    @abc.abstractmethod
    def _read_tx(self) -> contextlib.AbstractContextManager[Any]: ...

    def _q(self, sql: str) -> str:
        return sql

    def _serialise_account(self, cur: Any, subdomain: str) -> None:
        """Make concurrent writers of one account queue (SQLite's BEGIN IMMEDIATE already does)."""

    def _rows(self, cur: Any, sql: str, params: Sequence[Any] = ()) -> list[Any]:
        cur.execute(self._q(sql), params)
        return list(cur.fetchall())

    def account(self, subdomain: str) -> Account | None:
        with self._read_tx() as cur:
            rows = self._rows(cur, "SELECT state FROM accounts WHERE subdomain = ?", (subdomain,))
        return Account.from_json(json.loads(rows[0][0])) if rows else None

    def subdomains(self) -> list[str]:
        with self._read_tx() as cur:
            rows = self._rows(cur, "SELECT subdomain FROM accounts ORDER BY subdomain")
        return [r[0] for r in rows]

    def applied(self, plan_id: str, subdomain: str) -> str | None:
        with self._read_tx() as cur:
            rows = self._rows(
                cur,
                "SELECT applied_at FROM applied_plans WHERE plan_id = ? AND subdomain = ?",
                (plan_id, subdomain),
            )
        return rows[0][0] if rows else None

    def write(
        self,
        subdomain: str,
        expected: tuple[str, int] | None,
        versions: Sequence[VersionWrite],
        plan_id: str | None,
    ) -> None:
        with self._write_tx() as cur:
            self._serialise_account(cur, subdomain)
            if plan_id is not None:
                done = self._rows(
                    cur,
                    "SELECT applied_at FROM applied_plans WHERE plan_id = ? AND subdomain = ?",
                    (plan_id, subdomain),
                )
                if done:
                    raise AlreadyApplied(subdomain, done[0][0])
            rows = self._rows(
                cur, "SELECT lineage, serial FROM accounts WHERE subdomain = ?", (subdomain,)
            )
            current = (rows[0][0], int(rows[0][1])) if rows else None
            if current != expected:
                raise StaleState(subdomain)
            last = self._rows(
                cur,
                "SELECT hash FROM audit WHERE subdomain = ? ORDER BY serial DESC LIMIT 1",
                (subdomain,),
            )
            previous = last[0][0] if last else ""
            serial = current[1] if current else 0
            final: Account | None = None
            for version in versions:
                serial += 1
                account = version.account
                if account.serial != serial:
                    raise StateError(f"internal: version {account.serial} written as {serial}")
                state = canonical(account.to_json())
                cur.execute(
                    self._q(
                        "INSERT INTO versions (subdomain, serial, kind, created_at, "
                        "state) VALUES (?, ?, ?, ?, ?)"
                    ),
                    (subdomain, serial, version.kind, version.created_at, state),
                )
                if version.invoice is not None:
                    cur.execute(
                        self._q(
                            "INSERT INTO invoices (subdomain, serial, invoice_date, "
                            "currency, total, body) VALUES (?, ?, ?, ?, ?, ?)"
                        ),
                        (
                            subdomain,
                            serial,
                            version.invoice["date"],
                            account.currency,
                            version.invoice["total"],
                            canonical(version.invoice),
                        ),
                    )
                entry, digest = audit_row(previous, version, serial)
                cur.execute(
                    self._q(
                        "INSERT INTO audit (subdomain, serial, entry, hash) VALUES (?, ?, ?, ?)"
                    ),
                    (subdomain, serial, entry, digest),
                )
                previous = digest
                final = account
            if final is None:
                return
            state = canonical(final.to_json())
            cur.execute(
                self._q(
                    "INSERT INTO accounts (subdomain, lineage, serial, state, updated_at)"
                    " VALUES (?, ?, ?, ?, ?) ON CONFLICT (subdomain) DO UPDATE SET "
                    "lineage = excluded.lineage, serial = excluded.serial, "
                    "state = excluded.state, updated_at = excluded.updated_at"
                ),
                (subdomain, final.lineage, final.serial, state, versions[-1].created_at),
            )
            if plan_id is not None:
                cur.execute(
                    self._q(
                        "INSERT INTO applied_plans (plan_id, subdomain, serial, "
                        "applied_at) VALUES (?, ?, ?, ?)"
                    ),
                    (plan_id, subdomain, final.serial, versions[-1].created_at),
                )

    def versions(self, subdomain: str) -> list[Version]:
        with self._read_tx() as cur:
            rows = self._rows(
                cur,
                _VERSIONS_SQL + " ORDER BY v.serial",
                (subdomain,),
            )
        return [self._version(subdomain, row) for row in rows]

    def version(self, subdomain: str, serial: int) -> Version | None:
        with self._read_tx() as cur:
            rows = self._rows(
                cur,
                _VERSIONS_SQL + " AND v.serial = ?",
                (subdomain, serial),
            )
        return self._version(subdomain, rows[0]) if rows else None

    @staticmethod
    def _version(subdomain: str, row: Sequence[Any]) -> Version:
        serial, kind, created_at, state, invoice, entry = row
        return Version(
            subdomain,
            int(serial),
            kind,
            created_at,
            Account.from_json(json.loads(state)),
            None if invoice is None else json.loads(invoice),
            None if entry is None else json.loads(entry),
        )

    def raw_audit(self, subdomain: str) -> list[tuple[int, str, str]]:
        with self._read_tx() as cur:
            rows = self._rows(
                cur,
                "SELECT serial, entry, hash FROM audit WHERE subdomain = ? ORDER BY serial",
                (subdomain,),
            )
        return [(int(r[0]), r[1], r[2]) for r in rows]

    def _audit_snapshot(self, subdomain: str) -> AuditSnapshot:
        # One read transaction: an apply committing meanwhile must not look like tampering.
        with self._read_tx() as cur:
            audit = self._rows(
                cur,
                "SELECT serial, entry, hash FROM audit WHERE subdomain = ? ORDER BY serial",
                (subdomain,),
            )
            versions = self._rows(cur, _VERSIONS_SQL + " ORDER BY v.serial", (subdomain,))
            current = self._rows(
                cur, "SELECT state FROM accounts WHERE subdomain = ?", (subdomain,)
            )
            invoices = self._rows(
                cur,
                "SELECT serial, invoice_date, currency, total FROM invoices WHERE subdomain = ?",
                (subdomain,),
            )
        return AuditSnapshot(
            [(int(r[0]), r[1], r[2]) for r in audit],
            [self._version(subdomain, row) for row in versions],
            Account.from_json(json.loads(current[0][0])) if current else None,
            {int(r[0]): (r[1], r[2], r[3]) for r in invoices},
        )

    def record_observation(self, observation: Observation) -> None:
        with self._write_tx() as cur:
            cur.execute(
                self._q(
                    "INSERT INTO observations (subdomain, observed_at, body) VALUES (?, ?, ?) "
                    "ON CONFLICT (subdomain, observed_at) DO UPDATE SET body = excluded.body"
                ),
                (observation.subdomain, observation.observed_at, canonical(observation.to_json())),
            )

    def observations(self) -> dict[str, Observation]:
        with self._read_tx() as cur:
            rows = self._rows(
                cur,
                "SELECT o.subdomain, o.body FROM observations o JOIN (SELECT subdomain, "
                "MAX(observed_at) AS latest FROM observations GROUP BY subdomain) m "
                "ON m.subdomain = o.subdomain AND m.latest = o.observed_at",
            )
        return {r[0]: Observation.from_json(json.loads(r[1])) for r in rows}

    def dump_account(self, subdomain: str) -> dict[str, Any]:
        tables = {
            "accounts": "subdomain, lineage, serial, state, updated_at",
            "versions": "subdomain, serial, kind, created_at, state",
            "invoices": "subdomain, serial, invoice_date, currency, total, body",
            "audit": "subdomain, serial, entry, hash",
            "applied_plans": "plan_id, subdomain, serial, applied_at",
            "observations": "subdomain, observed_at, body",
        }
        orders = {"accounts": "subdomain", "observations": "observed_at"}
        dump: dict[str, Any] = {"subdomain": subdomain}
        with self._read_tx() as cur:
            for table, columns in tables.items():
                order = orders.get(table, "serial")
                rows = self._rows(
                    cur,
                    f"SELECT {columns} FROM {table} WHERE subdomain = ? "  # noqa: S608
                    f"ORDER BY {order}",
                    (subdomain,),
                )
                dump[table] = {"columns": columns, "rows": [list(r) for r in rows]}
        return dump

    def load_account(self, dump: dict[str, Any]) -> None:
        with self._write_tx() as cur:
            exists = self._rows(
                cur, "SELECT 1 FROM accounts WHERE subdomain = ?", (dump["subdomain"],)
            )
            if exists:
                raise StateError(
                    f"the account {dump['subdomain']} already exists in the target store"
                )
            for table in (
                "versions",
                "invoices",
                "audit",
                "applied_plans",
                "accounts",
                "observations",
            ):
                if table not in dump:
                    continue  # a dump made before the table existed
                columns = dump[table]["columns"]
                marks = ", ".join("?" for _ in columns.split(","))
                for row in dump[table]["rows"]:
                    cur.execute(self._q(f"INSERT INTO {table} ({columns}) VALUES ({marks})"), row)  # noqa: S608

    def signing_secret(self, *, create: bool) -> bytes | None:
        with self._read_tx() as cur:
            rows = self._rows(cur, "SELECT value FROM meta WHERE key = 'signing_secret'")
        if rows:
            return bytes.fromhex(rows[0][0])
        if not create:
            return None
        with self._write_tx() as cur:
            # Two first plans at once: under PostgreSQL's READ COMMITTED both may find no
            # secret; the second insert then waits for the first and keeps its secret.
            cur.execute(
                self._q(
                    "INSERT INTO meta (key, value) VALUES ('signing_secret', ?) "
                    "ON CONFLICT (key) DO NOTHING"
                ),
                (os.urandom(32).hex(),),
            )
            rows = self._rows(cur, "SELECT value FROM meta WHERE key = 'signing_secret'")
            return bytes.fromhex(rows[0][0])

    def set_signing_secret(self, secret: bytes) -> None:
        with self._write_tx() as cur:
            cur.execute(
                self._q(
                    "INSERT INTO meta (key, value) VALUES ('signing_secret', ?) "
                    "ON CONFLICT (key) DO UPDATE SET value = excluded.value"
                ),
                (secret.hex(),),
            )


MIGRATIONS: tuple[tuple[int, tuple[str, ...]], ...] = (
    (
        1,
        (
            "CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
            "CREATE TABLE accounts (subdomain TEXT PRIMARY KEY, lineage TEXT NOT NULL, "
            "serial INTEGER NOT NULL, state TEXT NOT NULL, updated_at TEXT NOT NULL)",
            "CREATE TABLE versions (subdomain TEXT NOT NULL, serial INTEGER NOT NULL, kind TEXT NOT NULL,"
            " created_at TEXT NOT NULL, state TEXT NOT NULL, PRIMARY KEY (subdomain, serial))",
            "CREATE TABLE invoices (subdomain TEXT NOT NULL, serial INTEGER NOT NULL, invoice_date TEXT "
            "NOT NULL, currency TEXT NOT NULL, total TEXT NOT NULL, body TEXT NOT NULL, "
            "PRIMARY KEY (subdomain, serial))",
            "CREATE TABLE applied_plans (plan_id TEXT NOT NULL, subdomain TEXT NOT NULL, serial INTEGER "
            "NOT NULL, applied_at TEXT NOT NULL, PRIMARY KEY (plan_id, subdomain))",
            "CREATE TABLE audit (subdomain TEXT NOT NULL, serial INTEGER NOT NULL, entry TEXT NOT NULL, "
            "hash TEXT NOT NULL, PRIMARY KEY (subdomain, serial))",
            "CREATE TABLE locks (subdomain TEXT PRIMARY KEY, lock_id TEXT NOT NULL, who TEXT NOT NULL, "
            "operation TEXT NOT NULL, host TEXT NOT NULL, pid INTEGER NOT NULL, created_at TEXT NOT NULL)",
        ),
    ),
    (
        # The live account as read through Zendesk's API (issue 15): beside the record, never
        # part of its versions or audit chain. Additive: older zplans ignore the table.
        2,
        (
            "CREATE TABLE observations (subdomain TEXT NOT NULL, observed_at TEXT NOT NULL, "
            "body TEXT NOT NULL, PRIMARY KEY (subdomain, observed_at))",
        ),
    ),
)


def holder_details(row: Sequence[Any]) -> dict[str, str]:
    lock_id, who, operation, host, pid, created_at = row
    return {
        "id": lock_id,
        "who": who,
        "operation": operation,
        "host": host,
        "pid": str(pid),
        "created_at": created_at,
    }


def iterate_sorted(subdomains: Sequence[str]) -> Iterator[str]:
    yield from sorted(set(subdomains))
