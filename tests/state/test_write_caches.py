"""What a write remembers from the write before it cannot hide a change made in between.

An apply writes its accounts one transaction each (issue 18). To spend less per
account, a store keeps, from one write to the next: the key registry replayed and the
signing key found in it (``SqlStore._writable``, reused only while the registry's rows
read in this very transaction are the same rows), and nothing of any account's chain:
each write still reads and verifies the account's chain in its own transaction. Here
another connection changes the store between two accounts of one apply, as another
process could (SQLite's locks are rows, not a lock on the file; PostgreSQL's are
advisory locks on the accounts): the next write must see it, refuse, and write nothing
for that account.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from zplan.state import open_store
from zplan.state.base import Mode, SqlStore
from zplan.trust.keys import Role, load_private

from tests.state.conftest import OWNER, Cli, RawStore, subscription_file


def _retire_apply_key(raw: RawStore) -> None:
    """The operator retires the apply key (``zplan state trust-key``), from a connection of
    its own: a legitimate change of the registry (the test session's operator key)."""
    with open_store(raw.url, mode=Mode.WRITE) as store:
        trust = store.trust()
        assert trust is not None
        operator = load_private(os.environ["ZPLAN_OPERATOR_KEY"], "operator")
        (apply_key,) = [r.key.id for r in trust.active(Role.APPLY)]
        store.change_keys([], [apply_key], "ops@acme.example", operator)


def _edit_entry(raw: RawStore) -> None:
    raw.execute(
        'UPDATE audit SET entry = REPLACE(entry, \'"actor":"\', \'"actor":"x\') '
        "WHERE subdomain = 'globex' AND serial = 1"
    )


def _edit_state(raw: RawStore) -> None:
    raw.execute(
        "UPDATE accounts SET state = REPLACE(state, '\"agents\":5', '\"agents\":50') "
        "WHERE subdomain = 'globex'"
    )


def _edit_registry(raw: RawStore) -> None:
    raw.execute("UPDATE trust SET entry = REPLACE(entry, '\"sandbox\":true', '\"sandbox\":false')")


def _move(raw: RawStore) -> None:
    raw.execute("INSERT INTO meta (key, value) VALUES ('moved_to', 'sqlite:///elsewhere.db')")


CHANGES: dict[str, tuple[Callable[[RawStore], None], str]] = {
    "an entry edited": (_edit_entry, "does not match its hash"),
    "the current state edited": (_edit_state, "does not match entry 1"),
    "the key registry edited": (_edit_registry, "key registry entry 1 does not match its hash"),
    "the apply key retired": (_retire_apply_key, "is not a registered apply key"),
    "the store moved": (_move, "was moved to"),
}


@pytest.mark.parametrize("change", sorted(CHANGES))
def test_a_change_between_two_writes_of_one_apply_is_seen(
    cli: Cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, change: str
) -> None:
    first, second = tmp_path / "first", tmp_path / "second"
    for directory, agents in ((first, 5), (second, 9)):
        directory.mkdir()
        for subdomain in ("acme", "globex"):
            subscription_file(directory, subdomain, agents=agents, owner=OWNER)
    done = cli("apply", "--auto-approve", str(first))
    assert done.code == 0, done.output

    tamper, problem = CHANGES[change]
    written: list[str] = []
    real_write = SqlStore.write

    def write(self: SqlStore, subdomain: str, *args: Any, **kwargs: Any) -> str:
        head = real_write(self, subdomain, *args, **kwargs)
        written.append(subdomain)
        if subdomain == "acme":  # between the two accounts, another connection changes it
            with RawStore(cli.url) as raw:
                tamper(raw)
        return head

    monkeypatch.setattr(SqlStore, "write", write)
    refused = cli("apply", "--auto-approve", str(second))
    assert refused.code == 1, refused.output
    assert problem in refused.err and "globex" in refused.err, refused.err
    assert "written before it: acme" in refused.err, refused.err
    assert written == ["acme"]
    with RawStore(cli.url) as raw:
        serials = dict(raw.rows("SELECT subdomain, serial FROM accounts ORDER BY subdomain"))
        entries = raw.rows("SELECT COUNT(*) FROM audit WHERE subdomain = 'globex'")
    assert serials == {"acme": 2, "globex": 1} and entries == [(1,)]


def test_the_same_registry_is_replayed_once_per_apply(
    cli: Cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The saving itself: three accounts written, the registry replayed (and its signatures
    checked) once for all the writes."""
    from zplan.trust import registry

    for subdomain in ("acme", "globex", "initech"):
        subscription_file(tmp_path, subdomain, owner=OWNER)
    replays: list[int] = []
    real_replay = registry.replay

    def replay(rows: Any, *, signatures: bool = True) -> Any:
        replays.append(len(rows))
        return real_replay(rows, signatures=signatures)

    writes: list[str] = []
    real_write = SqlStore.write

    def write(self: SqlStore, subdomain: str, *args: Any, **kwargs: Any) -> str:
        before = len(replays)
        head = real_write(self, subdomain, *args, **kwargs)
        writes.append(f"{subdomain}:{len(replays) - before}")
        return head

    monkeypatch.setattr(registry, "replay", replay)
    monkeypatch.setattr(SqlStore, "write", write)
    done = cli("apply", "--auto-approve", str(tmp_path))
    assert done.code == 0, done.output
    assert writes == ["acme:0", "globex:0", "initech:0"]  # replayed before, for the plan
    assert replays and len(replays) <= 2
