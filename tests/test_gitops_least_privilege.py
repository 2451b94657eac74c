"""Least privilege in CI, executed (issue 12, item 7): a pull request that rewrites the CI
scripts does not get them run, and the plan job could not write the store if it did.

A real git repository whose main branch holds the subscription files AND the CI scripts
(examples/ci/scripts/, as a project that copied them has them). A pull request changes a
file and replaces zplan-pr-plan.sh with an attack: apply with --auto-approve as the owner,
then delete the audit log straight through the database driver. The plan job is run the
way each template runs it:

- GitHub: the workflow's two checkouts (the pull request's merge commit; the base
  commit's scripts into .zplan-base/), then the plan step's own ``run:`` line from
  examples/ci/github/zplan.yml;
- GitLab: the ``.zplan`` before_script lines of examples/ci/gitlab/.gitlab-ci.yml (without
  the pip install): fetch the target branch from ``origin``, ``git archive`` its scripts,
  then the ``zplan-plan`` job's script.

Both run the base branch's script: a plan is saved, the attack's marker never appears.
Then the attack script itself is run with the plan job's environment, as if a template
were changed to run it: zplan refuses the apply (no signing key), and even with a leaked
signing key the write fails, because the job's store credential is read-only. On SQLite
that credential is the operating system's: the plan job runs as another user (``nobody``,
through setpriv, when the tests run as root; otherwise the store file and directory are
made read-only for the job's user), who may read the store but not write it; zplan then
opens it read-only. On PostgreSQL it is the SELECT-only role (tests/state/test_ci_plan_job.py).
The store is byte for byte unchanged and its history verifies.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import stat
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

from tests.conftest import init_store
from tests.test_gitops import ACCOUNTS_20, CI, FIRST, OWNER, SCRIPTS, Job, Repo

SCRIPTS_IN_REPO = "examples/ci/scripts"
WORKFLOW = yaml.safe_load((CI / "github" / "zplan.yml").read_text(encoding="utf-8"))
PIPELINE = yaml.safe_load((CI / "gitlab" / ".gitlab-ci.yml").read_text(encoding="utf-8"))

# The pull request's zplan-pr-plan.sh: take the store before review.
ATTACK = """#!/bin/sh
set -eu
. "$(dirname "$0")/lib.sh"
echo "ATTACK: the pull request's own script runs" >&2
: >"$ZPLAN_ATTACK_MARKER"
rc=0
ZPLAN_ACTOR=@OWNER@ zplan apply "$ZPLAN_ACCOUNTS_DIR" --auto-approve --no-color || rc=$?
echo "ATTACK: zplan apply exited $rc" >&2
"${ZPLAN_PYTHON:-python3}" - <<'PY'
import os
url = os.environ["ZPLAN_STATE"]
try:
    if url.startswith("postgresql://"):
        import psycopg
        from zplan.state.postgres import split_url
        conninfo, schema = split_url(url)
        with psycopg.connect(conninfo, autocommit=True) as conn:
            conn.execute(f'DELETE FROM "{schema}".audit')
    else:
        import sqlite3
        conn = sqlite3.connect(url.removeprefix("sqlite:///"))
        conn.execute("DELETE FROM audit")
        conn.commit()
    print("ATTACK: direct write went through")
except Exception as exc:
    print(f"ATTACK: direct write failed: {exc}")
