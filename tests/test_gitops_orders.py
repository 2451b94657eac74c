"""The GitOps flow on a live account, run locally: pull request → merge → change order →
the owner's manual confirmation job (examples/ci/scripts/ on a real git repository).

The merge job's apply opens a change order and posts its checklist (the merged pull
request's comment and the job summary); the owner then runs the confirmation job with
the invoice total: a wrong total or a stranger is refused with nothing written; the
right total moves the record, and history names the CI runs. Also: the CI templates
start confirmation only by hand (GitHub workflow_dispatch behind a protected
environment; GitLab manual job on the default branch), never from a comment.
"""

from __future__ import annotations

import json
import re
from decimal import Decimal
from pathlib import Path

import pytest
import yaml

from tests.test_gitops import CI, OWNER, Repo, make_repo, pr_plan, run_url
from tests.zendesk.fake import FakeZendesk, team

STRANGER = "someone@else.example"


def confirm_job(
    repo: Repo, run_id: int, total: str, actor: str = OWNER, **env: str
) -> tuple[int, str, str]:
    settings = {
        "ZPLAN_ACTOR": actor,
        "ZPLAN_CONFIRM_ACCOUNT": "bellhop",
        "ZPLAN_INVOICE_TOTAL": total,
        "ZPLAN_INVOICE_REF": "INV-77",
        "ZPLAN_UNVERIFIED_REASON": "no Zendesk token in the test",
        "ZPLAN_RESULT_FILE": str(repo.artifacts / f"confirm-{run_id}.md"),
        **env,
    }
    job = repo.script("zplan-confirm.sh", run_id=run_id, **settings)
    return job.code, job.output, (repo.artifacts / f"confirm-{run_id}.md").read_text("utf-8")


