"""Observations of the live account, beside the record, on SQLite and PostgreSQL (issue 15)."""

from __future__ import annotations

from pathlib import Path

from zplan.model import Observation, SeatHolder
from zplan.state import open_store
from zplan.state.migrate import migrate

from tests.conftest import invoke
from tests.state.conftest import RawStore, StoreFactory, subscription_file, zplan_argv


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
    with RawStore(store_url) as raw:  # back to schema version 2, as the zplan before it left it
        raw.execute("DROP TABLE observations")
        raw.execute("DROP TABLE change_orders")  # version 4 (issue 16) came after it
        raw.execute("DELETE FROM zplan_schema WHERE version >= 3")
    with open_store(store_url) as store:
        store.record_observation(seen("acme", "2026-11-27T10:00:00Z", 2))
        assert store.observations()["acme"].seats_in_use == 2
    with RawStore(store_url) as raw:
        assert [r[0] for r in raw.rows("SELECT version FROM zplan_schema ORDER BY version")] == [
            1,
            2,
            3,
            4,
        ]


def test_migrate_copies_observations(
    store_factory: StoreFactory, store_kind: str, tmp_path: Path
) -> None:
    source, target = store_factory.new(store_kind), store_factory.new(store_kind)
    applied = invoke(
        zplan_argv(source, "apply", "--auto-approve", str(subscription_file(tmp_path)))
    )
    assert applied.code == 0, applied.output
    with open_store(source) as store:
        store.record_observation(seen("acme", "2026-11-27T10:00:00Z", 4))
    migrate(source, target)
    with open_store(target) as store:
        assert store.observations()["acme"].seats_in_use == 4
