"""The global options, resolved once per run (command line, then environment, then defaults).

Kept apart from the commands' core so that starting zplan loads only what
the command at hand needs: the catalog and the store are loaded when asked.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, NamedTuple

from zplan.clock import Clock

if TYPE_CHECKING:
    from zplan.load.catalog import Catalog
    from zplan.state.base import Store


class Settings(NamedTuple):
    """Global options, resolved: command line first, then the environment, then defaults."""

    state: str | None
    catalog_path: str | None
    clock: Clock
    actor: str | None
    color: bool

    def catalog(self) -> Catalog:
        from zplan.load.catalog import load_catalog

        return load_catalog(self.catalog_path)

    def store(self, *, create: bool = True) -> Store:
        """The state store; ``create=False`` for commands that only read."""
        from zplan.state import open_store

        return open_store(self.state, create=create)