PY
""".replace("@OWNER@", OWNER)


@dataclass
class Site:
    """A repository (its main branch), a remote, a store, and where the job writes."""

    repo: Repo
    origin: Path
    work: Path  # the job's own writable place (artifacts, TMPDIR, CI_BUILDS_DIR)
    base: str  # main's commit: the pull request's base
    plan_user: list[str]  # the command prefix that runs a process as the plan job does


def _git_env() -> dict[str, str]:
    # The checkout belongs to the job's user, the test (root) works in it too: as CI
    # runners do, trust the work tree (git refuses "dubious ownership" otherwise).
    return {
        "GIT_CONFIG_COUNT": "1",
        "GIT_CONFIG_KEY_0": "safe.directory",
        "GIT_CONFIG_VALUE_0": "*",
    }


@pytest.fixture(autouse=True)
def _writable_again(tmp_path: Path) -> Iterator[None]:
    yield
    for path in [tmp_path, *tmp_path.rglob("*")]:  # removable, whatever the test made read-only
        if path.is_dir() and not path.is_symlink():
            path.chmod(0o700)


def make_site(area: Path, monkeypatch: pytest.MonkeyPatch, state: str | None = None) -> Site:
    """main: three accounts applied, and the CI scripts; ``state`` (default a SQLite store)."""
    for key, value in _git_env().items():
        monkeypatch.setenv(key, value)
    path = area / "subscriptions"
    (path / "accounts").mkdir(parents=True)
    work = area / "job"
    work.mkdir()
    if state is None:
        store_dir = area / "store"
        state = init_store(str(store_dir / "state.db"))
    repo = Repo(path, state, work)
    monkeypatch.chdir(path)
    repo.git("init", "-q", "-b", "main")
    repo.git("config", "user.email", "dev@meridian-group.example")
    repo.git("config", "user.name", "A Developer")
    for name in FIRST:
        shutil.copy(ACCOUNTS_20 / f"{name}.yaml", path / "accounts")
    shutil.copytree(SCRIPTS, path / SCRIPTS_IN_REPO)
    repo.git("add", "accounts", "examples")
    repo.git("commit", "-q", "-m", "Onboard three accounts; the zplan CI scripts")
    applied = repo.zplan("apply", "accounts/", "--auto-approve", ZPLAN_ACTOR=OWNER)
    assert applied.code == 0, applied.output
    origin = area / "origin.git"
    subprocess.run(
        ["git", "clone", "-q", "--bare", str(path), str(origin)], check=True, capture_output=True
    )
    repo.git("remote", "add", "origin", str(origin))
    repo.git("fetch", "-q", "origin")
    return Site(repo, origin, work, repo.head, [])


def open_pull_request(site: Site) -> str:
    """The pull request: three more seats for bellhop, and its own zplan-pr-plan.sh."""
    repo = site.repo
    repo.git("checkout", "-q", "-b", "sneaky")
    repo.edit("bellhop", "agents: 42", "agents: 45")
    (repo.path / SCRIPTS_IN_REPO / "zplan-pr-plan.sh").write_text(ATTACK, encoding="utf-8")
    repo.git("commit", "-q", "-am", "bellhop: 3 more seats (and a small CI fix)")
    head = repo.head
    repo.git("push", "-q", "origin", "sneaky")
    # refs/pull/N/merge: the pull request merged into its base, what GitHub checks out.
    repo.git("checkout", "-q", "--detach", site.base)
    repo.git("merge", "-q", "--no-ff", "sneaky", "-m", "Merge sneaky into main")
    return head


def as_plan_job_user(site: Site, store_dir: Path) -> None:
    """The plan job's view of the store: read-only.

    As root (CI runners, containers), the job runs in its own mount namespace where the
    store's directory is a read-only bind mount (a read-only volume, as ``docker run -v
    store:/store:ro`` gives a job), with every capability dropped so that it cannot
    remount or unmount it. Otherwise, the store's file and directory are made read-only
    for the job's user. Either way the kernel refuses the write, whatever the job runs.
    """
    if os.geteuid() == 0:
        site.plan_user[:] = [
            "unshare",
            "--mount",
            "sh",
            "-c",
            'mount --bind -o ro "$0" "$0" && '
            'exec setpriv --bounding-set=-all --inh-caps=-all --no-new-privs -- "$@"',
            str(store_dir),
        ]
    else:
        for path in store_dir.iterdir():
            path.chmod(0o444)
        store_dir.chmod(0o555)


def plan_job_env(site: Site, **extra: str) -> dict[str, str]:
    """The plan job's environment: the read credential and the plan key (its PEM), nothing
    more. No ZPLAN_SIGNING_KEY, no write credential."""
    env = site.repo.env(400, "zplan-pr-plan.sh")
    env.pop("ZPLAN_SIGNING_KEY", None)
    env.pop("ZPLAN_OPERATOR_KEY", None)
    env["ZPLAN_PLAN_KEY"] = Path(os.environ["ZPLAN_PLAN_KEY"]).read_text(encoding="utf-8")
    env.update(
        TMPDIR=str(site.work),
        ZPLAN_ATTACK_MARKER=str(site.work / "attack-ran"),
        ZPLAN_PLAN_FILE=str(site.work / "plan.json"),
        ZPLAN_COMMENT_FILE=str(site.work / "comment.md"),
        GITHUB_OUTPUT=str(site.work / "github-output"),
        GITHUB_STEP_SUMMARY=str(site.work / "step-summary.md"),
        **_git_env(),
    )
    env.update(extra)
    return env


def run_as_plan_job(site: Site, argv: list[str], env: dict[str, str]) -> Job:
    done = subprocess.run(
        [*site.plan_user, *argv],
        cwd=site.repo.path,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    return Job(done.returncode, done.stdout, done.stderr)


def github_plan_job(site: Site, env: dict[str, str]) -> Job:
    """The GitHub plan job: .zplan-base/ is the base commit's scripts (the second
    actions/checkout, sparse), then the plan step's run line, verbatim."""
    steps = WORKFLOW["jobs"]["plan"]["steps"]
    base_checkout = next(s for s in steps if s.get("with", {}).get("path") == ".zplan-base")
    assert base_checkout["with"]["ref"] == "${{ github.event.pull_request.base.sha }}"
    assert base_checkout["with"]["sparse-checkout"] == "${{ env.ZPLAN_SCRIPTS }}"
    base_dir = site.repo.path / ".zplan-base"
    base_dir.mkdir()
    archive = subprocess.run(
        ["git", "archive", site.base, SCRIPTS_IN_REPO],
        cwd=site.repo.path,
        capture_output=True,
        check=True,
    )
    subprocess.run(["tar", "-x", "-C", str(base_dir)], input=archive.stdout, check=True)
    step = next(s for s in steps if "zplan-pr-plan.sh" in s.get("run", ""))
    assert set(step["env"]) >= {"ZPLAN_STATE", "ZPLAN_PLAN_KEY", "ZPLAN_COMMIT"}
    assert "ZPLAN_SIGNING_KEY" not in step["env"]
    env = {**env, "ZPLAN_SCRIPTS": WORKFLOW["env"]["ZPLAN_SCRIPTS"], "GITHUB_ACTIONS": "true"}
    return run_as_plan_job(site, ["sh", "-c", step["run"]], env)


