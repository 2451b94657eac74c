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
import datetime as dt
import enum
import hashlib
import json
import os
import time
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any, NamedTuple

from zplan.errors import StateError
from zplan.model import Account, Observation

if TYPE_CHECKING:
    from zplan.trust.keys import PublicKey, Role, Signer
    from zplan.trust.registry import Trust

SCHEMA_VERSION = 4
NO_STORE_HINT = (
    "create it with: zplan state init (or zplan state init --sandbox for demos and tests)"
)


# One encoder for every canonical text (the same output as json.dumps with these
# arguments; built once, not per call). Stored values are trees, never cyclic.
_CANONICAL = json.JSONEncoder(
    sort_keys=True, separators=(",", ":"), ensure_ascii=False, check_circular=False
).encode


def canonical(value: Any) -> str:
    return _CANONICAL(value)


def sha256_text(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def chain_hash(previous: str, entry: dict[str, Any]) -> str:
    """``sha256(previous entry's hash + canonical JSON of this entry)``."""
    return sha256_text(previous + canonical(entry))


def missing_store(where: object) -> StateError:
    return StateError(f"no state store at {where}", hint=NO_STORE_HINT)


class Mode(enum.Enum):
    """How a command opens the store."""

    READ = "read"  # plan, history, state show/heads, export: never creates or changes anything
    WRITE = "write"  # every writing command: the store must exist and pass the file checks
    INIT = "init"  # state init: the store must not exist yet


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
    """One version to write: the account after it, its kind, invoice and audit entry.

    ``created_at`` is replaced by the store's own clock when the version is
    written (the wall-clock time); ``priced_on`` is the business date it was
    priced at (the real date, or a sandbox store's simulated one).
    """

    account: Account
    kind: str  # apply | renewal | admin | change_order
    created_at: str
    invoice: dict[str, Any] | None
    audit: dict[str, Any]  # the entry's fields; serial, hashes of state and invoice are added
    priced_on: str = ""
    # A change order's row, written in the same transaction: {"number", "status", and for
    # "open": "body", "opened_at", "expires_on"}; any other status closes the open order.
    order: dict[str, Any] | None = None


class Version(NamedTuple):
    subdomain: str
    serial: int
    kind: str
    created_at: str
    account: Account
    invoice: dict[str, Any] | None
    audit: dict[str, Any] | None


class ChangeOrderRow(NamedTuple):
    """A change order as the store keeps it; ``body`` is its signed JSON (apply/orders.py)."""

    subdomain: str
    number: int
    status: str  # open | confirmed | cancelled | expired
    opened_at: str
    expires_on: str
    body: dict[str, Any]
    closed_serial: int | None
    closed_at: str | None


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
    signatures: dict[int, str | None] | None = None  # serial -> the entry's signature
    # change_orders rows: (number, status, body, closed_serial)
    orders: Sequence[tuple[int, str, str, int | None]] | None = None


def check_chain(
    subdomain: str, snapshot: AuditSnapshot, trust: Trust | None = None
) -> VerifyResult:
    """The first place where the stored history does not match its hash-chained audit log.

    Each entry must hash to its stored hash from the previous one, name this
    account (subdomain and lineage) and move its business date only forward;
    with the store's key registry (``trust``), each must be signed by a key
    registered for its kind (apply and renewal: an apply key; admin: an operator
    key) at the registry entry it names. Each version's state, kind, time and
    invoice must be the ones its entry recorded; no version may lack an entry; and
    the account as it stands must be the last entry's version (which also catches
    the newest versions deleted together with their entries; a deleted tail with a
    consistent rollback is caught only against a published head, ``--head``).
    """
    rows = snapshot.audit
    versions = {v.serial: v for v in snapshot.versions}
    entries = len(rows)

    def broken(problem: str, serial: int | None) -> VerifyResult:
        return VerifyResult(False, entries, problem, serial)

    previous = ""
    last_state: str | None = None
    lineage: str | None = None
    priced_on = ""
    for index, (serial, entry_text, stored_hash) in enumerate(rows, start=1):
        if serial != index:
            return broken(f"entry {index} is missing (found {serial})", index)
        try:
            entry = json.loads(entry_text)
        except ValueError:
            return broken(f"entry {serial} is not valid JSON", serial)
        if not isinstance(entry, dict) or chain_hash(previous, entry) != stored_hash:
            return broken(f"entry {serial} does not match its hash: it was edited", serial)
        if entry.get("subdomain") != subdomain:
            return broken(
                f"entry {serial} was written for {entry.get('subdomain')!r}, not {subdomain}: "
                "the account's rows were moved",
                serial,
            )
        lineage = lineage or entry.get("lineage")
        if entry.get("lineage") != lineage:
            return broken(f"entry {serial} belongs to another lineage of {subdomain}", serial)
        if str(entry.get("priced_on") or "") < priced_on:
            return broken(f"entry {serial} is dated before the entry it follows", serial)
        priced_on = str(entry.get("priced_on") or priced_on)
        if trust is not None:
            signature = (snapshot.signatures or {}).get(serial)
            problem = signature_problem(trust, entry, stored_hash, signature)
            if problem:
                return broken(f"entry {serial} {problem}", serial)
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
    if lineage is not None and current.lineage != lineage:
        return broken(f"the current state of {subdomain} is of another lineage", entries)
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
    if snapshot.orders is not None:
        wrong = _orders_problem([(r[0], r[1], r[2]) for r in rows], snapshot.orders)
        if wrong is not None:
            return broken(*wrong)
    return VerifyResult(True, entries)


def _orders_problem(
    audit: Sequence[tuple[int, str, str]], orders: Sequence[tuple[int, str, str, int | None]]
) -> tuple[str, int] | None:
    """The first change order whose row is not what the audit log recorded of it."""
    recorded: dict[int, dict[str, Any]] = {}  # number -> body hash, last status, closing serial
    for serial, entry_text, _hash in audit:
        order = json.loads(entry_text).get("order")
        if not isinstance(order, dict):
            continue
        number = int(order["number"])
        if order.get("status") == "open":
            recorded[number] = {"sha256": order.get("sha256"), "status": "open", "closed": None}
        elif number in recorded:
            recorded[number].update(status=order.get("status"), closed=serial)
    rows = {number: (status, body, closed) for number, status, body, closed in orders}
    for number in sorted(set(recorded) | set(rows)):
        if number not in rows:
            return f"change order #{number} is missing from the store", number
        if number not in recorded:
            return f"change order #{number} has no audit entry", number
        status, body, closed = rows[number]
        want = recorded[number]
        if sha256_text(body) != want["sha256"]:
            return f"change order #{number} does not match its audit entry: it was edited", number
        if (status, closed) != (want["status"], want["closed"]):
            return (
                f"change order #{number} is {status} in the store, but its audit log says "
                f"{want['status']}",
                number,
            )
    return None


def signature_problem(
    trust: Trust, entry: dict[str, Any], digest: str, signature: str | None
) -> str | None:
    """Why an audit entry's signature does not hold, or None when it does."""
    from zplan.trust.keys import Role, signature_key, verify

    if not signature:
        return "is not signed"
    at = entry.get("trust_serial")
    if not isinstance(at, int) or trust.hashes.get(at) != entry.get("trust"):
        return "names a key registry entry this store does not have"
    roles = (Role.OPERATOR,) if entry.get("kind") == "admin" else (Role.APPLY,)
    record = trust.find(signature_key(signature) or "", roles, at)
    if record is None:
        return f"is not signed by a registered {roles[0].value} key"
    if not verify(record.key, digest.encode(), signature):
        return "has a signature that does not match: it was forged or edited"
    return None


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

    def accounts(self, subdomains: Sequence[str]) -> dict[str, Account]:
        """The accounts that exist among ``subdomains``, as they stand (read in batches)."""
        found = {s: self.account(s) for s in subdomains}
        return {s: a for s, a in found.items() if a is not None}

    def applied_many(self, plan_id: str, subdomains: Sequence[str]) -> dict[str, str]:
        """When the plan was applied, for each of ``subdomains`` it was applied to."""
        found = {s: self.applied(plan_id, s) for s in subdomains}
        return {s: when for s, when in found.items() if when}

    @abc.abstractmethod
    def subdomains(self) -> list[str]: ...

    @abc.abstractmethod
    def trust(self, *, signatures: bool = True) -> Trust | None:
        """The store's key registry, replayed and checked; None before ``state init``.

        ``signatures=False``: its hash chain only (a plan's header; no cryptography).
        """

    @abc.abstractmethod
    def now(self) -> dt.datetime:
        """The store's clock: the machine's UTC clock (SQLite), the server's now() (PostgreSQL)."""

    @abc.abstractmethod
    def moved_to(self) -> str | None:
        """Where ``state migrate`` moved this store's accounts, if it did."""

    @abc.abstractmethod
    def initialise(
        self, sandbox: bool, keys: Sequence[tuple[PublicKey, Role]], signer: Signer | None
    ) -> Trust:
        """Write the key registry's first entry (``state init``); refuse a store that has one."""

    @abc.abstractmethod
    def change_keys(
        self,
        add: Sequence[tuple[PublicKey, Role]],
        retire: Sequence[str],
        actor: str,
        signer: Signer,
    ) -> Trust:
        """Add or retire keys, signed by a registered operator key (``state trust-key``)."""

    @abc.abstractmethod
    def heads(self) -> list[tuple[str, int, str]]:
        """(subdomain, serial, hash) of every account's newest audit entry."""

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
        signer: Signer,
    ) -> str:
        """Write versions in one transaction, if the account is still at ``expected``.

        ``expected`` is (lineage, serial), or None for an account that must not
        exist yet. Raises ``StaleState`` when it moved, ``AlreadyApplied`` when
        ``plan_id`` was applied to the account already. Every write goes through
        here, and here the record's rules hold: the store was made by ``state
        init`` and was not moved; ``signer`` is a registered key of the role the
        versions need; the account's chain verifies (signatures included) before
        anything is added; business dates only move forward; each entry is
        stamped with the store's clock and signed. Returns the new head's hash.
        """

    @abc.abstractmethod
    def versions(self, subdomain: str) -> list[Version]: ...

    def change_orders(self, subdomain: str) -> list[ChangeOrderRow]:
        """The account's change orders, oldest first."""
        raise NotImplementedError

    def open_orders(self) -> list[ChangeOrderRow]:
        """Every account's open change order (expired ones included), by subdomain."""
        raise NotImplementedError

    def change_order(self, subdomain: str, number: int) -> ChangeOrderRow | None:
        return next((o for o in self.change_orders(subdomain) if o.number == number), None)

    @abc.abstractmethod
    def version(self, subdomain: str, serial: int) -> Version | None: ...

    @abc.abstractmethod
    def raw_audit(self, subdomain: str) -> list[tuple[int, str, str]]:
        """(serial, entry JSON, hash) in serial order, as stored."""

    def verify(self, subdomain: str) -> VerifyResult:
        """Recompute the audit chain and check its signatures; name the first entry that fails."""
        from zplan.trust.registry import TrustError

        try:
            trust = self.trust()
        except TrustError as exc:
            return VerifyResult(False, 0, str(exc), None)
        snapshot = self._audit_snapshot(subdomain)
        if trust is None and snapshot.audit:
            return VerifyResult(False, len(snapshot.audit), "the store has no key registry", None)
        return check_chain(subdomain, snapshot, trust)

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
    def dump_trust(self) -> list[list[Any]]:
        """The key registry's rows, as stored (for migration)."""

    @abc.abstractmethod
    def adopt(self, trust_rows: list[list[Any]], source: Trust) -> None:
        """Take over a moved store's registry (an empty store of the same kind only)."""

    @abc.abstractmethod
    def mark_moved(self, target: str) -> None:
        """Record that the accounts moved to ``target``: every write is refused from now on."""

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


