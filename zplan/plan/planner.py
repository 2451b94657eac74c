"""Ties loading, rules, diff and pricing into a plan for each account.

``plan_account`` is pure: the stored account (or None), the desired
subscription, the catalog and the date in; an ``AccountPlan`` out.
``build_plan`` does it for every file of a workspace against a state snapshot.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Mapping
from decimal import Decimal
from typing import Any, NamedTuple

from zplan.diagnostics import Diagnostic, Severity, sort_diagnostics
from zplan.load.catalog import Catalog
from zplan.load.document import Document
from zplan.model import (
    DOWNGRADES,
    UNSET,
    Account,
    AccountPlan,
    AccountType,
    Change,
    Config,
    Cycle,
    Desired,
    Effective,
    Invoice,
    Kind,
    Observation,
    Observed,
    Payment,
    Plan,
    ProductLine,
    Promotion,
    PromotionRecord,
    Recurring,
    Subscription,
)
from zplan.money import ZERO, fmt, round_money
from zplan.plan import outlook
from zplan.plan.diff import compare
from zplan.plan.observed import DEFAULT_MAX_AGE, assess
from zplan.plan.permissions import permission_problems, renewals_refusal
from zplan.plan.pricing import (
    eligible,
    first_purchase_lines,
    list_total,
    monthly_list,
    price_invoice,
    proration_lines,
    recurring,
    roll_over,
    term_end,
)


class Context(NamedTuple):
    catalog: Catalog
    today: dt.date
    actor: str | None = None
    # The live account (issue 15): the latest observation per subdomain, the moment the plan
    # is made (for their age), how old one may be before it is stale, and whether a reduction
    # below the seats in use is a warning instead of an error.
    observations: Mapping[str, Observation] | None = None
    plan_time: dt.datetime | None = None
    max_observation_age: float = DEFAULT_MAX_AGE
    allow_seat_loss: bool = False


def plan_account(
    ctx: Context, stored: Account | None, desired: Desired, document: Document | None = None
) -> AccountPlan:
    """The priced change set that takes the stored account to the desired subscription."""
    problems: list[Diagnostic] = []
    notes: list[str] = []

    def error(
        path: tuple[str | int, ...], code: str, message: str, hint: str | None = None
    ) -> None:
        if document is not None:
            problems.append(document.error(path, code, message, hint))
        else:
            problems.append(
                Diagnostic(
                    desired.path,
                    1,
                    1,
                    Severity.ERROR,
                    ".".join(map(str, path)),
                    code,
                    message,
                    hint,
                )
            )

    renewals: list[Any] = []
    account = stored
    unplannable = record_problems(ctx.catalog, stored, ctx.today)
    if unplannable:
        error(("products",), unplannable[0], unplannable[1], unplannable[2])
        return _unplanned(ctx, stored, desired, problems)
    if stored is not None:
        account, renewals = roll_over(ctx.catalog, stored, ctx.today)
        if stored.owner.lower() != desired.owner.lower():
            error(
                ("account", "owner"),
                "owner-change",
                f"the owner of {stored.subdomain} on record is {stored.owner}: changing "
                "account.owner is not a subscription change",
                "ownership moves in Zendesk's Admin Center; put the owner on record back in the file",
            )
        if stored.currency != desired.currency:
            error(
                ("account", "currency"),
                "currency-change",
                f"{stored.subdomain} is billed in {stored.currency}; the currency cannot change "
                "after the first purchase",
                f"write currency: {stored.currency}",
            )
        if stored.open_order is not None:
            notes.extend(_order_notes(stored, desired, ctx.today))
        for renewal in renewals:
            if renewal.ended:
                notes.append(
                    f"the subscription ended on {renewal.invoice.date.isoformat()} "
                    "(it had been cancelled)"
                )

    sub = account.subscription if account is not None else None
    if sub is None:
        result = _first_purchase(ctx, account, desired, error, notes)
    else:
        assert account is not None
        result = _change(ctx, account, sub, desired, error, notes)
    changes, invoice, after, before_rec, after_rec, proration = result

    acting_on = account if account is not None else _new_account(desired)
    if changes:
        problems.extend(permission_problems(acting_on, changes, ctx.actor, document, desired.path))
    elif renewals and ctx.actor and (refusal := renewals_refusal(acting_on, ctx.actor)):
        error(("account",), "role", *refusal)  # apply refuses it: the plan says so too
    observed = None
    observation = (ctx.observations or {}).get(desired.subdomain)
    if observation is not None:
        observed = _observed(ctx, observation, account, desired, document, problems, notes)
    drift = bool(stored is not None and changes and stored.config_sha256 == desired.sha256)
    if drift:
        notes.append(
            f"drift: this file is the one last applied to {desired.subdomain}, yet the plan has "
            f"changes: the subscription was changed elsewhere. To adopt it, run: zplan export "
            f"{desired.subdomain} -o {desired.path}"
        )
    currency = desired.currency if stored is None else stored.currency
    scheduled, run_rate, steady = _outlook(
        ctx.catalog, account, after, currency, before_rec, after_rec
    )
    estimated = outlook.estimated(ctx.catalog, _configs(desired, after, account))
    return AccountPlan(
        subdomain=desired.subdomain,
        path=desired.path,
        config_sha256=desired.sha256,
        prior=stored,
        desired=desired,
        changes=tuple(changes),
        renewals=tuple(renewals),
        invoice=invoice if changes else None,
        recurring_before=before_rec,
        recurring_after=after_rec,
        currency=currency,
        result=after,
        drift=drift,
        diagnostics=tuple(sort_diagnostics(problems)),
        notes=tuple(notes),
        hints=_hints_of(ctx.catalog, desired.config, currency),
        estimates_used=bool(estimated),  # every estimate used is named
        proration=proration,
        current=account,
        scheduled=tuple(scheduled),
        run_rate=run_rate,
        recurring_steady=steady,
        estimated=tuple(estimated),
        observed=observed,
    )


def _outlook(
    catalog: Catalog,
    account: Account | None,
    after: Account | None,
    currency: str,
    before_rec: Recurring,
    after_rec: Recurring,
) -> tuple[list[outlook.Scheduled], Recurring | None, Recurring | None]:
    """What stands scheduled, today's run rate, and the recurring figure after promotions."""
    sub = account.subscription if account is not None else None
    new = after.subscription if after is not None else None
    scheduled: list[outlook.Scheduled] = []
    run_rate: Recurring | None = None
    if sub is not None and sub.now == sub.next:
        run_rate = before_rec  # nothing scheduled (most plans): the renewal is today's run rate
    elif sub is not None:
        scheduled = outlook.scheduled(catalog, sub, new.next if new else None)
        run_rate = outlook.run_rate(catalog, sub, currency)
    steady = None
    if new is not None:
        steady = outlook.steady(catalog, new.next, currency, new.term_end, new.promotion, after_rec)
    return scheduled, run_rate, steady


