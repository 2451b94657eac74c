"""State stores: the billing system's record of each account.

``open_store(url)`` picks the backend: a path or ``sqlite:///PATH`` (the
embedded default, ``.zplan/state.db`` found from the current directory up to
the git work tree's top), or ``postgresql://…``; ``Mode`` says whether the
command reads, writes, or creates the store (``state init``). ``migrate``
moves a store's accounts to another.

Imports only the values (``zplan.model``, ``zplan.errors``, ...) and ``trust``
(keys and the key registry). Never imports ``load``, ``plan``, ``apply``,
``render``, ``pipeline``, ``cli``, or click; psycopg only inside ``postgres``.
"""

from __future__ import annotations

import os
from pathlib import Path

from zplan.errors import StateError, UsageError
from zplan.state.base import Mode, Store

GUARD = "ZPLAN_TEST_GUARD"


def default_url() -> str:
    """The default store (``zplan.state.files.discover``), unless a test run has forbidden it."""
    if os.environ.get(GUARD):
        raise StateError(
            "the default state store (.zplan/state.db) is not reachable under the test guard",
            hint="pass --state or set ZPLAN_STATE",
        )
    from zplan.state.files import discover

    return str(discover())


def default_directory() -> Path:
    """The directory of the default store (``.zplan/`` at the top of the work tree)."""
    from zplan.state.files import discover

    return discover().parent


def open_store(url: str | None, *, mode: Mode = Mode.WRITE) -> Store:
    """The store at ``url``: to read (never creates), to write (must exist), or to create."""
    target = url or default_url()
    if target.startswith(("postgresql://", "postgres://")):
        try:
            from zplan.state.postgres import PostgresStore
        except ImportError as exc:  # psycopg is an optional dependency
            raise UsageError(
                f"the PostgreSQL state store needs psycopg 3, which is not installed ({exc.name})",
                hint="install the extra: pip install 'zplan[postgres]'",
            ) from None
        store: Store = PostgresStore(target, mode=mode)
        if getattr(store, "empty", False):  # a read of a schema zplan never made: nothing in it
            from zplan.state.sqlite import SqliteStore

            return SqliteStore.memory(store.url)
        return store
    if "://" in target and not target.startswith("sqlite:///"):
        raise UsageError(
            f"--state {target!r}: unknown kind of state store",
            hint="use a path, sqlite:///PATH or postgresql://…",
        )
    from zplan.state.sqlite import SqliteStore

    path = target.removeprefix("sqlite:///") if target.startswith("sqlite:///") else target
    return SqliteStore(Path(path), mode=mode)
