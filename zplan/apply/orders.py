"""Change orders: what ``apply`` writes for a live account, and how the record moves later.

Zendesk has no API that changes a subscription: the owner (or the account
manager, for a managed account) makes the change in the Admin Center. So for
a *live* account (imported, or marked with ``zplan admin account NAME
--live``) apply does not write a charge. It writes a *change order*: a
version of kind ``change_order`` (status ``open``) holding the exact changes,
the expected invoice, the recurring totals and the Admin Center steps in the
owner's words. ``zplan confirm`` closes it once the owner has made the change
(the changes are repriced at the day the owner acted and compared with the
invoice to the cent); only then does the record move, in one transaction with
its audit entry. ``zplan cancel-order`` withdraws it.

An order expires at the next renewal or after ``DEFAULT_MAX_AGE_DAYS`` days,
whichever comes first: after that it cannot be confirmed, and the next apply
closes it (status ``expired``) and opens a new one priced that day.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from decimal import Decimal
from typing import Any, NamedTuple

from zplan.apply.checklist import Names, steps
from zplan.apply.planfile import change_json, invoice_json
from zplan.clock import Clock
from zplan.errors import RefusedError, StateError, UsageError, ZplanError
from zplan.load.catalog import Catalog
from zplan.model import Account, AccountPlan, Desired, OpenOrder
from zplan.money import ZERO, fmt, round_money, to_json
from zplan.plan.permissions import permission_problems
from zplan.plan.planner import Context, plan_account
from zplan.state.base import LockInfo, Store, VersionWrite, canonical, sha256_text

DEFAULT_MAX_AGE_DAYS = 7
FORMAT = "1"


def expires_on(priced_on: dt.date, account: Account, max_age_days: int) -> dt.date:
    """The first day the order can no longer be confirmed: the next renewal, or the age."""
    limit = priced_on + dt.timedelta(days=max_age_days)
    sub = account.subscription
    if sub is not None and sub.term_end > priced_on:
        limit = min(limit, sub.term_end)
    return limit


# Building an order -------------------------------------------------------


def later_days(
    catalog: Catalog,
    stored: Account,
    desired: Desired,
    priced_on: dt.date,
    expires: dt.date,
    actor: str | None,
) -> list[tuple[str, str]]:
    """What is due on each later day the order may still be confirmed."""
    out = []
    day = priced_on + dt.timedelta(days=1)
    while day < expires:
        again = plan_account(Context(catalog, day, actor), stored, desired)
        out.append((day.isoformat(), to_json(again.due_now, again.currency)))
        day += dt.timedelta(days=1)
    return out


def preview(plan: AccountPlan, catalog: Catalog) -> dict[str, Any] | None:
    """The checklist a plan of a live account shows (PR comment: "What the owner will do")."""
    if plan.prior is None or not plan.prior.live or not plan.changes or plan.invoice is None:
        return None
    return steps(_plan_account_json(plan), Names(catalog), priced_on=plan.invoice.date.isoformat())


def body_sha256(body: dict[str, Any]) -> str:
    """The order's hash, as its opening audit entry records it (the entry is what is signed)."""
    return sha256_text(canonical(body))


def check_body(store: Store, subdomain: str, number: int, body: dict[str, Any]) -> None:
    """The stored order must be the one its audit entry recorded, unedited."""
    version = store.version(subdomain, number)
    recorded = ((version.audit or {}).get("order") or {}) if version is not None else {}
    if recorded.get("status") != "open" or recorded.get("sha256") != body_sha256(body):
        raise StateError(
            f"change order #{number} of {subdomain} does not match its audit entry: it was edited",
            hint=f"run zplan history {subdomain} --verify; withdraw the order and plan again",
        )


class OrderContext(NamedTuple):
    catalog: Catalog
    clock: Clock
    actor: str
    max_age_days: int = DEFAULT_MAX_AGE_DAYS