def _observed(
    ctx: Context,
    observation: Observation,
    account: Account | None,
    desired: Desired,
    document: Document | None,
    problems: list[Diagnostic],
    notes: list[str],
) -> Observed:
    """Seats in use against the file (an error, or a loud warning) and the record (drift)."""
    sub = account.subscription if account is not None else None
    now = sub.now if sub is not None else None
    plan_time = ctx.plan_time or dt.datetime.combine(ctx.today, dt.time(), tzinfo=dt.UTC)
    matches = _plan_matches(ctx.catalog, observation.plan, now)
    observed, loss = assess(
        observation, now, desired.config, plan_time, ctx.max_observation_age, matches
    )
    if loss is not None:
        severity = Severity.WARNING if ctx.allow_seat_loss else Severity.ERROR
        path: tuple[str | int, ...] = ("products", loss.product, "agents")
        message = loss.message(observation.observed_at)
        hint = (
            "downgrade the agents you choose first (Admin Center > People > Team members), "
            "then run zplan refresh; or pass --allow-seat-loss"
            if severity is Severity.ERROR
            else "--allow-seat-loss: Zendesk will choose by its rule at the renewal"
        )
        if document is not None:
            problems.append(document.error(path, "seats-in-use", message, hint, severity=severity))
        else:
            problems.append(
                Diagnostic(
                    desired.path,
                    1,
                    1,
                    severity,
                    ".".join(map(str, path)),
                    "seats-in-use",
                    message,
                    hint,
                )
            )
    order = account.open_order if account is not None else None
    if order is not None and order.config_sha256 == desired.sha256:
        # The file is the open change order's: seats in use above the record but within the
        # order are the owner at work, not drift (the record moves at zplan confirm).
        in_file = observed.seats_wanted
        if in_file is not None and observation.seats_in_use <= in_file:
            kept = tuple(d for d in observed.drift if "agents holding a paid seat" not in d)
            if kept != observed.drift:
                notes.append(
                    f"Zendesk shows {observation.seats_in_use} agents holding a paid seat: more "
                    f"than the record, within change order #{order.number} ({in_file}): the "
                    f"owner may have made the change; confirm it (zplan confirm "
                    f"{desired.subdomain} --invoice-total AMOUNT)"
                )
                observed = observed._replace(drift=kept)
    for drift in observed.drift:
        notes.append(
            f"drift: {drift}. To record the live account, update the file and apply it, or "
            f"adopt it with zplan import"
        )
    if observed.stale:
        hours = observed.age_seconds / 3600
        notes.append(
            f"the observation of {desired.subdomain} is stale: read {observation.observed_at} "
            f"({hours:.1f} h ago); run zplan refresh, or plan --refresh"
        )
    return observed


