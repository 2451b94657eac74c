"""The values the core passes around: subscriptions, accounts, changes, invoices, plans.

All frozen. Plain mappings appear only at the edges: ``to_json`` /
``from_json`` for the state store and plan files.
"""

from __future__ import annotations

import datetime as dt
import enum
from collections.abc import Mapping
from decimal import Decimal
from typing import Any, NamedTuple

from zplan.diagnostics import Diagnostic
from zplan.money import ZERO, to_json


class Cycle(enum.Enum):
    ANNUAL = "annual"
    MONTHLY = "monthly"

    # Read in every price computed: a plain attribute, and the identity hash (members are
    # singletons), not Enum's property and hash of the name, both Python code in 3.11.
    months: int
    __hash__ = object.__hash__

    def __init__(self, value: str) -> None:
        self.months = 12 if value == "annual" else 1


class Duration(NamedTuple):
    """once, forever, or a number of billing cycles."""

    kind: str  # "once" | "forever" | "cycles"
    cycles: int = 0

    def to_json(self) -> Any:
        return {"cycles": self.cycles} if self.kind == "cycles" else self.kind

    @classmethod
    def from_json(cls, value: Any) -> Duration:
        if isinstance(value, dict):
            return cls("cycles", int(value["cycles"]))
        return cls(str(value))

    def describe(self) -> str:
        if self.kind == "cycles":
            return f"{self.cycles} billing cycle{'s' if self.cycles != 1 else ''}"
        return {"once": "one invoice", "forever": "every invoice"}[self.kind]


