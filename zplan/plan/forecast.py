"""The next months of spend for one account, before and after its plan (issue 17).

Pure: the catalog, an ``AccountPlan`` and the plan's date in; months out. Each
month carries what is **invoiced** in it (the invoices that applying and then
renewing would produce: pending renewals and today's due-now in the first
month, each renewal on its date) and the **run rate**, the monthly equivalent
of the recurring charge in force on the month's first day (promotions
included). The renewals are priced by ``pricing.roll_over``, the same function
an apply uses to write them, so the forecast and the store cannot disagree.
"""

from __future__ import annotations

import datetime as dt
import enum
from collections.abc import Iterable, Mapping
from decimal import Decimal
from typing import Any, NamedTuple

from zplan.load.catalog import Catalog
from zplan.model import Account, AccountPlan, Invoice, PromotionRecord
from zplan.money import ZERO, fmt, to_json
from zplan.plan.pricing import add_months, monthly_list, promotion_end, recurring, roll_over

MONTHS = 12


class EventKind(enum.Enum):
    APPLY = "apply"
    PENDING_RENEWAL = "pending_renewal"
    RENEWAL = "renewal"
    PROMOTION_ENDS = "promotion_ends"
    SCHEDULED_DECREASE = "scheduled_decrease"
    SCHEDULED_INCREASE = "scheduled_increase"
    CYCLE_CHANGE = "cycle_change"
    CANCELLATION = "cancellation"


class Event(NamedTuple):
    day: dt.date
    kind: EventKind
    text: str
    amount: Decimal | None = None


class Month(NamedTuple):
    start: dt.date  # the first day counted: the plan date for the first month, else the 1st
    invoiced: Decimal
    run_rate: Decimal
    events: tuple[Event, ...] = ()

    @property
    def label(self) -> str:
        return self.start.strftime("%Y-%m")


class AccountForecast(NamedTuple):
    subdomain: str
    currency: str
    before: tuple[Month, ...]
    after: tuple[Month, ...]

    @property
    def annual_after(self) -> Decimal:
        return sum((m.invoiced for m in self.after), ZERO)

    @property
    def annual_before(self) -> Decimal:
        return sum((m.invoiced for m in self.before), ZERO)


def month_starts(today: dt.date, months: int) -> list[dt.date]:
    """The first day of each month counted: today, then the 1st of each following month."""
    first = today.replace(day=1)
    return [today] + [add_months(first, i, 1) for i in range(1, months)]


def horizon_end(today: dt.date, months: int) -> dt.date:
    """The first day after the forecast: the 1st of the month after the last one."""
    return add_months(today.replace(day=1), months, 1)


def forecast_account(
    catalog: Catalog,
    plan: AccountPlan,
    today: dt.date,
    months: int = MONTHS,
    *,
    invoiced_only: bool = False,
    events: bool = True,
) -> AccountForecast:
    """Month by month, without the plan (``before``) and with it applied (``after``).

    ``invoiced_only``: what a budget's annual ceiling needs, and no more: the run
    rates are left at zero and ``before`` is not projected (a third of the work).
    """
    pending = [r.invoice for r in plan.renewals]
    opening = [
        Event(
            today,
            EventKind.PENDING_RENEWAL,
            f"pending renewal of {r.invoice.date}: {fmt(r.invoice.total, plan.currency)}",
            r.invoice.total,
        )
        for r in plan.renewals
        if not r.ended
    ]
    current = plan.current
    rates = not invoiced_only
    if not events:
        opening = []
    before = (
        ()
        if invoiced_only and plan.changes
        else _project(
            catalog, current, plan.currency, today, months, pending, opening, rates, events
        )
    )
    if plan.changes and plan.result is not None:
        assert plan.invoice is not None
        charged = [*pending, plan.invoice]
        applied = [
            Event(
                today,
                EventKind.APPLY,
                f"planned changes applied, {fmt(plan.invoice.total, plan.currency)} due now",
                plan.invoice.total,
            )
        ][: 1 if events else 0]
        after = _project(
            catalog,
            plan.result,
            plan.currency,
            today,
            months,
            charged,
            [*opening, *applied],
            rates,
            events,
        )
    else:
        after = before
    return AccountForecast(plan.subdomain, plan.currency, before, after)


def _project(
    catalog: Catalog,
    account: Account | None,
    currency: str,
    today: dt.date,
    months: int,
    opening: list[Invoice],
    opening_events: list[Event],
    rates: bool = True,
    events_wanted: bool = True,
) -> tuple[Month, ...]:
    """Renew ``account`` through the horizon; bucket invoices and events by month."""
    end = horizon_end(today, months)
    invoiced: list[tuple[dt.date, Decimal]] = [(today, i.total) for i in opening]
    events = list(opening_events)
    states: list[tuple[dt.date, Account | None]] = [(today, account)]
    while account is not None and account.subscription is not None:
        sub = account.subscription
        if sub.term_end >= end:
            break
        day = sub.term_end
        account, renewals = roll_over(catalog, account, day, describe=False)
        for renewal in renewals:
            invoiced.append((renewal.invoice.date, renewal.invoice.total))
            if events_wanted:
                events.extend(
                    _events(catalog, sub, renewal.account, renewal.ended, renewal.invoice)
                )
        states.append((day, account if account.subscription is not None else None))
    result = []
    starts = month_starts(today, months)
    known: dict[tuple[int, tuple[bool, ...]], Decimal] = {}
    for index, start in enumerate(starts):
        stop = starts[index + 1] if index + 1 < len(starts) else end
        in_force = _state_on(states, start)
        rate = ZERO
        if rates and in_force is not None and in_force.subscription is not None:
            sub = in_force.subscription
            # Within a term the rate moves only with the promotion: price each case once.
            key = (id(in_force), _promotion_state(sub.promotion, start))
            if key not in known:
                known[key] = recurring(catalog, sub.now, currency, start, sub.promotion).monthly
            rate = known[key]
        result.append(
            Month(
                start,
                sum((amount for day, amount in invoiced if start <= day < stop), ZERO),
                rate,
                tuple(e for e in events if start <= e.day < stop),
            )
        )
    return tuple(result)


