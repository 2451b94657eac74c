"""The live account: read it (plan --refresh, refresh) and adopt it (import). Issue 15.

``observing`` gives a plan what it knows of the live accounts: the latest
observation recorded in the store, or, with ``--refresh``, one read now (and
not written: plans stay read-only). ``refresh`` reads and records
observations; ``import_files`` records subscriptions as they stand in
Zendesk, charging nothing. Both write through the store's ordinary write path.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import uuid
from collections.abc import Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any, NamedTuple

from zplan.errors import UsageError, ZplanError
from zplan.load.files import Workspace, read
from zplan.model import (
    UNSET,
    Account,
    Desired,
    Duration,
    Observation,
    Payment,
    PromotionRecord,
    Subscription,
)
from zplan.money import ZERO, round_money, to_json
from zplan.pipeline.settings import Settings, Writer
from zplan.plan.observed import DEFAULT_MAX_AGE, Observing
from zplan.state.base import LockInfo, StaleState, Store, VersionWrite

# What the subscription schema allows: it goes into the account's URL.
SUBDOMAIN = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?")
URL_ENV = "ZPLAN_ZENDESK_URL"
CREDENTIALS_ENV = "ZPLAN_ZENDESK_CREDENTIALS"


class LiveOptions(NamedTuple):
    """The command line's choices about the live account."""

    refresh: bool = False
    url: str | None = None
    credentials: str | None = None
    timeout: float = 30.0
    read_plan: bool = False
    allow_seat_loss: bool = False
    max_age: float = DEFAULT_MAX_AGE


# Reading ---------------------------------------------------------------------


def read_live(
    subdomains: Sequence[str], live: LiveOptions, settings: Settings
) -> list[Observation]:
    """Read every account now (concurrently); one clear error when any cannot be read."""
    from zplan.zendesk.client import DEFAULT_URL, ReadSettings, read_many
    from zplan.zendesk.credentials import resolve

    wanted = sorted(set(subdomains))
    if not wanted:
        return []
    credentials = resolve(wanted, live.credentials or os.environ.get(CREDENTIALS_ENV) or None)
    url = live.url or os.environ.get(URL_ENV) or DEFAULT_URL
    _check_url(url)
    options = ReadSettings(url=url, timeout=live.timeout, read_plan=live.read_plan)
    found = read_many([credentials[s] for s in wanted], options, settings.clock.timestamp)
    return [found[s] for s in wanted]


def _check_url(url: str) -> None:
    """https, or plain http to this machine only (a test server): tokens go in the clear."""
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    local = parts.hostname in ("127.0.0.1", "localhost", "::1")
    if (parts.scheme == "https" and parts.hostname) or (parts.scheme == "http" and local):
        return
    raise UsageError(
        f"--zendesk-url / {URL_ENV}: {url!r} is not an https URL",
        hint="e.g. https://{subdomain}.zendesk.com (plain http only to 127.0.0.1 or localhost)",
    )


def observing(
    store: Store, settings: Settings, live: LiveOptions, subdomains: Sequence[str] = ()
) -> Observing:
    """The observations a plan reads: recorded ones, or (``--refresh``) read now, unrecorded."""
    if live.refresh:
        observations = {o.subdomain: o for o in read_live(subdomains, live, settings)}
    else:
        observations = store.observations()
    return Observing(observations, settings.clock.now_utc(), live.max_age, live.allow_seat_loss)


def refresh(
    targets: Sequence[str], settings: Settings, live: LiveOptions, store: Store
) -> list[Observation]:
    """Read the accounts named (files, directories or subdomains; none: all on record) and
    record each observation beside its record."""
    subdomains = _targets(targets, settings, store)
    on_record = set(store.subdomains())
    missing = [s for s in subdomains if s not in on_record]
    if missing:
        raise ZplanError(
            f"{', '.join(missing[:10])} {'is' if len(missing) == 1 else 'are'} not on record in "
            f"{store.url}: an observation is kept beside an account's record",
            hint="adopt the account first: zplan import FILE",
        )
    observations = read_live(subdomains, live, settings)
    for observation in observations:
        store.record_observation(observation)
    return observations


