"""Guardrails (issue 17): budgets and Rego policies, in every output, honoured by apply."""

from __future__ import annotations

import json
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from zplan.load import schema

from tests.conftest import EXAMPLES, TODAY, Zplan

POLICIES = EXAMPLES / "policies"
ACCOUNTS = EXAMPLES / "accounts"
OWNER = "owner@acme.example"


def _file(tmp_path: Path, name: str, source: str, *edits: tuple[str, str]) -> Path:
    text = (ACCOUNTS / source).read_text(encoding="utf-8")
    for old, new in edits:
        assert old in text
        text = text.replace(old, new)
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def _labels(tmp_path: Path, *labels: str) -> Path:
    path = tmp_path / "labels.json"
    path.write_text(json.dumps({"pr": {"labels": list(labels)}}), encoding="utf-8")
    return path


def _plan_json(zplan: Zplan, state: str, *argv: str) -> tuple[int, dict]:
    result = zplan("--state", state, "--at", TODAY, "plan", "--format", "json", *argv)
    return result.code, json.loads(result.out)


def _messages(document: dict, level: str = "deny") -> list[str]:
    return [entry["message"] for entry in document["policy"][level]]


# Loading the policy set ------------------------------------------------------------


def test_a_budgets_file_is_checked_with_positioned_diagnostics(
    zplan: Zplan, state: str, tmp_path: Path
) -> None:
    policies = tmp_path / "policies"
    policies.mkdir()
    (policies / "budgets.yaml").write_text(
        "budgets: 1\naccounts:\n  - match: acme\n    montly_ceiling: '100'\n", encoding="utf-8"
    )
    result = zplan(
        "--state",
        state,
        "--at",
        TODAY,
        "plan",
        str(ACCOUNTS / "acme.yaml"),
        "--policy",
        str(policies),
    )
    assert result.code == 1
    assert "budgets.yaml:4:5: accounts[0].montly_ceiling: unknown key" in result.err
    assert "did you mean 'monthly_ceiling'" in result.err
    assert "Traceback" not in result.output


def test_a_freeze_window_that_ends_before_it_starts_is_refused(
    zplan: Zplan, state: str, tmp_path: Path
) -> None:
    budgets = tmp_path / "budgets.yaml"
    budgets.write_text(
        "budgets: 1\nfreeze:\n  - from: 2026-12-20\n    to: 2026-12-01\n    reason: close\n",
        encoding="utf-8",
    )
    result = zplan(
        "--state",
        state,
        "--at",
        TODAY,
        "plan",
        str(ACCOUNTS / "acme.yaml"),
        "--policy",
        str(budgets),
    )
    assert result.code == 1
    assert (
        "budgets.yaml:4:9: freeze[0].to: the window ends (2026-12-01) before it starts"
        in result.err
    )


def test_a_rego_module_that_does_not_compile_is_one_line_with_its_position(
    zplan: Zplan, state: str, tmp_path: Path
) -> None:
    broken = tmp_path / "broken.rego"
    broken.write_text("package main\n\ndeny[msg {\n", encoding="utf-8")
    result = zplan(
        "--state",
        state,
        "--at",
        TODAY,
        "plan",
        str(ACCOUNTS / "acme.yaml"),
        "--policy",
        str(broken),
    )
    assert result.code == 1
    assert result.err.startswith(f"Error: {broken}:")
    assert len(result.err.strip().splitlines()) == 1


