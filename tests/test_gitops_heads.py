"""The published audit heads, in both CI flows: the drift job verifies the store against the
heads of the NEWEST write, wherever that write ran.

GitLab's approval flow applies in merge-request pipelines, so the heads of the newest write
are the artifact of a ``zplan-apply`` job on a merge-request ref, not of a job on the
default branch. These tests run the GitLab template's own job scripts (the ``script:``
lines of examples/ci/gitlab/.gitlab-ci.yml) on a real git repository: the merge-request
plan, the manual apply (whose merge-request check asks the GitLab API), then the scheduled
drift job, which finds the newest published heads through GitLab's Deployments and job
artifacts APIs. GitLab is a real local HTTP server (pytest-httpserver) answering with the
shapes GitLab documents; git, the scripts and zplan are real. A rolled-back or deleted
account is caught against those heads; no heads, or a GitLab that cannot be asked, is said
loudly and never passes as "verified".
"""

from __future__ import annotations

import json
import shutil
import sqlite3
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml
from pytest_httpserver import HTTPServer

from tests.test_gitops import APPROVER, CI, SCRIPTS, Job, Repo, make_repo

PIPELINE = yaml.safe_load((CI / "gitlab" / ".gitlab-ci.yml").read_text(encoding="utf-8"))
PROJECT = "42"
TOKEN = "glpat-zplan-test"
MR = "7"


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Repo:
    return make_repo(tmp_path, monkeypatch, by_merge_job=False)


