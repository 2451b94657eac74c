"""Observations of the live account, beside the record, on SQLite and PostgreSQL (issue 15)."""

from __future__ import annotations

from zplan.model import Observation, SeatHolder
from zplan.state import open_store
from zplan.state.migrate import migrate

from tests.state.conftest import RawStore, StoreFactory


def seen(subdomain: str, at: str, count: int) -> Observation:
    agents = tuple(SeatHolder(i, f"Agent {i:03d}", "agent") for i in range(count))
    return Observation(subdomain, at, agents, None, f"https://{subdomain}.zendesk.com")


def test_the_latest_observation_of_each_account(store_url: str) -> None:
    with open_store(store_url) as store:
        assert store.observations() == {}
        store.record_observation(seen("acme", "2026-11-26T10:00:00Z", 3))
        store.record_observation(seen("acme", "2026-11-27T10:00:00Z", 5))
        store.record_observation(seen("beta", "2026-11-01T00:00:00Z", 1))
        latest = store.observations()
    assert set(latest) == {"acme", "beta"}
    assert latest["acme"] == seen("acme", "2026-11-27T10:00:00Z", 5)
    assert latest["acme"].seats_in_use == 5 and latest["beta"].seats_in_use == 1


def test_a_store_made_before_observations_gains_the_table(store_url: str) -> None:
    with open_store(store_url):
        pass
    with RawStore(store_url) as raw:  # back to schema version 1, as an older zplan left it
        raw.execute("DROP TABLE observations")
        raw.execute("DELETE FROM zplan_schema WHERE version = 2")
    with open_store(store_url) as store:
        store.record_observation(seen("acme", "2026-11-27T10:00:00Z", 2))
        assert store.observations()["acme"].seats_in_use == 2
    with RawStore(store_url) as raw:
        assert [r[0] for r in raw.rows("SELECT version FROM zplan_schema ORDER BY version")] == [
            1,
            2,
        ]


def test_migrate_copies_observations(store_factory: StoreFactory, store_kind: str) -> None:
    from zplan.model import Account, AccountType
    from zplan.state.base import VersionWrite

    source, target = store_factory.new(store_kind), store_factory.new("sqlite")
    account = Account("acme", AccountType.SELF_SERVICE, "o@a.example", (), "USD", "l", 1, None)
    with open_store(source) as store:
        store.write(
            "acme", None, [VersionWrite(account, "admin", "2026-11-27T00:00:00Z", None, {})], None
        )
        store.record_observation(seen("acme", "2026-11-27T10:00:00Z", 4))
    migrate(source, target)
    with open_store(target) as store:
        assert store.observations()["acme"].seats_in_use == 4
