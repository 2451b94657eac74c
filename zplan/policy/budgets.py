"""Budgets without Rego: ceilings, largest increases, largest due-now, freeze windows.

A ``budgets.yaml`` (``schemas/budgets.schema.json``) is read like every other
file: strict YAML, the schema, then rules, each problem a positioned
diagnostic. Checks take the plan document's JSON of an account (and its
forecast, for the annual ceiling), so they run the same in the worker
processes of a large plan and over a saved plan.
"""

from __future__ import annotations

import datetime as dt
import fnmatch
from collections.abc import Mapping, Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any, NamedTuple

from zplan.diagnostics import Diagnostic
from zplan.load.document import Document, load_file
from zplan.money import fmt
from zplan.policy.findings import Finding, Level

SCHEMA = "budgets.schema.json"
LIMITS = (
    "monthly_ceiling",
    "max_monthly_increase",
    "max_monthly_increase_percent",
    "max_due_now",
    "annual_ceiling",
)


class Limits(NamedTuple):
    amounts: tuple[tuple[str, Decimal], ...]  # (limit name, amount), in LIMITS order
    level: Level
    where: str  # budgets.yaml:LINE, named in every finding

    def get(self, name: str) -> Decimal | None:
        for key, amount in self.amounts:
            if key == name:
                return amount
        return None


class AccountBudget(NamedTuple):
    patterns: tuple[str, ...]
    limits: Limits

    def matches(self, subdomain: str) -> bool:
        return _matches(self.patterns, subdomain)


class Freeze(NamedTuple):
    start: dt.date
    end: dt.date  # included
    reason: str
    patterns: tuple[str, ...]
    where: str

    def holds(self, subdomain: str, day: dt.date) -> bool:
        return self.start <= day <= self.end and _matches(self.patterns, subdomain)


class Budgets(NamedTuple):
    path: str
    currency: str
    accounts: tuple[AccountBudget, ...]
    plan: Limits | None
    freeze: tuple[Freeze, ...]

    @property
    def needs_forecast(self) -> bool:
        limits = [a.limits for a in self.accounts] + ([self.plan] if self.plan else [])
        return any(limit.get("annual_ceiling") is not None for limit in limits)


def _matches(patterns: Sequence[str], subdomain: str) -> bool:
    return any(fnmatch.fnmatchcase(subdomain, pattern) for pattern in patterns)


def _patterns(value: Any) -> tuple[str, ...]:
    return (value,) if isinstance(value, str) else tuple(value)


def load_budgets(path: Path, name: str) -> tuple[Budgets | None, list[Diagnostic]]:
    """The budgets in ``path``, or None and the problems (positioned) that stop it."""
    from zplan.load import schema

    document = load_file(path, name)
    problems = [d for d in document.diagnostics if d.is_error]
    if document.root is None or problems:
        return None, problems or document.diagnostics
    problems = schema.check(document, SCHEMA)
    if problems:
        return None, problems
    return _build(document)


def _build(document: Document) -> tuple[Budgets | None, list[Diagnostic]]:
    data: Mapping[str, Any] = document.data
    problems: list[Diagnostic] = []

    def limits(section: Mapping[str, Any], path: tuple[str | int, ...]) -> Limits:
        amounts = tuple((k, Decimal(str(section[k]))) for k in LIMITS if k in section)
        line = document.position(path)[0]
        return Limits(amounts, Level(section.get("severity", "deny")), f"{document.path}:{line}")

    accounts = tuple(
        AccountBudget(_patterns(entry["match"]), limits(entry, ("accounts", index)))
        for index, entry in enumerate(data.get("accounts") or [])
    )
    plan = limits(data["plan"], ("plan",)) if data.get("plan") else None
    windows = []
    for index, entry in enumerate(data.get("freeze") or []):
        days = []
        for key in ("from", "to"):
            try:
                days.append(dt.date.fromisoformat(entry[key]))
            except ValueError:
                problems.append(
                    document.error(
                        ("freeze", index, key), "bad-date", f"'{entry[key]}' is not a date"
                    )
                )
        if len(days) == 2 and days[0] > days[1]:
            problems.append(
                document.error(
                    ("freeze", index, "to"),
                    "freeze-order",
                    f"the window ends ({entry['to']}) before it starts ({entry['from']})",
                )
            )
        if len(days) == 2:
            where = f"{document.path}:{document.position(('freeze', index))[0]}"
            patterns = _patterns(entry.get("match", "*"))
            windows.append(Freeze(days[0], days[1], entry["reason"], patterns, where))
    if problems:
        return None, problems
    currency = data.get("currency", "USD")
    return Budgets(document.path, currency, accounts, plan, tuple(windows)), []


