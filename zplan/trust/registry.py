"""The store's key registry: a hash-chained log of the public keys it trusts, and of what it is.

Entry 1 is written by ``zplan state init``: the store's id, whether it is a
sandbox (fixed for ever), and the public keys it starts with. Every later
entry adds or retires keys and must be signed by an operator key already
registered (``zplan state trust-key``): an apply or plan key cannot register
or replace a key. Each audit entry names the registry entry (serial and
hash) in force when it was written, so rewriting the registry (to flip the
sandbox flag, or to slip in a key) breaks every signed audit entry after it.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from typing import Any, NamedTuple

from zplan.errors import StateError
from zplan.trust.keys import PublicKey, Role, Signer, signature_key, verify


class KeyRecord(NamedTuple):
    key: PublicKey
    role: Role
    since: int  # registry serial that added it
    until: int | None = None  # registry serial that retired it

    def active_at(self, serial: int) -> bool:
        return self.since <= serial and (self.until is None or serial < self.until)


class Trust(NamedTuple):
    """The registry, replayed and checked."""

    store_id: str
    sandbox: bool
    created_at: str
    keys: tuple[KeyRecord, ...]
    hashes: dict[int, str]  # serial -> hash

    @property
    def head(self) -> tuple[int, str]:
        serial = max(self.hashes)
        return serial, self.hashes[serial]

    def find(self, key_id: str, roles: Sequence[Role], at: int) -> KeyRecord | None:
        for record in self.keys:
            if record.key.id == key_id and record.role in roles and record.active_at(at):
                return record
        return None

    def active(self, role: Role) -> list[KeyRecord]:
        serial = self.head[0]
        return [r for r in self.keys if r.role is role and r.active_at(serial)]


class TrustError(StateError):
    """The key registry does not verify."""


def canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def entry_hash(previous: str, entry: dict[str, Any]) -> str:
    return hashlib.sha256((previous + canonical(entry)).encode()).hexdigest()


def key_json(key: PublicKey, role: Role) -> dict[str, str]:
    return {"id": key.id, "role": role.value, "public": key.public}


def init_entry(
    store_id: str, sandbox: bool, keys: Sequence[tuple[PublicKey, Role]], time: str
) -> dict[str, Any]:
    return {
        "serial": 1,
        "kind": "init",
        "store_id": store_id,
        "sandbox": sandbox,
        "time": time,
        "keys": [key_json(k, r) for k, r in keys],
    }


def change_entry(
    trust: Trust,
    add: Sequence[tuple[PublicKey, Role]],
    retire: Sequence[str],
    actor: str,
    signer: Signer,
    time: str,
) -> dict[str, Any]:
    serial, previous = trust.head
    return {
        "serial": serial + 1,
        "kind": "trust-key",
        "store_id": trust.store_id,
        "time": time,
        "actor": actor,
        "key": signer.key.id,
        "keys": [key_json(k, r) for k, r in add],
        "retire": list(retire),
        "previous_hash": previous,
    }


def replay(
    rows: Sequence[tuple[int, str, str, str | None]], *, signatures: bool = True
) -> Trust | None:
    """The registry from its rows (serial, entry JSON, hash, signature); None when empty.

    ``signatures=False`` checks the hash chain only: enough to name the store and
    its kind in a plan's header, without loading ``cryptography``.
    """
    if not rows:
        return None
    previous = ""
    trust: Trust | None = None
    keys: list[KeyRecord] = []
    hashes: dict[int, str] = {}
    for index, (serial, text, stored_hash, signature) in enumerate(rows, start=1):
        try:
            entry = json.loads(text)
        except ValueError:
            raise TrustError(f"key registry entry {serial} is not valid JSON") from None
        if serial != index or not isinstance(entry, dict) or entry.get("serial") != serial:
            raise TrustError(f"key registry entry {index} is missing or out of place")
        if entry_hash(previous, entry) != stored_hash:
            raise TrustError(f"key registry entry {serial} does not match its hash: it was edited")
        if serial == 1:
            if entry.get("kind") != "init":
                raise TrustError("key registry entry 1 is not the store's init entry")
            keys = [_record(k, 1) for k in entry.get("keys") or []]
            trust = Trust(
                str(entry.get("store_id")),
                entry.get("sandbox") is True,
                str(entry.get("time")),
                (),
                {},
            )
            if signature is not None and signatures:
                probe = trust._replace(keys=tuple(keys), hashes={1: stored_hash})
                _check_signature(probe, signature, stored_hash, serial, (Role.APPLY,), 1)
        else:
            assert trust is not None
            if entry.get("kind") != "trust-key" or entry.get("store_id") != trust.store_id:
                raise TrustError(f"key registry entry {serial} is not a key change of this store")
            current = trust._replace(keys=tuple(keys), hashes=dict(hashes))
            if signatures:
                _check_signature(
                    current, signature, stored_hash, serial, (Role.OPERATOR,), serial - 1
                )
            retired = set(entry.get("retire") or [])
            keys = [
                r._replace(until=serial) if r.key.id in retired and r.until is None else r
                for r in keys
            ]
            keys += [_record(k, serial) for k in entry.get("keys") or []]
        hashes[serial] = stored_hash
        previous = stored_hash
    assert trust is not None
    return trust._replace(keys=tuple(keys), hashes=hashes)


def _record(data: Any, since: int) -> KeyRecord:
    try:
        key = PublicKey(str(data["id"]), str(data["public"]))
        return KeyRecord(key, Role(data["role"]), since)
    except (KeyError, TypeError, ValueError):
        raise TrustError(f"key registry entry {since} holds a malformed key") from None


def _check_signature(
    trust: Trust,
    signature: str | None,
    digest: str,
    serial: int,
    roles: Sequence[Role],
    at: int,
) -> None:
    if not signature:
        raise TrustError(f"key registry entry {serial} is not signed")
    key_id = signature_key(signature) or ""
    record = trust.find(key_id, roles, at)
    if record is None or not verify(record.key, digest.encode(), signature):
        raise TrustError(
            f"key registry entry {serial} is not signed by a registered "
            f"{' or '.join(r.value for r in roles)} key"
        )