def audit_row(
    previous_hash: str,
    write: VersionWrite,
    serial: int,
    extra: dict[str, Any],
    texts: tuple[str, str | None] | None = None,
) -> tuple[str, str]:
    """The audit entry's JSON and hash for a version at ``serial``.

    ``extra``: what the store adds (its clock's time, sandbox flag, the key
    registry entry in force and the signing key's id). ``texts``: the canonical
    JSON of the version's state and invoice, when the caller has made them already.
    """
    state, invoice = texts or (
        canonical(write.account.to_json()),
        None if write.invoice is None else canonical(write.invoice),
    )
    entry = dict(write.audit)
    entry.update(extra)
    entry["serial"] = serial
    entry["kind"] = write.kind
    entry["priced_on"] = write.priced_on
    entry["state_sha256"] = sha256_text(state)
    entry["invoice_sha256"] = None if invoice is None else sha256_text(invoice)
    entry["previous_hash"] = previous_hash
    text = canonical(entry)
    return text, sha256_text(previous_hash + text)  # chain_hash, serialised once


def timestamp(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


_STAMPED: list[Any] = [None, ""]  # (second, its timestamp) last formatted


def machine_timestamp() -> str:
    """``timestamp(datetime.now(UTC))``: the machine's clock, formatted once a second."""
    second = int(time.time())
    if second != _STAMPED[0]:
        _STAMPED[:] = [second, time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(second))]
    return str(_STAMPED[1])


