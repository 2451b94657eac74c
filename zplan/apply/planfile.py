"""The plan document: build it, sign it, verify it, read it back.

``plan_id`` is the SHA-256 of the canonical JSON of the document without
``plan_id`` and ``signature``; ``signature`` is an Ed25519 signature of the
same bytes by the plan key (``ZPLAN_PLAN_KEY``, or ``ZPLAN_SIGNING_KEY``),
whose public part the store has registered; the document names the store it
was made against (``state.store_id``). The signature proves the plan is the
one zplan wrote against this store, unedited; it does not prove who approved
it. Checking it needs only the public keys in the store.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import json
from collections.abc import Mapping
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

from zplan import __version__
from zplan.errors import PlanFileError
from zplan.model import (
    AccountPlan,
    Action,
    Change,
    Effective,
    Invoice,
    InvoiceLine,
    LineMath,
    Observed,
    Plan,
    Recurring,
)
from zplan.money import ZERO, fmt, percent_to_json, to_json

if TYPE_CHECKING:
    from zplan.load.catalog import Catalog
    from zplan.state.base import Store
    from zplan.trust.keys import Signer
    from zplan.trust.registry import Trust

FORMAT_VERSION = "1"


def canonical(document: Mapping[str, Any]) -> bytes:
    """The bytes ``plan_id`` and ``signature`` are computed over."""
    body = {k: v for k, v in document.items() if k not in ("plan_id", "signature")}
    return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def plan_id_of(document: Mapping[str, Any]) -> str:
    return "sha256:" + hashlib.sha256(canonical(document)).hexdigest()


def sign(document: dict[str, Any], signer: Signer) -> dict[str, Any]:
    """The document with its ``plan_id`` and ``signature``."""
    signed = dict(document)
    signed["plan_id"] = plan_id_of(document)
    signed["signature"] = signer.sign(canonical(document))
    return signed


def verify(document: Mapping[str, Any], trust: Trust) -> None:
    """Raise PlanFileError unless a plan or apply key of this store signed the unedited plan."""
    from zplan.trust.keys import Role, signature_key
    from zplan.trust.keys import verify as verify_signature

    signature = document.get("signature")
    if not isinstance(signature, str) or signature_key(signature) is None:
        raise PlanFileError(
            "the plan file has no signature: only plans saved by zplan plan --out can be applied"
        )
    record = trust.find(signature_key(signature) or "", (Role.PLAN, Role.APPLY), trust.head[0])
    state = document.get("state")
    made_for = state.get("store_id") if isinstance(state, dict) else None
    if record is None or made_for != trust.store_id:
        raise PlanFileError(
            "the plan file's signature does not match: it was signed by a key this state store "
            "does not trust, or it was saved against another state store",
            hint="make the plan again with zplan plan --out, against this state store",
        )
    if not verify_signature(record.key, canonical(document), signature):
        raise PlanFileError(
            "the plan file's signature does not match: it was edited after it was saved",
            hint="make the plan again with zplan plan --out, against this state store",
        )
    if document.get("plan_id") != plan_id_of(document):
        raise PlanFileError("the plan file's plan_id does not match its content")


def state_json(store: Store, trust: Trust | None) -> dict[str, Any]:
    """The plan document's ``state``: which store, and whether its dates are simulated."""
    return {
        "url": store.url,
        "sandbox": bool(trust is not None and trust.sandbox),
        "store_id": None if trust is None else trust.store_id,
    }


def read_plan_file(path: Path) -> dict[str, Any] | None:
    """The saved plan at ``path``, or None when the file is not a plan (no top-level plan_id).

    A file that claims to be a plan (a JSON object with ``plan_id``) must have the
    plan document's shape (``schemas/plan.schema.json``), or it is refused whole.
    """
    try:
        raw = path.read_bytes()
    except OSError:
        return None
    if not raw.lstrip().startswith(b"{"):
        return None
    try:
        data = json.loads(raw)
    except RecursionError:
        raise PlanFileError(f"{path}: the plan file is nested too deeply to be a plan") from None
    except (ValueError, UnicodeDecodeError):
        return None
    if not (isinstance(data, dict) and "plan_id" in data):
        return None
    from zplan.load import schema

    problems = [] if schema.is_valid(schema.PLAN, data) else schema.validate_data(schema.PLAN, data)
    if problems:
        raise PlanFileError(
            f"{path} is not a plan zplan wrote: {problems[0]}",
            hint="make the plan again with zplan plan --out",
        )
    return data