# Checks ------------------------------------------------------------------------


class Figures(NamedTuple):
    """What the limits are held against: an account's, or the sums over a plan."""

    before: Decimal  # monthly recurring
    after: Decimal
    due: Decimal  # due now and pending renewals
    annual: Decimal | None  # invoiced over the forecast's months, after the plan

    @property
    def percent(self) -> Decimal | None:
        if self.before == 0:
            return None
        return (self.after - self.before) / self.before * 100


def figures(account: Mapping[str, Any], forecast: Mapping[str, Any] | None) -> Figures:
    totals = account["totals"]
    return Figures(
        Decimal(totals["recurring_before"]["monthly"]),
        Decimal(totals["recurring_after"]["monthly"]),
        Decimal(totals["due_now"]) + Decimal(totals.get("renewals_due", "0")),
        None if forecast is None else Decimal(forecast["annual_after"]),
    )


def check_account(
    budgets: Budgets,
    account: Mapping[str, Any],
    forecast: Mapping[str, Any] | None,
    today: dt.date,
) -> list[Finding]:
    """The budgets' verdict on one account's plan; an account without changes passes."""
    if not account["changes"]:
        return []
    subdomain = account["subdomain"]
    file = account["config"]["path"]
    found = [
        Finding(
            Level.DENY,
            f"{subdomain}: no change may be applied from {w.start} to {w.end}: {w.reason}",
            w.where,
            subdomain,
            file,
        )
        for w in budgets.freeze
        if w.holds(subdomain, today)
    ]
    matching = [b for b in budgets.accounts if b.matches(subdomain)]
    if not matching:
        return found
    currency = account["totals"]["currency"]
    if currency != budgets.currency:
        found.append(
            Finding(
                Level.WARN,
                f"{subdomain} is billed in {currency}, and the budgets are in "
                f"{budgets.currency}: its amounts were not checked",
                matching[0].limits.where,
                subdomain,
                file,
            )
        )
        return found
    numbers = figures(account, forecast)
    for budget in matching:
        for level, text in _breaches(budget.limits, numbers, currency):
            found.append(
                Finding(level, f"{subdomain}: {text}", budget.limits.where, subdomain, file)
            )
    return found


def check_plan(budgets: Budgets, totals: Figures | None) -> list[Finding]:
    """The plan-wide limits, on the sums over the accounts in the budgets' currency."""
    if budgets.plan is None or totals is None:
        return []
    return [
        Finding(level, f"the whole plan: {text}", budgets.plan.where)
        for level, text in _breaches(budgets.plan, totals, budgets.currency)
    ]


def _breaches(limits: Limits, numbers: Figures, currency: str) -> list[tuple[Level, str]]:
    found = []

    def money(amount: Decimal) -> str:
        return fmt(amount, currency)

    ceiling = limits.get("monthly_ceiling")
    if ceiling is not None and numbers.after > ceiling:
        found.append(
            f"the monthly cost after the plan, {money(numbers.after)}, is above the ceiling of "
            f"{money(ceiling)}"
        )
    increase = numbers.after - numbers.before
    most = limits.get("max_monthly_increase")
    if most is not None and increase > most:
        found.append(
            f"the monthly cost rises by {money(increase)}, more than the {money(most)} allowed"
        )
    percent_limit = limits.get("max_monthly_increase_percent")
    percent = numbers.percent
    if percent_limit is not None and percent is not None and percent > percent_limit:
        found.append(
            f"the monthly cost rises by {percent:.2f}%, more than the {percent_limit}% allowed"
        )
    due = limits.get("max_due_now")
    if due is not None and numbers.due > due:
        found.append(f"the apply charges {money(numbers.due)}, more than the {money(due)} allowed")
    annual = limits.get("annual_ceiling")
    if annual is not None and numbers.annual is not None and numbers.annual > annual:
        found.append(
            f"the next twelve months would invoice {money(numbers.annual)}, above the annual "
            f"ceiling of {money(annual)}"
        )
    return [(limits.level, text) for text in found]