def _plan_matches(catalog: Catalog, plan: str | None, now: Config | None) -> bool | None:
    """Whether the live plan name is the record's edition (None: no name was read)."""
    if plan is None or now is None:
        return None
    from zplan.plan.observed import seat_product

    product = seat_product(now)
    line = now.product(product) if product else None
    if line is None:
        return False
    edition = catalog.products[line.product].editions.get(line.edition)
    names = {line.edition.casefold()}
    if edition is not None:
        names.add(edition.name.casefold())
    live = plan.casefold()
    return live in names or any(live.endswith(" " + n) or n.endswith(" " + live) for n in names)


Progress = Callable[[str, int, int], None]  # (stage, done, total)


def _order_notes(stored: Account, desired: Desired, today: dt.date) -> list[str]:
    """What a plan says of a live account's change order still open (apply/orders.py)."""
    order = stored.open_order
    assert order is not None
    name = stored.subdomain
    if order.expired(today):
        return [
            f"change order #{order.number} (opened {order.opened_at}) expired on "
            f"{order.expires_on.isoformat()} and can no longer be confirmed: the next apply "
            "closes it and opens a new order priced that day"
        ]
    notes = [
        f"change order #{order.number} open since {order.opened_at}, waiting for the owner "
        f"(expires on {order.expires_on.isoformat()}): apply is refused until it is confirmed "
        f"(zplan confirm {name}) or withdrawn (zplan cancel-order {name})"
    ]
    if order.config_sha256 and order.config_sha256 == desired.sha256:
        notes.append(
            f"this file is the one change order #{order.number} was planned from: the changes "
            "below are the order's, waiting for the owner (not drift)"
        )
    return notes


def record_problems(
    catalog: Catalog, stored: Account | None, today: dt.date
) -> tuple[str, str, str] | None:
    """Why the stored subscription cannot be priced at all: (code, message, hint), or None.

    The record may hold what the active catalog does not sell (it was bought with
    another price book), or the date may lie before its current term: zplan
    prices from the record forward, never into its past.
    """
    sub = stored.subscription if stored is not None else None
    if stored is None or sub is None:
        return None
    for config in (sub.now, sub.next):
        for line in config.products:
            product = catalog.products.get(line.product)
            if product is None or line.edition not in product.editions:
                name = f"{line.product} {line.edition}"
                return (
                    "catalog-mismatch",
                    f"the subscription of {stored.subdomain} on record has {name}, which the "
                    f"catalog {catalog.id} does not sell",
                    "plan with the catalog it was bought with (--catalog)",
                )
            for addon_id, _ in line.addons:
                if addon_id not in catalog.addons:
                    return (
                        "catalog-mismatch",
                        f"the subscription of {stored.subdomain} on record has the add-on "
                        f"{addon_id}, which the catalog {catalog.id} does not sell",
                        "plan with the catalog it was bought with (--catalog)",
                    )
    if stored.currency not in catalog.currencies:
        return (
            "catalog-mismatch",
            f"{stored.subdomain} is billed in {stored.currency}, which the catalog "
            f"{catalog.id} does not price",
            "plan with the catalog it was bought with",
        )
    if today < sub.term_start:
        return (
            "date-before-term",
            f"{today.isoformat()} is before the current term of {stored.subdomain} (from "
            f"{sub.term_start.isoformat()}): zplan prices from the record forward",
            "plan at today's date, or a later one",
        )
    return None