def test_without_policies_regopy_is_not_imported(state: str) -> None:
    probe = (
        "import sys, json\nfrom zplan.cli import run\ncode = run(sys.argv[1:])\n"
        "print(json.dumps([code, 'regopy' in sys.modules]))"
    )
    argv = ["--state", state, "--at", TODAY, "plan", str(ACCOUNTS / "acme.yaml")]
    done = subprocess.run(
        [sys.executable, "-c", probe, *argv], capture_output=True, text=True, check=False
    )
    assert json.loads(done.stdout.strip().splitlines()[-1]) == [0, False]
    done = subprocess.run(
        [sys.executable, "-c", probe, *argv, "--policy", str(POLICIES)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert json.loads(done.stdout.strip().splitlines()[-1])[1] is True


# The example policies, each denying and passing ----------------------------------------


def test_enterprise_needs_the_finance_approved_label(
    zplan: Zplan, state: str, tmp_path: Path
) -> None:
    northwind = str(ACCOUNTS / "northwind.yaml")
    code, document = _plan_json(zplan, state, northwind, "--policy", str(POLICIES))
    assert code == 1
    assert (
        "northwind: support Enterprise needs the finance-approved label on the pull request"
        in _messages(document)
    )
    labelled = _labels(tmp_path, "finance-approved")
    code, document = _plan_json(
        zplan, state, northwind, "--policy", str(POLICIES), "--policy-data", str(labelled)
    )
    assert code == 0, document["policy"]
    assert document["policy"]["deny"] == []


def test_no_account_may_rise_by_more_than_twenty_percent(
    zplan: Zplan, state: str, tmp_path: Path
) -> None:
    first = _file(tmp_path, "acme.yaml", "acme.yaml")
    applied = zplan(
        "--state",
        state,
        "--at",
        "2026-06-01",
        "--actor",
        OWNER,
        "apply",
        str(first),
        "--auto-approve",
    )
    assert applied.code == 0, applied.output
    # 25 -> 28 agents: +12 %, allowed; 25 -> 35: +40 %, denied.
    small = _file(tmp_path, "small.yaml", "acme.yaml", ("agents: 25", "agents: 28"))
    code, document = _plan_json(
        zplan, state, str(small), "--policy", str(POLICIES / "monthly_increase.rego")
    )
    assert code == 0 and document["policy"]["deny"] == []
    big = _file(
        tmp_path,
        "big.yaml",
        "acme.yaml",
        ("agents: 25", "agents: 35"),
        ("copilot: 25", "copilot: 35"),
    )
    code, document = _plan_json(
        zplan, state, str(big), "--policy", str(POLICIES / "monthly_increase.rego")
    )
    assert code == 1
    [message] = _messages(document)
    assert message.startswith("acme: the monthly cost rises by ")
    assert "more than the 20% allowed" in message


def test_monthly_billing_is_refused_above_fifty_agents(
    zplan: Zplan, state: str, tmp_path: Path
) -> None:
    rule = str(POLICIES / "monthly_billing.rego")
    fifty = _file(tmp_path, "fifty.yaml", "bluebird.yaml", ("agents: 8", "agents: 50"))
    code, document = _plan_json(zplan, state, str(fifty), "--policy", rule)
    assert code == 0 and document["policy"]["deny"] == []
    many = _file(tmp_path, "many.yaml", "bluebird.yaml", ("agents: 8", "agents: 51"))
    code, document = _plan_json(zplan, state, str(many), "--policy", rule)
    assert code == 1
    assert _messages(document) == [
        "bluebird: monthly billing is not allowed above 50 agents (suite has 51)"
    ]


def test_budgets_deny_and_warn(zplan: Zplan, state: str, tmp_path: Path) -> None:
    budgets = tmp_path / "budgets.yaml"
    budgets.write_text(
        "budgets: 1\naccounts:\n  - match: 'acm*'\n    max_due_now: '40000'\n"
        "  - match: [bluebird]\n    monthly_ceiling: '500'\n    severity: warn\n"
        "plan:\n  annual_ceiling: '50000.00'\n",
        encoding="utf-8",
    )
    code, document = _plan_json(
        zplan,
        state,
        str(ACCOUNTS / "acme.yaml"),
        str(ACCOUNTS / "bluebird.yaml"),
        "--policy",
        str(budgets),
    )
    assert code == 1
    assert _messages(document) == [
        "acme: the apply charges $48,330.00, more than the $40,000.00 allowed",
        "the whole plan: the next twelve months would invoice $59,370.00, above the annual "
        "ceiling of $50,000.00",
    ]
    assert _messages(document, "warn") == [
        "bluebird: the monthly cost after the plan, $920.00, is above the ceiling of $500.00"
    ]
    assert document["policy"]["deny"][0]["source"].endswith("budgets.yaml:3")
    assert document["policy"]["deny"][1]["subdomain"] is None
    assert not schema.validate_data(schema.PLAN, document)


def test_a_freeze_window_stops_changes_but_not_a_plan_without_any(
    zplan: Zplan, state: str, tmp_path: Path
) -> None:
    budgets = tmp_path / "budgets.yaml"
    budgets.write_text(
        "budgets: 1\nfreeze:\n  - from: 2026-11-20\n    to: 2026-12-01\n    reason: Black Friday\n",
        encoding="utf-8",
    )
    code, document = _plan_json(zplan, state, str(ACCOUNTS / "acme.yaml"), "--policy", str(budgets))
    assert code == 1
    assert _messages(document) == [
        "acme: no change may be applied from 2026-11-20 to 2026-12-01: Black Friday"
    ]
    result = zplan(
        "--state",
        state,
        "--at",
        "2026-12-02",
        "plan",
        str(ACCOUNTS / "acme.yaml"),
        "--policy",
        str(budgets),
    )
    assert result.code == 0
    assert "Policy: every guardrail passed." in result.out


# Every place a reviewer looks ------------------------------------------------------------


def test_a_denied_plan_in_text_markdown_github_and_detailed_exitcode(
    zplan: Zplan, state: str, tmp_path: Path
) -> None:
    args = [
        "--state",
        state,
        "--at",
        TODAY,
        "plan",
        str(ACCOUNTS / "northwind.yaml"),
        "--policy",
        str(POLICIES),
    ]
    text = zplan(*args)
    assert text.code == 1
    lines = text.out.splitlines()
    policy = lines.index("Policy: 1 denied, 0 warnings.")
    assert lines[policy + 1].startswith("  deny: northwind: support Enterprise needs")
    assert "the plan breaks 1 guardrail" in text.err
    assert zplan(*args, "--detailed-exitcode").code == 1

    markdown = zplan(*args, "--format", "markdown").out.splitlines()
    assert markdown[0] == "<!-- zplan-plan -->"
    assert markdown[1] == "> ⛔ **1 guardrail failed**"
    assert any("support Enterprise needs the finance-approved label" in line for line in markdown)

    github = zplan(*args, "--format", "github").out.splitlines()
    assert github == [
        f"::error file={ACCOUNTS / 'northwind.yaml'},line=1,title=zplan guardrail::northwind: "
        "support Enterprise needs the finance-approved label on the pull request [rego deny]"
    ]


def test_codequality_report_points_at_the_subscription_file(
    zplan: Zplan, state: str, tmp_path: Path
) -> None:
    out = tmp_path / "plan.json"
    result = zplan(
        "--state",
        state,
        "--at",
        TODAY,
        "plan",
        str(ACCOUNTS / "northwind.yaml"),
        "--policy",
        str(POLICIES),
        "--out",
        str(out),
    )
    assert result.code == 1 and out.exists()  # saved: the owner may still override it
    script = Path(__file__).resolve().parents[2] / "examples" / "ci" / "scripts" / "codequality.py"
    done = subprocess.run(
        [sys.executable, str(script), str(out)], capture_output=True, text=True, check=True
    )
    [issue] = json.loads(done.stdout)
    assert issue["location"] == {"path": str(ACCOUNTS / "northwind.yaml"), "lines": {"begin": 1}}
    assert issue["severity"] == "major"
    assert issue["check_name"] == "zplan/guardrail"


# Apply honours them ------------------------------------------------------------------------


def _audit(state: str, subdomain: str) -> list[dict]:
    with sqlite3.connect(state) as db:
        rows = db.execute(
            "SELECT entry FROM audit WHERE subdomain = ? ORDER BY serial", (subdomain,)
        )
        return [json.loads(row[0]) for row in rows]


def test_apply_is_refused_unless_the_owner_overrides_with_a_reason(
    zplan: Zplan, state: str, tmp_path: Path
) -> None:
    budgets = tmp_path / "budgets.yaml"
    budgets.write_text(
        "budgets: 1\naccounts:\n  - match: '*'\n    max_due_now: '1000'\n", encoding="utf-8"
    )
    acme = str(ACCOUNTS / "acme.yaml")
    common = ["--state", state, "--at", TODAY]
    refused = zplan(
        *common, "--actor", OWNER, "apply", acme, "--auto-approve", "--policy", str(budgets)
    )
    assert refused.code == 1
    assert "Error: the plan breaks 1 guardrail: acme: the apply charges $48,330.00" in refused.err
    assert "--override-policy" in refused.err
    assert not Path(state).exists() or _audit(state, "acme") == []

    stranger = zplan(
        *common,
        "--actor",
        "finance@acme.example",
        "apply",
        acme,
        "--auto-approve",
        "--policy",
        str(budgets),
        "--override-policy",
        "approved",
    )
    assert stranger.code == 1
    assert _audit(state, "acme") == []

    done = zplan(
        *common,
        "--actor",
        OWNER,
        "apply",
        acme,
        "--auto-approve",
        "--policy",
        str(budgets),
        "--override-policy",
        "CFO approved, FIN-42",
    )
    assert done.code == 0, done.output
    [entry] = _audit(state, "acme")
    assert entry["policy"]["override"] == {
        "reason": "CFO approved, FIN-42",
        "denied": ["acme: the apply charges $48,330.00, more than the $1,000.00 allowed"],
    }
    history = zplan("--state", state, "history", "acme")
    assert "guardrails overridden: CFO approved, FIN-42" in history.out
    assert zplan("--state", state, "history", "acme", "--verify").code == 0


def test_a_saved_plan_applies_only_under_the_policy_set_it_was_checked_against(
    zplan: Zplan, state: str, tmp_path: Path
) -> None:
    policies = tmp_path / "policies"
    shutil.copytree(POLICIES, policies)
    saved = tmp_path / "plan.json"
    common = ["--state", state, "--at", TODAY]
    made = zplan(
        *common,
        "plan",
        str(ACCOUNTS / "cornerbooks.yaml"),
        "--policy",
        str(policies),
        "--out",
        str(saved),
    )
    assert made.code == 0, made.output
    assert json.loads(saved.read_text())["policy"]["digest"].startswith("sha256:")
    actor = ["--actor", "owner@cornerbooks.example"]

    unguarded = zplan(*common, *actor, "apply", str(saved))
    assert unguarded.code == 1
    assert "no --policy is given now" in unguarded.err

    (policies / "monthly_increase.rego").write_text(
        (policies / "monthly_increase.rego").read_text().replace("> 20", "> 10")
    )
    changed = zplan(*common, *actor, "apply", str(saved), "--policy", str(policies))
    assert changed.code == 1
    assert "not the active one" in changed.err

    shutil.rmtree(policies)
    shutil.copytree(POLICIES, policies)
    applied = zplan(*common, *actor, "apply", str(saved), "--policy", str(policies))
    assert applied.code == 0, applied.output
    assert _audit(state, "cornerbooks")[0]["policy"]["override"] is None


def test_a_denied_saved_plan_needs_the_override(zplan: Zplan, state: str, tmp_path: Path) -> None:
    saved = tmp_path / "plan.json"
    common = ["--state", state, "--at", TODAY]
    made = zplan(
        *common,
        "plan",
        str(ACCOUNTS / "northwind.yaml"),
        "--policy",
        str(POLICIES),
        "--out",
        str(saved),
    )
    assert made.code == 1 and saved.exists()
    owner = ["--actor", "support-lead@northwind.example"]
    refused = zplan(*common, *owner, "apply", str(saved), "--policy", str(POLICIES))
    assert refused.code == 1
    assert "support Enterprise needs the finance-approved label" in refused.err
    done = zplan(
        *common,
        *owner,
        "apply",
        str(saved),
        "--policy",
        str(POLICIES),
        "--override-policy",
        "signed off by mail",
    )
    assert done.code == 0, done.output
    assert _audit(state, "northwind")[0]["policy"]["override"]["reason"] == "signed off by mail"


# conftest: the same verdict -------------------------------------------------------------


@pytest.mark.skipif(shutil.which("conftest") is None, reason="conftest is not installed here")
def test_conftest_gives_the_same_verdict_on_the_plan_document(
    zplan: Zplan, state: str, tmp_path: Path
) -> None:
    _, document = _plan_json(zplan, state, str(ACCOUNTS), "--policy", str(POLICIES))
    plan = tmp_path / "plan.json"
    plan.write_text(json.dumps(document))
    done = subprocess.run(
        ["conftest", "test", str(plan), "--policy", str(POLICIES), "--output", "json", "--no-fail"],
        capture_output=True,
        text=True,
        check=True,
    )
    theirs = sorted(f["msg"] for r in json.loads(done.stdout) for f in r.get("failures") or [])
    ours = sorted(
        e["message"] for e in document["policy"]["deny"] if e["source"].startswith("rego")
    )
    assert theirs == ours


def test_an_account_the_plan_does_not_change_is_not_judged(
    zplan: Zplan, state: str, tmp_path: Path
) -> None:
    # Bought before the rule: 60 agents billed monthly. A later plan that leaves it alone
    # passes; one that changes it is judged.
    many = _file(tmp_path, "bluebird.yaml", "bluebird.yaml", ("agents: 8", "agents: 60"))
    owner = "hello@bluebird-bakery.example"
    bought = zplan(
        "--state", state, "--at", TODAY, "--actor", owner, "apply", str(many), "--auto-approve"
    )
    assert bought.code == 0, bought.output
    rule = str(POLICIES / "monthly_billing.rego")
    assert zplan("--state", state, "--at", TODAY, "plan", str(many), "--policy", rule).code == 0
    more = _file(tmp_path, "more.yaml", "bluebird.yaml", ("agents: 8", "agents: 61"))
    code, document = _plan_json(zplan, state, str(more), "--policy", rule)
    assert code == 1
    assert _messages(document) == [
        "bluebird: monthly billing is not allowed above 50 agents (suite has 61)"
    ]