def live_versions(
    plan: AccountPlan,
    plan_id: str,
    base_audit: dict[str, Any],
    renewal_writes: Sequence[VersionWrite],
    ctx: OrderContext,
) -> tuple[list[VersionWrite], dict[str, Any] | None]:
    """The versions an apply writes for a live account, and the new order's body (if any).

    An expired order still open is closed first (status ``expired``); the renewals due
    are written as usual; then, when the plan has changes, a new order opens. The
    subscription itself does not move: that is ``confirm``'s work.
    """
    prior = plan.prior
    assert prior is not None
    now = ctx.clock.timestamp()
    today = ctx.clock.today()
    writes: list[VersionWrite] = []
    serial = prior.serial
    account = prior
    if prior.open_order is not None:
        if not prior.open_order.expired(today):
            raise open_order_refusal(prior, today)
        serial += 1
        account = prior._replace(serial=serial, open_order=None)
        closed = {"number": prior.open_order.number, "status": "expired"}
        audit = {
            **base_audit,
            "lineage": prior.lineage,
            "changes": [],
            "order": closed,
            "note": f"change order #{prior.open_order.number} expired on "
            f"{prior.open_order.expires_on.isoformat()}; closed by the next apply",
        }
        writes.append(
            VersionWrite(account, "change_order", now, None, audit, today.isoformat(), order=closed)
        )
    for renewal in renewal_writes:
        serial += 1
        account = renewal.account._replace(serial=serial, open_order=None)
        writes.append(renewal._replace(account=account))
    if not plan.changes:
        return writes, None
    assert plan.desired is not None and plan.invoice is not None
    number = serial + 1
    current = plan.current if plan.current is not None else prior
    expires = expires_on(today, current, ctx.max_age_days)
    doc = _plan_account_json(plan)
    checklist = steps(
        doc,
        Names(ctx.catalog),
        later_days(ctx.catalog, prior, plan.desired, today, expires, ctx.actor),
        today.isoformat(),
    )
    body: dict[str, Any] = {
        "format": FORMAT,
        "kind": "change_order",
        "subdomain": plan.subdomain,
        "number": number,
        "plan": plan_id,
        "opened_by": ctx.actor,
        "opened_at": now,
        "priced_on": today.isoformat(),
        "expires_on": expires.isoformat(),
        "owner": prior.owner,
        "account_type": prior.type.value,
        "currency": plan.currency,
        "config": {"path": plan.path, "sha256": plan.config_sha256},
        "changes": doc["changes"],
        "invoice": invoice_json(plan.invoice, plan.currency),
        "totals": doc["totals"],
        "desired": plan.desired.to_json(),
        "checklist": checklist,
    }
    order = OpenOrder(number, now, today, expires, plan.due_now, plan_id, plan.config_sha256)
    opened = account._replace(serial=number, open_order=order)
    audit = {
        **base_audit,
        "lineage": prior.lineage,
        "changes": doc["changes"],
        "amounts": {
            "currency": plan.currency,
            "expected_due_now": to_json(plan.due_now, plan.currency),
        },
        "order": {"number": number, "status": "open", "sha256": body_sha256(body)},
        "config_path": plan.path,
        "config_sha256": plan.config_sha256,
        "note": f"change order #{number} opened: the record moves at zplan confirm",
    }
    row = {
        "number": number,
        "status": "open",
        "body": body,
        "opened_at": now,
        "expires_on": expires.isoformat(),
    }
    writes.append(
        VersionWrite(opened, "change_order", now, None, audit, today.isoformat(), order=row)
    )
    return writes, body


def _plan_account_json(plan: AccountPlan) -> dict[str, Any]:
    from zplan.apply.planfile import account_json

    return account_json(plan)  # without the catalog: no checklist inside the checklist


def open_order_refusal(account: Account, today: dt.date) -> RefusedError:
    order = account.open_order
    assert order is not None
    return RefusedError(
        f"{account.subdomain}: change order #{order.number} is open since {order.opened_at}, "
        f"waiting for the owner (expires on {order.expires_on.isoformat()}); nothing was applied",
        hint=f"confirm it (zplan confirm {account.subdomain} --invoice-total AMOUNT) or withdraw "
        f"it (zplan cancel-order {account.subdomain}), then plan again",
    )