def _unplanned(
    ctx: Context, stored: Account | None, desired: Desired, problems: list[Diagnostic]
) -> AccountPlan:
    """A plan that only reports why there can be none."""
    assert stored is not None
    cycle = stored.subscription.next.cycle if stored.subscription else desired.config.cycle
    zero = Recurring(cycle, ZERO, ZERO)
    return AccountPlan(
        subdomain=desired.subdomain,
        path=desired.path,
        config_sha256=desired.sha256,
        prior=stored,
        desired=desired,
        changes=(),
        renewals=(),
        invoice=None,
        recurring_before=zero,
        recurring_after=zero,
        currency=stored.currency,
        result=None,
        diagnostics=tuple(problems),
        current=stored,
    )


Result = tuple[
    list[Change], Invoice | None, Account | None, Recurring, Recurring, tuple[int, int] | None
]
ErrorFn = Callable[..., None]


def _promo_added(code: str, today: dt.date) -> Change:
    """A promotion code entered where none was: takes effect now, costs nothing itself."""
    return _setting_change(
        Kind.PROMO_ADD, "billing.promo_code", ("billing", "promo_code"), None, code, today
    )


def _setting_change(
    kind: Kind,
    address: str,
    path: tuple[str | int, ...],
    before: Any,
    after: Any,
    today: dt.date,
    reason: str | None = None,
) -> Change:
    """A change that takes effect now and costs nothing (payment, admins, promotion code)."""
    return Change(
        address, kind, before, after, Effective.NOW, today, ZERO, reason=reason, path=path
    )


def _admins_change(account: Account, desired: Desired, today: dt.date) -> list[Change]:
    if tuple(account.billing_admins) == desired.billing_admins:
        return []
    return [
        _setting_change(
            Kind.BILLING_ADMINS_CHANGE,
            "account.billing_admins",
            ("account", "billing_admins"),
            list(account.billing_admins),
            list(desired.billing_admins),
            today,
        )
    ]


def _new_account(desired: Desired) -> Account:
    return Account(
        desired.subdomain,
        AccountType.SELF_SERVICE,
        desired.owner,
        desired.billing_admins,
        desired.currency,
        "",
        0,
        None,
    )


def _first_purchase(
    ctx: Context, account: Account | None, desired: Desired, error: ErrorFn, notes: list[str]
) -> Result:
    config = desired.config
    zero = Recurring(config.cycle, ZERO, ZERO)
    if config.cancelled:
        notes.append(f"{desired.subdomain} has no subscription: there is nothing to cancel")
        return [], None, account, zero, zero, None
    base = account if account is not None else _new_account(desired)
    today = ctx.today
    end = term_end(today, config.cycle, today)
    changes = [
        Change(
            "subscription",
            Kind.SUBSCRIPTION_CREATE,
            None,
            _summary(desired),
            Effective.NOW,
            today,
            round_money(monthly_list(ctx.catalog, config, desired.currency), desired.currency),
            path=("products",),
        )
    ]
    if account is not None:
        changes.extend(_admins_change(account, desired, today))
    lines = first_purchase_lines(ctx.catalog, config, desired.currency, today, end)
    promotion = None
    if desired.promo_code is not None:
        terms = ctx.catalog.promotion(desired.promo_code)
        assert terms is not None
        promotion = PromotionRecord(terms, today, config.cycle)
        changes.append(_promo_added(terms.code, today))
        if not _check_new_promotion(
            terms, today, config.cycle, bool(eligible(promotion, lines)), config, error
        ):
            promotion = None  # refused: the plan does not price what it cannot apply
    priced = price_invoice(
        day=today,
        cycle=config.cycle,
        kind="purchase",
        lines=lines,
        currency=desired.currency,
        promotion=promotion,
        balance=base.balance,
        full_cycle=True,
    )
    ref = None if desired.payment_ref is UNSET else desired.payment_ref
    subscription = Subscription(
        today, today, end, config, config, Payment(desired.payment_method, ref), priced.promotion
    )
    after = base._replace(
        subscription=subscription,
        balance=priced.balance,
        billing_admins=desired.billing_admins,
        serial=base.serial + 1,
        config_sha256=desired.sha256,
    )
    before_rec = Recurring(config.cycle, ZERO, ZERO)
    after_rec = recurring(ctx.catalog, config, desired.currency, end, priced.promotion, lines)
    return changes, priced.invoice, after, before_rec, after_rec, None