class Promotion(NamedTuple):
    code: str
    description: str
    percent_off: Decimal | None
    amount_off: Mapping[str, Decimal] | None
    duration: Duration
    expires: dt.date | None
    applies_to: tuple[str, ...] | None
    requires_cycle: Cycle | None
    void_on_downgrade: bool

    def to_json(self) -> dict[str, Any]:
        """The promotion's terms, as recorded with a subscription that uses it."""
        return {
            "code": self.code,
            "description": self.description,
            "percent_off": None if self.percent_off is None else str(self.percent_off),
            "amount_off": None
            if self.amount_off is None
            else {c: str(a) for c, a in self.amount_off.items()},
            "duration": self.duration.to_json(),
            "expires": None if self.expires is None else self.expires.isoformat(),
            "applies_to": None if self.applies_to is None else list(self.applies_to),
            "requires_cycle": None if self.requires_cycle is None else self.requires_cycle.value,
            "void_on_downgrade": self.void_on_downgrade,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Promotion:
        return cls(
            code=data["code"],
            description=data.get("description") or "",
            percent_off=None if data.get("percent_off") is None else Decimal(data["percent_off"]),
            amount_off=None
            if data.get("amount_off") is None
            else {c: Decimal(a) for c, a in data["amount_off"].items()},
            duration=Duration.from_json(data["duration"]),
            expires=None if not data.get("expires") else dt.date.fromisoformat(data["expires"]),
            applies_to=None if data.get("applies_to") is None else tuple(data["applies_to"]),
            requires_cycle=None
            if not data.get("requires_cycle")
            else Cycle(data["requires_cycle"]),
            void_on_downgrade=bool(data.get("void_on_downgrade")),
        )

    def covers(self, product: str) -> bool:
        return self.applies_to is None or product in self.applies_to

    def describe(self) -> str:
        if self.percent_off is not None:
            off = f"{self.percent_off.normalize():f}% off"
        else:
            off = "amount off"
        return f"{self.code}: {off}, {self.duration.describe()}"


class AccountType(enum.Enum):
    SELF_SERVICE = "self_service"
    ONLINE_ASSISTED = "online_assisted"
    ADD_AGENTS_ONLY = "add_agents_only"
    MANAGED = "managed"


class Action(enum.Enum):
    CREATE = "create"
    UPDATE = "update"
    DELETE = "delete"


class Kind(enum.Enum):
    SUBSCRIPTION_CREATE = "subscription_create"
    PRODUCT_ADD = "product_add"
    PRODUCT_REMOVE = "product_remove"
    EDITION_UPGRADE = "edition_upgrade"
    EDITION_DOWNGRADE = "edition_downgrade"
    AGENTS_INCREASE = "agents_increase"
    AGENTS_DECREASE = "agents_decrease"
    ADDON_ADD = "addon_add"
    ADDON_REMOVE = "addon_remove"
    ADDON_INCREASE = "addon_increase"
    ADDON_DECREASE = "addon_decrease"
    SUITE_REPLACEMENT = "suite_replacement"
    CYCLE_CHANGE = "cycle_change"
    PAYMENT_CHANGE = "payment_change"
    PROMO_ADD = "promo_add"
    PROMO_REMOVE = "promo_remove"
    BILLING_ADMINS_CHANGE = "billing_admins_change"
    CANCEL = "cancel"
    REACTIVATE = "reactivate"
    WITHDRAW_SCHEDULED = "withdraw_scheduled"

    @property
    def action(self) -> Action:
        if self in _CREATES:
            return Action.CREATE
        if self in _DELETES:
            return Action.DELETE
        return Action.UPDATE


_CREATES = {Kind.SUBSCRIPTION_CREATE, Kind.PRODUCT_ADD, Kind.ADDON_ADD, Kind.PROMO_ADD}
_DELETES = {Kind.PRODUCT_REMOVE, Kind.ADDON_REMOVE, Kind.PROMO_REMOVE, Kind.CANCEL}
DOWNGRADES = {Kind.EDITION_DOWNGRADE, Kind.PRODUCT_REMOVE, Kind.ADDON_REMOVE}


class Effective(enum.Enum):
    NOW = "now"
    RENEWAL = "renewal"


class ProductLine(NamedTuple):
    """One product of a subscription: edition, paid agent seats, add-ons (id -> seats)."""

    product: str
    edition: str
    agents: int
    addons: tuple[tuple[str, int], ...] = ()

    def addon(self, addon_id: str) -> int | None:
        for key, quantity in self.addons:
            if key == addon_id:
                return quantity
        return None

    def with_addon(self, addon_id: str, quantity: int | None) -> ProductLine:
        addons = dict(self.addons)
        if quantity is None:
            addons.pop(addon_id, None)
        else:
            addons[addon_id] = quantity
        return self._replace(addons=tuple(sorted(addons.items())))

    def to_json(self) -> dict[str, Any]:
        return {"edition": self.edition, "agents": self.agents, "addons": dict(self.addons)}

    @classmethod
    def from_json(cls, product: str, data: Mapping[str, Any]) -> ProductLine:
        addons = tuple(sorted((k, int(v)) for k, v in (data.get("addons") or {}).items()))
        return cls(product, data["edition"], int(data["agents"]), addons)


class Config(NamedTuple):
    """What is subscribed: products at a billing cycle; ``cancelled`` for a ``next`` that ends."""

    cycle: Cycle
    products: tuple[ProductLine, ...]
    cancelled: bool = False

    def product(self, product_id: str) -> ProductLine | None:
        for line in self.products:
            if line.product == product_id:
                return line
        return None

    @property
    def product_ids(self) -> tuple[str, ...]:
        return tuple(line.product for line in self.products)

    def with_product(self, line: ProductLine | None, product_id: str | None = None) -> Config:
        """A copy with ``line`` put in (or the product ``product_id`` taken out when line is None)."""
        key = line.product if line is not None else product_id
        lines = [p for p in self.products if p.product != key]
        if line is not None:
            lines.append(line)
        return self._replace(products=tuple(sorted(lines, key=lambda p: p.product)))

    def to_json(self) -> dict[str, Any]:
        return {
            "cycle": self.cycle.value,
            "status": "cancelled" if self.cancelled else "active",
            "products": {p.product: p.to_json() for p in self.products},
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Config:
        products = tuple(
            sorted(
                (ProductLine.from_json(k, v) for k, v in data["products"].items()),
                key=lambda p: p.product,
            )
        )
        return cls(Cycle(data["cycle"]), products, data.get("status") == "cancelled")


class PaymentRef(NamedTuple):
    """A payment method reference, kept as a hash (never the value) and its last four characters."""

    sha256: str
    last4: str

    def to_json(self) -> dict[str, str]:
        return {"sha256": self.sha256, "last4": self.last4}

    @classmethod
    def from_json(cls, data: Mapping[str, Any] | None) -> PaymentRef | None:
        return None if not data else cls(data["sha256"], data["last4"])

    @property
    def masked(self) -> str:
        return f"(sensitive, …{self.last4})" if self.last4 else "(sensitive)"


class Payment(NamedTuple):
    method: str
    ref: PaymentRef | None = None

    def to_json(self) -> dict[str, Any]:
        return {"method": self.method, "ref": None if self.ref is None else self.ref.to_json()}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Payment:
        return cls(data["method"], PaymentRef.from_json(data.get("ref")))


class PromotionRecord(NamedTuple):
    """The promotion on a subscription: its terms as they were when added, and what is left."""

    terms: Promotion
    added_on: dt.date
    cycle_at_add: Cycle
    ended_on: dt.date | None = None
    end_reason: str | None = None  # used | expired | voided | cycle

    @property
    def code(self) -> str:
        return self.terms.code

    def active_on(self, day: dt.date) -> bool:
        return self.ended_on is None or day < self.ended_on

    def to_json(self) -> dict[str, Any]:
        return {
            "terms": self.terms.to_json(),
            "added_on": self.added_on.isoformat(),
            "cycle_at_add": self.cycle_at_add.value,
            "ended_on": None if self.ended_on is None else self.ended_on.isoformat(),
            "end_reason": self.end_reason,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any] | None) -> PromotionRecord | None:
        if not data:
            return None
        return cls(
            Promotion.from_json(data["terms"]),
            dt.date.fromisoformat(data["added_on"]),
            Cycle(data["cycle_at_add"]),
            None if not data.get("ended_on") else dt.date.fromisoformat(data["ended_on"]),
            data.get("end_reason"),
        )


class Subscription(NamedTuple):
    anchor: dt.date
    term_start: dt.date
    term_end: dt.date
    now: Config
    next: Config
    payment: Payment
    promotion: PromotionRecord | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "anchor": self.anchor.isoformat(),
            "term_start": self.term_start.isoformat(),
            "term_end": self.term_end.isoformat(),
            "now": self.now.to_json(),
            "next": self.next.to_json(),
            "payment": self.payment.to_json(),
            "promotion": None if self.promotion is None else self.promotion.to_json(),
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any] | None) -> Subscription | None:
        if not data:
            return None
        return cls(
            dt.date.fromisoformat(data["anchor"]),
            dt.date.fromisoformat(data["term_start"]),
            dt.date.fromisoformat(data["term_end"]),
            Config.from_json(data["now"]),
            Config.from_json(data["next"]),
            Payment.from_json(data["payment"]),
            PromotionRecord.from_json(data.get("promotion")),
        )


