"""The policy set given with ``--policy``: Rego modules, data, budgets; one digest for all.

``load_guard`` reads the files (a ``.rego`` file, a budgets file, a data file,
or a directory of them); ``Guard.check_account`` gives the verdict on one
account's plan (the Rego input is the plan document holding that account
alone, so policies stream with large plans), ``Guard.check_plan`` the verdict
on the whole plan (the Rego input is the plan document without accounts, with
``totals``: the sums per currency).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Iterable, Mapping, Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any, NamedTuple

from zplan.money import ZERO, percent_to_json, to_json
from zplan.policy import budgets as budget_checks
from zplan.policy.findings import Finding, Level, Source
from zplan.policy.rego import PolicyError, RegoSet

_DATA_SUFFIXES = (".json", ".yaml", ".yml")
_BUDGET_NAMES = ("budgets.yaml", "budgets.yml")


class Guard(NamedTuple):
    sources: tuple[Source, ...]
    budgets: budget_checks.Budgets | None
    rego: RegoSet | None

    @property
    def digest(self) -> str:
        """sha256 over the names and contents of every file of the set (not where it lies)."""
        items = sorted(
            (s.kind, s.path.replace("\\", "/").rsplit("/", 1)[-1], s.sha256) for s in self.sources
        )
        text = json.dumps(items, separators=(",", ":"))
        return "sha256:" + hashlib.sha256(text.encode()).hexdigest()

    @property
    def needs_forecast(self) -> bool:
        return self.budgets is not None and self.budgets.needs_forecast

    def check_account(
        self,
        header: Mapping[str, Any],
        account: Mapping[str, Any],
        forecast: Mapping[str, Any] | None,
        today: dt.date,
    ) -> list[Finding]:
        if not account["changes"]:
            return []  # a guardrail judges what the plan changes (docs/guardrails.md)
        found = []
        if self.budgets is not None:
            found += budget_checks.check_account(self.budgets, account, forecast, today)
        if self.rego is not None:
            document = {**header, "accounts": [self.rego.shape(account)]}
            subdomain, file = account["subdomain"], account["config"]["path"]
            found += [
                Finding(level, message, f"rego {rule}", subdomain, file)
                for level, rule, message in self.rego.evaluate(document)
            ]
        return found

    def check_plan(
        self, header: Mapping[str, Any], totals: Sequence[Mapping[str, Any]]
    ) -> list[Finding]:
        found = []
        if self.budgets is not None:
            mine = next((t for t in totals if t["currency"] == self.budgets.currency), None)
            figures = None
            if mine is not None and mine["changed"]:
                figures = budget_checks.Figures(
                    Decimal(mine["monthly_before"]),
                    Decimal(mine["monthly_after"]),
                    Decimal(mine["due"]),
                    None if mine.get("annual_after") is None else Decimal(mine["annual_after"]),
                )
            found += budget_checks.check_plan(self.budgets, figures)
        if self.rego is not None:
            document = {**header, "accounts": [], "totals": list(totals)}
            found += [
                Finding(level, message, f"rego {rule}")
                for level, rule, message in self.rego.evaluate(document)
            ]
        return found


def _sha256(raw: bytes) -> str:
    return hashlib.sha256(raw).hexdigest()


def _files(paths: Iterable[str]) -> list[Path]:
    found: list[Path] = []
    for given in paths:
        path = Path(given)
        if path.is_dir():
            found += sorted(
                p
                for p in path.rglob("*")
                if p.is_file()
                and (p.suffix == ".rego" or p.suffix in _DATA_SUFFIXES)
                and not p.name.endswith("_test.rego")
                and not any(part.startswith(".") for part in p.relative_to(path).parts)
            )
        elif path.is_file():
            found.append(path)
        else:
            raise PolicyError(f"--policy {given}: no such file or directory")
    return found


def load_guard(paths: Sequence[str], data_paths: Sequence[str] = ()) -> Guard:
    """The policy set under ``paths`` (and extra data files); PolicyError when it is unusable."""
    sources: list[Source] = []
    modules: list[tuple[str, str]] = []
    data: list[Mapping[str, Any]] = []
    budgets: budget_checks.Budgets | None = None
    for path in _files(paths) + [Path(p) for p in data_paths]:
        name = str(path)
        try:
            raw = path.read_bytes()
        except OSError as exc:
            raise PolicyError(f"{name}: cannot read the file: {exc.strerror}") from None
        if path.suffix == ".rego":
            modules.append((name, raw.decode("utf-8", errors="replace")))
            sources.append(Source(name, "rego", _sha256(raw)))
        elif path.name in _BUDGET_NAMES and str(path) not in data_paths:
            if budgets is not None:
                raise PolicyError(f"{name}: a second budgets file ({budgets.path} is the first)")
            budgets, problems = budget_checks.load_budgets(path, name)
            if budgets is None:
                raise PolicyError(_problems(problems))
            sources.append(Source(name, "budgets", _sha256(raw)))
        elif path.suffix in _DATA_SUFFIXES:
            data.append(_data(path, name, raw))
            sources.append(Source(name, "data", _sha256(raw)))
        else:
            raise PolicyError(
                f"{name}: not a policy file (.rego, budgets.yaml, or .json/.yaml data)"
            )
    if not sources:
        raise PolicyError(f"--policy {', '.join(paths)}: no .rego or budgets file found")
    rego = RegoSet(modules, data) if modules else None
    if rego is not None:
        rego.check()
    return Guard(tuple(sources), budgets, rego)


def _problems(problems: Sequence[Any]) -> str:
    first = problems[0]
    text = f"{first.file}:{first.line}:{first.column}: {first.path}: {first.message}"
    if first.hint:
        text += f" ({first.hint})"
    if len(problems) > 1:
        text += f" (and {len(problems) - 1} more problem{'s' * (len(problems) > 2)})"
    return text


def _data(path: Path, name: str, raw: bytes) -> Mapping[str, Any]:
    if path.suffix == ".json":
        try:
            value = json.loads(raw)
        except (ValueError, UnicodeDecodeError) as exc:
            raise PolicyError(f"{name}: not valid JSON ({exc})") from None
    else:
        from zplan.load.document import load_bytes

        document = load_bytes(raw, name)
        errors = [d for d in document.diagnostics if d.is_error]
        if errors or document.root is None:
            raise PolicyError(_problems(errors or document.diagnostics))
        value = document.data
    if not isinstance(value, dict):
        raise PolicyError(f"{name}: a data file must hold an object (its keys go under data.)")
    return value


# The plan-wide figures ---------------------------------------------------------


def plan_totals(
    accounts: Iterable[Mapping[str, Any]], forecasts: Mapping[str, Mapping[str, Any]] | None
) -> list[dict[str, Any]]:
    """Per currency, the sums over the accounts: what plan-wide rules and budgets judge."""
    sums: dict[str, dict[str, Any]] = {}
    for account in accounts:
        totals = account["totals"]
        currency = totals["currency"]
        row = sums.setdefault(
            currency,
            {
                "accounts": 0,
                "changed": 0,
                "before": ZERO,
                "after": ZERO,
                "due": ZERO,
                "annual": ZERO,
            },
        )
        row["accounts"] += 1
        row["changed"] += 1 if account["changes"] else 0
        row["before"] += Decimal(totals["recurring_before"]["monthly"])
        row["after"] += Decimal(totals["recurring_after"]["monthly"])
        row["due"] += Decimal(totals["due_now"]) + Decimal(totals.get("renewals_due", "0"))
        forecast = None if forecasts is None else forecasts.get(account["subdomain"])
        if forecast is not None:
            row["annual"] += Decimal(forecast["annual_after"])
    result = []
    for currency in sorted(sums):
        row = sums[currency]
        before, after = row["before"], row["after"]
        result.append(
            {
                "currency": currency,
                "accounts": row["accounts"],
                "changed": row["changed"],
                "monthly_before": to_json(before, currency),
                "monthly_after": to_json(after, currency),
                "monthly_delta": to_json(after - before, currency),
                "monthly_delta_percent": None
                if before == 0
                else percent_to_json((after - before) / before * 100),
                "due": to_json(row["due"], currency),
                "annual_after": None if forecasts is None else to_json(row["annual"], currency),
            }
        )
    return result


def results_json(guard: Guard, findings: Iterable[Finding]) -> dict[str, Any]:
    """The plan document's ``policy``: deny and warn (each message once), sources, digest."""
    seen: set[tuple[Level, str, str | None]] = set()
    deny: list[dict[str, Any]] = []
    warn: list[dict[str, Any]] = []
    for finding in findings:
        key = (finding.level, finding.message, finding.subdomain)
        if key in seen:
            continue
        seen.add(key)
        (deny if finding.level is Level.DENY else warn).append(finding.to_json())
    return {
        "digest": guard.digest,
        "deny": deny,
        "warn": warn,
        "sources": [s.to_json() for s in guard.sources],
    }
