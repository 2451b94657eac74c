"""Least privilege in CI on PostgreSQL (issue 12, item 7): the pull-request plan job, run as
the templates run it with the SELECT-only role docs/state.md gives it, runs the base
branch's script; the pull request's own script, run with that job's environment, cannot
write the store, not even with a leaked signing key or straight through the driver.

The repository, the attack and the two templates' plan jobs are those of
tests/test_gitops_least_privilege.py (the SQLite side); here the read-only credential is a
real PostgreSQL role with SELECT only."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.state.conftest import PostgresServer, StoreFactory
from tests.state.test_postgres_roles import _make_role, _role_url, roles  # noqa: F401
from tests.test_gitops_least_privilege import (
    check_attack_fails,
    check_plan_job_ran_the_base_script,
    github_plan_job,
    gitlab_plan_job,
    make_site,
    open_pull_request,
    plan_job_env,
)

pytestmark = pytest.mark.postgres


def test_the_plan_job_with_the_select_only_role_cannot_write(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    postgres_server: PostgresServer,
    store_factory: StoreFactory,
    roles: list[str],  # noqa: F811
) -> None:
    url = store_factory.new("postgresql", postgres_server)
    schema = url.rsplit("schema=", 1)[1]
    site = make_site(tmp_path, monkeypatch, state=url)
    reader = _role_url(postgres_server, url, _make_role(postgres_server, roles, schema, "SELECT"))

    def rows() -> tuple[int, ...]:
        with postgres_server.connect() as conn:
            return tuple(
                conn.execute(f'SELECT count(*) FROM "{schema}".{table}').fetchone()[0]
                for table in ("audit", "versions", "invoices", "accounts", "trust")
            )

    before_history = site.repo.history("bellhop")
    before = rows()
    open_pull_request(site)
    env = plan_job_env(site, ZPLAN_STATE=reader)

    check_plan_job_ran_the_base_script(site, github_plan_job(site, env))
    (site.work / "plan.json").unlink()
    check_plan_job_ran_the_base_script(site, gitlab_plan_job(site, env))

    check_attack_fails(site, env, refused="this write must be signed: set ZPLAN_SIGNING_KEY")
    leaked = {**env, "ZPLAN_SIGNING_KEY": Path(os.environ["ZPLAN_SIGNING_KEY"]).read_text()}
    check_attack_fails(site, leaked, refused="permission denied")
    assert rows() == before
    assert site.repo.history("bellhop") == before_history