class OpenOrder(NamedTuple):
    """The change order waiting for the owner on a live account (zplan/apply/orders.py)."""

    number: int  # the serial of the version that opened it
    opened_at: str  # timestamp
    priced_on: dt.date
    expires_on: dt.date  # the first day it can no longer be confirmed
    due_now: Decimal
    plan_id: str
    config_sha256: str = ""  # the file the order was planned from

    def expired(self, day: dt.date) -> bool:
        return day >= self.expires_on

    def to_json(self) -> dict[str, Any]:
        return {
            "number": self.number,
            "opened_at": self.opened_at,
            "priced_on": self.priced_on.isoformat(),
            "expires_on": self.expires_on.isoformat(),
            "due_now": str(self.due_now),
            "plan_id": self.plan_id,
            "config_sha256": self.config_sha256,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any] | None) -> OpenOrder | None:
        if not data:
            return None
        return cls(
            int(data["number"]),
            data["opened_at"],
            dt.date.fromisoformat(data["priced_on"]),
            dt.date.fromisoformat(data["expires_on"]),
            Decimal(data["due_now"]),
            data["plan_id"],
            data.get("config_sha256") or "",
        )


class Account(NamedTuple):
    """The billing system's record of one account (what the state store keeps).

    ``live``: the account exists in Zendesk (imported, or marked with ``zplan admin
    account NAME --live``): apply writes a change order for its owner instead of a
    charge. ``open_order``: that order, while it waits. Both are left out of the JSON
    when unset, so records written before them keep their hashes.
    """

    subdomain: str
    type: AccountType
    owner: str
    billing_admins: tuple[str, ...]
    currency: str
    lineage: str
    serial: int
    subscription: Subscription | None
    balance: Decimal = ZERO
    config_sha256: str | None = None
    live: bool = False
    open_order: OpenOrder | None = None

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "subdomain": self.subdomain,
            "type": self.type.value,
            "owner": self.owner,
            "billing_admins": list(self.billing_admins),
            "currency": self.currency,
            "lineage": self.lineage,
            "serial": self.serial,
            "subscription": None if self.subscription is None else self.subscription.to_json(),
            "balance": to_json(self.balance, self.currency),
            "config_sha256": self.config_sha256,
        }
        if self.live:
            data["live"] = True
        if self.open_order is not None:
            data["open_order"] = self.open_order.to_json()
        return data

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Account:
        return cls(
            subdomain=data["subdomain"],
            type=AccountType(data["type"]),
            owner=data["owner"],
            billing_admins=tuple(data.get("billing_admins") or ()),
            currency=data["currency"],
            lineage=data["lineage"],
            serial=int(data["serial"]),
            subscription=Subscription.from_json(data.get("subscription")),
            balance=Decimal(data.get("balance") or "0"),
            config_sha256=data.get("config_sha256"),
            live=bool(data.get("live")),
            open_order=OpenOrder.from_json(data.get("open_order")),
        )