# Plan -> document ------------------------------------------------------------


_money = to_json  # an amount as the plan document writes it


def change_json(change: Change, currency: str) -> dict[str, Any]:
    data: dict[str, Any] = {
        "address": change.address,
        "action": change.action.value,
        "kind": change.kind.value,
        "before": change.before,
        "after": change.after,
        "effective": change.effective.value,
        "effective_on": change.effective_on.isoformat(),
        "monthly_delta": _money(change.monthly_delta, currency),
    }
    if change.today is not None:
        data["today"] = change.today
    if change.reason:
        data["reason"] = change.reason
    return data


def invoice_json(
    invoice: Invoice, currency: str, shown: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """``shown``: the invoice as ``account_json`` showed it (its ``invoice``), whose lines
    and amounts are then taken as made, not made again."""
    if shown is not None:
        return {
            "date": invoice.date.isoformat(),
            "cycle": invoice.cycle.value,
            "kind": invoice.kind,
            "lines": shown["lines"],
            "subtotal": shown["subtotal"],
            "balance_applied": shown["balance_applied"],
            "balance_created": shown["balance_created"],
            "total": shown["due_now"],  # the invoice's total: what is due now
        }
    return {
        "date": invoice.date.isoformat(),
        "cycle": invoice.cycle.value,
        "kind": invoice.kind,
        "lines": [line_json(line, currency) for line in invoice.lines],
        "subtotal": _money(invoice.subtotal, currency),
        "balance_applied": _money(invoice.balance_applied, currency),
        "balance_created": _money(invoice.balance_created, currency),
        "total": _money(invoice.total, currency),
    }


def _price(amount: Decimal, currency: str) -> str:
    """A unit price: the currency's places, or more when the catalog gives more."""
    return _unit_price(amount, currency)[0]


@functools.lru_cache(maxsize=256)
def _unit_price(amount: Decimal, currency: str) -> tuple[str, str]:
    """A unit price as the JSON writes it and as a formula shows it (the catalog's prices
    are few and in every invoice line: each is worked out once)."""
    rounded = _money(amount, currency)
    if Decimal(rounded) == amount:
        return rounded, fmt(amount, currency)
    exact = f"{amount.normalize():f}"  # a catalog price finer than cents is shown whole
    return exact, f"{exact} {currency}"


def line_json(line: InvoiceLine, currency: str) -> dict[str, Any]:
    """An invoice line, with what it takes to check its amount by hand (issue 14)."""
    data: dict[str, Any] = {
        "line": line.line,
        "description": line.description,
        "kind": line.kind,
        "amount": _money(line.amount, currency),
    }
    math = line.math
    if math is None:
        return data
    data["period"] = {"from": math.period_from.isoformat(), "to": math.period_to.isoformat()}
    if math.percent_off is not None and math.of is not None:
        data["percent_off"] = percent_to_json(math.percent_off)
        data["of"] = _money(math.of, currency)
    else:
        data["quantity"] = math.quantity
        data["unit_price"] = _price(math.unit_price, currency)
        data["months"] = math.months
        if math.days is not None and math.term_days is not None:
            data["before"] = {
                "quantity": math.before_quantity,
                "unit_price": _price(math.before_unit_price or Decimal(0), currency),
            }
            data["proration"] = {"days": math.days, "term_days": math.term_days}
    data["formula"] = formula(math, currency)
    return data


def formula(math: LineMath, currency: str) -> str:
    """``25 × $115.00 × 12 months``, ``(30 × $169.00 − 25 × $115.00) × 12 months × 92/365``."""
    if math.percent_off is not None and math.of is not None:
        return f"{math.percent_off.normalize():f}% of {fmt(math.of, currency)}"
    months = f"{math.months} month{'s' * (math.months != 1)}"

    def term(quantity: int, price: Decimal) -> str:
        return f"{quantity} × {_unit_price(price, currency)[1]}"

    after = term(math.quantity, math.unit_price)
    if math.days is None or math.term_days is None:
        return f"{after} × {months}"
    fraction = f"{math.days}/{math.term_days}"
    before = term(math.before_quantity or 0, math.before_unit_price or Decimal(0))
    if not math.before_quantity:
        return f"{after} × {months} × {fraction}"
    if not math.quantity:
        return f"−{before} × {months} × {fraction}"
    return f"({after} − {before}) × {months} × {fraction}"


def _recurring(value: Recurring, currency: str) -> dict[str, Any]:
    return {
        "cycle": value.cycle.value,
        "per_cycle": _money(value.per_cycle, currency),
        "monthly": _money(value.monthly, currency),
    }


def account_json(plan: AccountPlan, catalog: Catalog | None = None) -> dict[str, Any]:
    """One account of the plan document. A live account also gets ``live`` and its
    ``open_order`` and, given the catalog, the ``change_order`` checklist apply would open."""
    data = _account_json(plan)
    prior = plan.prior
    if prior is not None and prior.live:
        data["live"] = True
        data["open_order"] = None if prior.open_order is None else prior.open_order.to_json()
        if catalog is not None and plan.changes and prior.open_order is None:
            from zplan.apply.orders import preview

            data["change_order"] = preview(plan, catalog)
    return data


_SUMMARY_KEYS = {Action.CREATE: "add", Action.UPDATE: "change", Action.DELETE: "remove"}


def _account_json(plan: AccountPlan) -> dict[str, Any]:
    currency = plan.currency
    prior = plan.prior
    current = plan.current if plan.current is not None else prior
    sub = current.subscription if current is not None else None
    summary = {"add": 0, "change": 0, "remove": 0, "at_renewal": 0}
    for change in plan.changes:
        summary[_SUMMARY_KEYS[change.action]] += 1
        if change.effective is Effective.RENEWAL:
            summary["at_renewal"] += 1
    renewals = [{**invoice_json(r.invoice, currency), "ended": r.ended} for r in plan.renewals]
    invoice = plan.invoice
    zero = _money(ZERO, currency)
    before, after = plan.recurring_before, plan.recurring_after
    delta = after.monthly - before.monthly
    percent = None if before.monthly == 0 else percent_to_json(delta / before.monthly * 100)
    renewals_due = sum((r.invoice.total for r in plan.renewals), ZERO)
    due_now = plan.due_now
    before_json, after_json = _recurring(before, currency), _recurring(after, currency)

    def recurring_json(value: Recurring) -> dict[str, Any]:
        # Most plans show the same figures again (run rate, steady): made once, copied.
        if value == before:
            return dict(before_json)
        return dict(after_json) if value == after else _recurring(value, currency)

    result = plan.result
    promotion = None
    if result is not None and result.subscription is not None:
        record = result.subscription.promotion
        if record is not None:
            promotion = {
                "code": record.code,
                "description": record.terms.description,
                "duration": record.terms.duration.to_json(),
                "added_on": record.added_on.isoformat(),
                "active": record.ended_on is None,
                "ended_on": None if record.ended_on is None else record.ended_on.isoformat(),
                "end_reason": record.end_reason,
            }
    document: dict[str, Any] = {
        "subdomain": plan.subdomain,
        "config": {"path": plan.path, "sha256": plan.config_sha256},
        "prior": {
            "exists": prior is not None and sub is not None,
            "lineage": prior.lineage if prior is not None else None,
            "serial": prior.serial if prior is not None else None,
            "anchor": sub.anchor.isoformat() if sub else None,
            "term_start": sub.term_start.isoformat() if sub else None,
            "term_end": sub.term_end.isoformat() if sub else None,
            "cycle": sub.now.cycle.value if sub else None,
            "account_type": prior.type.value if prior is not None else None,
            "now": sub.now.to_json() if sub else None,
            "next": sub.next.to_json() if sub else None,
        },
        "drift": plan.drift,
        "changes": [change_json(c, currency) for c in plan.changes],
        "summary": summary,
        "invoice": {
            "lines": [] if invoice is None else [line_json(x, currency) for x in invoice.lines],
            "renewals": renewals,
            "subtotal": _money(invoice.subtotal, currency) if invoice else zero,
            "balance_applied": _money(invoice.balance_applied, currency) if invoice else zero,
            "balance_created": _money(invoice.balance_created, currency) if invoice else zero,
            "due_now": _money(due_now, currency),
        },
        "promotion": promotion,
        "totals": {
            "currency": currency,
            "recurring_before": before_json,
            "recurring_after": after_json,
            "monthly_delta": _money(delta, currency),
            "monthly_delta_percent": percent,
            "due_now": _money(due_now, currency),
            "renewals_due": _money(renewals_due, currency),
            # Issue 14: what the apply charges in all, today's run rate, and the
            # recurring figure once a promotion that stops no longer discounts.
            "charged_now": _money(due_now + renewals_due, currency),
            "run_rate": None if plan.run_rate is None else recurring_json(plan.run_rate),
            "recurring_steady": recurring_json(plan.recurring_steady or after),
            "proration": None
            if plan.proration is None or not plan.prior
            else {"remaining_days": plan.proration[0], "term_days": plan.proration[1]},
        },
        "diagnostics": [d.to_json() for d in plan.diagnostics],
        "notes": list(plan.notes),
        "hints": list(plan.hints),
        "estimates_used": plan.estimates_used,
        "estimated_prices": list(plan.estimated),
        "scheduled": [_scheduled_json(s) for s in plan.scheduled],
        "desired": None if plan.desired is None else plan.desired.to_json(),
    }
    if plan.observed is not None:  # only where the live account was read: older plans unchanged
        document["observed"] = observed_json(plan.observed)
    return document


def observed_json(observed: Observed) -> dict[str, Any]:
    """The live account as the plan read it (issue 15); names only of those downgraded."""
    observation = observed.observation
    return {
        "observed_at": observation.observed_at,
        "age_seconds": observed.age_seconds,
        "stale": observed.stale,
        "product": observed.product,
        "seats_in_use": observation.seats_in_use,
        "seats_on_record": observed.seats_on_record,
        "seats_in_file": observed.seats_wanted,
        "plan": observation.plan,
        "drift": list(observed.drift),
        "downgraded_at_renewal": list(observed.downgraded),
    }


def _scheduled_json(item: Any) -> dict[str, Any]:
    return {
        "address": item.address,
        "kind": item.kind,
        "today": item.today,
        "at_renewal": item.at_renewal,
        "effective_on": item.effective_on.isoformat(),
        "outcome": item.outcome,
    }


def plan_json(plan: Plan, catalog: Catalog | None = None) -> dict[str, Any]:
    """The plan document (cli.md), unsigned."""
    return plan_document(
        priced_on=plan.priced_on,
        created_at=plan.created_at,
        catalog_id=plan.catalog_id,
        catalog_sha256=plan.catalog_sha256,
        accounts=[account_json(a, catalog) for a in plan.accounts],
        diagnostics=[d.to_json() for d in plan.diagnostics],
        notes=list(plan.notes),
        unmanaged=list(plan.unmanaged),
        applyable=plan.applyable,
        estimates_used=any(a.estimates_used for a in plan.accounts),
    )


def plan_document(
    *,
    priced_on: dt.date,
    created_at: str,
    catalog_id: str,
    catalog_sha256: str,
    accounts: list[dict[str, Any]],
    diagnostics: list[dict[str, Any]],
    notes: list[str],
    unmanaged: list[str],
    applyable: bool,
    estimates_used: bool,
) -> dict[str, Any]:
    """The plan document from its parts (already in their JSON form)."""
    return {
        "format_version": FORMAT_VERSION,
        "zplan_version": __version__,
        "created_at": created_at,
        "priced_on": priced_on.isoformat(),
        "catalog": {"id": catalog_id, "sha256": catalog_sha256, "estimates_used": estimates_used},
        "applyable": applyable,
        "accounts": accounts,
        "diagnostics": diagnostics,
        "notes": notes,
        "unmanaged": unmanaged,
    }


PRETTY_UP_TO = 100  # accounts; above that, one line (the pretty printer is pure Python, ~1 ms each)


def dumps(document: Mapping[str, Any]) -> str:
    """The document as JSON text: indented for a reader, on one line for large plans."""
    if len(document.get("accounts") or ()) <= PRETTY_UP_TO:
        return json.dumps(document, indent=2, ensure_ascii=False) + "\n"
    return json.dumps(document, ensure_ascii=False) + "\n"
