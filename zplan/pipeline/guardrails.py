"""Policies and the forecast, joined to the plan: per account (in the worker that plans it)
and once over the whole plan (when the document is assembled)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from zplan import __version__
from zplan.money import to_json

if TYPE_CHECKING:
    from zplan.load.catalog import Catalog
    from zplan.model import AccountPlan
    from zplan.policy.guard import Guard


class Extras:
    """What a plan adds beside the accounts: a guard, and forecast months (None: no forecast)."""

    def __init__(
        self, guard: Guard | None = None, months: int | None = None, detail: bool = False
    ) -> None:
        self.guard = guard
        self.months = months  # the forecast shown in the document; None: none
        self.detail = detail
        # A budget's annual ceiling is checked against the invoices of the next twelve months.
        self.annual = guard is not None and guard.needs_forecast

    @property
    def active(self) -> bool:
        return self.guard is not None or self.months is not None


def header(catalog: Catalog, today: dt.date) -> dict[str, Any]:
    """The plan document's fields that every Rego input carries (as conftest sees them)."""
    return {
        "format_version": "1",
        "zplan_version": __version__,
        "priced_on": today.isoformat(),
        "catalog": {"id": catalog.id, "sha256": catalog.sha256},
    }


def for_account(
    extras: Extras,
    catalog: Catalog,
    today: dt.date,
    planned: AccountPlan,
    account: Mapping[str, Any],
) -> dict[str, Any]:
    """One account's forecast and findings, as plain data (workers send it back)."""
    out: dict[str, Any] = {}
    forecast = None
    if extras.months is not None and not planned.has_errors:
        from zplan.plan.forecast import forecast_account, forecast_json, sums

        projected = forecast_account(catalog, planned, today, extras.months, events=extras.detail)
        out["sums"] = sums(projected)
        if extras.detail:
            out["forecast"] = forecast_json(projected)
        forecast = {"annual_after": to_json(projected.annual_after, planned.currency)}
    elif extras.annual and planned.changes and not planned.has_errors:
        from zplan.plan.forecast import MONTHS, forecast_account, forecast_json

        lite = forecast_account(catalog, planned, today, MONTHS, invoiced_only=True)
        forecast = forecast_json(lite)
        out["annual"] = forecast["annual_after"]
    if extras.guard is not None:
        findings = extras.guard.check_account(header(catalog, today), account, forecast, today)
        out["findings"] = [{**f.to_json(), "level": f.level.value} for f in findings]
    return out


def finish(
    document: dict[str, Any],
    extras: Extras,
    catalog: Catalog,
    today: dt.date,
    results: Sequence[Mapping[str, Any]],
) -> dict[str, Any]:
    """The document with ``forecast`` and ``policy``, from the accounts' results."""
    results = [r for r in results if "account" in r]  # not the duplicates' (they have no plan)
    forecasts = _forecasts(results)
    if extras.months is not None:
        from zplan.plan.forecast import sums_json

        document["forecast"] = {
            "months": extras.months,
            "start": today.isoformat(),
            "totals": sums_json([r["sums"] for r in results if "sums" in r]),
        }
        if extras.detail:
            document["forecast"]["accounts"] = [r["forecast"] for r in results if "forecast" in r]
    if extras.guard is not None:
        document["policy"] = verdict(
            extras.guard,
            catalog,
            today,
            document["accounts"],
            forecasts if extras.months is not None or extras.annual else None,
            [f for r in results for f in r.get("findings", [])],
        )
    return document


def _forecasts(results: Sequence[Mapping[str, Any]]) -> dict[str, Mapping[str, Any]]:
    """Per subdomain, what the plan-wide figures need of each account's forecast."""
    found: dict[str, Mapping[str, Any]] = {}
    for result in results:
        account = result.get("account") or {}
        if result.get("sums") is not None:
            currency = result["sums"]["currency"]
            found[account["subdomain"]] = {
                "annual_after": to_json(result["sums"]["annual_after"], currency)
            }
        elif result.get("annual") is not None:
            found[account["subdomain"]] = {"annual_after": result["annual"]}
    return found