def test_pull_request_merge_change_order_and_manual_confirmation(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    repo = make_repo(tmp_path, monkeypatch, by_merge_job=True)
    marked = repo.zplan("admin", "account", "bellhop", "--live", ZPLAN_ACTOR=OWNER)
    assert marked.code == 0, marked.output

    # The pull request: ten more seats for bellhop. Its comment shows the owner's steps.
    repo.git("checkout", "-q", "-b", "more-seats")
    repo.edit("bellhop", "agents: 42", "agents: 52")
    repo.edit("bellhop", "copilot: 42", "copilot: 52")
    repo.git("commit", "-q", "-am", "bellhop: ten more seats")
    planned = pr_plan(repo, run_id=2)
    assert planned.code == 0, planned.output
    comment = (repo.artifacts / "comment.md").read_text("utf-8")
    assert "Live account" in comment and "#### What the owner will do" in comment
    due_in_pr = json.loads(repo.zplan("plan", "accounts/bellhop.yaml", "--format", "json").out)[
        "accounts"
    ][0]["invoice"]["due_now"]

    # Merge; the merge job applies: an order, not a charge, and its checklist is posted.
    repo.git("checkout", "-q", "main")
    repo.git("merge", "-q", "--no-ff", "more-seats", "-m", "Merge pull request #2")
    merged = repo.script(
        "zplan-merge-apply.sh",
        run_id=3,
        ZPLAN_ACTOR=OWNER,
        ZPLAN_COMMIT=repo.head,
        ZPLAN_COMMENT_FILE=str(repo.artifacts / "merge.md"),
    )
    assert merged.code == 0, merged.output
    assert "1 change order opened (bellhop)" in merged.out
    record = (repo.artifacts / "merge.md").read_text("utf-8")
    assert "<!-- zplan-change-order -->" in record
    assert "change order #" in record and "#### What the owner will do" in record
    assert f"**${Decimal(due_in_pr):,.2f}** due now before tax" in record
    summary = (repo.artifacts / "step-summary.md").read_text("utf-8")
    assert "#### What the owner will do" in summary
    opened = repo.history("bellhop")[-1]
    assert opened["kind"] == "change_order" and opened["order"]["status"] == "open"
    assert opened["charged"] is None and opened["ci_run_url"] == run_url(3)
    order = json.loads(repo.zplan("order", "bellhop", "--format", "json").out)
    assert order["invoice"]["total"] == due_in_pr

    # The owner's manual job: a total one cent off is refused, nothing written.
    wrong = str(Decimal(due_in_pr) + Decimal("0.01"))
    code, output, report = confirm_job(repo, 4, wrong)
    assert code == 1 and "difference +$0.01" in output
    assert "was not confirmed" in report
    assert repo.history("bellhop")[-1]["order"]["status"] == "open"
    # Someone who is neither the owner nor a billing admin: refused.
    code, output, _ = confirm_job(repo, 5, due_in_pr, actor=STRANGER)
    assert code == 1 and "may not confirm" in output
    # The invoice matches and the live account (the refresh tests' local Zendesk, read with
    # the job's credentials) shows 50 agents in the 52 ordered seats: the record moves, in
    # the name of the owner and the CI run.
    zendesk = FakeZendesk()
    try:
        zendesk.add("bellhop", team(50))
        code, output, report = confirm_job(
            repo,
            6,
            due_in_pr,
            ZPLAN_UNVERIFIED_REASON="",
            ZPLAN_ZENDESK_URL=zendesk.url,
            **zendesk.env("bellhop"),
        )
    finally:
        zendesk.close()
    assert code == 0, output
    assert "was confirmed" in report and "the record moved to version" in report
    assert "seats in use: 50 of 52 ordered" in report
    assert "cannot prove the change was made" in report
    confirmed = repo.history("bellhop")[-1]
    assert confirmed["order"]["status"] == "confirmed"
    assert confirmed["charged"] == due_in_pr and confirmed["ci_run_url"] == run_url(6)
    assert confirmed["actor"] == OWNER and confirmed["invoice"]["invoice_ref"] == "INV-77"
    heads = json.loads((repo.artifacts / "zplan-heads.json").read_text("utf-8"))
    assert {h["subdomain"]: h["serial"] for h in heads}["bellhop"] == confirmed["serial"]
    after = repo.zplan("plan", "accounts/bellhop.yaml")
    assert "No changes" in after.out
    # The next merge job finds no open order to post.
    again = repo.script(
        "zplan-merge-apply.sh",
        run_id=7,
        ZPLAN_ACTOR=OWNER,
        ZPLAN_COMMIT=repo.head,
        ZPLAN_COMMENT_FILE=str(repo.artifacts / "merge-again.md"),
    )
    assert again.code == 0, again.output
    assert "zplan-change-order" not in (repo.artifacts / "merge-again.md").read_text("utf-8")


def test_confirmation_is_a_manual_job_behind_protection_never_a_comment() -> None:
    text = (CI / "github" / "zplan.yml").read_text(encoding="utf-8")
    workflow = yaml.safe_load(text)
    triggers = workflow.get("on", workflow.get(True))
    inputs = triggers["workflow_dispatch"]["inputs"]
    assert {"confirm_account", "invoice_total", "invoice_ref", "changed_on"} <= set(inputs)
    job = workflow["jobs"]["confirm"]
    assert "github.event_name == 'workflow_dispatch'" in job["if"]
    assert "refs/heads/main" in job["if"] and "issue_comment" not in job["if"]
    assert job["environment"] == "zendesk-owner"
    assert job["permissions"] == {"contents": "read"}
    step = next(s for s in job["steps"] if "zplan-confirm.sh" in s.get("run", ""))
    assert step["run"] == 'sh "$ZPLAN_SCRIPTS/zplan-confirm.sh"'
    # A confirmation is a signed audit entry: the job holds the apply key and publishes heads.
    assert step["env"]["ZPLAN_SIGNING_KEY"] == "${{ secrets.ZPLAN_SIGNING_KEY }}"
    assert "name: zplan-heads" in yaml.safe_dump(job["steps"])
    # The inputs reach the script through the environment, never pasted into it.
    assert step["env"]["ZPLAN_INVOICE_TOTAL"] == "${{ inputs.invoice_total }}"
    assert not re.search(r"run:.*\$\{\{\s*inputs\.", text)
    assert "inputs.confirm_account == ''" in workflow["jobs"]["drift"]["if"]

    pipeline = yaml.safe_load((CI / "gitlab" / ".gitlab-ci.yml").read_text(encoding="utf-8"))
    confirm = pipeline["zplan-confirm"]
    rule = confirm["rules"][0]
    assert rule["when"] == "manual"
    assert '$CI_PIPELINE_SOURCE == "web"' in rule["if"]
    assert "$CI_COMMIT_BRANCH == $CI_DEFAULT_BRANCH" in rule["if"]
    assert confirm["environment"]["name"] == "zendesk-owner"
    assert any("zplan-confirm.sh" in line for line in confirm["script"])
