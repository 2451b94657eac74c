"""The CI scripts with guardrails: policies from the base branch, results on the files."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.test_gitops import MARKER, approve, make_repo, pr_plan

BUDGETS = "budgets: 1\naccounts:\n  - match: '*'\n    max_monthly_increase: '{}'\n"


def test_a_pull_request_is_judged_by_the_base_branch_policies(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    repo = make_repo(tmp_path, monkeypatch, by_merge_job=False)
    (repo.path / "policies").mkdir()
    (repo.path / "policies" / "budgets.yaml").write_text(BUDGETS.format("1000"))
    repo.git("add", "policies")
    repo.git("commit", "-q", "-m", "Budgets: at most +$1,000 a month per account")

    # The pull request raises bellhop by $1,650 a month, and the budget to $5,000.
    repo.git("checkout", "-q", "-b", "winter")
    repo.edit("bellhop", "agents: 42", "agents: 52")
    repo.edit("bellhop", "copilot: 42", "copilot: 52")
    (repo.path / "policies" / "budgets.yaml").write_text(BUDGETS.format("5000"))
    repo.git("commit", "-q", "-am", "bellhop: winter season (and a bigger budget)")
    report = repo.artifacts / "gl-code-quality-report.json"
    guard = {
        "ZPLAN_POLICY_DIR": "policies",
        "ZPLAN_POLICY_REF": "main",
        "ZPLAN_PR_LABELS": "winter",
    }
    planned = pr_plan(repo, run_id=700, ZPLAN_CODEQUALITY=str(report), **guard)
    assert planned.code == 1, planned.output
    message = "bellhop: the monthly cost rises by $1,650.00, more than the $1,000.00 allowed"
    assert (
        f"::error file=accounts/bellhop.yaml,line=1,title=zplan guardrail::{message} "
        "[" in planned.out
    ), planned.out
    comment = (repo.artifacts / "comment.md").read_text(encoding="utf-8").splitlines()
    assert comment[:2] == [MARKER, "> ⛔ **1 guardrail failed**"]
    assert f"> - ⛔ deny: {message}" in comment
    assert not (repo.artifacts / "plan.json").exists()  # a denied plan is not kept for apply
    issues = json.loads(report.read_text(encoding="utf-8"))
    assert [(i["check_name"], i["location"]["path"]) for i in issues] == [
        ("zplan/guardrail", "accounts/bellhop.yaml")
    ]

    # Within the base branch's budget: planned, saved, approved and applied under it.
    repo.edit("bellhop", "agents: 52", "agents: 45")
    repo.edit("bellhop", "copilot: 52", "copilot: 42")
    repo.git("commit", "-q", "-am", "bellhop: three seats only")
    planned = pr_plan(repo, run_id=701, **guard)
    assert planned.code == 0, planned.output
    comment = (repo.artifacts / "comment.md").read_text(encoding="utf-8").splitlines()
    assert comment[1] == "> ✅ **Every guardrail passed.**"
    saved = json.loads((repo.artifacts / "plan.json").read_text(encoding="utf-8"))
    assert saved["policy"]["deny"] == [] and saved["forecast"]["months"] == 12
    applied = approve(repo, run_id=702, commit=repo.head, **guard)
    assert applied.code == 0, applied.output
    assert repo.history("bellhop")[-1]["policy"]["digest"] == saved["policy"]["digest"]