def _change(
    ctx: Context,
    account: Account,
    sub: Subscription,
    desired: Desired,
    error: ErrorFn,
    notes: list[str],
) -> Result:
    catalog, today, currency = ctx.catalog, ctx.today, account.currency
    now, next_ = sub.now, sub.next
    target = desired.config
    if target.cancelled:
        renewing = next_._replace(cancelled=False)
        if desired.products_given and (
            target.products != renewing.products or target.cycle is not renewing.cycle
        ):
            error(
                ("products",) if desired.products_given else ("status",),
                "cancelled-products",
                "a cancelled subscription's products cannot change: with status: cancelled, "
                "products and billing.cycle must be what would renew",
                "omit products:, or write them as they renew (zplan export shows them)",
            )
        target = next_._replace(cancelled=True)
    diff = compare(catalog, currency, now, next_, target, today, sub.term_end)
    changes = list(diff.changes)
    now_after = diff.now_after or now

    # Settings that take effect now and cost nothing.
    payment = sub.payment
    if desired.payment_method != payment.method:
        changes.append(
            _setting_change(
                Kind.PAYMENT_CHANGE,
                "billing.payment",
                ("billing", "payment"),
                payment.method,
                desired.payment_method,
                today,
            )
        )
    ref = payment.ref
    if desired.payment_ref is not UNSET and (
        (desired.payment_ref is None) != (ref is None)
        or (
            desired.payment_ref is not None
            and ref is not None
            and desired.payment_ref.sha256 != ref.sha256
        )
    ):
        new_ref = desired.payment_ref
        changes.append(
            _setting_change(
                Kind.PAYMENT_CHANGE,
                "billing.payment_ref",
                ("billing", "payment_ref"),
                None if ref is None else ref.masked,
                None if new_ref is None else new_ref.masked,
                today,
            )
        )
        ref = new_ref
    changes.extend(_admins_change(account, desired, today))

    remaining = (sub.term_end - today).days
    term_days = (sub.term_end - sub.term_start).days
    lines = proration_lines(
        catalog, now, now_after, currency, remaining, term_days, (today, sub.term_end)
    )

    # Promotions: at most one; adding, replacing or removing takes effect now.
    record = sub.promotion
    new_code = desired.promo_code
    if record is not None and (new_code is None or new_code.upper() != record.code.upper()):
        # Dropping a code that has already ended is housekeeping, open to every account type.
        ended = None if record.active_on(today) else f"the promotion had ended on {record.ended_on}"
        changes.append(
            _setting_change(
                Kind.PROMO_REMOVE,
                "billing.promo_code",
                ("billing", "promo_code"),
                record.code,
                None,
                today,
                reason=ended,
            )
        )
        record = None
    newly_added = False
    if new_code is not None and record is None:
        terms = catalog.promotion(new_code)
        assert terms is not None
        record = PromotionRecord(terms, today, now.cycle)
        newly_added = True
        changes.append(_promo_added(terms.code, today))
    elif record is not None and not record.active_on(today):
        notes.append(
            f"the promotion {record.code} ended on {record.ended_on} "
            f"({_END_REASONS.get(record.end_reason or '', record.end_reason)}); "
            "it stays in the file, inert"
        )
    downgrades = [c for c in changes if c.kind in DOWNGRADES]
    if record is not None and record.terms.void_on_downgrade and downgrades:
        if newly_added:
            error(
                ("billing", "promo_code"),
                "promo-voided",
                f"the promotion {record.code} is voided by a downgrade, and this plan has one "
                f"({downgrades[0].address})",
                "add the code in a plan without the downgrade",
            )
        elif record.active_on(today):
            changes.append(
                _setting_change(
                    Kind.PROMO_REMOVE,
                    "billing.promo_code",
                    ("billing", "promo_code"),
                    record.code,
                    None,
                    today,
                    reason=f"voided by {downgrades[0].kind.value} of {downgrades[0].address}",
                )
            )
            record = record._replace(ended_on=today, end_reason="voided")
    if newly_added and record is not None:
        today_eligible = record.terms.percent_off is not None and bool(eligible(record, lines))
        first_cycle = now.cycle if today_eligible else target.cycle
        if not _check_new_promotion(
            record.terms, today, first_cycle, today_eligible, target, error
        ):
            record = None  # refused: the plan does not price what it cannot apply

    priced = price_invoice(
        day=today,
        cycle=now.cycle,
        kind="change",
        lines=lines,
        currency=currency,
        promotion=record,
        balance=account.balance,
        full_cycle=False,
    )
    before_rec = recurring(catalog, next_, currency, sub.term_end, sub.promotion)
    if target == next_ and priced.promotion == sub.promotion:
        after_rec = before_rec  # nothing that renews changes: the same renewal invoice
    else:
        after_rec = recurring(catalog, target, currency, sub.term_end, priced.promotion)
    new_sub = Subscription(
        sub.anchor,
        sub.term_start,
        sub.term_end,
        now_after,
        target,
        Payment(desired.payment_method, ref),
        priced.promotion,
    )
    if not changes:
        return [], None, account, before_rec, after_rec, (remaining, term_days)
    after = account._replace(
        subscription=new_sub,
        balance=priced.balance,
        billing_admins=desired.billing_admins,
        serial=account.serial + 1,
        config_sha256=desired.sha256,
    )
    return changes, priced.invoice, after, before_rec, after_rec, (remaining, term_days)