class _Unset(enum.Enum):
    UNSET = "unset"


UNSET = _Unset.UNSET


class Desired(NamedTuple):
    """What a subscription file asks for, checked and resolved against the catalog."""

    subdomain: str
    owner: str
    billing_admins: tuple[str, ...]
    currency: str
    config: Config
    payment_method: str
    payment_ref: PaymentRef | _Unset | None  # UNSET: the file does not say (unchanged)
    promo_code: str | None
    products_given: bool = True
    path: str = ""
    sha256: str = ""

    def to_json(self) -> dict[str, Any]:
        return {
            "subdomain": self.subdomain,
            "owner": self.owner,
            "billing_admins": list(self.billing_admins),
            "currency": self.currency,
            "config": self.config.to_json(),
            "payment": {
                "method": self.payment_method,
                "ref": "unchanged"
                if self.payment_ref is UNSET
                else (None if self.payment_ref is None else self.payment_ref.to_json()),
            },
            "promo_code": self.promo_code,
            "products_given": self.products_given,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any], path: str, sha256: str) -> Desired:
        ref = data["payment"]["ref"]
        return cls(
            subdomain=data["subdomain"],
            owner=data["owner"],
            billing_admins=tuple(data["billing_admins"]),
            currency=data["currency"],
            config=Config.from_json(data["config"]),
            payment_method=data["payment"]["method"],
            payment_ref=UNSET if ref == "unchanged" else PaymentRef.from_json(ref),
            promo_code=data["promo_code"],
            products_given=bool(data.get("products_given", True)),
            path=path,
            sha256=sha256,
        )


class Change(NamedTuple):
    """One planned change, as the plan document lists it."""

    address: str
    kind: Kind
    before: Any
    after: Any
    effective: Effective
    effective_on: dt.date
    monthly_delta: Decimal
    today: Any = None  # today's value where it differs from ``before`` (what renews)
    reason: str | None = None
    path: tuple[str | int, ...] = ()  # where in the file, for diagnostics

    @property
    def action(self) -> Action:
        return self.kind.action


class LineMath(NamedTuple):
    """How an invoice line's amount is computed, so that a person can check it (issue 14).

    A full-cycle line is ``quantity x unit_price x months``; a proration is
    ``(quantity x unit_price - before_quantity x before_unit_price) x months x
    days / term_days``; a percent discount is ``percent_off`` of ``of``.
    """

    period_from: dt.date
    period_to: dt.date
    quantity: int = 0
    unit_price: Decimal = ZERO
    months: int = 0
    before_quantity: int | None = None  # prorations: the line before the change
    before_unit_price: Decimal | None = None
    days: int | None = None  # prorations: remaining days of the term
    term_days: int | None = None
    percent_off: Decimal | None = None  # percent discounts: of the line's ``of``
    of: Decimal | None = None


class InvoiceLine(NamedTuple):
    line: str  # products.suite, products.suite.addons.copilot, promotion
    description: str
    kind: str  # purchase | renewal | proration | credit | discount
    amount: Decimal
    product: str | None = None  # the product the line belongs to (for promotion eligibility)
    math: LineMath | None = None


class Invoice(NamedTuple):
    date: dt.date
    cycle: Cycle
    kind: str  # purchase | renewal | change
    lines: tuple[InvoiceLine, ...]
    subtotal: Decimal
    balance_applied: Decimal
    balance_created: Decimal
    total: Decimal  # what is charged

    @property
    def discounted(self) -> bool:
        return any(line.kind == "discount" for line in self.lines)


class Recurring(NamedTuple):
    cycle: Cycle
    per_cycle: Decimal
    monthly: Decimal


class Renewal(NamedTuple):
    """A renewal that has fallen due since the last write: its invoice and the account after it."""

    invoice: Invoice
    account: Account
    ended: bool = False  # the subscription ended at this date (a cancellation took effect)