_VERSIONS_SQL = (
    "SELECT v.serial, v.kind, v.created_at, v.state, i.body, a.entry "
    "FROM versions v LEFT JOIN invoices i ON i.subdomain = v.subdomain AND i.serial = v.serial "
    "LEFT JOIN audit a ON a.subdomain = v.subdomain AND a.serial = v.serial "
    "WHERE v.subdomain = ?"
)


def _part(tag: str, columns: str, rest: str) -> str:
    return f"SELECT '{tag}', {columns} {rest}"


_INT, _TEXT = "CAST(NULL AS INTEGER)", "CAST(NULL AS TEXT)"
# An account's rows in one query (UNION ALL): each part tagged and padded to the same
# columns (tag, n, m, a, b, c, d, e), NULLs typed (PostgreSQL types a UNION pairwise).
_PARTS = {
    "audit": _part(
        "audit",
        f"serial, {_INT}, entry, hash, signature, {_TEXT}, {_TEXT}",
        "FROM audit WHERE subdomain = ?",
    ),
    "version": _part(
        "version",
        f"v.serial, {_INT}, v.kind, v.created_at, v.state, i.body, a.entry",
        "FROM versions v LEFT JOIN invoices i ON i.subdomain = v.subdomain AND i.serial = "
        "v.serial LEFT JOIN audit a ON a.subdomain = v.subdomain AND a.serial = v.serial "
        "WHERE v.subdomain = ?",
    ),
    "current": _part(
        "current",
        f"serial, {_INT}, lineage, state, {_TEXT}, {_TEXT}, {_TEXT}",
        "FROM accounts WHERE subdomain = ?",
    ),
    "invoice": _part(
        "invoice",
        f"serial, {_INT}, invoice_date, currency, total, {_TEXT}, {_TEXT}",
        "FROM invoices WHERE subdomain = ?",
    ),
    "order": _part(
        "order",
        f"number, closed_serial, status, body, {_TEXT}, {_TEXT}, {_TEXT}",
        "FROM change_orders WHERE subdomain = ?",
    ),
}
# The parts that are the account's own record: when the query finds none of them, the
# account has nothing stored, and check_chain of its empty snapshot can only pass.
_ACCOUNT_PARTS = frozenset(_PARTS)
# What a write checks besides, read in the same query.
_WRITE_PARTS = {
    "trust": _part(
        "trust", f"serial, {_INT}, entry, hash, signature, {_TEXT}, {_TEXT}", "FROM trust"
    ),
    "moved": _part(
        "moved",
        f"{_INT}, {_INT}, value, {_TEXT}, {_TEXT}, {_TEXT}, {_TEXT}",
        "FROM meta WHERE key = 'moved_to'",
    ),
    "applied": _part(
        "applied",
        f"{_INT}, {_INT}, applied_at, {_TEXT}, {_TEXT}, {_TEXT}, {_TEXT}",
        "FROM applied_plans WHERE plan_id = ? AND subdomain = ?",
    ),
}


