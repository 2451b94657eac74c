"""Apply: lock, check, and write each account's plan as one transaction.

Two ways in. With files, the caller plans under the accounts' locks, shows
the plan, asks, and then commits (``Session``). With a saved plan file, the
checks of cli.md run in order (signature; already applied; catalog; date;
lineage and serial; account type and role) for every account before anything
is written; each account is then one transaction keyed by (plan id,
subdomain), so a run cut short is finished by running it again.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import TYPE_CHECKING, Any, NamedTuple

from zplan.apply.gitinfo import GitCache, commits_for
from zplan.apply.planfile import (
    account_json,
    change_json,
    invoice_json,
    plan_document,
    plan_id_of,
    plan_json,
    state_json,
    verify,
)
from zplan.clock import Clock
from zplan.errors import LockHeld, PlanFileError, RefusedError, StateError, ZplanError
from zplan.load.catalog import Catalog
from zplan.load.document import Document
from zplan.model import Account, AccountPlan, Change, Desired, Kind, Plan
from zplan.plan.permissions import permission_problems, renewals_refusal
from zplan.plan.planner import Context, build_plan, plan_account
from zplan.state.base import AlreadyApplied, LockInfo, Store, VersionWrite

if TYPE_CHECKING:
    from zplan.trust.keys import Signer
    from zplan.trust.registry import Trust


class Provenance(NamedTuple):
    """Where an apply comes from: who, which commit, which CI run."""

    actor: str
    ci_run_url: str | None = None
    env_commit: str | None = None

    @classmethod
    def from_env(cls, actor: str) -> Provenance:
        env = os.environ
        url = None
        if env.get("GITHUB_RUN_ID") and env.get("GITHUB_REPOSITORY"):
            server = env.get("GITHUB_SERVER_URL", "https://github.com")
            url = f"{server}/{env['GITHUB_REPOSITORY']}/actions/runs/{env['GITHUB_RUN_ID']}"
        elif env.get("CI_PIPELINE_URL"):
            url = env["CI_PIPELINE_URL"]
        commit = env.get("GITHUB_SHA") or env.get("CI_COMMIT_SHA") or None
        return cls(actor, url, commit)


def check_cancel(plans: Sequence[AccountPlan], allow_cancel: bool) -> None:
    refuse_cancel(
        [p.subdomain for p in plans if any(c.kind is Kind.CANCEL for c in p.changes)],
        allow_cancel,
    )


def refuse_cancel(cancelling: Sequence[str], allow_cancel: bool) -> None:
    """Cancelling a subscription needs --allow-cancel."""
    if cancelling and not allow_cancel:
        raise RefusedError(
            f"this plan cancels the subscription of {', '.join(cancelling)}",
            hint="cancelling needs --allow-cancel",
        )


def check_roles(plan: AccountPlan, actor: str) -> None:
    """Account type and the actor's role, against the stored account (never the file's)."""
    acting_on = plan.current if plan.current is not None else plan.prior
    if acting_on is None:
        assert plan.desired is not None
        from zplan.plan.planner import _new_account

        acting_on = _new_account(plan.desired)
    problems = list(permission_problems(acting_on, plan.changes, actor, None, plan.path))
    if problems:
        first = problems[0]
        raise RefusedError(f"{plan.subdomain}: {first.message}", hint=first.hint)
    if plan.writes and (refusal := renewals_refusal(acting_on, actor)):
        # No changes, but renewals to write and charge: not in a stranger's name either.
        raise RefusedError(f"{plan.subdomain}: {refusal[0]}", hint=refusal[1])


def versions_for(
    plan: AccountPlan,
    plan_id: str,
    provenance: Provenance,
    clock: Clock,
    catalog: Catalog,
    git: dict[str, dict[str, Any]] | None = None,
    extra: Mapping[str, Any] | None = None,
    *,
    now: str | None = None,
    priced_on: str | None = None,
    shown: Mapping[str, Any] | None = None,
) -> list[VersionWrite]:
    """What an apply writes for one account: pending renewals, then the apply version.

    ``now``, ``priced_on``: the clock's timestamp and date, when the caller has them (the
    store stamps each version with its own clock anyway). ``shown``: the account's JSON
    as the plan showed it (``account_json`` of this very plan), whose invoice lines,
    amounts and changes are then not made again.
    """
    now = now or clock.timestamp()
    priced_on = priced_on or clock.today().isoformat()
    currency = plan.currency
    base: dict[str, Any] = {
        "subdomain": plan.subdomain,
        "actor": provenance.actor,
        "plan_id": plan_id,
        "catalog": catalog.id,
        "ci_run_url": provenance.ci_run_url,
    }
    result = plan.result
    writes = []
    lineage = plan.prior.lineage if plan.prior is not None else new_lineage()
    for renewal in plan.renewals:
        invoice = _stored_invoice(invoice_json(renewal.invoice, currency), renewal.account, plan_id)
        audit = {
            **base,
            "lineage": lineage,
            "changes": [],
            "amounts": {"currency": currency, "total": invoice["total"]},
            "note": "subscription ended" if renewal.ended else "renewal",
        }
        writes.append(VersionWrite(renewal.account, "renewal", now, invoice, audit, priced_on))
    if plan.changes:
        assert result is not None and plan.invoice is not None
        account = result._replace(lineage=lineage)
        made = invoice_json(plan.invoice, currency, None if shown is None else shown["invoice"])
        invoice = _stored_invoice(made, account, plan_id)
        changes = (
            [change_json(c, currency) for c in plan.changes]
            if shown is None
            else [dict(c) for c in shown["changes"]]
        )
        audit = {
            **base,
            "lineage": lineage,
            "changes": [
                _audited(c, made, plan) for c, made in zip(plan.changes, changes, strict=True)
            ],
            "amounts": {
                "currency": currency,
                "due_now": invoice["total"],
                "balance_applied": invoice["balance_applied"],
                "balance_created": invoice["balance_created"],
            },
            "config_path": plan.path,
            "config_sha256": plan.config_sha256,
            **(git or {}).get(plan.path, {}),
            **(extra or {}),  # the guardrails' digest, and an owner's override with its reason
        }
        writes.append(VersionWrite(account, "apply", now, invoice, audit, priced_on))
    return writes


def new_lineage() -> str:
    """A new account's lineage: a random UUID (version 4), as ``str(uuid.uuid4())`` writes
    it, made without the ``UUID`` object (an apply of new accounts makes one each)."""
    raw = bytearray(os.urandom(16))
    raw[6] = raw[6] & 0x0F | 0x40  # version 4
    raw[8] = raw[8] & 0x3F | 0x80  # the RFC 4122 variant
    h = raw.hex()
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


def _audited(change: Change, entry: dict[str, Any], plan: AccountPlan) -> dict[str, Any]:
    """A change as the audit log keeps it (``entry``: its ``change_json``, a copy of its
    own): a payment reference only as its hash."""
    if change.address == "billing.payment_ref":

        def ref_of(account: Account | None) -> dict[str, str] | None:
            if account is None or account.subscription is None:
                return None
            ref = account.subscription.payment.ref
            return None if ref is None else {"sha256": ref.sha256}

        entry["before"] = ref_of(plan.current)
        entry["after"] = ref_of(plan.result)
    return entry


def _stored_invoice(invoice: dict[str, Any], account: Account, plan_id: str) -> dict[str, Any]:
    payment = None
    if account.subscription is not None:
        ref = account.subscription.payment.ref
        payment = {
            "method": account.subscription.payment.method,
            "ref": None if ref is None else (f"…{ref.last4}" if ref.last4 else "(sensitive)"),
        }
    return {**invoice, "payment": payment, "plan_id": plan_id}


@dataclass
class Outcome:
    """What an apply did, per account."""

    applied: list[str] = field(default_factory=list)
    already: dict[str, str] = field(default_factory=dict)  # subdomain -> when
    unchanged: list[str] = field(default_factory=list)
    plan_id: str = ""
    heads: dict[str, tuple[int, str]] = field(default_factory=dict)  # subdomain -> (serial, hash)
    orders: dict[str, dict[str, Any]] = field(default_factory=dict)  # live accounts' new orders


def write_plans(
    store: Store,
    plans: Sequence[AccountPlan],
    plan_id: str,
    provenance: Provenance,
    clock: Clock,
    catalog: Catalog,
    signer: Signer,
    audit_extra: Mapping[str, Mapping[str, Any]] | None = None,
    max_age_days: int = 7,
    git_cache: GitCache | None = None,
    shown: Mapping[str, Mapping[str, Any]] | None = None,
) -> Outcome:
    """Write every account's plan, each in its own transaction (locks already held).

    A live account gets a change order instead of a charge (apply/orders.py); an open
    change order refuses the whole apply before anything is written. ``git_cache``: what
    git said of the files' directories in an earlier run of the same apply; ``shown``:
    each account's JSON as the plan showed it (see ``versions_for``).
    """
    from zplan.apply import orders

    outcome = Outcome(plan_id=plan_id)
    today = clock.today()
    for plan in plans:
        waiting = plan.prior.open_order if plan.prior is not None else None
        if plan.writes and waiting is not None and not waiting.expired(today):
            assert plan.prior is not None
            raise orders.open_order_refusal(plan.prior, today)
    git = commits_for([p.path for p in plans if p.changes], provenance.env_commit, git_cache)
    now = clock.timestamp()  # for the versions; the store stamps each with its own clock
    priced_on = today.isoformat()
    for plan in plans:
        if not plan.writes:
            outcome.unchanged.append(plan.subdomain)
            continue
        expected = None if plan.prior is None else (plan.prior.lineage, plan.prior.serial)
        extra = (audit_extra or {}).get(plan.subdomain)
        versions = versions_for(
            plan,
            plan_id,
            provenance,
            clock,
            catalog,
            git,
            extra,
            now=now,
            priced_on=priced_on,
            shown=None if shown is None else shown.get(plan.subdomain),
        )
        body = None
        if plan.prior is not None and (plan.prior.live or plan.prior.open_order is not None):
            base = {
                "subdomain": plan.subdomain,
                "actor": provenance.actor,
                "plan_id": plan_id,
                "catalog": catalog.id,
                "ci_run_url": provenance.ci_run_url,
                **(git or {}).get(plan.path, {}),
                **(extra or {}),  # the guardrails' digest, as an apply records it
            }
            ctx = orders.OrderContext(catalog, clock, provenance.actor, max_age_days)
            renewals = [v for v in versions if v.kind == "renewal"]
            versions, body = orders.live_versions(plan, plan_id, base, renewals, ctx)
        try:
            head = store.write(plan.subdomain, expected, versions, plan_id, signer)
        except AlreadyApplied as exc:
            outcome.already[plan.subdomain] = exc.when
            continue
        except LockHeld:
            raise
        except StateError as exc:  # the store failed: say what was written before it did
            written = (
                f"written before it: {', '.join(outcome.applied)}"
                if outcome.applied
                else "no account was written"
            )
            raise StateError(
                f"{exc.message} (writing {plan.subdomain}; {written})", hint=exc.hint
            ) from None
        outcome.applied.append(plan.subdomain)
        outcome.heads[plan.subdomain] = (versions[-1].account.serial, head)
        if body is not None:
            outcome.orders[plan.subdomain] = body
    return outcome


class BatchedAccounts:
    """``store.account`` for accounts asked in a known order, read ``batch`` at a time.

    One query per batch instead of one transaction per account; only the current
    batch is kept. An account asked out of order is read with the batch it starts.
    """

    def __init__(self, store: Store, order: Sequence[str], batch: int = 500) -> None:
        self.store = store
        self.order = list(order)
        self.index = {s: i for i, s in enumerate(self.order)}
        self.batch = batch
        self.loaded: dict[str, Account] = {}
        self.span: set[str] = set()

    def __call__(self, subdomain: str) -> Account | None:
        if subdomain not in self.span:
            start = self.index.get(subdomain)
            names = [subdomain] if start is None else self.order[start : start + self.batch]
            self.loaded = self.store.accounts(names)
            self.span = set(names)
        return self.loaded.get(subdomain)


class Session:
    """An apply from files: locks held from before the plan is made until it is written."""

    def __init__(
        self,
        store: Store,
        catalog: Catalog,
        clock: Clock,
        provenance: Provenance,
        signer: Signer,
        allow_seat_loss: bool = False,
    ) -> None:
        self.signer = signer
        self.allow_seat_loss = allow_seat_loss
        self.store = store
        self.catalog = catalog
        self.clock = clock
        self.provenance = provenance
        self.plan: Plan | None = None
        self.document: dict[str, Any] | None = None
        self.order_max_age = 7  # days a live account's change order stays confirmable

    @contextlib.contextmanager
    def locked(self, subdomains: Sequence[str], timeout: float) -> Iterator[Session]:
        info = LockInfo.mine(self.provenance.actor, "apply", self.clock.timestamp())
        with self.store.locked(subdomains, info, timeout):
            yield self

    def make_plan(
        self,
        entries: Sequence[tuple[Desired, Document | None]],
        notes: Sequence[str],
        diagnostics: Sequence[Any],
        unmanaged: Sequence[str],
        progress: Callable[[str, int, int], None] | None = None,
    ) -> dict[str, Any]:
        self.plan = build_plan(
            self._context(),
            entries,
            BatchedAccounts(self.store, [d.subdomain for d, _ in entries]),
            self.clock.timestamp(),
            diagnostics,
            notes,
            unmanaged,
            progress,
        )
        self.document = plan_json(self.plan, self.catalog)
        self.document["state"] = state_json(self.store, self.store.trust())
        return self.document

    def commit(
        self, allow_cancel: bool, audit_extra: Mapping[str, Mapping[str, Any]] | None = None
    ) -> Outcome:
        assert self.plan is not None and self.document is not None
        if not self.plan.applyable:
            raise ZplanError("the plan has errors and cannot be applied")
        check_cancel(self.plan.accounts, allow_cancel)
        for account_plan in self.plan.accounts:
            if account_plan.writes:
                check_roles(account_plan, self.provenance.actor)
        return write_plans(
            self.store,
            self.plan.accounts,
            plan_id_of(self.document),
            self.provenance,
            self.clock,
            self.catalog,
            self.signer,
            audit_extra,
            self.order_max_age,
        )

    # A fleet: plan and show each account as it comes, re-plan it to write it -------------

    def plan_lean(
        self,
        entries: Sequence[tuple[Desired, Any]],
        diagnostics: Sequence[Any],
        notes: Sequence[str],
        unmanaged: Sequence[str],
        shown: Callable[[dict[str, Any]], None],
        progress: Callable[[str, int, int], None] | None = None,
    ) -> Lean:
        """``make_plan`` for many accounts, keeping none of them.

        Each account is planned, its JSON handed to ``shown`` (the caller renders it) and
        dropped; what the apply needs later is kept small (``Lean``). The plan id is the
        same as ``make_plan``'s: the canonical JSON of the same document, hashed as it
        goes (its accounts come first: the keys are sorted).
        """
        import hashlib
        import json

        ctx = self._context()
        hasher = hashlib.sha256(b'{"accounts":[')
        lean = Lean(ctx, entries)
        reader = BatchedAccounts(self.store, [d.subdomain for d, _ in entries])
        today = self.clock.today()
        for index, (desired, document) in enumerate(entries):
            planned = plan_account(ctx, reader(desired.subdomain), desired, document)
            data = account_json(planned, self.catalog)
            if index:
                hasher.update(b",")
            hasher.update(_canonical(data))
            lean.keep(planned, data, self.provenance.actor, today)
            shown(data)
            if progress is not None:
                progress("planning", index + 1, len(entries))
        head = plan_document(
            priced_on=ctx.today,
            created_at=self.clock.timestamp(),
            catalog_id=self.catalog.id,
            catalog_sha256=self.catalog.sha256,
            accounts=[],
            diagnostics=[d.to_json() for d in diagnostics],
            notes=list(notes),
            unmanaged=list(unmanaged),
            applyable=not lean.errors and not any(d.is_error for d in diagnostics),
            estimates_used=lean.estimates,
        )
        head["state"] = state_json(self.store, self.store.trust())
        rest = json.dumps(
            {k: v for k, v in head.items() if k != "accounts"},
            sort_keys=True,
            separators=(",", ":"),
            ensure_ascii=False,
        )
        hasher.update(b"]," + rest[1:].encode())
        lean.head, lean.plan_id = head, "sha256:" + hasher.hexdigest()
        return lean

    def commit_lean(self, lean: Lean, allow_cancel: bool, chunk: int = 250) -> Outcome:
        """Write a ``plan_lean`` plan: every check first (nothing written if one fails), then
        each account re-planned from its checked values, a run of accounts at a time, and
        written in its own transaction; a re-plan that differs from what was shown stops
        the apply."""
        if not lean.head["applyable"]:
            raise ZplanError("the plan has errors and cannot be applied")
        refuse_cancel(lean.cancelling, allow_cancel)
        for refusal in (lean.role_refusal, lean.order_refusal):  # in commit()'s order
            if refusal is not None:
                raise refusal
        outcome = Outcome(plan_id=lean.plan_id)
        git = GitCache()  # each directory's work tree and HEAD, asked once for all the runs
        for start in range(0, len(lean.entries), chunk):
            part = lean.entries[start : start + chunk]
            stored = self.store.accounts([d.subdomain for d, _ in part])
            plans = []
            shown: dict[str, dict[str, Any]] = {}
            for offset, (desired, document) in enumerate(part):
                planned = plan_account(lean.ctx, stored.get(desired.subdomain), desired, document)
                data = account_json(planned, self.catalog)
                if _digest(data) != lean.digests[start + offset]:
                    written = ", ".join(outcome.applied) or "no account"
                    raise StateError(
                        f"{desired.subdomain}: the plan is not the one shown (written before "
                        f"it: {written})",
                        hint="run zplan apply again to see the plan as it now stands",
                    )
                plans.append(planned)
                shown[desired.subdomain] = data
            try:
                done = write_plans(
                    self.store,
                    plans,
                    lean.plan_id,
                    self.provenance,
                    self.clock,
                    self.catalog,
                    self.signer,
                    None,
                    self.order_max_age,
                    git,
                    shown,
                )
            except StateError as exc:
                if outcome.applied:  # say what the earlier runs wrote too
                    exc.message = f"{exc.message}; written in earlier runs: " + ", ".join(
                        outcome.applied
                    )
                raise
            outcome.applied += done.applied
            outcome.already.update(done.already)
            outcome.unchanged += done.unchanged
            outcome.heads.update(done.heads)
            outcome.orders.update(done.orders)
        return outcome

    def _context(self) -> Context:
        # The live accounts as last recorded (zplan refresh): a reduction below the seats in
        # use is refused here as in the plan.
        return Context(
            self.catalog,
            self.clock.today(),
            self.provenance.actor,
            observations=self.store.observations(),
            plan_time=self.clock.now_utc(),
            allow_seat_loss=self.allow_seat_loss,
        )


class Lean:
    """What ``Session.plan_lean`` keeps of each account: enough to check and to write."""

    def __init__(self, ctx: Context, entries: Sequence[tuple[Desired, Any]]) -> None:
        self.ctx = ctx  # the same context (clock, observations) for the re-plan
        self.entries = entries
        self.digests: list[bytes] = []  # of what each account's write depends on, as shown
        self.charges: dict[str, tuple[Any, str]] = {}  # subdomain -> (charged now, currency)
        self.cancelling: list[str] = []
        self.writing: list[str] = []
        self.errors = False
        self.estimates = False
        self.role_refusal: ZplanError | None = None  # the first refusal commit() would raise
        self.order_refusal: ZplanError | None = None  # ... and write_plans after it
        self.head: dict[str, Any] = {}
        self.plan_id = ""

    def keep(self, planned: AccountPlan, data: dict[str, Any], actor: str, today: Any) -> None:
        self.digests.append(_digest(data))
        self.errors = self.errors or planned.has_errors
        self.estimates = self.estimates or planned.estimates_used
        if any(c.kind is Kind.CANCEL for c in planned.changes):
            self.cancelling.append(planned.subdomain)
        if not planned.writes:
            return
        self.writing.append(planned.subdomain)
        self.charges[planned.subdomain] = charge(planned)
        if self.role_refusal is None:
            try:
                check_roles(planned, actor)
            except ZplanError as exc:
                self.role_refusal = exc
        waiting = planned.prior.open_order if planned.prior is not None else None
        if self.order_refusal is None and waiting is not None and not waiting.expired(today):
            from zplan.apply import orders

            assert planned.prior is not None
            self.order_refusal = orders.open_order_refusal(planned.prior, today)


def charge(plan: AccountPlan) -> tuple[Decimal, str]:
    """What applying an account's plan charges now, and in which currency (issue 14): its
    invoice and the renewals it catches up; a live account's change order charges nothing."""
    renewals = sum((r.invoice.total for r in plan.renewals), Decimal(0))
    live = plan.prior is not None and plan.prior.live
    return (Decimal(0) if live else plan.due_now) + renewals, plan.currency