def gitlab_job(repo: Repo, name: str, server: HTTPServer, **extra: str) -> Job:
    """Run a job of the GitLab template: its variables and ``script:`` lines, as a runner
    would (each line in turn, the job failing at the first that fails). The before_script
    (pip install, the base branch's scripts) is the test's own setup: ZPLAN_SCRIPTS is the
    checkout's examples/ci/scripts."""
    job = PIPELINE[name]
    writes = job.get("environment") is not None
    env = repo.env(job="" if writes else "zplan-pr-plan.sh")
    if not writes:  # the plan and drift jobs hold no signing key
        env.pop("ZPLAN_SIGNING_KEY", None)
    for key in ("ZPLAN_HEADS_FILE", "GITHUB_OUTPUT", "GITHUB_STEP_SUMMARY"):
        env.pop(key, None)  # GitLab's own: the job's variables say where its files go
    env.update(
        GITLAB_CI="true",
        CI_API_V4_URL=server.url_for("/api/v4"),
        CI_PROJECT_ID=PROJECT,
        CI_MERGE_REQUEST_IID=MR,
        ZPLAN_GITLAB_TOKEN=TOKEN,
        ZPLAN_SCRIPTS=str(SCRIPTS),
        ZPLAN_COMMIT=repo.head,
    )
    for key, value in (job.get("variables") or {}).items():
        if not str(value).startswith("$"):  # $ZPLAN_STATE_READONLY: the test's store below
            env[key] = str(value)
    env.update(extra)
    done = subprocess.run(
        ["sh", "-c", "set -e\n" + "\n".join(job["script"])],
        cwd=repo.path,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    return Job(done.returncode, done.stdout, done.stderr)


def deployment(
    number: int, job_id: int, job: str, ref: str, finished: str, environment: str
) -> dict[str, Any]:
    """A deployment as GET /projects/:id/deployments answers it (GitLab's documented shape)."""
    user = {"id": 1, "name": "Ana Costa", "username": "ana-costa", "state": "active"}
    commit = {"id": "0" * 40, "short_id": "00000000", "title": "a commit"}
    return {
        "id": number,
        "iid": number,
        "ref": ref,
        "sha": "0" * 40,
        "status": "success",
        "created_at": "2026-11-27T08:00:00.000Z",
        "updated_at": finished,
        "user": user,
        "environment": {"id": 3, "name": environment, "external_url": None},
        "deployable": {
            "id": job_id,
            "name": job,
            "ref": ref,
            "stage": "apply",
            "status": "success",
            "tag": False,
            "created_at": "2026-11-27T08:00:00.000Z",
            "started_at": "2026-11-27T08:01:00.000Z",
            "finished_at": finished,
            "duration": 61.2,
            "user": user,
            "commit": commit,
            "pipeline": {"id": 9000 + job_id, "ref": ref, "sha": "0" * 40, "status": "success"},
            "artifacts_expire_at": None,
        },
    }


def serve_deployments(server: HTTPServer, environment: str, listed: list[dict[str, Any]]) -> None:
    server.expect_request(
        f"/api/v4/projects/{PROJECT}/deployments",
        query_string={
            "environment": environment,
            "status": "success",
            "order_by": "finished_at",
            "sort": "desc",
            "per_page": "100",
        },
        headers={"PRIVATE-TOKEN": TOKEN},
    ).respond_with_json(listed)


def serve_artifact(server: HTTPServer, job_id: int, body: bytes | None) -> None:
    request = server.expect_request(
        f"/api/v4/projects/{PROJECT}/jobs/{job_id}/artifacts/zplan-heads.json",
        headers={"PRIVATE-TOKEN": TOKEN},
    )
    if body is None:
        request.respond_with_json({"message": "404 Not found"}, status=404)
    else:
        request.respond_with_data(body, content_type="application/octet-stream")


def serve_merge_request(server: HTTPServer, head: str) -> None:
    """What gitlab-mr.sh check asks: the merge request, and its approvals."""
    base = f"/api/v4/projects/{PROJECT}/merge_requests/{MR}"
    server.expect_request(base, headers={"PRIVATE-TOKEN": TOKEN}).respond_with_json(
        {"id": 70, "iid": int(MR), "state": "opened", "sha": head, "source_branch": "more-seats"}
    )
    server.expect_request(f"{base}/approvals").respond_with_json(
        {"approved": True, "approved_by": [{"user": {"username": "ana-costa"}}]}
    )


def tampered_copy(repo: Repo, tmp_path: Path, name: str) -> Path:
    """A copy of the store to break (the original stays as the apply job left it)."""
    copy = tmp_path / name / "state.db"
    copy.parent.mkdir(mode=0o700)
    shutil.copy(repo.state, copy)
    return copy


def roll_back(store: Path, subdomain: str, to: int) -> None:
    """What someone with the store's credentials can do: a consistent rollback."""
    with sqlite3.connect(store) as raw:
        for table in ("audit", "invoices", "applied_plans", "versions"):
            raw.execute(f"DELETE FROM {table} WHERE subdomain = ? AND serial > ?", (subdomain, to))
        (state,) = raw.execute(
            "SELECT state FROM versions WHERE subdomain = ? AND serial = ?", (subdomain, to)
        ).fetchone()
        raw.execute(
            "UPDATE accounts SET serial = ?, state = ? WHERE subdomain = ?", (to, state, subdomain)
        )


def delete_account(store: Path, subdomain: str) -> None:
    with sqlite3.connect(store) as raw:
        tables = [r[0] for r in raw.execute("SELECT name FROM sqlite_master WHERE type='table'")]
        for table in tables:
            columns = [c[1] for c in raw.execute(f"PRAGMA table_info({table})")]
            if "subdomain" in columns:
                raw.execute(f"DELETE FROM {table} WHERE subdomain = ?", (subdomain,))


def test_gitlab_approval_flow_publishes_heads_and_the_drift_job_verifies_the_newest(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, httpserver: HTTPServer
) -> None:
    # main: three accounts applied by the apply-on-merge job (job #101): its heads.
    repo = make_repo(tmp_path, monkeypatch, by_merge_job=True)
    on_merge = (repo.artifacts / "zplan-heads.json").read_bytes()
    assert {h["subdomain"]: h["serial"] for h in json.loads(on_merge)}["bellhop"] == 1

    # A merge request: ten more seats. Its pipeline plans (read-only credential, plan key).
    repo.git("checkout", "-q", "-b", "more-seats")
    repo.edit("bellhop", "agents: 42", "agents: 52")
    repo.git("commit", "-q", "-am", "bellhop: 10 more seats")
    planned = gitlab_job(repo, "zplan-plan", httpserver, ZPLAN_STATE=repo.state)
    assert planned.code == 0, planned.output
    assert (repo.path / "plan.json").is_file()

    # The manual zplan-apply job of that merge-request pipeline: GitLab says the merge
    # request is open at this head and approved; the approver applies; heads published.
    serve_merge_request(httpserver, repo.head)
    applied = gitlab_job(
        repo, "zplan-apply", httpserver, ZPLAN_STATE=repo.state, GITLAB_USER_EMAIL=APPROVER
    )
    assert applied.code == 0, applied.output
    assert "Apply complete: 1 account changed (bellhop)." in applied.out
    published = (repo.path / "zplan-heads.json").read_bytes()
    assert {h["subdomain"]: h["serial"] for h in json.loads(published)}["bellhop"] == 2
    assert repo.history("bellhop")[-1]["actor"] == APPROVER
    (repo.path / "zplan-heads.json").unlink()  # an artifact now, not in the drift job's checkout

    repo.git("checkout", "-q", "main")
    repo.git("merge", "-q", "--no-ff", "more-seats", "-m", "Merge branch 'more-seats' (!7)")

    # What GitLab knows: in zendesk-billing, the merge-request apply (#205, newest), the
    # apply-on-merge of the first import (#101), a zplan-apply that kept no heads (#190,
    # after #205: its plan was missing, say) and another project's job in the same
    # environment (#300, newest of all, with a file of that name that is not ours); in
    # zendesk-owner, a confirmation (#120) older than #205.
    httpserver.clear()
    serve_deployments(
        httpserver,
        "zendesk-billing",
        [
            deployment(14, 300, "terraform-apply", "main", "2026-11-27T12:00:00.000Z", "zendesk-billing"),
            deployment(13, 190, "zplan-apply", "refs/merge-requests/8/head", "2026-11-27T10:40:00.000Z", "zendesk-billing"),
            deployment(12, 205, "zplan-apply", "refs/merge-requests/7/head", "2026-11-27T10:05:00.000Z", "zendesk-billing"),
            deployment(11, 101, "zplan-apply-on-merge", "main", "2026-11-27T09:00:00.000Z", "zendesk-billing"),
        ],
    )  # fmt: skip
    serve_deployments(
        httpserver,
        "zendesk-owner",
        [deployment(5, 120, "zplan-confirm", "main", "2026-11-27T09:30:00.000Z", "zendesk-owner")],
    )
    serve_artifact(httpserver, 300, b"[]")
    serve_artifact(httpserver, 190, None)
    serve_artifact(httpserver, 205, published)
    serve_artifact(httpserver, 120, on_merge)
    serve_artifact(httpserver, 101, on_merge)

    drift = gitlab_job(repo, "zplan-drift", httpserver, ZPLAN_STATE=repo.state)
    assert drift.code == 0, drift.output
    assert "audit heads of job zplan-apply #205 (ref refs/merge-requests/7/head" in drift.err
    assert "every audit chain verified and reaches its published head" in drift.err
    assert "no drift" in drift.out
    assert (repo.path / "zplan-heads.json").read_bytes() == published
    asked = [request.path for request, _ in httpserver.log]
    assert f"/api/v4/projects/{PROJECT}/jobs/300/artifacts/zplan-heads.json" not in asked
    assert f"/api/v4/projects/{PROJECT}/jobs/190/artifacts/zplan-heads.json" in asked

    # Someone with the store's credentials rolls bellhop back to before the merge request,
    # consistently: the chain alone still verifies, and so would the older heads of the
    # default branch's job; the newest published heads catch it.
    rolled = tampered_copy(repo, tmp_path, "rolled-back")
    roll_back(rolled, "bellhop", 1)
    assert repo.zplan("history", "bellhop", "--verify", ZPLAN_STATE=str(rolled)).code == 0
    older = tmp_path / "on-merge-heads.json"
    older.write_bytes(on_merge)
    fooled = repo.zplan(
        "history", "bellhop", "--verify", "--heads", str(older), ZPLAN_STATE=str(rolled)
    )
    assert fooled.code == 0, fooled.output  # why the drift job must find the newest heads
    caught = gitlab_job(repo, "zplan-drift", httpserver, ZPLAN_STATE=str(rolled))
    assert caught.code == 3, caught.output
    assert "bellhop: the audit chain does not verify or does not reach its published head" in (
        caught.err
    )

    # A whole account deleted: caught too.
    gone = tampered_copy(repo, tmp_path, "deleted-account")
    delete_account(gone, "fernleaf")
    caught = gitlab_job(repo, "zplan-drift", httpserver, ZPLAN_STATE=str(gone))
    assert caught.code == 3, caught.output
    assert "fernleaf: the audit chain does not verify or does not reach its published head" in (
        caught.err
    )


def test_gitlab_drift_without_published_heads_says_so(repo: Repo, httpserver: HTTPServer) -> None:
    for environment in ("zendesk-billing", "zendesk-owner"):
        serve_deployments(httpserver, environment, [])
    job = gitlab_job(repo, "zplan-drift", httpserver, ZPLAN_STATE=repo.state)
    assert job.code == 0, job.output
    assert "no audit heads published yet: no successful job of" in job.err
    assert "the record was NOT checked against them" in job.err
    assert "reaches its published head" not in job.err
    strict = gitlab_job(
        repo, "zplan-drift", httpserver, ZPLAN_STATE=repo.state, ZPLAN_REQUIRE_HEADS="true"
    )
    assert strict.code == 3, strict.output
    assert "ZPLAN_REQUIRE_HEADS is true: failing" in strict.err


def test_gitlab_drift_fails_when_gitlab_cannot_be_asked(repo: Repo, httpserver: HTTPServer) -> None:
    httpserver.expect_request(f"/api/v4/projects/{PROJECT}/deployments").respond_with_json(
        {"message": "401 Unauthorized"}, status=401
    )
    job = gitlab_job(repo, "zplan-drift", httpserver, ZPLAN_STATE=repo.state)
    assert job.code == 1, job.output
    assert "GitLab refused" in job.err and "HTTP 401" in job.err
    assert "no drift" not in job.out and "verified" not in job.err

    # A heads file that is not one: an error, never "every chain verified".
    httpserver.clear()
    serve_deployments(
        httpserver,
        "zendesk-billing",
        [deployment(1, 9, "zplan-apply", "main", "2026-11-27T09:00:00.000Z", "zendesk-billing")],
    )
    serve_deployments(httpserver, "zendesk-owner", [])
    serve_artifact(httpserver, 9, b'{"not": "heads"}')
    job = gitlab_job(repo, "zplan-drift", httpserver, ZPLAN_STATE=repo.state)
    assert job.code == 1, job.output
    assert "is not a list of heads" in job.err


def test_drift_refuses_a_heads_file_it_cannot_read(repo: Repo) -> None:
    (repo.artifacts / "zplan-heads.json").write_text("not json", encoding="utf-8")
    job = repo.script("zplan-drift.sh", run_id=700)
    assert job.code == 1, job.output
    assert "cannot read the published heads" in job.err
    assert "verified" not in job.err


def test_github_drift_finds_the_heads_of_either_flow_and_trusts_no_pull_request_run() -> None:
    """GitHub, checked the same way: every job that writes (apply on review or comment,
    apply on merge, confirm) uploads an artifact of one name, zplan-heads; the drift job
    lists that name across the whole repository (all runs, all refs), newest first, and
    skips artifacts of pull_request runs and forks. The scripts' side (apply-saved
    publishes, drift verifies and catches a rollback) runs in test_gitops.py."""
    workflow = yaml.safe_load((CI / "github" / "zplan.yml").read_text(encoding="utf-8"))
    jobs = workflow["jobs"]
    for name in ("apply", "apply-on-merge", "confirm"):
        uploads = [
            s
            for s in jobs[name]["steps"]
            if s.get("uses", "").startswith("actions/upload-artifact")
        ]
        assert any(s["with"]["name"] == "zplan-heads" for s in uploads), name
    script = next(s for s in jobs["drift"]["steps"] if s.get("id") == "heads")["with"]["script"]
    assert "listArtifactsForRepo" in script and "name: 'zplan-heads'" in script
    assert "branch" not in script  # not only the default branch's: the approval flow's too
    assert "'pull_request'" in script and "head_repository_id" in script
    assert "sort((a, b) => b.created_at.localeCompare(a.created_at))" in script


def test_the_writing_scripts_all_publish_heads() -> None:
    for name in ("zplan-apply-saved.sh", "zplan-merge-apply.sh", "zplan-confirm.sh"):
        assert "publish_heads" in (SCRIPTS / name).read_text(encoding="utf-8"), name
    for name in ("zplan-apply", "zplan-apply-on-merge", "zplan-confirm"):
        job = PIPELINE[name]
        assert "zplan-heads.json" in job["artifacts"]["paths"], name
        assert job["artifacts"]["expire_in"] == "never", name
        assert job["environment"]["name"] in ("zendesk-billing", "zendesk-owner"), name