_END_REASONS = {
    "used": "used up",
    "expired": "its cycles are over",
    "voided": "voided by a downgrade",
    "cycle": "the billing cycle it requires changed",
}


def _check_new_promotion(
    terms: Promotion,
    today: dt.date,
    first_cycle: Cycle,
    today_eligible: bool,
    target: Config,
    error: ErrorFn,
) -> bool:
    """Check a newly added code; False (with an error each) when it is refused."""
    where = ("billing", "promo_code")
    accepted = True
    if terms.expires is not None and today > terms.expires:
        accepted = False
        error(
            where,
            "promo-expired",
            f"the promotion {terms.code} expired on {terms.expires.isoformat()}",
            "remove billing.promo_code",
        )
    if terms.requires_cycle is not None and terms.requires_cycle is not first_cycle:
        accepted = False
        error(
            where,
            "promo-cycle",
            f"the promotion {terms.code} needs {terms.requires_cycle.value} billing; the first "
            f"invoice it would discount is {first_cycle.value}",
            f"set billing.cycle: {terms.requires_cycle.value}, or remove the code",
        )
    covered = [p for p in target.product_ids if terms.covers(p)]
    if not today_eligible and (not covered or target.cancelled):
        accepted = False
        products = ", ".join(terms.applies_to or ()) or "any product"
        error(
            where,
            "promo-not-eligible",
            f"the promotion {terms.code} applies to {products}; nothing in this subscription "
            "is eligible",
            None,
        )
    return accepted


def _summary(desired: Desired) -> dict[str, Any]:
    return {
        "cycle": desired.config.cycle.value,
        "currency": desired.currency,
        "products": {p.product: p.to_json() for p in desired.config.products},
    }


_HINTS: dict[tuple[str, Config, str], tuple[str, ...]] = {}