def _canonical(data: Mapping[str, Any]) -> bytes:
    import json

    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def _digest(data: Mapping[str, Any]) -> bytes:
    """What an account's write depends on, as the plan showed it (as saved plans compare)."""
    import hashlib

    return hashlib.sha256(_canonical({k: data.get(k) for k in _COMPARED})).digest()


# Saved plans -----------------------------------------------------------------

_COMPARED = ("changes", "invoice", "totals")


def apply_saved(
    store: Store,
    document: dict[str, Any],
    catalog: Catalog,
    clock: Clock,
    provenance: Provenance,
    *,
    allow_cancel: bool,
    lock_timeout: float,
    signer: Signer,
    trust: Trust,
    guardrails: Callable[[Sequence[AccountPlan]], Mapping[str, Mapping[str, Any]]] | None = None,
    order_max_age: int = 7,
) -> Outcome:
    """Apply a saved plan file after cli.md's checks, in cli.md's order.

    ``guardrails``, given the accounts planned again, refuses (raises) or returns what
    each account's audit entry records of the policies.
    """
    verify(document, trust)
    plan_id = document["plan_id"]
    accounts = document.get("accounts") or []
    writing = [a for a in accounts if a["changes"] or a["invoice"]["renewals"]]
    applied = store.applied_many(plan_id, [a["subdomain"] for a in writing])
    done = {a["subdomain"]: applied.get(a["subdomain"]) for a in writing}
    if writing and all(done.values()):
        outcome = Outcome(plan_id=plan_id)
        outcome.already = {k: v for k, v in done.items() if v}
        return outcome
    if not document.get("applyable", False):
        raise PlanFileError("this plan has errors and was saved as not applyable")
    if document["catalog"]["sha256"] != catalog.sha256:
        raise PlanFileError(
            f"the plan was priced with the catalog {document['catalog']['id']} "
            f"(sha256 {document['catalog']['sha256'][:12]}…), not the active one "
            f"{catalog.id} ({catalog.sha256[:12]}…)",
            hint="apply with the same --catalog, or make the plan again",
        )
    today = clock.today()
    if document["priced_on"] != today.isoformat():
        raise PlanFileError(
            f"the plan was priced on {document['priced_on']}, and today is {today.isoformat()}: "
            "proration moves daily, so a plan from another day must be made again",
            hint="run zplan plan --out again",
        )
    pending = [a for a in writing if not done[a["subdomain"]]]
    info = LockInfo.mine(provenance.actor, "apply", clock.timestamp())
    with store.locked([a["subdomain"] for a in pending], info, lock_timeout):
        # Another process may have applied this very plan while we waited for the locks.
        applied = store.applied_many(plan_id, [a["subdomain"] for a in pending])
        for saved in pending:
            done[saved["subdomain"]] = applied.get(saved["subdomain"])
        pending = [a for a in pending if not done[a["subdomain"]]]
        plans = []
        stored_accounts = BatchedAccounts(store, [a["subdomain"] for a in pending])
        for saved in pending:
            subdomain = saved["subdomain"]
            stored = stored_accounts(subdomain)
            prior = saved["prior"]
            if stored is None and prior["lineage"] is None:
                pass
            elif stored is None or (stored.lineage, stored.serial) != (
                prior["lineage"],
                prior["serial"],
            ):
                raise PlanFileError(
                    f"Saved plan is stale: the subscription of {subdomain} changed after the plan "
                    "was made. Run zplan plan again."
                )
            desired = Desired.from_json(
                saved["desired"], saved["config"]["path"], saved["config"]["sha256"]
            )
            ctx = Context(catalog, today, provenance.actor)
            replanned = plan_account(ctx, stored, desired)
            again = _account_json(replanned)
            if any(again[key] != saved[key] for key in _COMPARED):
                raise PlanFileError(
                    f"applying the plan to {subdomain} would not charge what the plan shows; "
                    "nothing was applied",
                    hint="run zplan plan again",
                )
            check_roles(replanned, provenance.actor)
            plans.append(replanned)
        check_cancel(plans, allow_cancel)
        extra = guardrails(plans) if guardrails is not None else None
        outcome = write_plans(
            store, plans, plan_id, provenance, clock, catalog, signer, extra, order_max_age
        )
    outcome.already.update({k: v for k, v in done.items() if v})
    return outcome


def _account_json(plan: AccountPlan) -> dict[str, Any]:
    from zplan.apply.planfile import account_json

    return account_json(plan)
