"""State stores: the billing system's record of each account.

``open_store(url)`` picks the backend: a path or ``sqlite:///PATH`` (the
embedded default, ``.zplan/state.db``), or ``postgresql://…``. ``migrate``
moves a store's accounts to another.

Imports only the values (``zplan.model``, ``zplan.errors``, ...) and, later,
``trust``. Never imports ``load``, ``plan``, ``apply``, ``render``,
``pipeline``, ``cli``, or click; psycopg only inside ``postgres``.
"""

from __future__ import annotations

import os
from pathlib import Path

from zplan.errors import StateError, UsageError
from zplan.state.base import Store

DEFAULT_PATH = Path(".zplan") / "state.db"
GUARD = "ZPLAN_TEST_GUARD"


def default_url() -> str:
    """The default store, unless a test run has forbidden it (tests must name their store)."""
    if os.environ.get(GUARD):
        raise StateError(
            "the default state store (.zplan/state.db) is not reachable under the test guard",
            hint="pass --state or set ZPLAN_STATE",
        )
    return str(DEFAULT_PATH)


def open_store(url: str | None, *, create: bool = True) -> Store:
    """The store at ``url``; commands that only read pass ``create=False`` (SQLite: no file made)."""
    target = url or default_url()
    if target.startswith(("postgresql://", "postgres://")):
        try:
            from zplan.state.postgres import PostgresStore
        except ImportError as exc:  # psycopg is an optional dependency
            raise UsageError(
                f"the PostgreSQL state store needs psycopg 3, which is not installed ({exc.name})",
                hint="install the extra: pip install 'zplan[postgres]'",
            ) from None
        store: Store = PostgresStore(target)
        return store
    if "://" in target and not target.startswith("sqlite:///"):
        raise UsageError(
            f"--state {target!r}: unknown kind of state store",
            hint="use a path, sqlite:///PATH or postgresql://…",
        )
    from zplan.state.sqlite import SqliteStore

    path = target.removeprefix("sqlite:///") if target.startswith("sqlite:///") else target
    return SqliteStore(Path(path), create=create)
