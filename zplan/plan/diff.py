"""Desired subscription vs current: typed changes, each timed ``now`` or at renewal.

The desired file is the target for ``next`` (what renews); timing is decided
against ``now`` (what is in force today). Two passes:

1. Withdrawals. Where ``next`` differs from ``now`` (a change is scheduled)
   and the file asks for ``now`` again, the scheduled change is withdrawn
   (``withdraw_scheduled``, ``reactivate`` for a cancellation): effective
   now, nothing charged. The result is ``W``, the base of pass 2.
2. Changes. deepdiff lists the products the file adds to ``W`` or removes
   (only when the two hold different products); then each difference, of
   products, editions, seats, add-ons, cycle and status, becomes a typed
   change whose direction is read from ``W`` to the file, and whose timing
   compares the file with ``now``: above today's subscription takes effect now
   (and is prorated), at or below it waits for renewal.

Every change carries its monthly delta at list price, computed by applying the
changes one after the other to a running copy, so that the deltas of the
changes touching one line add up to that line's difference (seats at the old
edition, then the edition at the new seat count; the cycle last).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from zplan.load.catalog import Catalog
from zplan.model import Change, Config, Cycle, Effective, Kind, ProductLine
from zplan.money import round_money
from zplan.plan.pricing import monthly_list

Op = Callable[[Config], Config]


@dataclass(slots=True)
class Diff:
    """The outcome of comparing: changes in order, ``now'`` and ``next'``."""

    changes: list[Change] = field(default_factory=list)
    now_after: Config | None = None
    next_after: Config | None = None


@dataclass(slots=True)
class _Builder:
    catalog: Catalog
    currency: str
    today: dt.date
    renewal_on: dt.date
    now: Config
    running: Config  # next -> W -> desired, one change at a time (for monthly deltas)
    now_running: Config  # now -> now', with the changes effective now
    base_cycle: Cycle
    changes: list[Change] = field(default_factory=list)

    def add(
        self,
        kind: Kind,
        address: str,
        path: tuple[str | int, ...],
        before: Any,
        after: Any,
        effective: Effective,
        op: Op,
        now_op: Op | None = None,
        today_value: Any = None,
        reason: str | None = None,
    ) -> None:
        was = monthly_list(self.catalog, self.running, self.currency, self._cycle_for(self.running))
        self.running = op(self.running)
        will = monthly_list(
            self.catalog, self.running, self.currency, self._cycle_for(self.running)
        )
        if effective is Effective.NOW and now_op is not None:
            self.now_running = now_op(self.now_running)
        self.changes.append(
            Change(
                address=address,
                kind=kind,
                before=before,
                after=after,
                effective=effective,
                effective_on=self.today if effective is Effective.NOW else self.renewal_on,
                monthly_delta=round_money(will - was, self.currency),
                today=today_value,
                reason=reason,
                path=path,
            )
        )

    def _cycle_for(self, config: Config) -> Cycle:
        # Line changes are priced at the base cycle; only the cycle change moves it.
        return config.cycle


def _set_product(line: ProductLine | None, product_id: str) -> Op:
    return lambda config: config.with_product(line, product_id)


def _edit_product(product_id: str, edit: Callable[[ProductLine], ProductLine]) -> Op:
    def op(config: Config) -> Config:
        line = config.product(product_id)
        return config if line is None else config.with_product(edit(line))

    return op


def _set_agents(product_id: str, agents: int) -> Op:
    return _edit_product(product_id, lambda p: p._replace(agents=agents))


def _set_edition(product_id: str, edition: str) -> Op:
    return _edit_product(product_id, lambda p: p._replace(edition=edition))


def _set_addon(product_id: str, addon_id: str, quantity: int | None) -> Op:
    return _edit_product(product_id, lambda p: p.with_addon(addon_id, quantity))


def _swap_op(out: list[str], into: list[ProductLine]) -> Op:
    return lambda config: _swap(config, out, into)


def _product_summary(line: ProductLine | None) -> Any:
    if line is None:
        return None
    summary: dict[str, Any] = {"edition": line.edition, "agents": line.agents}
    if line.addons:
        summary["addons"] = dict(line.addons)
    return summary


def compare(
    catalog: Catalog,
    currency: str,
    now: Config,
    next_: Config,
    desired: Config,
    today: dt.date,
    renewal_on: dt.date,
) -> Diff:
    """The changes that take ``next`` to ``desired``, timed against ``now``."""
    b = _Builder(catalog, currency, today, renewal_on, now, next_, now, next_.cycle)
    _withdrawals(b, now, next_, desired)
    _changes(b, now, b.running, desired)
    return Diff(b.changes, b.now_running, desired)


def _withdrawals(b: _Builder, now: Config, next_: Config, desired: Config) -> None:
    if next_.cancelled and not desired.cancelled:
        b.add(
            Kind.REACTIVATE,
            "status",
            ("status",),
            "cancelled",
            "active",
            Effective.NOW,
            lambda c: c._replace(cancelled=False),
        )
    if next_ == now:
        return  # nothing scheduled (most accounts): nothing to withdraw
    if next_.cycle is not now.cycle and desired.cycle is now.cycle:
        b.add(
            Kind.WITHDRAW_SCHEDULED,
            "billing.cycle",
            ("billing", "cycle"),
            next_.cycle.value,
            now.cycle.value,
            Effective.NOW,
            lambda c: c._replace(cycle=now.cycle),
        )
    every = sorted(set(now.product_ids) | set(next_.product_ids))
    for product_id in every:
        in_now, in_next = now.product(product_id), next_.product(product_id)
        in_desired = desired.product(product_id) is not None
        if (in_now is None) != (in_next is None) and in_desired == (in_now is not None):
            b.add(
                Kind.WITHDRAW_SCHEDULED,
                f"products.{product_id}",
                ("products", product_id),
                _product_summary(in_next),
                _product_summary(in_now),
                Effective.NOW,
                _set_product(in_now, product_id),
            )
    for line_now in now.products:
        pid = line_now.product
        line_next, line_desired = b.running.product(pid), desired.product(pid)
        if line_next is None or line_desired is None:
            continue
        where = ("products", pid)
        if line_next.agents != line_now.agents and line_desired.agents == line_now.agents:
            b.add(
                Kind.WITHDRAW_SCHEDULED,
                f"products.{pid}.agents",
                (*where, "agents"),
                line_next.agents,
                line_now.agents,
                Effective.NOW,
                _set_agents(pid, line_now.agents),
            )
        if line_next.edition != line_now.edition and line_desired.edition == line_now.edition:
            b.add(
                Kind.WITHDRAW_SCHEDULED,
                f"products.{pid}.edition",
                (*where, "edition"),
                line_next.edition,
                line_now.edition,
                Effective.NOW,
                _set_edition(pid, line_now.edition),
            )
        for addon_id in sorted({a for a, _ in line_now.addons} | {a for a, _ in line_next.addons}):
            q_now, q_next = line_now.addon(addon_id), line_next.addon(addon_id)
            if q_now != q_next and line_desired.addon(addon_id) == q_now:
                b.add(
                    Kind.WITHDRAW_SCHEDULED,
                    f"products.{pid}.addons.{addon_id}",
                    (*where, "addons", addon_id),
                    q_next,
                    q_now,
                    Effective.NOW,
                    _set_addon(pid, addon_id, q_now),
                )


def _paths(base: Config, desired: Config) -> list[tuple[str, tuple[Any, ...]]]:
    from deepdiff import DeepDiff

    found = DeepDiff(base.to_json(), desired.to_json(), view="tree", threshold_to_diff_deeper=0)
    return [
        (report, tuple(level.path(output_format="list")))
        for report, levels in found.items()
        for level in levels
    ]


def added_and_removed(base: Config, desired: Config) -> tuple[list[str], list[str]]:
    """The products ``desired`` adds to ``base`` and those it removes, as deepdiff finds them.

    With the same products on both sides (a change of seats, editions, add-ons or cycle:
    most changes), deepdiff would find none added or removed: its import (~45 ms, more
    than a whole plan of one account) is spared. ``tests/plan/test_diff_paths.py``
    compares the two on generated pairs."""
    if set(base.product_ids) == set(desired.product_ids):
        return [], []
    paths = _paths(base, desired)
    added = sorted({p[1] for r, p in paths if r == "dictionary_item_added" and len(p) == 2})
    removed = sorted({p[1] for r, p in paths if r == "dictionary_item_removed" and len(p) == 2})
    return added, removed


def _changes(b: _Builder, now: Config, base: Config, desired: Config) -> None:
    if base == desired or base.to_json() == desired.to_json():
        return  # nothing to compare
    added, removed = added_and_removed(base, desired)
    catalog = b.catalog

    # Bundles: a suite replacing standalone products, or the suite unbundled. A
    # replacement is decided against what is in force today (issue 14): every
    # product it replaces that is in ``now`` counts, even one scheduled for removal,
    # and a suite already scheduled in ``next`` does not hide it.
    for bundle in [p for p in desired.product_ids if catalog.replacing(p)]:
        in_force = [p for p in now.product_ids if p in catalog.replacing(bundle)]
        if now.product(bundle) is not None or not in_force:
            continue
        replaced = [p for p in removed if p in catalog.replacing(bundle)]
        _replace_with_bundle(b, now, bundle, replaced, in_force, desired)
        if bundle in added:
            added.remove(bundle)
        removed[:] = [p for p in removed if p not in replaced]
    for bundle in [p for p in added if catalog.replacing(p)]:
        replaced = [p for p in removed if p in catalog.replacing(bundle)]
        if replaced:
            _replace_with_bundle(b, now, bundle, replaced, replaced, desired)
            added.remove(bundle)
            removed[:] = [p for p in removed if p not in replaced]
    for bundle in [p for p in removed if catalog.replacing(p)]:
        unbundled = [p for p in added if p in catalog.replacing(bundle)]
        if unbundled:
            line = base.product(bundle)
            b.add(
                Kind.SUITE_REPLACEMENT,
                f"products.{bundle}",
                ("products", unbundled[0]),
                _product_summary(line),
                {p: _product_summary(desired.product(p)) for p in unbundled},
                Effective.RENEWAL,
                _swap_op([bundle], [_bare(desired.product(p)) for p in unbundled]),
                reason=f"{', '.join(unbundled)} replace {bundle} at renewal",
            )
            removed.remove(bundle)
            added[:] = [p for p in added if p not in unbundled]

    for product_id in removed:
        line = base.product(product_id)
        b.add(
            Kind.PRODUCT_REMOVE,
            f"products.{product_id}",
            ("products",),
            _product_summary(line),
            None,
            Effective.RENEWAL,
            _set_product(None, product_id),
        )
    for product_id in added:
        line = desired.product(product_id)
        assert line is not None
        bare = _bare(line)
        # A product that a suite in force today replaces waits for the renewal, as
        # the unbundling it is part of does: now never holds both (issue 14).
        bundles = [p for p in now.product_ids if product_id in catalog.replacing(p)]
        b.add(
            Kind.PRODUCT_ADD,
            f"products.{product_id}",
            ("products", product_id),
            None,
            _product_summary(bare),
            Effective.RENEWAL if bundles else Effective.NOW,
            _set_product(bare, product_id),
            _set_product(bare, product_id),
            reason=f"{product_id} replaces {bundles[0]} (in force today) at renewal"
            if bundles
            else None,
        )

    # Edition, agents and add-ons of every product the file keeps (new ones came in bare).
    for product_id in desired.product_ids:
        _product_changes(b, now, product_id, desired)

    if b.running.cycle is not desired.cycle:
        b.add(
            Kind.CYCLE_CHANGE,
            "billing.cycle",
            ("billing", "cycle"),
            b.running.cycle.value,
            desired.cycle.value,
            Effective.RENEWAL,
            lambda c: c._replace(cycle=desired.cycle),
            today_value=None if now.cycle is b.running.cycle else now.cycle.value,
        )
    if desired.cancelled and not b.running.cancelled:
        b.add(
            Kind.CANCEL,
            "status",
            ("status",),
            "active",
            "cancelled",
            Effective.RENEWAL,
            lambda c: c._replace(cancelled=True),
        )


def _bare(line: ProductLine | None) -> ProductLine:
    assert line is not None
    return line._replace(addons=())


def _swap(config: Config, out: list[str], into: list[ProductLine]) -> Config:
    for product_id in out:
        config = config.with_product(None, product_id)
    for line in into:
        config = config.with_product(line)
    return config


def _replace_with_bundle(
    b: _Builder,
    now: Config,
    bundle: str,
    replaced: list[str],
    in_force: list[str],
    desired: Config,
) -> None:
    """Suite replacing standalone products: now when it costs at least as much, else at renewal.

    ``replaced`` are the products the file drops from what renews (``next``);
    ``in_force`` those of today's subscription the suite replaces: the price
    test and the credits are theirs. A suite already scheduled in ``next``
    (a cheaper replacement waiting for the renewal) is the change's ``before``.
    """
    line = desired.product(bundle)
    assert line is not None
    cycle = now.cycle
    # The suite as it would stand today: its add-ons that are sold on today's cycle.
    sold_now = tuple((a, q) for a, q in line.addons if cycle in b.catalog.addons[a].cycles)
    suite_today = Config(cycle, (line._replace(addons=sold_now),))
    replaced_today = Config(cycle, tuple(p for p in now.products if p.product in in_force))
    suite_price = monthly_list(b.catalog, suite_today, b.currency)
    replaced_price = monthly_list(b.catalog, replaced_today, b.currency)
    effective = Effective.NOW if suite_price >= replaced_price else Effective.RENEWAL
    scheduled = b.running.product(bundle)
    if scheduled is not None and effective is Effective.RENEWAL:
        return  # the scheduled suite stays scheduled: its edition and seats change at renewal
    reason = (
        "costs at least as much as the products it replaces: takes effect now"
        if effective is Effective.NOW
        else "would cost less than the products it replaces: takes effect at renewal"
    )
    bare = _bare(line)
    before: Any = (
        _product_summary(scheduled)
        if scheduled is not None
        else {p: _product_summary(b.running.product(p)) for p in replaced}
    )
    today = {p: _product_summary(now.product(p)) for p in in_force}
    running_op = (
        _edit_product(bundle, lambda p: p._replace(edition=line.edition, agents=line.agents))
        if scheduled is not None
        else _swap_op(replaced, [bare])
    )
    b.add(
        Kind.SUITE_REPLACEMENT,
        f"products.{bundle}",
        ("products", bundle),
        before,
        _product_summary(bare),
        effective,
        running_op,
        _swap_op(in_force, [bare]),
        today_value=None if today == before else today,
        reason=f"{b.catalog.products[bundle].name} {reason}",
    )


def _product_changes(b: _Builder, now: Config, product_id: str, desired: Config) -> None:
    base_line = b.running.product(product_id)
    want = desired.product(product_id)
    if base_line is None or want is None:
        return
    today_line = b.now_running.product(product_id)
    product = b.catalog.products[product_id]
    where = ("products", product_id)
    address = f"products.{product_id}"
    rank = {e: product.editions[e].rank for e in product.editions}

    if base_line.agents != want.agents:
        up = want.agents > base_line.agents
        effective = (
            Effective.NOW
            if today_line is not None and want.agents > today_line.agents
            else Effective.RENEWAL
        )
        if today_line is None:
            effective = Effective.RENEWAL
        b.add(
            Kind.AGENTS_INCREASE if up else Kind.AGENTS_DECREASE,
            f"{address}.agents",
            (*where, "agents"),
            base_line.agents,
            want.agents,
            effective,
            _set_agents(product_id, want.agents),
            _set_agents(product_id, want.agents),
            today_value=_differs(today_line, base_line, "agents"),
        )
    if base_line.edition != want.edition:
        up = rank[want.edition] > rank[base_line.edition]
        effective = (
            Effective.NOW
            if today_line is not None and rank[want.edition] > rank[today_line.edition]
            else Effective.RENEWAL
        )
        b.add(
            Kind.EDITION_UPGRADE if up else Kind.EDITION_DOWNGRADE,
            f"{address}.edition",
            (*where, "edition"),
            base_line.edition,
            want.edition,
            effective,
            _set_edition(product_id, want.edition),
            _set_edition(product_id, want.edition),
            today_value=_differs(today_line, base_line, "edition"),
        )

    base_line = b.running.product(product_id)
    assert base_line is not None
    today_line = b.now_running.product(product_id)
    for addon_id in sorted({a for a, _ in base_line.addons} | {a for a, _ in want.addons}):
        have, wanted = base_line.addon(addon_id), want.addon(addon_id)
        if have == wanted:
            continue
        today_qty = today_line.addon(addon_id) if today_line is not None else None
        sold_today = now.cycle in b.catalog.addons[addon_id].cycles
        effective = (
            Effective.NOW
            if wanted is not None
            and today_line is not None
            and sold_today
            and (today_qty is None or wanted > today_qty)
            else Effective.RENEWAL
        )
        if have is None:
            kind = Kind.ADDON_ADD
        elif wanted is None:
            kind = Kind.ADDON_REMOVE
        else:
            kind = Kind.ADDON_INCREASE if wanted > have else Kind.ADDON_DECREASE
        edit = _set_addon(product_id, addon_id, wanted)
        b.add(
            kind,
            f"{address}.addons.{addon_id}",
            (*where, "addons", addon_id),
            have,
            wanted,
            effective,
            edit,
            edit,
            today_value=today_qty if today_line is not None and today_qty != have else None,
        )


def _differs(today: ProductLine | None, base: ProductLine, attribute: str) -> Any:
    if today is None:
        return None
    value = getattr(today, attribute)
    return value if value != getattr(base, attribute) else None