# Confirm and cancel ------------------------------------------------------------------


class LiveCheck(NamedTuple):
    """What a read of the live account showed (issue 15's client)."""

    ok: bool
    lines: tuple[str, ...]


CANNOT_PROVE = (
    "the Zendesk API shows who holds a seat, not how many seats were bought: this read "
    "cannot prove the change was made"
)


def check_observation(observation: Any, body: dict[str, Any]) -> LiveCheck:
    """What the live account (issue 15's ``Observation``) says of the order's result.

    Checked: the agents holding a paid seat fit in the ordered seats; the plan name, when
    it was read, names an ordered edition. Neither proves the change was made.
    """
    products = body["desired"]["config"]["products"]
    ordered = max((int(line["agents"]) for line in products.values()), default=0)
    in_use = int(observation.seats_in_use)
    lines = [f"seats in use: {in_use} of {ordered} ordered (read {observation.observed_at})"]
    ok = in_use <= ordered
    if not ok:
        lines.append(
            f"{in_use - ordered} more agents hold a paid seat than the order leaves: "
            "the change as ordered is not what Zendesk shows"
        )
    plan = getattr(observation, "plan", None)
    if plan:
        editions = {str(line["edition"]).lower() for line in products.values()}
        named = any(edition in str(plan).lower() for edition in editions)
        lines.append(f"plan name in Zendesk: {plan}")
        if not named:
            ok = False
            lines.append(
                f"the plan name names none of the ordered editions ({', '.join(sorted(editions))})"
            )
    lines.append(CANNOT_PROVE)
    return LiveCheck(ok, tuple(lines))


class Confirmed(NamedTuple):
    subdomain: str
    number: int
    serial: int
    on: dt.date
    expected: Decimal
    charged: Decimal
    currency: str
    difference: Decimal
    verification: dict[str, Any]
    lines: tuple[str, ...]
    head: str = ""


def _locked_order(store: Store, subdomain: str) -> tuple[Account, OpenOrder, dict[str, Any]]:
    account = store.account(subdomain)
    if account is None:
        raise ZplanError(f"there is no account {subdomain} in the state store {store.url}")
    if account.open_order is None:
        raise ZplanError(
            f"{subdomain} has no open change order",
            hint=f"see zplan history {subdomain}",
        )
    row = store.change_order(subdomain, account.open_order.number)
    if row is None or row.status != "open":
        raise StateError(
            f"change order #{account.open_order.number} of {subdomain} is not in the store as "
            "open: the store is inconsistent",
            hint=f"run zplan history {subdomain} --verify",
        )
    return account, account.open_order, row.body


def parse_money(text: str, currency: str, what: str) -> Decimal:
    cleaned = text.strip().replace(",", "").lstrip("$€£¥")
    try:
        from zplan.money import parse_amount

        value = parse_amount(cleaned)
    except ValueError:
        raise UsageError(f"{what}: {text!r} is not an amount (write e.g. 3213.45)") from None
    if value != round_money(value, currency):
        raise UsageError(f"{what}: {text!r} has more decimals than {currency} uses")
    return value


