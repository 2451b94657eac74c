"""The scheduled drift job reads the live accounts when Zendesk credentials are configured."""

from __future__ import annotations

import json
from pathlib import Path

from tests.test_gitops import Repo, repo  # noqa: F401 - the repository fixture
from tests.zendesk.fake import FakeZendesk, team

ON_RECORD = {"bellhop": 42, "fernleaf": 4, "orchard-foods": 0}


def test_the_drift_job_reads_the_live_accounts_with_credentials(
    repo: Repo,  # noqa: F811
    zendesk: FakeZendesk,
    tmp_path: Path,
) -> None:
    lines = []
    for name in ON_RECORD:
        seats = 45 if name == "bellhop" else 1  # three seats bought in the Admin Center
        account = zendesk.add(name, team(seats))
        lines.append(f"{name}:\n  email: {account.email}\n  api_token: {account.token}\n")
    secrets = tmp_path / "zendesk.yaml"  # outside the repository, private
    secrets.write_text("".join(lines))
    secrets.chmod(0o600)

    without = repo.script("zplan-drift.sh", run_id=600)
    assert without.code == 0, without.output
    assert zendesk.requests == []  # no credentials: the live accounts are not read

    job = repo.script(
        "zplan-drift.sh",
        run_id=601,
        ZPLAN_ZENDESK_URL=zendesk.url,
        ZPLAN_ZENDESK_CREDENTIALS=str(secrets),
    )
    assert job.code == 2, job.output
    assert "- LIVE bellhop: Zendesk shows 45 agents holding a paid seat, and the record has 42" in (
        job.out
    )
    report = json.loads((repo.path / "zplan-drift.json").read_text())
    observed = {a["subdomain"]: a["observed"]["seats_in_use"] for a in report["accounts"]}
    assert observed == {"bellhop": 45, "fernleaf": 1, "orchard-foods": 1}
    assert all(a.email not in job.output for a in zendesk.accounts.values())
