"""What will happen to the money beyond this plan's own changes (issue 14).

Pure: the subscription in force (rolled over to the plan's date), the plan's
outcome and the catalog in; out come

- ``scheduled``: what already stands scheduled for the next renewal (a
  cancellation first), each with what this plan does to it;
- ``run_rate``: today's subscription priced as if it renewed unchanged;
- ``steady``: the recurring figure after the next renewal once a limited
  promotion (``once``, ``{cycles: N}``) has stopped discounting;
- ``estimated``: the names of the estimated catalog entries the plan used.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, NamedTuple

from zplan.load.catalog import Catalog
from zplan.model import Config, PromotionRecord, Recurring, Subscription
from zplan.plan.pricing import recurring


class Scheduled(NamedTuple):
    """One difference between ``now`` and ``next``: it happens at the renewal."""

    address: str
    kind: str  # cancel | product_remove | product_add | edition_downgrade | ... | cycle_change
    today: Any  # the value in force
    at_renewal: Any  # the value that renews
    effective_on: dt.date
    outcome: str  # stays | withdrawn | changed: what this plan does to it


def _facets(config: Config) -> dict[str, Any]:
    """Every value a scheduled change can touch, by address."""
    facets: dict[str, Any] = {
        "status": "cancelled" if config.cancelled else "active",
        "billing.cycle": config.cycle.value,
    }
    for line in config.products:
        address = f"products.{line.product}"
        facets[address] = {"edition": line.edition, "agents": line.agents}
        facets[f"{address}.edition"] = line.edition
        facets[f"{address}.agents"] = line.agents
        for addon_id, quantity in line.addons:
            facets[f"{address}.addons.{addon_id}"] = quantity
    return facets


def _kind(catalog: Catalog, address: str, today: Any, renewing: Any) -> str:
    parts = address.split(".")
    if address == "status":
        return "cancel" if renewing == "cancelled" else "reactivate"
    if address == "billing.cycle":
        return "cycle_change"
    if len(parts) == 2:
        if catalog.replacing(parts[1]):
            return "unbundle" if renewing is None else "suite_replacement"
        return "product_remove" if renewing is None else "product_add"
    if parts[2] == "agents":
        return "agents_decrease" if renewing < today else "agents_increase"
    if parts[2] == "edition":
        editions = catalog.products[parts[1]].editions
        down = editions[renewing].rank < editions[today].rank
        return "edition_downgrade" if down else "edition_upgrade"
    if renewing is None:
        return "addon_remove"
    if today is None:
        return "addon_add"
    return "addon_decrease" if renewing < today else "addon_increase"


_ORDER = {"cancel": 0, "unbundle": 1, "suite_replacement": 1, "product_remove": 2}


def scheduled(catalog: Catalog, sub: Subscription, next_after: Config | None) -> list[Scheduled]:
    """What ``next`` holds that ``now`` does not, and what the plan does to each (``next_after``)."""
    now, renewing = _facets(sub.now), _facets(sub.next)
    after = _facets(next_after) if next_after is not None else renewing
    gone = {a for a in set(now) | set(renewing) if a.count(".") == 1 and a.startswith("products.")}
    gone = {a for a in gone if (a in now) != (a in renewing)}
    found = []
    for address in sorted(set(now) | set(renewing)):
        if any(address.startswith(g + ".") for g in gone):
            continue  # a product that comes or goes: its edition and seats go with it
        if address.count(".") == 1 and address.startswith("products.") and address not in gone:
            continue  # a product in both: its edition, seats and add-ons say what changes
        today, at_renewal = now.get(address), renewing.get(address)
        if today == at_renewal:
            continue
        if address == "status" and at_renewal != "cancelled":
            continue
        planned = after.get(address)
        outcome = (
            "stays" if planned == at_renewal else "withdrawn" if planned == today else "changed"
        )
        found.append(
            Scheduled(
                address,
                _kind(catalog, address, today, at_renewal),
                today,
                at_renewal,
                sub.term_end,
                outcome,
            )
        )
    found.sort(key=lambda s: _ORDER.get(s.kind, 3))
    return found


def run_rate(catalog: Catalog, sub: Subscription, currency: str) -> Recurring:
    """Today's subscription priced as its renewal, as if nothing were scheduled."""
    return recurring(
        catalog, sub.now._replace(cancelled=False), currency, sub.term_end, sub.promotion
    )


def steady(
    catalog: Catalog,
    config: Config,
    currency: str,
    day: dt.date,
    promotion: PromotionRecord | None,
    after: Recurring,
) -> Recurring:
    """The recurring figure once a promotion that stops (once, N cycles) no longer discounts."""
    if promotion is None or promotion.terms.duration.kind == "forever":
        return after
    return recurring(catalog, config, currency, day, None)


def estimated(catalog: Catalog, configs: list[Config]) -> list[str]:
    """The names of the estimated catalog entries (editions, add-ons) in ``configs``."""
    names: list[str] = []
    for config in configs:
        for line in config.products:
            edition = catalog.products[line.product].editions[line.edition]
            if edition.estimate and edition.name not in names:
                names.append(edition.name)
            for addon_id, _ in line.addons:
                addon = catalog.addons[addon_id]
                if addon.estimate and addon.name not in names:
                    names.append(addon.name)
    return names
