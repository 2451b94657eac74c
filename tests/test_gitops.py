"""The GitOps flow, run locally: the CI scripts of examples/ci/ on a real git repository.

A pull request gets a priced plan (a signed plan file and a Markdown comment);
the approval applies that saved plan to the shared store before merge; the
merge follows; history names the commit and the CI run. Plus the refusals
(edited, stale, other-day plans), drift, unmanaged accounts, the 20-account
example directory and its pull-request comment rendered to HTML, and the CI
configuration files themselves. A SQLite file stands in for the shared
PostgreSQL store; everything else is real: git, files, processes.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import sqlite3
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml
from markdown_it import MarkdownIt
from zplan.render.markdown import MARKER, render_markdown

from tests.conftest import ROOT, TODAY, Zplan, init_store, invoke

CI = ROOT / "examples" / "ci"
SCRIPTS = CI / "scripts"
ACCOUNTS_20 = ROOT / "examples" / "accounts-20"
OWNER = "cx-platform@meridian-group.example"  # owner of every example account
APPROVER = "guest-services@bellhop-hotels.example"  # a billing admin of bellhop
SLUG = "meridian/zendesk-subscriptions"
SERVER = "https://github.com"
FIRST = ("bellhop", "fernleaf", "orchard-foods")


def run_url(run_id: int) -> str:
    return f"{SERVER}/{SLUG}/actions/runs/{run_id}"


# A repository, a store, and the CI scripts run as a CI job would run them ------


@dataclass
class Job:
    code: int
    out: str
    err: str

    @property
    def output(self) -> str:
        return self.out + self.err


@dataclass
class Repo:
    path: Path
    state: str
    artifacts: Path

    def git(self, *args: str) -> str:
        done = subprocess.run(
            ["git", *args], cwd=self.path, capture_output=True, text=True, check=True
        )
        return done.stdout.strip()

    @property
    def head(self) -> str:
        return self.git("rev-parse", "HEAD")

    def file(self, subdomain: str) -> Path:
        return self.path / "accounts" / f"{subdomain}.yaml"

    def edit(self, subdomain: str, old: str, new: str) -> None:
        path = self.file(subdomain)
        text = path.read_text(encoding="utf-8")
        assert old in text
        path.write_text(text.replace(old, new), encoding="utf-8")

    def env(self, run_id: int | None = None, job: str = "", **extra: str) -> dict[str, str]:
        """The environment of a CI job: the shared store, the date, GitHub's variables."""
        env = {k: v for k, v in os.environ.items() if not k.startswith(("GITHUB_", "ZPLAN_"))}
        env.update(ZPLAN_TEST_GUARD="1", ZPLAN_STATE=self.state, ZPLAN_NOW=TODAY)
        # Least privilege: the pull-request plan job holds only the plan key; a job that
        # writes holds the apply key (the test for the plan job's read-only store is below).
        if job == "zplan-pr-plan.sh":
            env["ZPLAN_PLAN_KEY"] = os.environ["ZPLAN_PLAN_KEY"]
        else:
            env["ZPLAN_SIGNING_KEY"] = os.environ["ZPLAN_SIGNING_KEY"]
        bindir = str(Path(sys.executable).parent)
        env["PATH"] = bindir + os.pathsep + env.get("PATH", "")
        if shutil.which("zplan", path=bindir) is None:
            env["ZPLAN_CMD"] = f"{shlex.quote(sys.executable)} -m zplan"
        if run_id is not None:
            env.update(GITHUB_SERVER_URL=SERVER, GITHUB_REPOSITORY=SLUG, GITHUB_RUN_ID=str(run_id))
        env.update(
            GITHUB_OUTPUT=str(self.artifacts / "github-output"),
            GITHUB_STEP_SUMMARY=str(self.artifacts / "step-summary.md"),
            ZPLAN_HEADS_FILE=str(self.artifacts / "zplan-heads.json"),
        )
        env.update(extra)
        return env

    def script(self, name: str, *args: str, run_id: int | None = None, **env: str) -> Job:
        """Run one of examples/ci/scripts/ in the checkout, as the CI configs do."""
        done = subprocess.run(
            ["sh", str(SCRIPTS / name), *args],
            cwd=self.path,
            env=self.env(run_id, name, **env),
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        return Job(done.returncode, done.stdout, done.stderr)

    def zplan(self, *argv: str, **env: str) -> Job:
        """zplan itself, in this process (the tests run in the checkout)."""
        assert Path.cwd() == self.path
        done = invoke(argv, env={"ZPLAN_STATE": self.state, "ZPLAN_NOW": TODAY, **env})
        return Job(done.code, done.out, done.err)

    def history(self, subdomain: str) -> list[dict[str, Any]]:
        shown = self.zplan("history", subdomain, "--format", "json", "--verify")
        assert shown.code == 0, shown.output
        data = json.loads(shown.out)
        assert data["verify"]["ok"], data["verify"]
        versions: list[dict[str, Any]] = data["versions"]
        return versions


def make_repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, *, by_merge_job: bool) -> Repo:
    """A repository whose main branch describes three accounts, all applied."""
    path = tmp_path / "subscriptions"
    (path / "accounts").mkdir(parents=True)
    artifacts = tmp_path / "artifacts"
    artifacts.mkdir()
    made = Repo(path, init_store(str(tmp_path / "shared-store" / "state.db")), artifacts)
    monkeypatch.chdir(path)
    made.git("init", "-q", "-b", "main")
    made.git("config", "user.email", "dev@meridian-group.example")
    made.git("config", "user.name", "A Developer")
    for name in FIRST:
        shutil.copy(ACCOUNTS_20 / f"{name}.yaml", path / "accounts")
    made.git("add", "accounts")
    made.git("commit", "-q", "-m", "Onboard bellhop, fernleaf and orchard-foods")
    if by_merge_job:  # the merge job of the alternative flow, on main
        applied = made.script(
            "zplan-merge-apply.sh", run_id=1, ZPLAN_ACTOR=OWNER, ZPLAN_COMMIT=made.head
        )
    else:
        applied = made.zplan("apply", "accounts/", "--auto-approve", ZPLAN_ACTOR=OWNER)
    assert applied.code == 0, applied.output
    assert "Apply complete: 3 accounts changed (bellhop, fernleaf, orchard-foods)." in applied.out
    return made


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Repo:
    return make_repo(tmp_path, monkeypatch, by_merge_job=False)