def _promotion_state(record: PromotionRecord | None, day: dt.date) -> tuple[bool, ...]:
    """What of ``day`` a recurring price depends on: whether the promotion is on, and ends."""
    if record is None:
        return ()
    end = promotion_end(record)
    return (day >= record.added_on, record.active_on(day), end is None or day < end)


def _state_on(states: list[tuple[dt.date, Account | None]], day: dt.date) -> Account | None:
    found = states[0][1]
    for since, account in states:
        if since <= day:
            found = account
    return found


def _events(
    catalog: Catalog, sub: Any, after: Account, ended: bool, invoice: Invoice
) -> list[Event]:
    """What a renewal on ``invoice.date`` changes, from the term before (``sub``)."""
    day = invoice.date
    currency = after.currency
    if ended:
        return [Event(day, EventKind.CANCELLATION, "the subscription ends (cancelled)")]
    found = [
        Event(
            day,
            EventKind.RENEWAL,
            f"renewal, {sub.next.cycle.value}: {fmt(invoice.total, currency)}",
            invoice.total,
        )
    ]
    if sub.next.cycle is not sub.now.cycle:
        found.append(
            Event(
                day,
                EventKind.CYCLE_CHANGE,
                f"billing cycle {sub.now.cycle.value} → {sub.next.cycle.value}",
            )
        )
    else:
        was = monthly_list(catalog, sub.now, currency)
        will = monthly_list(catalog, sub.next, currency)
        if will != was:
            kind = EventKind.SCHEDULED_DECREASE if will < was else EventKind.SCHEDULED_INCREASE
            found.append(
                Event(
                    day,
                    kind,
                    f"scheduled change takes effect: {fmt(will - was, currency, signed=True)}/mo "
                    "at list price",
                )
            )
    old, new = sub.promotion, after.subscription.promotion if after.subscription else None
    if old is not None and old.ended_on is None and new is not None and new.ended_on is not None:
        found.append(Event(day, EventKind.PROMOTION_ENDS, f"promotion {new.code} ends"))
    return found


def sums(forecast: AccountForecast) -> dict[str, Any]:
    """What a plan's totals need of one account: per month, the four figures (Decimals)."""
    before = forecast.before or forecast.after
    return {
        "currency": forecast.currency,
        "labels": [m.label for m in forecast.after],
        "rows": [
            (b.invoiced, a.invoiced, b.run_rate, a.run_rate)
            for b, a in zip(before, forecast.after, strict=True)
        ],
        "annual_after": forecast.annual_after,
    }


def sums_json(parts: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Per currency, the month-by-month totals of ``sums`` of several accounts (read once)."""
    totals: dict[str, list[list[Decimal]]] = {}
    labels: dict[str, list[str]] = {}
    for part in parts:
        rows = totals.setdefault(part["currency"], [[ZERO] * 4 for _ in part["rows"]])
        labels.setdefault(part["currency"], part["labels"])
        for row, figures in zip(rows, part["rows"], strict=True):
            for index in range(4):
                row[index] += figures[index]
    result = []
    for currency in sorted(totals):
        rows = totals[currency]
        result.append(
            {
                "currency": currency,
                "months": [
                    {
                        "month": label,
                        "before": {
                            "invoiced": to_json(row[0], currency),
                            "run_rate": to_json(row[2], currency),
                        },
                        "after": {
                            "invoiced": to_json(row[1], currency),
                            "run_rate": to_json(row[3], currency),
                        },
                    }
                    for label, row in zip(labels[currency], rows, strict=True)
                ],
                "annual_before": to_json(sum((r[0] for r in rows), ZERO), currency),
                "annual_after": to_json(sum((r[1] for r in rows), ZERO), currency),
            }
        )
    return result


# JSON ------------------------------------------------------------------------


def month_json(month: Month, currency: str) -> dict[str, Any]:
    return {
        "invoiced": to_json(month.invoiced, currency),
        "run_rate": to_json(month.run_rate, currency),
    }


def event_json(event: Event, currency: str) -> dict[str, Any]:
    return {
        "date": event.day.isoformat(),
        "kind": event.kind.value,
        "text": event.text,
        "amount": None if event.amount is None else to_json(event.amount, currency),
    }


def forecast_json(forecast: AccountForecast) -> dict[str, Any]:
    """One account's forecast as plain data (what workers send and ``zplan forecast`` prints)."""
    currency = forecast.currency
    return {
        "subdomain": forecast.subdomain,
        "currency": currency,
        "months": [
            {
                "month": b.label,
                "before": month_json(b, currency),
                "after": month_json(a, currency),
            }
            for b, a in zip(forecast.before or forecast.after, forecast.after, strict=True)
        ],
        "events": {
            "before": [event_json(e, currency) for m in forecast.before for e in m.events],
            "after": [event_json(e, currency) for m in forecast.after for e in m.events],
        },
        "annual_before": to_json(forecast.annual_before, currency),
        "annual_after": to_json(forecast.annual_after, currency),
    }
