"""Change orders in the store contract, on SQLite and PostgreSQL: one open order per
account (the database refuses a second), each row checked against the audit log by
``history --verify``, and moved with its account by ``state migrate``."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.apply.orders_support import BOUGHT, Live, subscription
from tests.state.conftest import RawStore, StoreFactory

MORE = {"suite": {"edition": "professional", "agents": 12, "addons": {"copilot": 5}}}


def opened(url: str, tmp_path: Path) -> Live:
    path = subscription(tmp_path / "acme.yaml")
    live = Live(url, path, init=False)
    live.ok("apply", "--auto-approve", str(path), at=BOUGHT)
    live.ok("admin", "account", "acme", "--live", at=BOUGHT)
    subscription(path, products=MORE)
    live.ok("apply", "--auto-approve", str(path))
    return live


def test_the_database_allows_one_open_order_per_account(store_url: str, tmp_path: Path) -> None:
    opened(store_url, tmp_path)
    with RawStore(store_url) as raw:
        with pytest.raises(Exception, match=r"(?i)unique|duplicate"):
            raw.execute(
                "INSERT INTO change_orders (subdomain, number, status, opened_at, expires_on, "
                "body) VALUES ('acme', 99, 'open', 'x', 'y', '{}')"
            )
        # Closed orders may be many.
        raw.execute(
            "INSERT INTO change_orders (subdomain, number, status, opened_at, expires_on, body) "
            "VALUES ('acme', 98, 'cancelled', 'x', 'y', '{}')"
        )


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        ("UPDATE change_orders SET status = 'cancelled'", "is cancelled in the store"),
        ("UPDATE change_orders SET body = '{}'", "does not match its audit entry"),
        ("DELETE FROM change_orders", "change order #3 is missing"),
    ],
)
def test_verify_checks_orders_against_the_audit_log(
    store_url: str, tmp_path: Path, edit: str, message: str
) -> None:
    live = opened(store_url, tmp_path)
    assert live.history()["verify"]["ok"] is True
    with RawStore(store_url) as raw:
        raw.execute(edit)
    broken = live("history", "acme", "--verify")
    assert broken.code == 1 and message in broken.out


def test_migrate_moves_orders_between_backends(
    store_url: str, store_factory: StoreFactory, tmp_path: Path
) -> None:
    live = opened(store_url, tmp_path)
    target = store_factory.new("sqlite")  # from PostgreSQL: across backends
    live.ok("state", "migrate", "--from", store_url, "--to", target, at=None)
    moved = Live(target, live.file, init=False)
    assert moved.order()["number"] == 3 and moved.order()["status"] == "open"
    assert moved.history()["verify"]["ok"] is True
    refused = moved.apply()
    assert refused.code == 1 and "change order #3 is open" in refused.err