def verdict(
    guard: Guard,
    catalog: Catalog,
    today: dt.date,
    accounts: Sequence[Mapping[str, Any]],
    forecasts: Mapping[str, Mapping[str, Any]] | None,
    findings: Iterable[Mapping[str, Any]],
) -> dict[str, Any]:
    """The ``policy`` section: the accounts' findings, then the plan-wide ones."""
    from zplan.policy.findings import Finding, Level
    from zplan.policy.guard import plan_totals, results_json

    found = [
        Finding(Level(f["level"]), f["message"], f["source"], f["subdomain"], f["file"])
        for f in findings
    ]
    found += guard.check_plan(header(catalog, today), plan_totals(accounts, forecasts))
    return results_json(guard, found)


def check_plans(
    extras: Extras, catalog: Catalog, today: dt.date, plans: Sequence[AccountPlan]
) -> dict[str, Any]:
    """The ``policy`` section for plans made in this process (apply from files, saved plans)."""
    from zplan.apply.planfile import account_json

    assert extras.guard is not None
    results = []
    accounts = []
    for planned in plans:
        account = account_json(planned)
        accounts.append(account)
        results.append(
            {"account": account, **for_account(extras, catalog, today, planned, account)}
        )
    return verdict(
        extras.guard,
        catalog,
        today,
        accounts,
        _forecasts(results) if extras.months is not None or extras.annual else None,
        [f for r in results for f in r.get("findings", [])],
    )


def denied(policy: Mapping[str, Any] | None) -> list[Mapping[str, Any]]:
    return [] if not policy else list(policy.get("deny") or [])


def enforce(
    policy: Mapping[str, Any],
    plans: Sequence[AccountPlan],
    actor: str,
    override: str | None,
) -> dict[str, dict[str, Any]]:
    """Refuse a denied plan unless the owner overrides it; the audit entry for each account.

    The override is the owner's alone: the stored owner (the file's, for a new
    account) of every account a denial names, and of every account written
    when a plan-wide rule denies.
    """
    from zplan.errors import RefusedError

    deny = denied(policy)
    writing = [p for p in plans if p.writes]
    if deny and override is None:
        first = deny[0]["message"]
        more = f" (and {len(deny) - 1} more)" if len(deny) > 1 else ""
        raise RefusedError(
            f"the plan breaks {len(deny)} guardrail{'s' * (len(deny) != 1)}: {first}{more}",
            hint="change the plan, or, as the owner, apply with --override-policy REASON",
        )
    plan_wide = [d["message"] for d in deny if d.get("subdomain") is None]
    entries: dict[str, dict[str, Any]] = {}
    for planned in writing:
        mine = [d["message"] for d in deny if d.get("subdomain") == planned.subdomain]
        record: dict[str, Any] = {"digest": policy["digest"], "override": None}
        if mine or plan_wide:
            owner = _owner(planned)
            if owner is None or owner.lower() != actor.lower():
                raise RefusedError(
                    f"{planned.subdomain}: only the owner ({owner}) may override its guardrails",
                    hint=f"the actor is {actor}",
                )
            record["override"] = {"reason": override, "denied": [*mine, *plan_wide]}
        entries[planned.subdomain] = {"policy": record}
    return entries


def _owner(planned: AccountPlan) -> str | None:
    account = planned.current if planned.current is not None else planned.prior
    if account is not None:
        return account.owner
    return planned.desired.owner if planned.desired is not None else None


def check_saved_digest(saved: Mapping[str, Any], guard: Guard | None) -> None:
    """A saved plan applies only under the policy set it was checked against (or none, both)."""
    from zplan.errors import PlanFileError

    recorded = (saved.get("policy") or {}).get("digest")
    active = None if guard is None else guard.digest
    if recorded == active:
        return
    if recorded is None:
        raise PlanFileError(
            "the plan was saved without policies, and policies are given now",
            hint="make the plan again with the same --policy",
        )
    if active is None:
        raise PlanFileError(
            f"the plan was checked against the policy set {recorded[:19]}…, and no --policy "
            "is given now",
            hint="apply with the same --policy (and --policy-data)",
        )
    raise PlanFileError(
        f"the plan was checked against the policy set {recorded[:19]}…, not the active one "
        f"{active[:19]}…",
        hint="apply with the same --policy, or make the plan again",
    )