def _targets(targets: Sequence[str], settings: Settings, store: Store) -> list[str]:
    if not targets:
        return store.subdomains()
    paths = [t for t in targets if Path(t).exists()]
    names = [t for t in targets if not Path(t).exists()]
    for name in names:
        if not SUBDOMAIN.fullmatch(name):
            raise UsageError(f"{name!r} is neither a file, a directory nor a subdomain")
    found = list(names)
    if paths:
        workspace = read(paths, settings.catalog(), settings.clock.today())
        _refuse_errors(workspace)
        found += [f.desired.subdomain for f in workspace.subscriptions if f.desired is not None]
    return sorted(set(found))


def subdomains_of(workspace: Workspace) -> list[str]:
    return [f.desired.subdomain for f in workspace.subscriptions if f.desired is not None]


def _refuse_errors(workspace: Workspace) -> None:
    errors = [d for d in workspace.all_diagnostics if d.is_error]
    if errors:
        first = errors[0]
        more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
        raise UsageError(
            f"{first.file}:{first.line}:{first.column}: {first.path}: {first.message}{more}",
            hint="zplan validate shows every problem",
        )


# Import ----------------------------------------------------------------------


class ImportTerms(NamedTuple):
    term_start: dt.date | None
    balance: Decimal
    promo_uses: int | None


def import_terms(term_start: str | None, balance: str, promo_uses: int | None) -> ImportTerms:
    """The import's options, checked (one clear line each)."""
    from zplan.clock import parse_date
    from zplan.money import parse_amount

    start = None if term_start is None else parse_date(term_start, what="--term-start")
    try:
        amount = parse_amount(balance)
    except ValueError:
        raise UsageError(f"--balance {balance!r}: not an amount", hint="e.g. 120.00") from None
    return ImportTerms(start, amount, promo_uses)


class Imported(NamedTuple):
    account: Account
    path: str


def import_files(
    paths: Sequence[str], settings: Settings, writer: Writer, actor: str, terms: ImportTerms
) -> list[Imported]:
    """Record each file's subscription as it stands in Zendesk today; nothing is charged.

    Every check runs for every file before anything is written; then each account is
    one transaction (a version of kind ``import`` and its audit entry)."""
    store = writer.store
    catalog = settings.catalog()
    today = settings.clock.today()
    workspace = read(paths, catalog, today)
    _refuse_errors(workspace)
    desired = [f.desired for f in workspace.subscriptions if f.desired is not None]
    if not desired:
        raise UsageError("no subscription file to import", hint="name the account's file")
    start = terms.term_start or today
    accounts = [_imported(d, actor, start, terms, settings, catalog) for d in desired]
    from zplan.apply.gitinfo import commits_for
    from zplan.apply.session import Provenance

    provenance = Provenance.from_env(actor)
    git = commits_for([d.path for d in desired], provenance.env_commit)
    info = LockInfo.mine(actor, "import", settings.clock.timestamp())
    done = []
    with store.locked([d.subdomain for d in desired], info, 0):
        for d in desired:
            if (held := store.account(d.subdomain)) is not None:
                raise _on_record(held, d)
        for d, account in zip(desired, accounts, strict=True):
            write = _version(d, account, actor, terms, settings, provenance, git.get(d.path, {}))
            try:
                store.write(d.subdomain, None, [write], None, writer.signer)
            except StaleState:
                raise _on_record(store.account(d.subdomain), d) from None
            done.append(Imported(account, d.path))
    return done


def _on_record(held: Account | None, desired: Desired) -> ZplanError:
    serial = f" (serial {held.serial})" if held is not None else ""
    return ZplanError(
        f"{desired.subdomain} is already on record{serial}: import adopts an account zplan "
        "does not know yet",
        hint=f"zplan plan {desired.path} shows how the file differs from the record",
    )