class AccountPlan(NamedTuple):
    """The plan for one account: changes, today's invoice, totals, and the account after apply."""

    subdomain: str
    path: str
    config_sha256: str
    prior: Account | None
    desired: Desired | None
    changes: tuple[Change, ...]
    renewals: tuple[Renewal, ...]
    invoice: Invoice | None
    recurring_before: Recurring
    recurring_after: Recurring
    currency: str
    result: Account | None  # the account as the apply writes it; None when nothing is written
    drift: bool = False
    diagnostics: tuple[Diagnostic, ...] = ()
    notes: tuple[str, ...] = ()
    hints: tuple[str, ...] = ()
    estimates_used: bool = False
    proration: tuple[int, int] | None = None  # (remaining_days, term_days)
    current: Account | None = None  # the stored account rolled over to the plan's date
    # What the plan shows beyond its own changes (issue 14; zplan.plan.outlook):
    scheduled: tuple[Any, ...] = ()  # outlook.Scheduled: what stands scheduled for the renewal
    run_rate: Recurring | None = None  # today's subscription priced as its renewal
    recurring_steady: Recurring | None = None  # recurring_after once a limited promotion stops
    estimated: tuple[str, ...] = ()  # names of the estimated catalog entries used
    observed: Observed | None = None  # the live account, when observed (issue 15)

    @property
    def has_errors(self) -> bool:
        return any(d.is_error for d in self.diagnostics)

    @property
    def due_now(self) -> Decimal:
        return self.invoice.total if self.invoice is not None else ZERO

    @property
    def writes(self) -> bool:
        """Whether applying this plan writes anything for the account."""
        return bool(self.changes or self.renewals)


class Plan(NamedTuple):
    priced_on: dt.date
    created_at: str
    catalog_id: str
    catalog_sha256: str
    accounts: tuple[AccountPlan, ...]
    notes: tuple[str, ...] = ()
    diagnostics: tuple[
        Diagnostic, ...
    ] = ()  # problems not tied to one account (a file that did not load)
    unmanaged: tuple[str, ...] = ()

    @property
    def applyable(self) -> bool:
        return not self.diagnostics_errors and not any(a.has_errors for a in self.accounts)

    @property
    def diagnostics_errors(self) -> bool:
        return any(d.is_error for d in self.diagnostics)

    @property
    def has_changes(self) -> bool:
        """Changes to a subscription (renewals that fell due alone are not changes)."""
        return any(a.changes for a in self.accounts)

    @property
    def writes(self) -> bool:
        return any(a.writes for a in self.accounts)


class SeatHolder(NamedTuple):
    """An agent holding a paid seat in the live account, as Zendesk's Users API shows them."""

    id: int
    name: str
    role: str  # agent | admin

    def to_json(self) -> dict[str, Any]:
        return {"id": self.id, "name": self.name, "role": self.role}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> SeatHolder:
        return cls(int(data["id"]), str(data["name"]), str(data["role"]))


class Observation(NamedTuple):
    """What zplan read of the live account at one moment; kept beside the record, never in it."""

    subdomain: str
    observed_at: str  # UTC, 2026-11-27T12:00:00Z
    agents: tuple[SeatHolder, ...]  # holding a paid seat, in Zendesk's downgrade order (by name)
    plan: str | None = None  # only when read (an explicit flag: docs/zendesk.md)
    source: str = ""  # the base URL read

    @property
    def seats_in_use(self) -> int:
        return len(self.agents)

    def to_json(self) -> dict[str, Any]:
        return {
            "subdomain": self.subdomain,
            "observed_at": self.observed_at,
            "agents": [a.to_json() for a in self.agents],
            "plan": self.plan,
            "source": self.source,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Observation:
        return cls(
            data["subdomain"],
            data["observed_at"],
            tuple(SeatHolder.from_json(a) for a in data.get("agents") or ()),
            data.get("plan"),
            data.get("source") or "",
        )


class Observed(NamedTuple):
    """An observation as a plan reads it against the record: seats in use, drift, staleness."""

    observation: Observation
    product: str | None  # the product whose agent seats the Users API shows (suite, else support)
    seats_on_record: int | None  # that product's agents today (now)
    seats_wanted: int | None  # that product's agents in the file
    age_seconds: int
    stale: bool
    drift: tuple[str, ...] = ()
    downgraded: tuple[str, ...] = ()  # whom Zendesk would downgrade at renewal, in its order