def pr_plan(repo: Repo, run_id: int, **env: str) -> Job:
    """The pull-request job on the branch's head commit."""
    env = {
        "GITHUB_ACTIONS": "true",
        "ZPLAN_COMMIT": repo.head,
        "ZPLAN_PLAN_FILE": str(repo.artifacts / "plan.json"),
        "ZPLAN_COMMENT_FILE": str(repo.artifacts / "comment.md"),
        **env,
    }
    return repo.script("zplan-pr-plan.sh", run_id=run_id, **env)


def approve(repo: Repo, run_id: int, commit: str, plan: Path | None = None, **env: str) -> Job:
    """The approval job: apply the saved plan artifact, the approver acting."""
    env = {
        "ZPLAN_ACTOR": APPROVER,
        "ZPLAN_COMMIT": commit,
        # On a review event GitHub's own GITHUB_SHA is another commit: ZPLAN_COMMIT wins.
        "GITHUB_SHA": "0" * 40,
        "ZPLAN_RESULT_FILE": str(repo.artifacts / "apply.md"),
        **env,
    }
    return repo.script(
        "zplan-apply-saved.sh", str(plan or repo.artifacts / "plan.json"), run_id=run_id, **env
    )


# (a) The pull request, its approval, the merge ------------------------------


def test_pull_request_plan_approval_merge_and_history(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    repo = make_repo(tmp_path, monkeypatch, by_merge_job=True)
    assert repo.history("bellhop")[0]["ci_run_url"] == run_url(1)

    # A pull request: ten more seats for bellhop (and Copilot for them).
    repo.git("checkout", "-q", "-b", "more-seats")
    repo.edit("bellhop", "agents: 42", "agents: 52")
    repo.edit("bellhop", "copilot: 42", "copilot: 52")
    repo.git("commit", "-q", "-am", "bellhop: 10 more seats for the winter season")
    branch_commit = repo.head

    planned = pr_plan(repo, run_id=200, ZPLAN_COMMENT_FOOTER="Approve to apply.")
    assert planned.code == 0, planned.output  # zplan's 2 ("changes") is not a failure
    assert "plan saved to" in planned.err
    comment = (repo.artifacts / "comment.md").read_text(encoding="utf-8")
    assert comment.startswith(MARKER + "\n")
    assert "monthly cost will increase by $1,650.00 (+19.91%), $19,800.00 due now" in comment
    assert "| `bellhop` | $7,210.00/mo | $8,860.00/mo | +$1,650.00 | $19,800.00 |" in comment
    assert "| **Total (USD)** | **$8,286.00/mo** | **$9,936.00/mo** |" in comment
    assert "2 accounts without changes." in comment
    assert f"Plan for commit {branch_commit}" in comment and run_url(200) in comment
    assert comment.rstrip().endswith("Approve to apply.")
    assert "changes=true" in (repo.artifacts / "github-output").read_text()
    assert MARKER in (repo.artifacts / "step-summary.md").read_text(encoding="utf-8")
    assert "products.suite.agents          42 → 52  [now]" in planned.out  # the log
    saved = json.loads((repo.artifacts / "plan.json").read_text(encoding="utf-8"))
    assert saved["plan_id"].startswith("sha256:") and saved["signature"]
    assert (repo.artifacts / "plan.json").stat().st_mode & 0o077 == 0

    # The approval: the saved plan, applied before merge, the approver acting.
    applied = approve(repo, run_id=201, commit=branch_commit)
    assert applied.code == 0, applied.output
    assert "Apply complete: 1 account changed (bellhop)." in applied.out
    result = (repo.artifacts / "apply.md").read_text(encoding="utf-8")
    assert result.startswith("<!-- zplan-apply -->\n### ✅")
    assert APPROVER in result and branch_commit in result and run_url(201) in result

    # The approval event again (a second approver, a re-run): applied once.
    again = approve(repo, run_id=202, commit=branch_commit)
    assert again.code == 0, again.output
    assert "bellhop: this plan was already applied at" in again.out

    # The merge; the merge job (if enabled) and the drift check find nothing to do.
    repo.git("checkout", "-q", "main")
    repo.git("merge", "-q", "--no-ff", "more-seats", "-m", "Merge pull request #7 from more-seats")
    after = repo.script("zplan-merge-apply.sh", run_id=203, ZPLAN_ACTOR=OWNER)
    assert after.code == 0, after.output
    assert "No changes. The subscription of bellhop matches the configuration." in after.out
    drift = repo.script("zplan-drift.sh", run_id=204)
    assert drift.code == 0, drift.output
    assert "no drift" in drift.out

    # History: the version, its commit (on main now) and the CI run that applied it.
    versions = repo.history("bellhop")
    assert [v["serial"] for v in versions] == [1, 2]
    latest = versions[-1]
    assert latest["kind"] == "apply"
    assert latest["actor"] == APPROVER
    assert latest["git_commit"] == branch_commit
    assert latest["file_commit"] == branch_commit
    assert latest["ci_run_url"] == run_url(201)
    assert latest["config_path"] == "accounts/bellhop.yaml"
    assert latest["charged"] == "19800.00" and latest["currency"] == "USD"
    assert latest["plan_id"] == saved["plan_id"]
    assert {(c["address"], c["before"], c["after"]) for c in latest["changes"]} == {
        ("products.suite.agents", 42, 52),
        ("products.suite.addons.copilot", 42, 52),
    }
    # git answers the rest: the commit is on main, and the merge that brought it names the PR.
    repo.git("merge-base", "--is-ancestor", branch_commit, "main")
    merges = repo.git("log", "--merges", "--ancestry-path", "--format=%s", f"{branch_commit}..main")
    assert merges.splitlines()[-1] == "Merge pull request #7 from more-seats"
    text = repo.zplan("history", "bellhop")
    assert f"commit {branch_commit[:12]}" in text.out and f"CI run {run_url(201)}" in text.out
    # Unchanged accounts got no version.
    assert len(repo.history("fernleaf")) == 1


def test_the_plan_job_cannot_write_and_the_heads_catch_a_rollback(repo: Repo) -> None:
    """Least privilege (issue 12): the pull-request job holds the plan key only. Whatever a
    pull request makes it run, it cannot write the store; the apply job publishes the audit
    heads, and the scheduled job finds a history rolled back behind the store's back."""
    repo.git("checkout", "-q", "-b", "more-seats")
    repo.edit("bellhop", "agents: 42", "agents: 45")
    repo.git("commit", "-q", "-am", "bellhop: 3 more seats")
    planned = pr_plan(repo, run_id=400)
    assert planned.code == 0, planned.output
    before = repo.history("bellhop")
    plan_job = repo.env(400, "zplan-pr-plan.sh", ZPLAN_ACTOR=OWNER)
    for argv in (
        ["apply", "accounts/", "--auto-approve"],
        ["apply", str(repo.artifacts / "plan.json")],
    ):
        done = subprocess.run(
            [sys.executable, "-m", "zplan", *argv],
            cwd=repo.path,
            env=plan_job,
            capture_output=True,
            text=True,
            check=False,
        )
        assert done.returncode == 1, done.stdout + done.stderr
        assert "this write must be signed: set ZPLAN_SIGNING_KEY" in done.stderr
    assert repo.history("bellhop") == before

    applied = approve(repo, run_id=401, commit=repo.head)
    assert applied.code == 0, applied.output
    heads = json.loads((repo.artifacts / "zplan-heads.json").read_text(encoding="utf-8"))
    assert {h["subdomain"]: h["serial"] for h in heads} == {
        "bellhop": 2,
        "fernleaf": 1,
        "orchard-foods": 1,
    }
    assert "zplan audit heads" in (repo.artifacts / "step-summary.md").read_text(encoding="utf-8")
    repo.git("checkout", "-q", "main")
    repo.git("merge", "-q", "--no-ff", "more-seats", "-m", "Merge pull request #9")
    clean = repo.script("zplan-drift.sh", run_id=402)
    assert clean.code == 0 and "reaches its published head" in clean.err, clean.output

    # Someone with the store's credentials rolls bellhop back to version 1, consistently.
    with sqlite3.connect(repo.state) as raw:
        for table in ("audit", "invoices", "applied_plans", "versions"):
            raw.execute(f"DELETE FROM {table} WHERE subdomain = 'bellhop' AND serial = 2")
        (state,) = raw.execute(
            "SELECT state FROM versions WHERE subdomain = 'bellhop' AND serial = 1"
        ).fetchone()
        raw.execute(
            "UPDATE accounts SET serial = 1, state = ? WHERE subdomain = 'bellhop'", (state,)
        )
    assert repo.zplan("history", "bellhop", "--verify").code == 0  # the chain alone holds
    caught = repo.script("zplan-drift.sh", run_id=403, GITHUB_ACTIONS="true")
    assert caught.code == 3, caught.output
    assert "bellhop: the audit chain does not verify or does not reach its published head" in (
        caught.err
    )
    assert "::error title=zplan record::" in caught.out


def test_saved_plans_that_must_be_refused(repo: Repo) -> None:
    serials = {name: len(repo.history(name)) for name in FIRST}
    repo.git("checkout", "-q", "-b", "more-seats")
    repo.edit("bellhop", "agents: 42", "agents: 45")
    repo.git("commit", "-q", "-am", "bellhop: 3 more seats")
    assert pr_plan(repo, run_id=300).code == 0
    plan = repo.artifacts / "plan.json"
    good = plan.read_text(encoding="utf-8")

    # No plan at all (the plan job has not run): refused, with a comment.
    missing = approve(repo, run_id=301, commit=repo.head, plan=repo.artifacts / "none.json")
    assert missing.code == 1
    assert "no saved plan" in missing.output
    assert "### ❌" in (repo.artifacts / "apply.md").read_text(encoding="utf-8")

    # Edited by hand: cheaper seats, say.
    edited = json.loads(good)
    edited["accounts"][0]["invoice"]["due_now"] = "1.00"
    tampered = repo.artifacts / "tampered.json"
    tampered.write_text(json.dumps(edited), encoding="utf-8")
    refused = approve(repo, run_id=302, commit=repo.head, plan=tampered)
    assert refused.code == 1
    assert "signature" in refused.output.lower()

    # From another day: proration moves daily.
    late = approve(repo, run_id=303, commit=repo.head, ZPLAN_NOW="2026-11-28")
    assert late.code == 1
    assert "priced on 2026-11-27" in late.output

    assert {name: len(repo.history(name)) for name in FIRST} == serials  # nothing written

    # Stale: another pull request's plan for bellhop is applied first.
    repo.git("checkout", "-q", "main")
    repo.git("checkout", "-q", "-b", "even-more-seats")
    repo.edit("bellhop", "agents: 42", "agents: 50")
    repo.git("commit", "-q", "-am", "bellhop: 8 more seats")
    other = pr_plan(repo, run_id=304, ZPLAN_PLAN_FILE=str(repo.artifacts / "other.json"))
    assert other.code == 0
    first = approve(repo, run_id=305, commit=repo.head, plan=repo.artifacts / "other.json")
    assert first.code == 0, first.output
    stale = approve(repo, run_id=306, commit=repo.head, plan=plan)
    assert stale.code == 1
    assert "Saved plan is stale: the subscription of bellhop changed" in stale.output
    assert len(repo.history("bellhop")) == serials["bellhop"] + 1


def test_an_invalid_pull_request_gets_annotations_and_a_comment_but_no_plan(repo: Repo) -> None:
    repo.git("checkout", "-q", "-b", "copy-paste")
    shutil.copy(repo.file("bellhop"), repo.path / "accounts" / "bellhop-eu.yaml")
    repo.git("add", "accounts")
    repo.git("commit", "-q", "-m", "bellhop-eu (forgot to change the subdomain)")
    report = repo.artifacts / "gl-code-quality-report.json"
    planned = pr_plan(repo, run_id=400, ZPLAN_CODEQUALITY=str(report))
    assert planned.code == 1
    # Both files are in error, so the new copy is annotated too.
    for file, other in (("bellhop", "bellhop-eu"), ("bellhop-eu", "bellhop")):
        assert re.search(
            rf"^::error file=accounts/{file}\.yaml,line=6,col=14,title=zplan::.*"
            rf"also described by accounts/{other}\.yaml",
            planned.out,
            re.M,
        ), planned.out
    assert not (repo.artifacts / "plan.json").exists()
    comment = (repo.artifacts / "comment.md").read_text(encoding="utf-8")
    assert comment.startswith(MARKER)
    assert "cannot be applied" in comment and "also described by" in comment
    assert "changes=false" in (repo.artifacts / "github-output").read_text()
    issues = json.loads(report.read_text(encoding="utf-8"))
    assert {(i["location"]["path"], i["location"]["lines"]["begin"]) for i in issues} == {
        ("accounts/bellhop.yaml", 6),
        ("accounts/bellhop-eu.yaml", 6),
    }
    assert issues[0]["severity"] == "major" and issues[0]["fingerprint"]


def test_errors_only_the_store_knows_of_are_in_the_comment(repo: Repo) -> None:
    # Valid files, but the account's type (on record) does not allow more agents.
    made = repo.zplan("admin", "account", "orchard-foods", "--type", "managed", ZPLAN_ACTOR=OWNER)
    assert made.code == 0, made.output
    repo.git("checkout", "-q", "-b", "more-rota-seats")
    repo.edit("orchard-foods", "agents: 10", "agents: 11")
    repo.git("commit", "-q", "-am", "orchard-foods: one more seat")
    planned = pr_plan(repo, run_id=450, ZPLAN_COMMENT_FOOTER="Approve to apply.")
    assert planned.code == 1
    assert "the plan has errors, so it was not saved" in planned.err
    assert not (repo.artifacts / "plan.json").exists()
    comment = (repo.artifacts / "comment.md").read_text(encoding="utf-8")
    assert comment.startswith(MARKER)
    assert "This plan has errors and cannot be applied." in comment
    assert "not allowed on an account of type managed" in comment
    assert "Approve to apply." not in comment


# (b) Drift, unmanaged accounts, two files for one subdomain -------------------


def change_behind_zplans_back(state: str, subdomain: str, agents: int) -> None:
    """What an Admin Center change looks like to zplan: a new version it did not write.

    The sandbox has no command that changes a subscription except apply, so
    this writes one version through the store's own interface, keeping the
    record of the last applied file, as a change made elsewhere would.
    """
    from zplan.model import Account
    from zplan.state import open_store
    from zplan.state.base import VersionWrite
    from zplan.trust.keys import OPERATOR_ENV, load_private

    with open_store(state) as store:
        account = store.account(subdomain)
        assert account is not None
        data = account.to_json()
        before = data["subscription"]["now"]["products"]["suite"]["agents"]
        for config in ("now", "next"):
            data["subscription"][config]["products"]["suite"]["agents"] = agents
        data["serial"] = account.serial + 1
        changed = Account.from_json(data)
        assert changed.config_sha256 == account.config_sha256
        audit = {
            "subdomain": subdomain,
            "actor": "someone@admin-center.example",
            "plan_id": None,
            "lineage": account.lineage,
            "changes": [{"address": "products.suite.agents", "before": before, "after": agents}],
            "note": "changed in the Admin Center",
        }
        store.write(
            subdomain,
            (account.lineage, account.serial),
            [VersionWrite(changed, "admin", f"{TODAY}T15:00:00Z", None, audit, TODAY)],
            None,
            load_private(os.environ[OPERATOR_ENV], OPERATOR_ENV),
        )


def test_scheduled_drift_check(repo: Repo, tmp_path: Path) -> None:
    clean = repo.zplan("plan", "accounts/", "--detailed-exitcode")
    assert clean.code == 0, clean.output
    quiet = repo.script("zplan-drift.sh", run_id=500)
    assert quiet.code == 0, quiet.output
    assert "zplan: no drift: the state store matches the files in accounts/." in quiet.out

    # Someone adds three seats by hand: the file is the one last applied, the store is not.
    change_behind_zplans_back(repo.state, "bellhop", 45)
    detailed = repo.zplan("plan", "accounts/", "--detailed-exitcode", "--format", "json")
    assert detailed.code == 2, detailed.output
    plan = {a["subdomain"]: a for a in json.loads(detailed.out)["accounts"]}
    assert plan["bellhop"]["drift"] is True
    assert [c["kind"] for c in plan["bellhop"]["changes"]] == ["agents_decrease"]
    note = " ".join(plan["bellhop"]["notes"])
    assert "zplan export bellhop -o accounts/bellhop.yaml" in note
    assert plan["fernleaf"]["drift"] is False and plan["fernleaf"]["changes"] == []

    job = repo.script("zplan-drift.sh", run_id=501, GITHUB_ACTIONS="true")
    assert job.code == 2, job.output
    assert "DRIFT bellhop: changed outside zplan" in job.out
    assert "zplan export bellhop -o accounts/bellhop.yaml" in job.out
    assert "::error title=zplan drift::" in job.out
    assert "DRIFT" in (repo.artifacts / "step-summary.md").read_text(encoding="utf-8")
    assert json.loads((repo.path / "zplan-drift.json").read_text())["accounts"]

    # Adopting it: export, then the plan is clean again.
    exported = repo.zplan("export", "bellhop", "-o", "accounts/bellhop.yaml")
    assert exported.code == 0, exported.output
    assert repo.zplan("plan", "accounts/", "--detailed-exitcode").code == 0

    # An apply from another file (a laptop): not "drift" by zplan's definition,
    # yet the scheduled check fails all the same.
    laptop = tmp_path / "laptop"
    laptop.mkdir()
    (laptop / "fernleaf.yaml").write_text(
        repo.file("fernleaf").read_text(encoding="utf-8").replace("agents: 4", "agents: 6"),
        encoding="utf-8",
    )
    done = repo.zplan("apply", str(laptop / "fernleaf.yaml"), "--auto-approve", ZPLAN_ACTOR=OWNER)
    assert done.code == 0, done.output
    job = repo.script("zplan-drift.sh", run_id=502)
    assert job.code == 2, job.output
    assert "fernleaf: accounts/fernleaf.yaml differs from the store" in job.out
    assert "DRIFT" not in job.out


def test_unmanaged_accounts_are_listed_and_never_touched(repo: Repo, tmp_path: Path) -> None:
    # umber-studio is in the store, but no file under accounts/ describes it.
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    shutil.copy(ACCOUNTS_20 / "umber-studio.yaml", elsewhere)
    made = repo.zplan(
        "apply", str(elsewhere / "umber-studio.yaml"), "--auto-approve", ZPLAN_ACTOR=OWNER
    )
    assert made.code == 0, made.output
    before = repo.zplan("state", "show", "umber-studio").out

    planned = repo.zplan("plan", "accounts/", "--format", "json", "--detailed-exitcode")
    assert planned.code == 0, planned.output  # unmanaged is a note, not a change
    document = json.loads(planned.out)
    assert document["unmanaged"] == ["umber-studio"]
    assert "umber-studio" not in {a["subdomain"] for a in document["accounts"]}
    text = repo.zplan("plan", "accounts/")
    assert "unmanaged accounts" in text.out and "umber-studio" in text.out
    markdown = repo.zplan("plan", "accounts/", "--format", "markdown").out
    assert "Unmanaged accounts" in markdown and "`umber-studio`" in markdown

    repo.edit("orchard-foods", "agents: 10", "agents: 12")
    applied = repo.zplan("apply", "accounts/", "--auto-approve", ZPLAN_ACTOR=OWNER)
    assert applied.code == 0, applied.output
    assert "Apply complete: 1 account changed (orchard-foods)." in applied.out
    assert repo.zplan("state", "show", "umber-studio").out == before
    assert len(repo.history("umber-studio")) == 1
    drift = repo.script("zplan-drift.sh", run_id=600)
    assert drift.code == 0, drift.output
    assert "Unmanaged (in the store, described by no file; never changed): umber-studio" in (
        drift.out
    )


def test_two_files_for_one_subdomain_are_an_error(repo: Repo) -> None:
    twin = repo.path / "accounts" / "bellhop-copy.yaml"
    twin.write_text(
        repo.file("bellhop").read_text(encoding="utf-8").replace("agents: 42", "agents: 60"),
        encoding="utf-8",
    )
    for argv in (("validate", "accounts/"), ("plan", "accounts/", "--detailed-exitcode")):
        result = repo.zplan(*argv)
        assert result.code == 1, result.output
        assert "the account bellhop is also described by" in result.output
    applied = repo.zplan("apply", "accounts/", "--auto-approve", ZPLAN_ACTOR=OWNER)
    assert applied.code == 1
    assert len(repo.history("bellhop")) == 1


# (c) The 20-account directory and its pull-request comment --------------------


def test_twenty_accounts_plan_with_one_summary(zplan: Zplan, state: str) -> None:
    files = sorted(ACCOUNTS_20.glob("*.yaml"))
    assert len(files) == 20
    assert len({yaml.safe_load(f.read_text())["account"]["subdomain"] for f in files}) == 20
    planned = zplan("--state", state, "--at", TODAY, "plan", str(ACCOUNTS_20))
    assert planned.code == 0, planned.output
    lines = planned.out.splitlines()
    headers = [
        i
        for i, line in enumerate(lines)
        if re.match(r"^Account\s+Previous\s+New\s+Diff\s+Due now$", line)
    ]
    assert len(headers) == 1
    table = lines[headers[0] + 2 :]
    totals = [line for line in lines if line.startswith("Total (")]
    assert totals == [table[20]]  # one total line, for the one currency (USD)
    assert totals[0].startswith("Total (USD)")
    assert sorted(line.split()[0] for line in table[:20]) == sorted(f.stem for f in files)


def _html(markdown: str) -> str:
    html: str = MarkdownIt("commonmark").enable("table").render(markdown)
    return html


def _first_table(html: str) -> tuple[list[str], list[list[str]]]:
    table = re.search(r"<table>(.*?)</table>", html, re.S)
    assert table is not None
    head = re.findall(r"<th(?: [^>]*)?>(.*?)</th>", table.group(1), re.S)
    body = re.search(r"<tbody>(.*?)</tbody>", table.group(1), re.S)
    assert body is not None
    rows = [
        re.findall(r"<td(?: [^>]*)?>(.*?)</td>", row, re.S)
        for row in re.findall(r"<tr>(.*?)</tr>", body.group(1), re.S)
    ]
    return head, rows


def test_pull_request_comment_renders_as_html(zplan: Zplan, state: str, tmp_path: Path) -> None:
    accounts = tmp_path / "accounts"
    shutil.copytree(ACCOUNTS_20, accounts)
    common = ["--state", state, "--at", TODAY, "--actor", OWNER]
    assert zplan(*common, "apply", str(accounts), "--auto-approve").code == 0
    # A pull request that changes three accounts of twenty.
    for name, old, new in (
        ("bellhop", "agents: 42", "agents: 52"),
        ("fernleaf", "edition: team", "edition: growth"),
        ("kestrel-air", "contact_center: 60", "contact_center: 80"),
    ):
        path = accounts / f"{name}.yaml"
        path.write_text(path.read_text().replace(old, new))
    result = zplan(*common, "plan", str(accounts), "--format", "markdown")
    assert result.code == 0, result.output
    markdown = result.out
    assert len(markdown) < 65_000
    assert markdown.startswith(MARKER + "\n")

    html = _html(markdown)
    assert html.startswith(MARKER)  # passed through as an HTML block, hidden on the page
    head, rows = _first_table(html)
    assert head == ["Account", "Previous", "New", "Diff", "Due now"]
    assert [row[0] for row in rows] == [
        "<code>bellhop</code>",
        "<code>fernleaf</code>",
        "<code>kestrel-air</code>",
        "<strong>Total (USD)</strong>",
    ]
    assert all(len(row) == 5 for row in rows)
    assert rows[-1][1].startswith("<strong>$") and rows[-1][1].endswith("/mo</strong>")
    assert "<p>17 accounts without changes.</p>" in html
    assert html.count("<details>") == html.count("</details>") == 3
    assert "<summary><b><code>bellhop</code></b>: 0 to add, 1 to change" in html
    # Inside each <details>, the change list is a real table, not pipes in a paragraph.
    assert (
        html.count("<table>") == 1 + 3 + 3 + 1
    )  # summary; per account: changes, invoice; forecast
    assert "| ---" not in html
    assert "<code>products.suite.agents</code>" in html


def test_a_truncated_comment_keeps_its_totals(zplan: Zplan, state: str) -> None:
    result = zplan("--state", state, "--at", TODAY, "plan", str(ACCOUNTS_20), "--format", "json")
    assert result.code == 0, result.output
    document = json.loads(result.out)
    full = render_markdown(document)
    assert full.count("<details>") == 20

    short = render_markdown(document, limit=6_000)
    assert len(short) <= 6_000
    assert short.startswith(MARKER)
    assert 0 < short.count("<details>") < 20
    assert "accounts were cut" in short
    _, rows = _first_table(_html(short))
    assert len(rows) == 21  # every account and the total
    assert rows[-1][0] == "<strong>Total (USD)</strong>"
    assert rows[-1][4] == "<strong>$2,443,340.50</strong>"

    tiny = render_markdown(document, limit=1_500)
    _, rows = _first_table(_html(tiny))
    assert rows[-1][0] == "<strong>Total (USD)</strong>"  # rows are cut before totals are
    assert rows[-1][4] == "<strong>$2,443,340.50</strong>"
    assert len(rows) < 21 and "more changed accounts are not listed" in tiny
    assert "<details>" not in tiny


# (d) The CI configuration files, the scripts, the pre-commit hooks ------------


def _referenced_scripts(text: str) -> set[str]:
    return set(re.findall(r"\$ZPLAN_SCRIPTS/([\w.-]+)", text))


def test_github_workflow() -> None:
    path = CI / "github" / "zplan.yml"
    text = path.read_text(encoding="utf-8")
    workflow = yaml.safe_load(text)
    triggers = workflow.get("on", workflow.get(True))  # YAML 1.1 reads a bare `on` as true
    assert set(triggers) >= {
        "pull_request",
        "pull_request_review",
        "issue_comment",
        "push",
        "schedule",
    }
    assert triggers["pull_request"]["paths"] == ["accounts/**"]
    assert workflow["permissions"] == {}
    assert workflow["env"]["ZPLAN_SCRIPTS"] == "examples/ci/scripts"
    jobs = workflow["jobs"]
    assert set(jobs) == {"plan", "apply", "apply-on-merge", "drift", "confirm"}
    for name, job in jobs.items():
        assert "permissions" in job, name
        assert job["permissions"].get("contents") == "read", name
    assert "pull-requests" not in jobs["drift"]["permissions"]
    assert jobs["apply"]["permissions"]["actions"] == "read"
    for name in ("plan", "apply"):
        assert jobs[name]["concurrency"]["group"].startswith("zplan-pr-")
        assert jobs[name]["concurrency"]["cancel-in-progress"] is False
    assert "vars.ZPLAN_APPLY_ON_MERGE == 'true'" in jobs["apply-on-merge"]["if"]
    assert "review.state == 'approved'" in jobs["apply"]["if"]
    assert "/apply" in jobs["apply"]["if"]
    plan_steps = jobs["plan"]["steps"]
    upload = next(s for s in plan_steps if s.get("uses", "").startswith("actions/upload-artifact"))
    assert "github.event.pull_request.head.sha" in upload["with"]["name"]
    comment = next(s for s in plan_steps if "comment.py" in s.get("run", ""))
    assert "--comment-behavior" in comment["run"]
    planning = next(s for s in plan_steps if "zplan-pr-plan.sh" in s.get("run", ""))
    assert "base_ref" in planning["env"]["ZPLAN_POLICY_REF"]
    assert comment["run"].startswith('python3 ".zplan-base/')  # the base branch's script
    assert "secrets.ZPLAN_STATE" in text and "vars.ZPLAN_ACTORS" in text
    # No untrusted text is pasted into a script (template injection).
    assert "${{ github.event.comment.body" not in text
    scripts = _referenced_scripts(text)
    assert scripts == {
        "zplan-pr-plan.sh",
        "zplan-apply-saved.sh",
        "zplan-merge-apply.sh",
        "zplan-drift.sh",
        "comment.py",
        "zplan-confirm.sh",
    }
    assert all((SCRIPTS / name).is_file() for name in scripts)
    # Least privilege (issue 12): the plan job runs the base branch's scripts with the
    # read-only credential and the plan key; only the jobs that write hold the signing key.
    plan_text = yaml.safe_dump(jobs["plan"])
    assert "github.event.pull_request.base.sha" in plan_text and ".zplan-base/" in plan_text
    assert "secrets.ZPLAN_STATE_READONLY" in plan_text and "secrets.ZPLAN_PLAN_KEY" in plan_text
    assert "ZPLAN_SIGNING_KEY" not in plan_text and "secrets.ZPLAN_STATE }" not in plan_text
    assert "ZPLAN_SIGNING_KEY" not in yaml.safe_dump(jobs["drift"])
    assert "secrets.ZPLAN_STATE_READONLY" in yaml.safe_dump(jobs["drift"])
    for name in ("apply", "apply-on-merge"):
        job_text = yaml.safe_dump(jobs[name])
        assert "secrets.ZPLAN_SIGNING_KEY" in job_text and "name: zplan-heads" in job_text, name
    assert "zplan-heads" in yaml.safe_dump(jobs["drift"])


def test_gitlab_pipeline() -> None:
    path = CI / "gitlab" / ".gitlab-ci.yml"
    text = path.read_text(encoding="utf-8")
    pipeline = yaml.safe_load(text)
    assert pipeline["variables"]["ZPLAN_SCRIPTS"] == "examples/ci/scripts"
    plan, apply = pipeline["zplan-plan"], pipeline["zplan-apply"]
    assert "plan.json" in plan["artifacts"]["paths"]
    assert plan["artifacts"]["reports"]["codequality"] == plan["variables"]["ZPLAN_CODEQUALITY"]
    assert apply["rules"][0]["when"] == "manual"
    assert apply["rules"][0]["allow_failure"] is False
    assert apply["needs"][0]["job"] == "zplan-plan"
    assert "ZPLAN_APPLY_ON_MERGE" in pipeline["zplan-apply-on-merge"]["rules"][0]["if"]
    assert pipeline["zplan-drift"]["rules"][0]["if"] == '$CI_PIPELINE_SOURCE == "schedule"'
    assert plan["variables"]["ZPLAN_STATE"] == "$ZPLAN_STATE_READONLY"
    assert pipeline["zplan-drift"]["variables"]["ZPLAN_STATE"] == "$ZPLAN_STATE_READONLY"
    assert "git archive FETCH_HEAD" in " ".join(pipeline[".zplan"]["before_script"])
    assert "zplan-heads.json" in apply["artifacts"]["paths"]
    scripts = _referenced_scripts(text)
    assert scripts == {
        "zplan-pr-plan.sh",
        "zplan-apply-saved.sh",
        "zplan-merge-apply.sh",
        "zplan-drift.sh",
        "gitlab-mr.sh",
        "gitlab-heads.py",
        "comment.py",
        "zplan-confirm.sh",
    }
    assert all((SCRIPTS / name).is_file() for name in scripts)


def test_scripts_are_posix_sh() -> None:
    for script in sorted(SCRIPTS.glob("*.sh")):
        checked = subprocess.run(
            ["sh", "-n", str(script)], capture_output=True, text=True, check=False
        )
        assert checked.returncode == 0, (script.name, checked.stderr)
        text = script.read_text(encoding="utf-8")
        if script.name != "lib.sh":
            assert text.startswith("#!/bin/sh\n") and "\nset -eu\n" in text, script.name
        assert "pipefail" not in text and "[[" not in text, script.name


def test_pre_commit_hooks(zplan: Zplan, tmp_path: Path) -> None:
    hooks = {h["id"]: h for h in yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text())}
    hook = hooks["zplan-validate"]
    assert hook["entry"] == "zplan validate"
    assert hook["language"] == "python"
    assert hook["pass_filenames"] is True
    pattern = re.compile(hook["files"])
    for name in ("accounts/acme.yaml", "accounts/eu/bellhop.yml"):
        assert pattern.search(name), name
    for name in (".github/workflows/zplan.yml", ".gitlab-ci.yml", "examples/ci/github/zplan.yml"):
        assert not pattern.search(name), name
    whole = hooks["zplan-validate-dir"]
    assert whole["pass_filenames"] is False and whole["args"] == ["accounts/"]

    # What pre-commit runs: the entry, then the staged files that match.
    (tmp_path / "accounts").mkdir()
    shutil.copy(ACCOUNTS_20 / "fernleaf.yaml", tmp_path / "accounts")
    argv = [*shlex.split(hook["entry"])[1:], "accounts/fernleaf.yaml"]
    assert zplan(*argv).code == 0
    broken = tmp_path / "accounts" / "broken.yaml"
    broken.write_text(
        (ACCOUNTS_20 / "fernleaf.yaml").read_text().replace("cycle: monthly", "cycle: no")
    )
    failed = zplan(*argv, "accounts/broken.yaml")
    assert failed.code == 1
    assert "accounts/broken.yaml:" in failed.out


def test_examples_still_validate_with_the_ci_files_beside_them(zplan: Zplan) -> None:
    result = zplan("--at", TODAY, "validate", str(ROOT / "examples"))
    assert result.code == 0, result.output
    assert re.search(r"note: skipped \d+ files? that (is|are) not (a )?zplan files?", result.out)