def gitlab_plan_job(site: Site, env: dict[str, str]) -> Job:
    """The GitLab plan job: the .zplan before_script (less pip install) and the script."""
    before = [line for line in PIPELINE[".zplan"]["before_script"] if "pip install" not in line]
    job = PIPELINE["zplan-plan"]
    builds = site.work / "builds"
    builds.mkdir()
    env = {
        **env,
        "ZPLAN_SCRIPTS": PIPELINE["variables"]["ZPLAN_SCRIPTS"],
        "CI_BUILDS_DIR": str(builds),
        "CI_DEFAULT_BRANCH": "main",
        "CI_MERGE_REQUEST_TARGET_BRANCH_NAME": "main",
        "CI_COMMIT_SHA": site.repo.head,
        "ZPLAN_CODEQUALITY": job["variables"]["ZPLAN_CODEQUALITY"],
    }
    script = "set -e\n" + "\n".join([*before, *job["script"]])
    return run_as_plan_job(site, ["sh", "-c", script], env)


def digest(paths: list[Path]) -> str:
    hashed = hashlib.sha256()
    for path in paths:
        if path.exists():
            hashed.update(path.name.encode() + b"\0" + path.read_bytes())
    return hashed.hexdigest()


def check_plan_job_ran_the_base_script(site: Site, job: Job) -> None:
    assert job.code == 0, job.output
    assert "ATTACK" not in job.output
    assert not (site.work / "attack-ran").exists()
    assert "plan saved to" in job.err
    assert re.search(r"products\.suite\.agents +42 → 45", job.out), job.out  # the PR's file


def check_attack_fails(site: Site, env: dict[str, str], *, refused: str) -> None:
    """The pull request's script, run with the plan job's environment."""
    attack = run_as_plan_job(site, ["sh", f"{SCRIPTS_IN_REPO}/zplan-pr-plan.sh"], env)
    assert "ATTACK: the pull request's own script runs" in attack.err, attack.output
    assert "ATTACK: zplan apply exited 1" in attack.err, attack.output
    assert refused in attack.output, attack.output
    assert "Apply complete" not in attack.output
    assert "ATTACK: direct write failed" in attack.out, attack.output
    assert "direct write went through" not in attack.out


def test_a_pull_request_cannot_run_its_own_scripts_nor_write_a_sqlite_store(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    site = make_site(tmp_path, monkeypatch)
    store = Path(site.repo.state)
    before_history = site.repo.history("bellhop")
    open_pull_request(site)
    as_plan_job_user(site, store.parent)
    files = [store, store.with_name(store.name + "-wal")]
    before = digest(files)
    env = plan_job_env(site)

    # What the templates run: the base branch's zplan-pr-plan.sh, never the pull request's.
    check_plan_job_ran_the_base_script(site, github_plan_job(site, env))
    (site.work / "plan.json").unlink()
    check_plan_job_ran_the_base_script(site, gitlab_plan_job(site, env))
    assert digest(files) == before

    # The pull request's script, if something ran it: no key to sign an entry...
    check_attack_fails(site, env, refused="this write must be signed: set ZPLAN_SIGNING_KEY")
    # ...and with a leaked apply key, the store still cannot be written by the job's user.
    leaked = {**env, "ZPLAN_SIGNING_KEY": Path(os.environ["ZPLAN_SIGNING_KEY"]).read_text()}
    check_attack_fails(site, leaked, refused="cannot write the state store")
    assert digest(files) == before
    assert stat.S_IMODE(store.stat().st_mode) & 0o022 == 0  # still private to its owner
    assert site.repo.history("bellhop") == before_history  # verified, unchanged