def confirm(
    store: Store,
    subdomain: str,
    catalog: Catalog,
    clock: Clock,
    actor: str,
    *,
    on: dt.date | None,
    invoice_total: str | None,
    invoice_ref: str | None,
    accept_difference: str | None,
    unverified: str | None,
    live_check: Callable[[Account, dict[str, Any]], LiveCheck] | None = None,
    ci_run_url: str | None = None,
    signer: Any = None,
) -> Confirmed:
    """Close the open change order: reprice at ``on``, check, and move the record."""
    today = clock.today()
    info = LockInfo.mine(actor, "confirm", clock.timestamp())
    with store.locked([subdomain], info, 0):
        account, order, body = _locked_order(store, subdomain)
        check_body(store, subdomain, order.number, body)
        day = on or today
        if day > today:
            raise UsageError(f"--on {day.isoformat()} is in the future (today is {today})")
        if day < order.priced_on:
            raise UsageError(
                f"--on {day.isoformat()} is before the order was priced ({order.priced_on})",
                hint="give the day the owner made the change in the Admin Center",
            )
        if order.expired(today):
            raise RefusedError(
                f"{subdomain}: change order #{order.number} expired on "
                f"{order.expires_on.isoformat()} and can no longer be confirmed",
                hint=f"withdraw it (zplan cancel-order {subdomain}) and plan again; if the owner "
                "made the change, the new plan shows what is left to do",
            )
        base = account._replace(open_order=None)
        desired = Desired.from_json(
            body["desired"], body["config"]["path"], body["config"]["sha256"]
        )
        replan = plan_account(Context(catalog, day, None), base, desired)  # roles: below
        again = [change_json(c, replan.currency) for c in replan.changes]
        same = [(c["address"], c["kind"], c["before"], c["after"]) for c in again] == [
            (c["address"], c["kind"], c["before"], c["after"]) for c in body["changes"]
        ]
        if not same or replan.has_errors or replan.invoice is None or replan.renewals:
            raise RefusedError(
                f"{subdomain}: on {day.isoformat()} the order's changes no longer price as "
                f"change order #{order.number} (the subscription moved on)",
                hint=f"withdraw it (zplan cancel-order {subdomain}) and plan again",
            )
        problems = list(
            permission_problems(base, replan.changes, actor, None, body["config"]["path"])
        )
        if problems:
            raise RefusedError(
                f"{subdomain}: {actor} may not confirm change order #{order.number}: "
                f"{problems[0].message}",
                hint=problems[0].hint,
            )
        currency = replan.currency
        expected = replan.due_now
        charged = expected
        difference = ZERO
        lines: list[str] = []
        if invoice_total is not None:
            given = parse_money(invoice_total, currency, "--invoice-total")
            difference = given - expected
            if difference != 0 and accept_difference is None:
                raise RefusedError(
                    f"{subdomain}: the invoice total {fmt(given, currency)} is not the price of "
                    f"change order #{order.number} on {day.isoformat()}, {fmt(expected, currency)} "
                    f"(difference {fmt(difference, currency, signed=True)}); nothing was recorded",
                    hint="check --on and the invoice (before tax); if the invoice is right, "
                    "--accept-difference REASON records it",
                )
            charged = given
        elif accept_difference is not None:
            raise UsageError("--accept-difference needs --invoice-total")
        if live_check is not None:
            checked = live_check(account, body)
            if not checked.ok:
                raise RefusedError(
                    f"{subdomain}: the live account does not show change order "
                    f"#{order.number}: " + "; ".join(checked.lines)
                )
            verification: dict[str, Any] = {"method": "zendesk_api", "lines": list(checked.lines)}
            lines.extend(checked.lines)
        elif unverified is not None:
            verification = {"method": "unverified", "reason": unverified}
        else:
            raise UsageError(
                "zplan cannot read the live account (no Zendesk credentials), so the change is "
                "unverified",
                hint="give --unverified REASON (recorded in the audit log), or set ZENDESK_EMAIL "
                "and ZENDESK_API_TOKEN",
            )
        assert replan.result is not None and replan.invoice is not None
        serial = account.serial + 1
        result = replan.result._replace(
            serial=serial, lineage=account.lineage, live=True, open_order=None
        )
        invoice = invoice_json(replan.invoice, currency)
        invoice.update(
            total=to_json(charged, currency),
            expected_total=to_json(expected, currency),
            difference=to_json(difference, currency),
            invoice_ref=invoice_ref,
            accepted_difference=accept_difference,
            plan_id=body["plan"],
            order=order.number,
            payment=None,
        )
        audit = {
            "subdomain": subdomain,
            "actor": actor,
            "plan_id": body["plan"],
            "catalog": catalog.id,
            "lineage": account.lineage,
            "changes": again,
            "amounts": {
                "currency": currency,
                "due_now": to_json(charged, currency),
                "expected": to_json(expected, currency),
                "difference": to_json(difference, currency),
                "balance_applied": invoice["balance_applied"],
                "balance_created": invoice["balance_created"],
            },
            "order": {"number": order.number, "status": "confirmed", "on": day.isoformat()},
            "ci_run_url": ci_run_url,
            "invoice_ref": invoice_ref,
            "accepted_difference": accept_difference,
            "verification": verification,
            "config_path": body["config"]["path"],
            "config_sha256": body["config"]["sha256"],
        }
        head = store.write(
            subdomain,
            (account.lineage, account.serial),
            [
                VersionWrite(
                    result,
                    "change_order",
                    clock.timestamp(),
                    invoice,
                    audit,
                    day.isoformat(),
                    order={"number": order.number, "status": "confirmed"},
                )
            ],
            None,
            signer,
        )
    return Confirmed(
        subdomain,
        order.number,
        serial,
        day,
        expected,
        charged,
        currency,
        difference,
        verification,
        tuple(lines),
        head,
    )


