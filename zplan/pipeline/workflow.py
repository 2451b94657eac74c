"""The commands' core: each function does one command's work and returns values to render.

Nothing here prints, prompts or imports click (the command line does that).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from zplan.diagnostics import Diagnostic
from zplan.errors import UsageError, ZplanError
from zplan.load.document import Document
from zplan.load.files import Scanned, Workspace, read, scan
from zplan.model import Account, AccountType, Desired
from zplan.pipeline.settings import Settings

if TYPE_CHECKING:
    from zplan.pipeline.bulk import Shape, Streamed
    from zplan.pipeline.guardrails import Extras
    from zplan.pipeline.live import LiveOptions
    from zplan.plan.observed import Observing
    from zplan.state.base import Store

Progress = Callable[[str, int, int], None]  # (stage, done, total)


def validate(paths: Sequence[str], settings: Settings, progress: Progress | None = None) -> Scanned:
    return scan(paths, settings.catalog(), settings.clock.today(), progress)


def entries_of(workspace: Workspace) -> list[tuple[Desired, Document | None]]:
    return [(f.desired, f.document) for f in workspace.subscriptions if f.desired is not None]


def unmanaged(store: Store, workspace: Workspace, paths: Sequence[str]) -> list[str]:
    """Accounts in the store that no file describes (reported when a directory is planned)."""
    if not any(Path(p).is_dir() for p in paths):
        return []
    described = set()
    for checked in workspace.subscriptions:
        data = checked.document.data
        if isinstance(data, dict) and isinstance(data.get("account"), dict):
            described.add(data["account"].get("subdomain"))
    return [s for s in store.subdomains() if s not in described]


def make_plan(
    paths: Sequence[str],
    settings: Settings,
    store: Store,
    *,
    save: bool = False,
    progress: Progress | None = None,
    extras: Extras | None = None,
    live: LiveOptions | None = None,
) -> dict[str, Any]:
    """The plan document for every account under ``paths``; signed when ``save`` (if applyable).

    ``extras``: policies to hold the plan against and forecast months (guardrails.py).

    With ``live``, the plan reads the live accounts: as last recorded, or read now
    (``live.refresh``, never written)."""
    from zplan.apply.planfile import sign, state_json
    from zplan.pipeline.bulk import plan_files

    document = plan_files(
        paths,
        settings.catalog(),
        settings.clock.today(),
        settings.actor,
        store,
        settings.state,
        settings.clock.timestamp(),
        progress,
        extras,
        _observing(paths, settings, store, live),
    )
    trust = store.trust(signatures=save)  # a plan to show names its store without cryptography
    document["state"] = state_json(store, trust)
    if save and document["applyable"]:  # a plan with errors is shown, never saved
        if trust is None:
            from zplan.state.base import missing_store

            raise missing_store(store.url)
        from zplan.pipeline.settings import plan_key

        document = sign(document, plan_key(store, trust))
    return document


def stream_plan(
    paths: Sequence[str],
    settings: Settings,
    store: Store,
    shape: Shape,
    *,
    progress: Progress | None = None,
    live: LiveOptions | None = None,
    extras: Extras | None = None,
) -> Streamed:
    """``make_plan`` for output that is written as it is planned (never saved, no policies):
    each account already in its ``shape``, waiting in a temporary file (bulk.plan_stream).
    ``extras``: forecast months (figures per account, summed by the shape)."""
    from zplan.apply.planfile import state_json
    from zplan.pipeline.bulk import plan_stream

    streamed = plan_stream(
        paths,
        settings.catalog(),
        settings.clock.today(),
        settings.actor,
        store,
        settings.state,
        settings.clock.timestamp(),
        shape,
        progress,
        _observing(paths, settings, store, live),
        extras,
    )
    streamed.head["state"] = state_json(store, store.trust(signatures=False))
    return streamed


def _observing(
    paths: Sequence[str], settings: Settings, store: Store, live: LiveOptions | None
) -> Observing:
    """What a plan knows of the live accounts: as last recorded, or read now (``refresh``)."""
    from zplan.pipeline.live import LiveOptions, observing, subdomains_of

    live = live or LiveOptions()
    subdomains = []
    if live.refresh:  # which accounts to read: the files' (read twice; the network dominates)
        subdomains = subdomains_of(read(paths, settings.catalog(), settings.clock.today()))
    return observing(store, settings, live, subdomains)


def make_forecast(
    paths: Sequence[str],
    settings: Settings,
    store: Store,
    months: int,
    progress: Progress | None = None,
) -> tuple[dict[str, Any], list[str]]:
    """The forecast document of every account under ``paths``, and the accounts left out."""
    from zplan.pipeline.guardrails import Extras

    document = make_plan(
        paths, settings, store, progress=progress, extras=Extras(None, months, detail=True)
    )
    problems = [
        f"{a['subdomain']}: the plan has errors, so it is not in the forecast"
        for a in document["accounts"]
        if any(d["severity"] == "error" for d in a["diagnostics"])
    ]
    problems += [
        f"{d['file']}: {d['message']}" for d in document["diagnostics"] if d["severity"] == "error"
    ]
    forecast = {
        "priced_on": document["priced_on"],
        "catalog": document["catalog"],
        **document["forecast"],
    }
    return forecast, problems


def file_problems(workspace: Workspace) -> list[Diagnostic]:
    """Diagnostics of files that give no account plan (they did not load or broke a rule)."""
    found = []
    for checked in workspace.files:
        if checked.kind.value == "catalog":
            continue  # plan and apply skip price books
        if checked.desired is None or checked.kind.value != "subscription":
            found.extend(checked.diagnostics)
        else:
            found.extend(d for d in checked.diagnostics if not d.is_error)
    return [*found, *workspace.diagnostics]


def admin_set_type(subdomain: str, account_type: str, settings: Settings) -> tuple[Account, str]:
    """Billing administration: set an account's type, as a version and an audit entry.

    Needs an actor and an operator key registered in the store (the entry names both).
    Returns the account and its new audit head's hash.
    """
    try:
        new_type = AccountType(account_type)
    except ValueError:
        raise UsageError(
            f"unknown account type {account_type!r}", hint=", ".join(t.value for t in AccountType)
        ) from None
    from zplan.pipeline.stores import require_actor
    from zplan.state.base import LockInfo
    from zplan.trust.keys import Role

    actor = require_actor(settings, "admin")
    with settings.writer(Role.OPERATOR) as writer:
        store = writer.store
        info = LockInfo.mine(actor, "admin", writer.clock.timestamp())
        with store.locked([subdomain], info, 0):
            account = store.account(subdomain)
            if account is None:
                raise ZplanError(
                    f"there is no account {subdomain} in the state store",
                    hint="apply a subscription file for it first",
                )
            if account.type is new_type:
                return account, ""
            updated = _replace_type(account, new_type)
            audit = {
                "subdomain": subdomain,
                "actor": actor,
                "plan_id": None,
                "lineage": account.lineage,
                "changes": [
                    {
                        "address": "account.type",
                        "before": account.type.value,
                        "after": new_type.value,
                    }
                ],
            }
            from zplan.state.base import VersionWrite

            version = VersionWrite(
                updated,
                "admin",
                writer.clock.timestamp(),
                None,
                audit,
                writer.clock.today().isoformat(),
            )
            head = store.write(
                subdomain, (account.lineage, account.serial), [version], None, writer.signer
            )
    return updated, head


def admin_set_live(subdomain: str, settings: Settings) -> tuple[Account, str]:
    """Mark an account live (an operator's act, like the account type): from now on, apply
    writes change orders for its owner. Returns the account and its new audit head."""
    from zplan.apply.orders import set_live
    from zplan.pipeline.stores import require_actor
    from zplan.trust.keys import Role

    actor = require_actor(settings, "admin")
    with settings.writer(Role.OPERATOR) as writer:
        return set_live(writer.store, subdomain, writer.clock, actor, writer.signer)


def _replace_type(account: Account, new_type: AccountType) -> Account:

    return account._replace(type=new_type, serial=account.serial + 1)


def rolled(store: Store, subdomain: str, settings: Settings) -> Account:
    """The account as it stands at the plan date (renewals shown, not written)."""
    from zplan.plan.planner import record_problems
    from zplan.plan.pricing import roll_over

    account = store.account(subdomain)
    if account is None:
        raise ZplanError(f"there is no account {subdomain} in the state store {store.url}")
    catalog = settings.catalog()
    problem = record_problems(catalog, account, settings.clock.today())
    if problem is not None:
        raise ZplanError(problem[1], hint=problem[2])
    return roll_over(catalog, account, settings.clock.today())[0]


def account_at(
    store: Store, subdomain: str, serial: int | None, settings: Settings
) -> tuple[Account, str | None]:
    """Version ``serial`` of an account, or (None) the account as it stands today with a
    note on the renewals due since its last version (shown, written at the next apply)."""
    if serial is not None:
        version = store.version(subdomain, serial)
        if version is None:
            raise ZplanError(f"{subdomain} has no version {serial}")
        return version.account, None
    stored = store.account(subdomain)
    account = rolled(store, subdomain, settings)
    if stored is None or account.serial == stored.serial:
        return account, None
    pending = account.serial - stored.serial
    return account, (
        f"as of {settings.clock.today().isoformat()}: {pending} renewal"
        f"{'s' if pending != 1 else ''} due since version {stored.serial}, written "
        "at the next apply (serial shows the version they will make)"
    )


def today(settings: Settings) -> dt.date:
    return settings.clock.today()


# Change orders (issue 16) ------------------------------------------------------


def confirm_order(
    subdomain: str,
    settings: Settings,
    actor: str,
    *,
    invoice_total: str | None,
    on: str | None,
    invoice_ref: str | None,
    accept_difference: str | None,
    unverified: str | None,
    live: Any = None,
) -> Any:
    """``zplan confirm``: the order's changes repriced at ``on``, checked, then recorded."""
    from zplan.apply.orders import confirm
    from zplan.apply.session import Provenance
    from zplan.clock import parse_date

    live_check = None if unverified is not None else _live_check(subdomain, settings, live)
    for flag, text in (("--unverified", unverified), ("--accept-difference", accept_difference)):
        if text is not None and not text.strip():
            raise UsageError(f"{flag} needs a reason (it is recorded in the audit log)")
    with settings.writer() as writer:
        return confirm(
            writer.store,
            subdomain,
            settings.catalog(),
            writer.clock,
            actor,
            on=None if on is None else parse_date(on, what="--on"),
            invoice_total=invoice_total,
            invoice_ref=invoice_ref,
            accept_difference=accept_difference,
            unverified=unverified,
            live_check=live_check,
            ci_run_url=Provenance.from_env(actor).ci_run_url,
            signer=writer.signer,
        )


def _live_check(subdomain: str, settings: Settings, live: Any) -> Any:
    """Read the live account at confirm when there are Zendesk credentials for it; else None
    (confirm then needs --unverified REASON)."""
    import os

    from zplan.pipeline.live import CREDENTIALS_ENV, LiveOptions, read_live
    from zplan.zendesk.credentials import resolve

    options = live if live is not None else LiveOptions()
    try:
        resolve([subdomain], options.credentials or os.environ.get(CREDENTIALS_ENV) or None)
    except UsageError:
        return None

    def check(account: Account, body: dict[str, Any]) -> Any:
        from zplan.apply.orders import check_observation

        return check_observation(read_live([subdomain], options, settings)[0], body)

    return check


def cancel_order(subdomain: str, settings: Settings, actor: str, reason: str | None) -> Any:
    """``zplan cancel-order``: withdraw the open change order (audited)."""
    from zplan.apply.orders import cancel
    from zplan.apply.session import Provenance

    run_url = Provenance.from_env(actor).ci_run_url
    with settings.writer() as writer:
        return cancel(writer.store, subdomain, writer.clock, actor, reason, run_url, writer.signer)


def find_orders(store: Store, subdomain: str | None, number: int | None) -> list[Any]:
    """The change order ``number`` of an account (default: its latest); without an account,
    every open order in the store (none is not an error)."""
    if subdomain is None:
        if number is not None:
            raise UsageError("--number needs the account")
        return list(store.open_orders())
    found = store.change_orders(subdomain)
    if number is not None:
        found = [o for o in found if o.number == number]
    if not found:
        which = f"change order #{number}" if number is not None else "change orders"
        raise ZplanError(f"{subdomain} has no {which}", hint=f"see zplan history {subdomain}")
    return [found[-1]]
