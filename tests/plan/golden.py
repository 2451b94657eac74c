"""Golden plan scenarios: one YAML file per scenario under tests/cases/plan/.

A scenario holds the state to build (``steps``: files applied for real, at
their dates, against a fresh SQLite store; or admin changes), the file to
plan and its date, the figures checked by hand (``expect``), and, after a
``golden:`` line, the whole plan JSON of the account as zplan printed it when
the scenario was last reviewed. ``pytest --regen-golden`` rewrites only what
follows ``golden:``; the diff is then reviewed like any other change.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from tests.conftest import init_store, invoke

CASES = Path(__file__).parent.parent / "cases"
MARKER = "\ngolden:"


@dataclass
class Scenario:
    path: Path
    data: dict[str, Any]

    @property
    def name(self) -> str:
        return self.path.stem

    @classmethod
    def load(cls, path: Path) -> Scenario:
        return cls(path, yaml.safe_load(path.read_text(encoding="utf-8")))


def scenarios() -> list[Path]:
    return sorted((CASES / "plan").glob("*.yaml"))


def _catalog_args(data: dict[str, Any]) -> list[str]:
    catalog = data.get("catalog")
    return ["--catalog", str(CASES / "catalogs" / catalog)] if catalog else []


def _owner(text: str) -> str:
    return str(yaml.safe_load(text)["account"]["owner"])


def run_scenario(scenario: Scenario, workdir: Path) -> dict[str, Any]:
    """Build the state, plan the file; the whole plan document."""
    data = scenario.data
    state = init_store(str(workdir / "state.db"))
    common = ["--state", state, *_catalog_args(data)]
    for index, step in enumerate(data.get("steps") or []):
        at = str(step["at"])
        if "apply" in step:
            path = workdir / f"step{index}.yaml"
            path.write_text(step["apply"], encoding="utf-8")
            actor = step.get("actor") or _owner(step["apply"])
            flags = ["--allow-cancel"] if step.get("allow_cancel") else []
            result = invoke(
                [
                    *common,
                    "--at",
                    at,
                    "--actor",
                    actor,
                    "apply",
                    "--auto-approve",
                    *flags,
                    str(path),
                ]
            )
        elif "admin" in step:
            subdomain = step["admin"]["subdomain"]
            result = invoke(
                [
                    *common,
                    "--at",
                    at,
                    "--actor",
                    "operator@zplan.example",
                    "admin",
                    "account",
                    subdomain,
                    "--type",
                    step["admin"]["type"],
                ]
            )
        else:
            raise AssertionError(f"{scenario.name}: step {index} is neither apply nor admin")
        assert result.code == 0, f"{scenario.name}: step {index} failed:\n{result.output}"
    plan = data["plan"]
    path = workdir / "desired.yaml"
    path.write_text(plan["file"], encoding="utf-8")
    actor = ["--actor", plan["actor"]] if plan.get("actor") else []
    result = invoke(
        [*common, "--at", str(plan["at"]), *actor, "plan", "--format", "json", str(path)]
    )
    assert result.code in (0, 1), f"{scenario.name}: plan crashed:\n{result.output}"
    document: dict[str, Any] = json.loads(result.out)
    return document


def stable(document: dict[str, Any]) -> dict[str, Any]:
    """The account's plan without what changes from run to run (paths, uuids, timestamps).

    A file that breaks a catalog rule gives no account plan: its diagnostics are
    the document's own, and stand for the account here.
    """
    if not document["accounts"]:
        diagnostics = json.loads(json.dumps(document["diagnostics"]))
        for diagnostic in diagnostics:
            diagnostic["file"] = "desired.yaml"
        return {"diagnostics": diagnostics, "applyable": document["applyable"]}
    account = json.loads(json.dumps(document["accounts"][0]))
    account["config"]["path"] = "desired.yaml"
    if account["prior"]["lineage"] is not None:
        account["prior"]["lineage"] = "<lineage>"
    for diagnostic in account["diagnostics"]:
        diagnostic["file"] = "desired.yaml"
    account["notes"] = [n.replace(account_path(document), "desired.yaml") for n in account["notes"]]
    return account


def account_path(document: dict[str, Any]) -> str:
    return str(document["accounts"][0]["config"]["path"])


def write_golden(scenario: Scenario, golden: dict[str, Any]) -> None:
    text = scenario.path.read_text(encoding="utf-8")
    head = text.split(MARKER, 1)[0].rstrip("\n")
    body = yaml.safe_dump(golden, sort_keys=False, allow_unicode=True, width=100)
    indented = "".join(f"  {line}\n" if line else "\n" for line in body.splitlines())
    scenario.path.write_text(f"{head}\n{MARKER.strip()}\n{indented}", encoding="utf-8")
