"""The global options, resolved once per run (command line, then environment, then defaults).

Kept apart from the commands' core so that starting zplan loads only what
the command at hand needs: the catalog and the store are loaded when asked.

``Settings.writer`` is the one door every writing command goes through
(apply, admin, force-unlock, state migrate, state trust-key, and those to
come): it opens the store for writing (it must exist and pass the file
checks; it is never created), refuses ``--at`` on an ordinary store, takes
today's date from the store's clock, and loads the key that signs.
"""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple

from zplan.clock import Clock, parse_date
from zplan.errors import UsageError

if TYPE_CHECKING:
    from zplan.load.catalog import Catalog
    from zplan.state.base import Mode, Store
    from zplan.trust.keys import Role, Signer
    from zplan.trust.registry import Trust


class Writer(NamedTuple):
    """What a writing command holds: the store, its clock, the key that signs, the registry."""

    store: Store
    clock: Clock
    signer: Signer
    trust: Trust


class Settings(NamedTuple):
    """Global options, resolved: command line first, then the environment, then defaults."""

    state: str | None
    catalog_path: str | None
    clock: Clock
    actor: str | None
    color: bool
    at: str | None = None  # --at / ZPLAN_NOW as given (a write checks it against the real date)

    def catalog(self) -> Catalog:
        from zplan.load.catalog import load_catalog

        return load_catalog(self.catalog_path)

    def store(self, mode: Mode | None = None) -> Store:
        """The state store, opened to read unless ``mode`` says otherwise."""
        from zplan.state import open_store
        from zplan.state.base import Mode

        return open_store(self.state, mode=mode or Mode.READ)

    @contextlib.contextmanager
    def writer(self, role: Role | None = None, *, needs_key: bool = True) -> Iterator[Writer]:
        """The store opened for a write, with the write's clock and signing key (see module)."""
        from zplan.state.base import Mode, missing_store
        from zplan.trust.keys import Role

        with self.store(Mode.WRITE) as store:
            trust = store.trust()
            if trust is None:
                raise missing_store(store.url)
            moved = store.moved_to()
            if moved:
                raise UsageError(
                    f"the state store {store.url} was moved to {moved}; it refuses every write",
                    hint=f"use --state {moved}",
                )
            clock = write_clock(self.at, store.now(), trust.sandbox)
            signer = None
            if needs_key:
                signer = signing_key(role or Role.APPLY, store, trust)
                check_registered(signer, role or Role.APPLY, store, trust)
            yield Writer(store, clock, signer, trust)  # type: ignore[arg-type]


def write_clock(at: str | None, now: dt.datetime, sandbox: bool) -> Clock:
    """The clock of a write: the store's real date, or on a sandbox store the date asked for."""
    real = now.astimezone(dt.UTC)
    if not at:
        return Clock(real.date(), real)
    asked = parse_date(at)
    if sandbox:
        return Clock.from_setting(at)  # a full timestamp stands still, as it does for plans
    if asked == real.date():
        return Clock(real.date(), real)  # naming the real date is harmless
    raise UsageError(
        f"--at / ZPLAN_NOW {at}: a write uses the real clock (today is "
        f"{real.date().isoformat()} UTC on this store); nothing was written",
        hint="only a sandbox store (zplan state init --sandbox) simulates dates; "
        "to price another date, use zplan plan --at",
    )


def signing_key(role: Role, store: Store, trust: Trust) -> Signer:
    """The private key a write signs with: from the environment, or a sandbox store's own."""
    from zplan.trust import keys

    env = keys.OPERATOR_ENV if role is keys.Role.OPERATOR else keys.SIGNING_ENV
    signer = keys.from_env(env)
    if signer is None and trust.sandbox:
        path = sandbox_key_path(store, role)
        if path.exists():
            signer = keys.load_private(str(path), f"the sandbox key {path}")
    if signer is None:
        raise UsageError(
            f"this write must be signed: set {env} to your {role.value} key (a path, or the PEM)",
            hint="make one with zplan keygen PATH; its public part must be registered in the "
            "store (zplan state init, or zplan state trust-key)",
        )
    return signer


def check_registered(signer: Signer, role: Role, store: Store, trust: Trust) -> None:
    """Refuse, before any work, a key the store does not trust for ``role``."""
    if trust.find(signer.key.id, (role,), trust.head[0]) is None:
        from zplan.errors import StateError

        raise StateError(
            f"the key {signer.key.id} (from {signer.origin}) is not a registered "
            f"{role.value} key of the state store {store.url}; nothing was written",
            hint="register it with zplan state trust-key (signed by an operator key)",
        )


def plan_key(store: Store, trust: Trust | None) -> Signer:
    """The key that signs a saved plan: ZPLAN_PLAN_KEY, else ZPLAN_SIGNING_KEY, else a sandbox's."""
    from zplan.trust import keys

    signer = keys.from_env(keys.PLAN_ENV) or keys.from_env(keys.SIGNING_ENV)
    if signer is None and trust is not None and trust.sandbox:
        path = sandbox_key_path(store, keys.Role.APPLY)
        if path.exists():
            signer = keys.load_private(str(path), f"the sandbox key {path}")
    if signer is None:
        raise UsageError(
            f"a saved plan must be signed: set {keys.PLAN_ENV} (or {keys.SIGNING_ENV})",
            hint="make a key with zplan keygen PATH and register it: zplan state trust-key "
            "PATH.pub --role plan",
        )
    return signer


def sandbox_key_path(store: Store, role: Role) -> Path:
    """Where a sandbox store keeps its own key: beside a SQLite file, or in the local .zplan/."""
    import hashlib

    from zplan.state import default_directory

    path = getattr(store, "path", None)
    if path is not None and not str(store.url).startswith("postgres"):
        return Path(path).parent / f"sandbox-{role.value}.key"
    tag = hashlib.sha256(store.url.encode()).hexdigest()[:12]
    return default_directory() / f"sandbox-{role.value}-{tag}.key"