def _hints_of(catalog: Catalog, config: Config, currency: str) -> tuple[str, ...]:
    """``_hints``, worked out once per subscription and price book: a fleet repeats itself."""
    key = (catalog.sha256, config, currency)
    found = _HINTS.get(key)
    if found is None:
        if len(_HINTS) >= 4096:
            _HINTS.clear()
        found = _HINTS[key] = tuple(_hints(catalog, config, currency))
    return found


def _hints(catalog: Catalog, config: Config, currency: str) -> list[str]:
    """Money left on the table: a cheaper Suite edition, or annual billing."""
    if config.cancelled or not config.products:
        return []
    hints = []
    for bundle in catalog.products.values():
        if not bundle.replaces:
            continue
        standalone = [p for p in config.products if p.product in bundle.replaces]
        if not standalone or config.product(bundle.id):
            continue
        # Same or better: at least each standalone product's edition, by edition id.
        floor = max(
            (bundle.editions[p.edition].rank for p in standalone if p.edition in bundle.editions),
            default=0,
        )
        agents = max(p.agents for p in standalone)
        current = Config(config.cycle, tuple(p._replace(addons=()) for p in standalone))
        current_year = list_total(catalog, current, currency) * 12 / config.cycle.months
        for edition in sorted(bundle.editions.values(), key=lambda e: e.rank):
            if edition.rank < floor or config.cycle not in edition.price.get(currency, {}):
                continue
            suite = Config(config.cycle, (ProductLine(bundle.id, edition.id, agents),))
            suite_year = list_total(catalog, suite, currency) * 12 / config.cycle.months
            if suite_year < current_year:
                names = ", ".join(p.product for p in standalone)
                hints.append(
                    f"{edition.name} with {agents} agents would cost "
                    f"{fmt(current_year - suite_year, currency)} a year less than {names} "
                    f"({fmt(suite_year, currency)} instead of {fmt(current_year, currency)} a year)"
                )
            break
    if config.cycle is Cycle.MONTHLY:
        annual = config._replace(cycle=Cycle.ANNUAL)
        sold = all(
            Cycle.ANNUAL in catalog.products[p.product].editions[p.edition].price.get(currency, {})
            for p in config.products
        )
        if sold:
            monthly_year = list_total(catalog, config, currency) * 12
            annual_year = list_total(catalog, annual, currency)
            if annual_year < monthly_year:
                hints.append(
                    f"annual billing would save {fmt(monthly_year - annual_year, currency)} a year "
                    f"({fmt(annual_year, currency)} instead of {fmt(monthly_year, currency)})"
                )
    return hints


def _configs(desired: Desired, after: Account | None, current: Account | None) -> list[Config]:
    """Every subscription the plan prices: the file, and today and at renewal before and after."""
    configs = [desired.config]
    for account in (after, current):
        if account is not None and account.subscription is not None:
            for config in (account.subscription.now, account.subscription.next):
                if config not in configs:  # most plans change nothing: the same config 5 times
                    configs.append(config)
    return configs


def build_plan(
    ctx: Context,
    entries: Iterable[tuple[Desired, Document | None]],
    accounts: Callable[[str], Account | None],
    created_at: str,
    diagnostics: Iterable[Diagnostic] = (),
    notes: Iterable[str] = (),
    unmanaged: Iterable[str] = (),
    progress: Progress | None = None,
) -> Plan:
    """A plan over several accounts, each against its stored state."""
    todo = list(entries)
    plans = []
    for desired, document in todo:
        plans.append(plan_account(ctx, accounts(desired.subdomain), desired, document))
        if progress is not None:
            progress("planning", len(plans), len(todo))
    return Plan(
        priced_on=ctx.today,
        created_at=created_at,
        catalog_id=ctx.catalog.id,
        catalog_sha256=ctx.catalog.sha256,
        accounts=tuple(plans),
        notes=tuple(notes),
        diagnostics=tuple(diagnostics),
        unmanaged=tuple(unmanaged),
    )


def total_due(plans: Iterable[AccountPlan]) -> dict[str, Decimal]:
    totals: dict[str, Decimal] = {}
    for plan in plans:
        due = plan.due_now + sum((r.invoice.total for r in plan.renewals), ZERO)
        totals[plan.currency] = totals.get(plan.currency, ZERO) + due
    return totals
