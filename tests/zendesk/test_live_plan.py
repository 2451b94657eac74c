"""refresh and plan --refresh against a real local server: seats in use, refusals, drift."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from tests.conftest import EXAMPLES, Zplan
from tests.zendesk.fake import FakeZendesk, Fault, agent, team

OWNER = "owner@acme.example"


@pytest.fixture
def acme(zplan: Zplan, state: str, tmp_path: Path) -> Path:
    """The example account (Suite Professional, 25 agents), imported mid-term."""
    file = tmp_path / "acme.yaml"
    file.write_text((EXAMPLES / "accounts" / "acme.yaml").read_text())
    done = zplan(
        "--state", state, "--at", "2026-11-27", "--actor", OWNER,
        "import", str(file), "--term-start", "2026-06-15", "--promo-uses", "1",
    )  # fmt: skip
    assert done.code == 0, done.output
    return file


def run(zplan: Zplan, state: str, zendesk: FakeZendesk, *argv: str, at: str = "2026-11-27"):  # type: ignore[no-untyped-def]
    return zplan(
        "--state",
        state,
        "--at",
        at,
        *argv,
        env={"ZPLAN_ZENDESK_URL": zendesk.url, **zendesk.env("acme")},
    )


def agents_of(file: Path, count: int) -> None:
    text = (EXAMPLES / "accounts" / "acme.yaml").read_text()
    text = text.replace("agents: 25", f"agents: {count}")
    text = text.replace("quality_assurance: 10", f"quality_assurance: {min(10, count)}")
    file.write_text(text.replace("copilot: 25", f"copilot: {min(25, count)}"))


def test_refresh_records_the_seats_in_use_and_plan_shows_them(
    zplan: Zplan, state: str, zendesk: FakeZendesk, acme: Path
) -> None:
    zendesk.add("acme", [*team(20), agent(900, "Light", role_type=1)])
    done = run(zplan, state, zendesk, "refresh", "acme")
    assert done.code == 0, done.output
    assert done.out.startswith("acme: 20 agents hold a paid seat (observed 2026-11-27T")
    plan = run(zplan, state, zendesk, "plan", str(acme))
    assert plan.code == 0, plan.output
    assert "  seats in use: 20 of 25 (suite; observed 2026-11-27T" in plan.out
    assert "No changes." in plan.out
    document = json.loads(run(zplan, state, zendesk, "plan", str(acme), "--format", "json").out)
    observed = document["accounts"][0]["observed"]
    assert observed["seats_in_use"] == 20 and observed["seats_on_record"] == 25
    assert observed["product"] == "suite" and observed["stale"] is False
    assert observed["drift"] == [] and observed["observed_at"].startswith("2026-11-27T")
    markdown = run(zplan, state, zendesk, "plan", str(acme), "--format", "markdown")
    assert markdown.code == 0


def test_a_reduction_below_the_seats_in_use_names_whom_zendesk_would_downgrade(
    zplan: Zplan, state: str, zendesk: FakeZendesk, acme: Path
) -> None:
    zendesk.add("acme", team(23))
    agents_of(acme, 8)
    plan = run(zplan, state, zendesk, "plan", str(acme), "--refresh")
    assert plan.code == 1, plan.output
    line = next(x for x in plan.out.splitlines() if "seats-in-use" in x or "hold a paid seat" in x)
    assert f"{acme}:23:13: error: products.suite.agents: 23 agents hold a paid seat" in line
    assert "8 suite seats leave 15 of them without one" in line
    assert "Agent 00009, Agent 00010" in line and "Agent 00018 and 5 more" in line
    assert "downgrade the agents you choose first" in line
    assert "cannot be applied" in plan.out
    # A reduction that keeps everyone seated is fine.
    agents_of(acme, 23)
    assert run(zplan, state, zendesk, "plan", str(acme), "--refresh").code == 0


def test_allow_seat_loss_makes_it_a_loud_warning(
    zplan: Zplan, state: str, zendesk: FakeZendesk, acme: Path
) -> None:
    zendesk.add("acme", team(12))
    agents_of(acme, 10)
    plan = run(zplan, state, zendesk, "plan", str(acme), "--refresh", "--allow-seat-loss")
    assert plan.code == 0, plan.output
    assert "warning: products.suite.agents: 12 agents hold a paid seat" in plan.out
    assert "Agent 00011, Agent 00012" in plan.out


def test_plan_refresh_writes_nothing(
    zplan: Zplan, state: str, zendesk: FakeZendesk, acme: Path
) -> None:
    zendesk.add("acme", team(5))
    assert run(zplan, state, zendesk, "plan", str(acme), "--refresh").code == 0
    with sqlite3.connect(state) as db:
        assert db.execute("SELECT COUNT(*) FROM observations").fetchone()[0] == 0
    assert "seats in use" not in run(zplan, state, zendesk, "plan", str(acme)).out


def test_more_seats_in_use_than_on_record_is_drift(
    zplan: Zplan, state: str, zendesk: FakeZendesk, acme: Path
) -> None:
    zendesk.add("acme", team(27))
    plan = run(zplan, state, zendesk, "plan", str(acme), "--refresh", "--detailed-exitcode")
    assert plan.code == 2, plan.output
    assert "No changes." in plan.out
    assert "note: drift: Zendesk shows 27 agents holding a paid seat, and the record has 25" in (
        plan.out
    )
    assert "zplan import" in plan.out


def test_a_live_plan_name_other_than_the_record_is_drift(
    zplan: Zplan, state: str, zendesk: FakeZendesk, acme: Path
) -> None:
    zendesk.add("acme", team(5), plan_name="Enterprise")
    plan = run(
        zplan, state, zendesk, "plan", str(acme), "--refresh", "--read-plan", "--detailed-exitcode"
    )
    assert plan.code == 2, plan.output
    assert "Zendesk shows the plan 'Enterprise', and the record has suite professional" in plan.out
    zendesk.accounts["acme"].plan_name = "Suite Professional"
    same = run(
        zplan, state, zendesk, "plan", str(acme), "--refresh", "--read-plan", "--detailed-exitcode"
    )
    assert same.code == 0, same.output


def test_an_old_observation_is_stale(
    zplan: Zplan, state: str, zendesk: FakeZendesk, acme: Path
) -> None:
    zendesk.add("acme", team(5))
    assert run(zplan, state, zendesk, "refresh").code == 0
    later = run(zplan, state, zendesk, "plan", str(acme), at="2026-11-29")
    assert "STALE" in later.out and "the observation of acme is stale" in later.out
    young = run(
        zplan, state, zendesk, "plan", str(acme), "--max-observation-age", "7d", at="2026-11-29"
    )
    assert "STALE" not in young.out
    bad = run(zplan, state, zendesk, "plan", str(acme), "--max-observation-age", "soon")
    assert bad.code == 1 and "--max-observation-age 'soon': not an age" in bad.err


def test_api_failures_are_one_line_and_write_nothing(
    zplan: Zplan, state: str, zendesk: FakeZendesk, acme: Path
) -> None:
    account = zendesk.add("acme", team(5))
    account.faults.append(Fault(401, body={"error": "Couldn't authenticate you"}))
    done = run(zplan, state, zendesk, "refresh", "acme")
    assert done.code == 1
    assert done.err.splitlines()[0].startswith(
        "Error: cannot read acme from Zendesk (GET /acme/api/v2/users.json): 401 Unauthorized"
    )
    assert "Traceback" not in done.output and account.token not in done.output
    with sqlite3.connect(state) as db:
        assert db.execute("SELECT COUNT(*) FROM observations").fetchone()[0] == 0


def test_missing_credentials_is_one_line(
    zplan: Zplan, state: str, zendesk: FakeZendesk, acme: Path
) -> None:
    done = zplan("--state", state, "refresh", "acme", "--zendesk-url", zendesk.url)
    assert done.code == 1
    assert done.err.startswith("Error: no Zendesk credentials for acme\n  hint: set ZENDESK_EMAIL")


def test_refresh_refuses_an_account_not_on_record(
    zplan: Zplan, state: str, zendesk: FakeZendesk, acme: Path
) -> None:
    zendesk.add("acme", team(1))
    done = run(zplan, state, zendesk, "refresh", "beta")
    assert done.code == 1 and "beta is not on record" in done.err
    assert "zplan import" in done.err
    bad = run(zplan, state, zendesk, "refresh", "evil.example/x")
    assert bad.code == 1 and "neither a file, a directory nor a subdomain" in bad.err


def test_credentials_file_for_many_accounts(
    zplan: Zplan, state: str, zendesk: FakeZendesk, acme: Path, tmp_path: Path
) -> None:
    account = zendesk.add("acme", team(7))
    file = tmp_path / "zendesk.yaml"
    file.write_text(f"acme:\n  email: {account.email}\n  api_token: {account.token}\n")
    file.chmod(0o644)
    args = ("--state", state, "refresh", "--zendesk-url", zendesk.url, "--zendesk-credentials")
    loose = zplan(*args, str(file))
    assert loose.code == 1 and "others may read it (mode 0644)" in loose.err
    assert account.token not in loose.output
    file.chmod(0o600)
    done = zplan(*args, str(file))
    assert done.code == 0, done.output
    assert done.out.startswith("acme: 7 agents hold a paid seat")


def test_a_credentials_file_tracked_by_git_is_refused(
    zplan: Zplan, state: str, zendesk: FakeZendesk, acme: Path, tmp_path: Path
) -> None:
    import subprocess

    repo = tmp_path / "repo"
    repo.mkdir()
    file = repo / "zendesk.yaml"
    file.write_text("acme:\n  oauth_token: abc\n")
    file.chmod(0o600)
    for argv in (["init", "-q"], ["add", "zendesk.yaml"]):
        subprocess.run(["git", *argv], cwd=repo, check=True)
    done = zplan("--state", state, "refresh", "--zendesk-credentials", str(file))
    assert done.code == 1 and "git tracks this file" in done.err and "abc" not in done.output


def test_environment_credentials_serve_one_account_only(
    zplan: Zplan, state: str, zendesk: FakeZendesk, acme: Path, tmp_path: Path
) -> None:
    other = tmp_path / "beta.yaml"
    other.write_text(acme.read_text().replace("subdomain: acme", "subdomain: beta"))
    zendesk.add("acme", team(3))
    plan = run(zplan, state, zendesk, "plan", str(acme), str(other), "--refresh")
    assert plan.code == 1
    assert "ZENDESK_* variables serve one account, and this run reads 2" in plan.err


def test_apply_refuses_a_reduction_below_the_recorded_seats_in_use(
    zplan: Zplan, state: str, zendesk: FakeZendesk, acme: Path
) -> None:
    zendesk.add("acme", team(20))
    assert run(zplan, state, zendesk, "refresh").code == 0
    agents_of(acme, 18)
    base = ("--state", state, "--at", "2026-11-27", "--actor", OWNER, "apply", "--auto-approve")
    refused = zplan(*base, str(acme))
    assert refused.code == 1 and "20 agents hold a paid seat" in refused.out
    assert "Agent 00019, Agent 00020" in refused.out
    done = zplan(*base, str(acme), "--allow-seat-loss")
    assert done.code == 0, done.output
    assert "warning: products.suite.agents" in done.out