def _by_number(row: Sequence[Any]) -> int:
    """A part's row order: its number (serial), a row without one first."""
    return -1 if row[1] is None else int(row[1])


def _chunks(items: Sequence[str], size: int = 500) -> Iterator[Sequence[str]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


class SqlStore(Store):
    """SQL shared by SQLite and PostgreSQL; ``?`` placeholders, translated by each backend."""

    conn: Any
    BATCH = 500  # accounts read per query by the batched reads

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

    def accounts(self, subdomains: Sequence[str]) -> dict[str, Account]:
        found: dict[str, Account] = {}
        for part in _chunks(sorted(set(subdomains)), self.BATCH):
            marks = ", ".join("?" for _ in part)
            with self._read_tx() as cur:
                rows = self._rows(
                    cur,
                    f"SELECT subdomain, state FROM accounts WHERE subdomain IN ({marks})",  # noqa: S608
                    part,
                )
            found.update((r[0], Account.from_json(json.loads(r[1]))) for r in rows)
        return found

    def applied_many(self, plan_id: str, subdomains: Sequence[str]) -> dict[str, str]:
        found: dict[str, str] = {}
        for part in _chunks(sorted(set(subdomains)), self.BATCH):
            marks = ", ".join("?" for _ in part)
            with self._read_tx() as cur:
                rows = self._rows(
                    cur,
                    "SELECT subdomain, applied_at FROM applied_plans "  # noqa: S608
                    f"WHERE plan_id = ? AND subdomain IN ({marks})",
                    (plan_id, *part),
                )
            found.update((r[0], r[1]) for r in rows)
        return found

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

    def _now(self, cur: Any) -> dt.datetime:
        """The store's clock inside a transaction (PostgreSQL asks the server)."""
        return dt.datetime.now(dt.UTC)

    def now(self) -> dt.datetime:
        with self._read_tx() as cur:
            return self._now(cur)

    def _timestamp(self, cur: Any) -> str:
        """``timestamp(self._now(cur))``: the store's clock as an entry records it."""
        return timestamp(self._now(cur))

    def write(
        self,
        subdomain: str,
        expected: tuple[str, int] | None,
        versions: Sequence[VersionWrite],
        plan_id: str | None,
        signer: Signer,
    ) -> str:
        with self._write_tx() as cur:
            self._serialise_account(cur, subdomain)
            # One query reads all that the write checks (see _read_parts).
            parts = self._read_parts(cur, subdomain, plan_id, writing=True)
            trust = self._writable(parts, signer, versions)
            if plan_id is not None and parts.get("applied"):
                raise AlreadyApplied(subdomain, parts["applied"][0][3])
            found = parts.get("current")
            current = (found[0][3], int(found[0][1])) if found else None
            if current != expected:
                raise StaleState(subdomain)
            last = None
            if not _ACCOUNT_PARTS.isdisjoint(parts):  # else nothing stored to verify: a new one
                snapshot = self._snapshot_of(subdomain, parts)
                checked = check_chain(subdomain, snapshot, trust)
                if not checked.ok:
                    raise StateError(
                        f"the audit chain of {subdomain} does not verify ({checked.problem}); "
                        "nothing was written",
                        hint=f"zplan history {subdomain} --verify; restore the store from a backup",
                    )
                last = snapshot.audit[-1] if snapshot.audit else None
            previous = last[2] if last else ""
            last_date = str(json.loads(last[1]).get("priced_on") or "") if last else ""
            if versions and versions[0].priced_on < last_date:
                raise StateError(
                    f"{subdomain}: this write is dated {versions[0].priced_on}, before the "
                    f"account's latest version ({last_date}); business dates only move forward",
                    hint="nothing was written",
                )
            now = parts.get("now")
            created_at = now[0][3] if now else self._timestamp(cur)
            trust_serial, trust_hash = trust.head
            extra = {
                "time": created_at,
                "sandbox": trust.sandbox,
                "trust_serial": trust_serial,
                "trust": trust_hash,
                "key": signer.key.id,
            }
            serial = current[1] if current else 0
            final: Account | None = None
            state = ""
            inserts: list[tuple[str, Sequence[Any]]] = []
            for version in versions:
                serial += 1
                account = version.account
                if account.serial != serial:
                    raise StateError(f"internal: version {account.serial} written as {serial}")
                state = canonical(account.to_json())
                invoice = None if version.invoice is None else canonical(version.invoice)
                inserts.append(
                    (
                        "INSERT INTO versions (subdomain, serial, kind, created_at, "
                        "state) VALUES (?, ?, ?, ?, ?)",
                        (subdomain, serial, version.kind, created_at, state),
                    )
                )
                if version.invoice is not None:
                    inserts.append(
                        (
                            "INSERT INTO invoices (subdomain, serial, invoice_date, "
                            "currency, total, body) VALUES (?, ?, ?, ?, ?, ?)",
                            (
                                subdomain,
                                serial,
                                version.invoice["date"],
                                account.currency,
                                version.invoice["total"],
                                invoice,
                            ),
                        )
                    )
                if version.order is not None:
                    self._execute_all(cur, inserts)  # in order: the order's update counts rows
                    inserts = []
                    self._write_order(cur, subdomain, serial, version)
                entry, digest = audit_row(previous, version, serial, extra, (state, invoice))
                inserts.append(
                    (
                        "INSERT INTO audit (subdomain, serial, entry, hash, signature) "
                        "VALUES (?, ?, ?, ?, ?)",
                        (subdomain, serial, entry, digest, signer.sign(digest.encode())),
                    )
                )
                previous = digest
                final = account
            if final is not None:
                inserts.append(
                    (
                        "INSERT INTO accounts (subdomain, lineage, serial, state, updated_at)"
                        " VALUES (?, ?, ?, ?, ?) ON CONFLICT (subdomain) DO UPDATE SET "
                        "lineage = excluded.lineage, serial = excluded.serial, "
                        "state = excluded.state, updated_at = excluded.updated_at",
                        (subdomain, final.lineage, final.serial, state, created_at),
                    )
                )
                if plan_id is not None:
                    inserts.append(
                        (
                            "INSERT INTO applied_plans (plan_id, subdomain, serial, "
                            "applied_at) VALUES (?, ?, ?, ?)",
                            (plan_id, subdomain, final.serial, created_at),
                        )
                    )
            self._execute_all(cur, inserts)
            return previous

    def _execute_all(self, cur: Any, statements: Sequence[tuple[str, Sequence[Any]]]) -> None:
        """Statements whose results nobody reads (PostgreSQL sends them in one round trip).

        Each statement is fixed text from ``write`` with placeholders for its values.
        """
        for statement, params in statements:
            cur.execute(self._q(statement), params)  # noqa: S608, RUF100 - write's literals

    # A part of _read_parts giving the store's clock as ``timestamp`` writes it (PostgreSQL:
    # the server's); None: the machine's clock (``_now``).
    _NOW_SQL: str | None = None

    def _read_parts(
        self, cur: Any, subdomain: str, plan_id: str | None = None, *, writing: bool = False
    ) -> dict[str, list[Any]]:
        """An account's rows in one query, by part (see _PARTS), each part in serial order.

        ``writing`` adds what a write checks besides: the key registry, whether the store
        was moved, whether ``plan_id`` was applied to the account, and the store's clock.
        """
        query = self._parts_query(writing)
        params: list[Any] = [subdomain] * len(_PARTS)
        if writing:
            params += [plan_id, subdomain]
        parts: dict[str, list[Any]] = {}
        for row in self._rows(cur, query, params):  # noqa: S608, RUF100 - _parts_query
            found = parts.get(row[0])
            if found is None:
                parts[row[0]] = [row]
            else:
                found.append(row)
        for rows in parts.values():
            if len(rows) > 1:
                rows.sort(key=_by_number)
        return parts

    def _parts_query(self, writing: bool) -> str:
        """_read_parts' query: the same text every time (the driver prepares it once)."""
        cached: dict[bool, str] = self.__dict__.setdefault("_parts_queries", {})
        query = cached.get(writing)
        if query is None:
            statements = list(_PARTS.values())
            if writing:
                statements += _WRITE_PARTS.values()
                if self._NOW_SQL is not None:
                    statements.append(self._NOW_SQL)
            query = cached[writing] = " UNION ALL ".join(statements)  # constants only
        return query

    def _snapshot_of(self, subdomain: str, parts: dict[str, list[Any]]) -> AuditSnapshot:
        """The AuditSnapshot of an account's rows as _read_parts read them."""
        audit = parts.get("audit", [])
        current = parts.get("current")
        return AuditSnapshot(
            [(int(r[1]), r[3], r[4]) for r in audit],
            [self._version(subdomain, (r[1], *r[3:8])) for r in parts.get("version", [])],
            Account.from_json(json.loads(current[0][4])) if current else None,
            {int(r[1]): (r[3], r[4], r[5]) for r in parts.get("invoice", [])},
            {int(r[1]): r[5] for r in audit},
            [
                (int(r[1]), r[3], r[4], None if r[2] is None else int(r[2]))
                for r in parts.get("order", [])
            ],
        )

    def _writable(
        self, parts: dict[str, list[Any]], signer: Signer, versions: Sequence[VersionWrite]
    ) -> Trust:
        """The store's registry, if this store may be written with ``signer``'s key.

        The registry's rows are read by every write; when they are the same rows as at
        the last write with the same key and role, so is the answer (an apply replays
        the registry and looks the key up once, not per account)."""
        from zplan.trust.keys import Role

        rows = parts.get("trust", [])
        role = Role.OPERATOR if any(v.kind == "admin" for v in versions) else Role.APPLY
        known: tuple[Any, ...] = self.__dict__.get("_may_write", ())
        hit = known[:3] == (signer.key, role, rows)
        trust: Trust | None = (
            known[3] if hit else self._replay([(int(r[1]), r[3], r[4], r[5]) for r in rows])
        )
        if trust is None:
            raise StateError(f"no state store at {self.url}", hint=NO_STORE_HINT)
        moved = parts.get("moved")
        if moved:
            raise StateError(
                f"the state store {self.url} was moved to {moved[0][3]}; it refuses every write",
                hint=f"use --state {moved[0][3]}",
            )
        if not hit:
            if trust.find(signer.key.id, (role,), trust.head[0]) is None:
                raise StateError(
                    f"the key {signer.key.id} (from {signer.origin}) is not a registered "
                    f"{role.value} key of the state store {self.url}; nothing was written",
                    hint="zplan state heads lists nothing secret; register keys with "
                    "zplan state trust-key (an operator key signs it)",
                )
            self._may_write = (signer.key, role, rows, trust)
        return trust

    def _replay(
        self, rows: Sequence[tuple[int, str, str, str | None]], *, signatures: bool = True
    ) -> Trust | None:
        """The registry replayed from its rows. The same rows as last time make the same
        registry: an apply replays it (and checks its signatures) once, not per account."""
        from zplan.trust.registry import replay

        key = (signatures, tuple(rows))
        cached: tuple[Any, Trust | None] | None = getattr(self, "_replayed", None)
        if cached is not None and cached[0] == key:
            return cached[1]
        trust = replay(list(rows), signatures=signatures)
        self._replayed = (key, trust)
        return trust

    def _meta(self, cur: Any, key: str) -> str | None:
        rows = self._rows(cur, "SELECT value FROM meta WHERE key = ?", (key,))
        return str(rows[0][0]) if rows else None

    def _trust(self, cur: Any, *, signatures: bool = True) -> Trust | None:
        rows = self._rows(cur, "SELECT serial, entry, hash, signature FROM trust ORDER BY serial")
        return self._replay([(int(r[0]), r[1], r[2], r[3]) for r in rows], signatures=signatures)

    def trust(self, *, signatures: bool = True) -> Trust | None:
        with self._read_tx() as cur:
            return self._trust(cur, signatures=signatures)

    def moved_to(self) -> str | None:
        with self._read_tx() as cur:
            return self._meta(cur, "moved_to")

    def _add_trust(self, cur: Any, entry: dict[str, Any], signer: Signer | None) -> None:
        from zplan.trust.registry import canonical as trust_canonical
        from zplan.trust.registry import entry_hash

        previous = str(entry.get("previous_hash") or "")
        digest = entry_hash(previous, entry)
        cur.execute(
            self._q("INSERT INTO trust (serial, entry, hash, signature) VALUES (?, ?, ?, ?)"),
            (
                entry["serial"],
                trust_canonical(entry),
                digest,
                None if signer is None else signer.sign(digest.encode()),
            ),
        )

    def initialise(
        self, sandbox: bool, keys: Sequence[tuple[PublicKey, Role]], signer: Signer | None
    ) -> Trust:
        import uuid

        from zplan.trust.registry import init_entry

        with self._write_tx() as cur:
            existing = self._trust(cur)
            if existing is not None:
                kind = "a sandbox store" if existing.sandbox else "an ordinary store"
                raise StateError(
                    f"{self.url} is already {kind}, created at {existing.created_at}",
                    hint="a store is created once; its kind can never be switched",
                )
            entry = init_entry(str(uuid.uuid4()), sandbox, keys, timestamp(self._now(cur)))
            self._add_trust(cur, entry, signer)
            trust = self._trust(cur)
        assert trust is not None
        return trust

    def change_keys(
        self,
        add: Sequence[tuple[PublicKey, Role]],
        retire: Sequence[str],
        actor: str,
        signer: Signer,
    ) -> Trust:
        from zplan.trust.keys import Role
        from zplan.trust.registry import change_entry

        with self._write_tx() as cur:
            trust = self._trust(cur)
            if trust is None:
                raise StateError(f"no state store at {self.url}", hint=NO_STORE_HINT)
            if self._meta(cur, "moved_to"):
                raise StateError(f"the state store {self.url} was moved; it refuses every write")
            if trust.find(signer.key.id, (Role.OPERATOR,), trust.head[0]) is None:
                raise StateError(
                    f"the key {signer.key.id} (from {signer.origin}) is not a registered operator "
                    "key of this store: only an operator key may register or retire keys",
                    hint="nothing was written",
                )
            known = {r.key.id for r in trust.keys if r.until is None}
            unknown = [k for k in retire if k not in known]
            if unknown:
                raise StateError(f"no active key {unknown[0]} in this store")
            entry = change_entry(trust, add, retire, actor, signer, timestamp(self._now(cur)))
            self._add_trust(cur, entry, signer)
            changed = self._trust(cur)
        assert changed is not None
        return changed

    def heads(self) -> list[tuple[str, int, str]]:
        with self._read_tx() as cur:
            rows = self._rows(
                cur,
                "SELECT a.subdomain, a.serial, a.hash FROM audit a JOIN (SELECT subdomain, "
                "MAX(serial) AS serial FROM audit GROUP BY subdomain) m ON m.subdomain = "
                "a.subdomain AND m.serial = a.serial ORDER BY a.subdomain",
            )
        return [(r[0], int(r[1]), r[2]) for r in rows]

    def _write_order(self, cur: Any, subdomain: str, serial: int, version: VersionWrite) -> None:
        order = version.order
        assert order is not None
        if order["status"] == "open":
            # The partial unique index refuses a second open order for the account.
            cur.execute(
                self._q(
                    "INSERT INTO change_orders (subdomain, number, status, opened_at, "
                    "expires_on, body, closed_serial, closed_at) VALUES (?, ?, 'open', ?, ?, ?, "
                    "NULL, NULL)"
                ),
                (
                    subdomain,
                    int(order["number"]),
                    order["opened_at"],
                    order["expires_on"],
                    canonical(order["body"]),
                ),
            )
            return
        cur.execute(
            self._q(
                "UPDATE change_orders SET status = ?, closed_serial = ?, closed_at = ? "
                "WHERE subdomain = ? AND number = ? AND status = 'open'"
            ),
            (order["status"], serial, version.created_at, subdomain, int(order["number"])),
        )
        if cur.rowcount != 1:
            raise StateError(
                f"change order #{order['number']} of {subdomain} is no longer open; "
                "nothing was written",
                hint=f"see zplan history {subdomain}",
            )

    def change_orders(self, subdomain: str) -> list[ChangeOrderRow]:
        return self._orders(
            "SELECT subdomain, number, status, opened_at, expires_on, body, closed_serial, "
            "closed_at FROM change_orders WHERE subdomain = ? ORDER BY number",
            (subdomain,),
        )

    def open_orders(self) -> list[ChangeOrderRow]:
        return self._orders(
            "SELECT subdomain, number, status, opened_at, expires_on, body, closed_serial, "
            "closed_at FROM change_orders WHERE status = 'open' ORDER BY subdomain, number",
            (),
        )

    def _orders(self, sql: str, params: Sequence[Any]) -> list[ChangeOrderRow]:
        with self._read_tx() as cur:
            rows = self._rows(cur, sql, params)
        return [
            ChangeOrderRow(
                r[0],
                int(r[1]),
                r[2],
                r[3],
                r[4],
                json.loads(r[5]),
                None if r[6] is None else int(r[6]),
                r[7],
            )
            for r in rows
        ]

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
            return self._snapshot(cur, subdomain)

    def _snapshot(self, cur: Any, subdomain: str) -> AuditSnapshot:
        return self._snapshot_of(subdomain, self._read_parts(cur, subdomain))

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
            "audit": "subdomain, serial, entry, hash, signature",
            "applied_plans": "plan_id, subdomain, serial, applied_at",
            "observations": "subdomain, observed_at, body",
            "change_orders": "subdomain, number, status, opened_at, expires_on, body, "
            "closed_serial, closed_at",
        }
        orders = {"accounts": "subdomain", "observations": "observed_at", "change_orders": "number"}
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
                "change_orders",
                "accounts",
                "observations",
            ):
                if table not in dump:
                    continue  # a dump made before the table existed
                columns = dump[table]["columns"]
                marks = ", ".join("?" for _ in columns.split(","))
                for row in dump[table]["rows"]:
                    cur.execute(self._q(f"INSERT INTO {table} ({columns}) VALUES ({marks})"), row)  # noqa: S608

    def dump_trust(self) -> list[list[Any]]:
        with self._read_tx() as cur:
            rows = self._rows(
                cur, "SELECT serial, entry, hash, signature FROM trust ORDER BY serial"
            )
        return [list(r) for r in rows]

    def adopt(self, trust_rows: list[list[Any]], source: Trust) -> None:
        with self._write_tx() as cur:
            mine = self._trust(cur)
            if mine is None:
                raise StateError(f"no state store at {self.url}", hint=NO_STORE_HINT)
            if mine.sandbox != source.sandbox:
                kinds = {True: "a sandbox store", False: "an ordinary store"}
                raise StateError(
                    f"cannot move accounts from {kinds[source.sandbox]} to "
                    f"{kinds[mine.sandbox]}: a store's kind is fixed, in either direction",
                    hint="nothing was moved",
                )
            if self._rows(cur, "SELECT 1 FROM accounts LIMIT 1") or mine.head[0] != 1:
                raise StateError(
                    f"the target store {self.url} is not empty",
                    hint="migrate into a store just made with zplan state init",
                )
            cur.execute("DELETE FROM trust")
            for row in trust_rows:
                cur.execute(
                    self._q(
                        "INSERT INTO trust (serial, entry, hash, signature) VALUES (?, ?, ?, ?)"
                    ),
                    row,
                )

    def mark_moved(self, target: str) -> None:
        with self._write_tx() as cur:
            cur.execute(
                self._q(
                    "INSERT INTO meta (key, value) VALUES ('moved_to', ?) "
                    "ON CONFLICT (key) DO UPDATE SET value = excluded.value"
                ),
                (target,),
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
        2,
        (
            # The key registry (zplan.trust.registry) and each audit entry's signature.
            "CREATE TABLE trust (serial INTEGER PRIMARY KEY, entry TEXT NOT NULL, "
            "hash TEXT NOT NULL, signature TEXT)",
            "ALTER TABLE audit ADD COLUMN signature TEXT",
        ),
    ),
    (
        # The live account as read through Zendesk's API (issue 15): beside the record, never
        # part of its versions or audit chain. Additive: older zplans ignore the table.
        3,
        (
            "CREATE TABLE observations (subdomain TEXT NOT NULL, observed_at TEXT NOT NULL, "
            "body TEXT NOT NULL, PRIMARY KEY (subdomain, observed_at))",
        ),
    ),
    (
        # Change orders of live accounts (issue 16): additive. One open order per account,
        # enforced by the database itself.
        4,
        (
            "CREATE TABLE change_orders (subdomain TEXT NOT NULL, number INTEGER NOT NULL, "
            "status TEXT NOT NULL, opened_at TEXT NOT NULL, expires_on TEXT NOT NULL, "
            "body TEXT NOT NULL, closed_serial INTEGER, closed_at TEXT, "
            "PRIMARY KEY (subdomain, number))",
            "CREATE UNIQUE INDEX change_orders_one_open ON change_orders (subdomain) "
            "WHERE status = 'open'",
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