def cancel(
    store: Store,
    subdomain: str,
    clock: Clock,
    actor: str,
    reason: str | None,
    ci_run_url: str | None = None,
    signer: Any = None,
) -> tuple[int, str, int, str]:
    """Withdraw the open order (recorded as ``cancelled``, or ``expired`` once past its date)."""
    info = LockInfo.mine(actor, "cancel-order", clock.timestamp())
    with store.locked([subdomain], info, 0):
        account, order, _body = _locked_order(store, subdomain)
        from zplan.plan.permissions import role_of

        if role_of(account, actor) is None:
            raise RefusedError(
                f"{subdomain}: {actor} is neither the owner nor a billing admin on record: they "
                f"may not withdraw change order #{order.number}",
                hint=f"ask the owner on record ({account.owner})",
            )
        status = "expired" if order.expired(clock.today()) else "cancelled"
        audit: dict[str, Any] = {
            "subdomain": subdomain,
            "actor": actor,
            "plan_id": order.plan_id,
            "lineage": account.lineage,
            "changes": [],
            "order": {"number": order.number, "status": status},
            "ci_run_url": ci_run_url,
            "note": f"change order #{order.number} withdrawn" + (f": {reason}" if reason else ""),
        }
        head = store.write(
            subdomain,
            (account.lineage, account.serial),
            [
                VersionWrite(
                    account._replace(serial=account.serial + 1, open_order=None),
                    "change_order",
                    clock.timestamp(),
                    None,
                    audit,
                    clock.today().isoformat(),
                    order={"number": order.number, "status": status},
                )
            ],
            None,
            signer,
        )
    return order.number, status, account.serial + 1, head


def set_live(
    store: Store, subdomain: str, clock: Clock, actor: str, signer: Any = None
) -> tuple[Account, str]:
    """``zplan admin account NAME --live``: an audited version that marks the account live."""
    info = LockInfo.mine(actor, "admin", clock.timestamp())
    with store.locked([subdomain], info, 0):
        account = store.account(subdomain)
        if account is None:
            raise ZplanError(
                f"there is no account {subdomain} in the state store",
                hint="import it (zplan import) or apply a subscription file for it first",
            )
        if account.live:
            return account, ""
        updated = account._replace(live=True, serial=account.serial + 1)
        audit = {
            "subdomain": subdomain,
            "actor": actor,
            "plan_id": None,
            "lineage": account.lineage,
            "changes": [{"address": "account.live", "before": False, "after": True}],
            "note": "marked live: applies write change orders for the owner from now on",
        }
        head = store.write(
            subdomain,
            (account.lineage, account.serial),
            [
                VersionWrite(
                    updated, "admin", clock.timestamp(), None, audit, clock.today().isoformat()
                )
            ],
            None,
            signer,
        )
    return updated, head