def _imported(
    desired: Desired,
    actor: str,
    start: dt.date,
    terms: ImportTerms,
    settings: Settings,
    catalog: Any,
) -> Account:
    from zplan.plan.pricing import add_months, term_end

    today = settings.clock.today()
    where = f"{desired.path}: {desired.subdomain}"
    if actor.lower() != desired.owner.lower():
        raise ZplanError(
            f"{where}: only the account owner ({desired.owner}) may import it; the actor is {actor}",
            hint="run it as the owner: --actor / ZPLAN_ACTOR / git config user.email",
        )
    if not desired.products_given:
        raise UsageError(
            f"{where}: the file lists no products: import records what the Admin Center shows",
            hint="write products: as Account > Billing > Subscription lists them",
        )
    config = desired.config
    if start > today:
        raise UsageError(
            f"--term-start {start.isoformat()} is after today ({today.isoformat()})",
            hint="give the date the current term began (the last renewal)",
        )
    end = term_end(start, config.cycle, start)
    if end <= today:
        raise UsageError(
            f"--term-start {start.isoformat()} is more than one {config.cycle.value} cycle ago: "
            f"that term ended on {end.isoformat()}",
            hint="give the latest renewal date (the start of the current term), as the Admin "
            "Center's next billing date less one cycle",
        )
    promotion = None
    if desired.promo_code is not None:
        promo = catalog.promotion(desired.promo_code)
        promotion = _promotion(promo, start, config.cycle, terms.promo_uses, where, add_months)
    if terms.balance < 0:
        raise UsageError(f"--balance {terms.balance}: an account credit is not negative")
    balance = round_money(terms.balance, desired.currency)
    ref = None if desired.payment_ref is UNSET else desired.payment_ref
    subscription = Subscription(
        start,
        start,
        end,
        config._replace(cancelled=False),
        config,
        Payment(desired.payment_method, ref),
        promotion,
    )
    from zplan.plan.planner import _new_account  # the account a first purchase would make

    return _new_account(desired)._replace(
        lineage=str(uuid.uuid4()),
        serial=1,
        subscription=subscription,
        balance=balance,
        config_sha256=desired.sha256,
        live=True,  # it exists in Zendesk: applies open change orders (docs/change-orders.md)
    )


def _promotion(
    terms: Any, start: dt.date, cycle: Any, uses: int | None, where: str, add_months: Any
) -> PromotionRecord:
    """The file's promotion, with as many of its invoices already used as the owner says."""
    duration: Duration = terms.duration
    if duration.kind == "forever":
        return PromotionRecord(terms, start, cycle)
    if uses is None:
        limit = "one invoice" if duration.kind == "once" else f"{duration.cycles} cycles"
        raise UsageError(
            f"{where}: the promotion {terms.code} lasts {limit}; say how many of its invoices "
            "were already discounted",
            hint="pass --promo-uses N (Zendesk's invoices show the discount lines)",
        )
    total = 1 if duration.kind == "once" else duration.cycles
    if uses < 0 or uses > total:
        raise UsageError(f"--promo-uses {uses}: the promotion {terms.code} covers {total}")
    if uses >= total:
        reason = "used" if duration.kind == "once" else "expired"
        return PromotionRecord(terms, start, cycle, ended_on=start, end_reason=reason)
    if duration.kind == "once":
        return PromotionRecord(terms, start, cycle)
    # Added as many cycles before this term as it has been used, so that it ends on time.
    added = add_months(start, -uses * cycle.months, start.day)
    return PromotionRecord(terms, added, cycle)


def _version(
    desired: Desired,
    account: Account,
    actor: str,
    terms: ImportTerms,
    settings: Settings,
    provenance: Any,
    git: dict[str, Any],
) -> VersionWrite:
    now = settings.clock.timestamp()
    zero = to_json(ZERO, account.currency)
    assert account.subscription is not None
    invoice: dict[str, Any] = {
        "date": settings.clock.today().isoformat(),
        "cycle": account.subscription.now.cycle.value,
        "kind": "import",
        "lines": [],
        "subtotal": zero,
        "balance_applied": zero,
        "balance_created": zero,
        "total": zero,
        "payment": None,
        "plan_id": None,
    }
    audit = {
        "subdomain": desired.subdomain,
        "actor": actor,
        "plan_id": None,
        "lineage": account.lineage,
        "changes": [],
        "note": f"imported by {actor} from {desired.path}",
        "amounts": {"currency": account.currency, "total": zero},
        "import": {
            "term_start": account.subscription.term_start.isoformat(),
            "term_end": account.subscription.term_end.isoformat(),
            "balance": to_json(account.balance, account.currency),
            "promo_uses": terms.promo_uses,
        },
        "config_path": desired.path,
        "config_sha256": desired.sha256,
        "ci_run_url": provenance.ci_run_url,
        **git,
    }
    return VersionWrite(account, "import", now, invoice, audit, settings.clock.today().isoformat())
