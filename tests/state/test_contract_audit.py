"""The state-store contract for the audit log and what reads the store: history (and
its verification), state show, export.

Every test that takes ``cli`` or ``store_url`` runs on SQLite and on PostgreSQL
(fixtures in tests/state/conftest.py). zplan runs in this process (``cli(...)``)
where that is enough, and as real processes (``cli.spawn``, ``cli.terminal``)
where the contract is about processes: concurrency, signals, terminals.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from tests.state.conftest import BILLING_ADMIN, OWNER, Cli, RawStore, subscription_file
from tests.state.contract_support import NO_CHANGES, apply_file

# The audit log -------------------------------------------------------------------


def _three_versions(cli: Cli, tmp_path: Path) -> None:
    for agents in (5, 7, 9):
        apply_file(cli, subscription_file(tmp_path, agents=agents))


TAMPERING = {
    "audit-edited": (
        [
            'UPDATE audit SET entry = replace(entry, \'"actor":"owner@acme.example"\', '
            "'\"actor\":\"someone@else.example\"') WHERE subdomain = 'acme' AND serial = 2"
        ],
        "entry 2 does not match its hash: it was edited",
    ),
    "audit-hash-edited": (
        ["UPDATE audit SET hash = 'ab' || substr(hash, 3) WHERE subdomain = 'acme' AND serial = 2"],
        "entry 2 does not match its hash",
    ),
    "audit-deleted": (
        ["DELETE FROM audit WHERE subdomain = 'acme' AND serial = 2"],
        "entry 2 is missing",
    ),
    "version-edited": (
        [
            "UPDATE versions SET state = replace(state, '\"agents\":7', '\"agents\":70') "
            "WHERE subdomain = 'acme' AND serial = 2"
        ],
        "version 2 does not match its audit entry",
    ),
    "version-kind-edited": (
        ["UPDATE versions SET kind = 'admin' WHERE subdomain = 'acme' AND serial = 2"],
        "version 2 does not match its audit entry",
    ),
    "version-deleted": (
        ["DELETE FROM versions WHERE subdomain = 'acme' AND serial = 2"],
        "version 2 is missing",
    ),
    "invoice-edited": (
        [
            'UPDATE invoices SET body = replace(body, \'"total":"298.00"\', \'"total":"2.98"\') '
            "WHERE subdomain = 'acme' AND serial = 2"
        ],
        "the invoice of version 2 does not match its audit entry",
    ),
    "invoice-total-column-edited": (
        ["UPDATE invoices SET total = '2.98' WHERE subdomain = 'acme' AND serial = 2"],
        "the invoice of version 2 does not match its audit entry",
    ),
    "invoice-deleted": (
        ["DELETE FROM invoices WHERE subdomain = 'acme' AND serial = 2"],
        "the invoice of version 2 does not match its audit entry",
    ),
    "last-version-deleted": (
        [
            "DELETE FROM audit WHERE subdomain = 'acme' AND serial = 3",
            "DELETE FROM versions WHERE subdomain = 'acme' AND serial = 3",
            "DELETE FROM invoices WHERE subdomain = 'acme' AND serial = 3",
        ],
        "entry 3 is missing: acme is at serial 3, the log ends at 2",
    ),
    "current-state-edited": (
        [
            "UPDATE accounts SET state = replace(state, '\"agents\":9', '\"agents\":90') "
            "WHERE subdomain = 'acme'"
        ],
        "the current state of acme does not match",
    ),
}


@pytest.mark.parametrize("tampering", sorted(TAMPERING))
def test_history_verify_detects_edited_and_deleted_rows(
    cli: Cli, tmp_path: Path, tampering: str
) -> None:
    _three_versions(cli, tmp_path)
    assert cli("history", "acme", "--verify").code == 0

    statements, problem = TAMPERING[tampering]
    with RawStore(cli.url) as raw:
        for statement in statements:
            assert raw.execute(statement) == 1, statement

    text = cli("history", "acme", "--verify")
    assert text.code == 1, text.output
    assert "Audit chain BROKEN at entry" in text.out
    assert problem in text.out
    as_json = cli("history", "acme", "--verify", "--format", "json")
    assert as_json.code == 1
    result = json.loads(as_json.out)["verify"]
    assert result["ok"] is False and problem in result["problem"]


def test_history_text_and_json(cli: Cli, tmp_path: Path) -> None:
    apply_file(cli, subscription_file(tmp_path, agents=5))
    env = {
        "GITHUB_SERVER_URL": "https://github.example",
        "GITHUB_REPOSITORY": "acme/billing",
        "GITHUB_RUN_ID": "4242",
        "GITHUB_SHA": "c0ffee" * 6 + "c0fe",
    }
    result = cli.zplan(
        *cli.argv(
            "apply",
            "--auto-approve",
            str(subscription_file(tmp_path, agents=7)),
            actor=BILLING_ADMIN,
        ),
        env=env,
    )
    assert result.code == 0, result.output

    text = cli("history", "acme", "--verify")
    assert text.code == 0, text.output
    lines = text.out.splitlines()
    assert lines[0] == "History of acme (2 versions; sandbox store: dates are simulated)"
    assert re.search(
        r"^#1  2026-11-27  apply    owner@acme\.example  charged \$745\.00$", text.out, re.M
    ), text.out
    assert re.search(
        r"^#2  2026-11-27  apply    finance@acme\.example  charged \$298\.00$", text.out, re.M
    ), text.out
    assert "products.suite.agents 5 → 7" in text.out
    assert "CI run https://github.example/acme/billing/actions/runs/4242" in text.out
    assert "commit c0ffeec0ffee" in text.out
    assert "Audit chain verified: 2 entries, no break." in text.out

    data = json.loads(cli("history", "acme", "--format", "json").out)
    assert data["subdomain"] == "acme" and data["verify"] is None
    first, second = data["versions"]
    assert (first["serial"], first["kind"], first["actor"], first["charged"]) == (
        1,
        "apply",
        OWNER,
        "745.00",
    )
    assert (second["serial"], second["kind"], second["actor"], second["charged"]) == (
        2,
        "apply",
        BILLING_ADMIN,
        "298.00",
    )
    assert second["ci_run_url"] == "https://github.example/acme/billing/actions/runs/4242"
    assert second["git_commit"] == env["GITHUB_SHA"]
    assert [c["kind"] for c in second["changes"]] == ["agents_increase"]
    assert first["plan_id"] != second["plan_id"]
    assert second["invoice"]["payment"] == {"method": "card", "ref": "…4242"}
    verified = json.loads(cli("history", "acme", "--verify", "--format", "json").out)["verify"]
    assert verified == {"ok": True, "entries": 2, "problem": None, "serial": None}

    missing = cli("history", "nobody")
    assert missing.code == 1 and "there is no account nobody" in missing.err


def test_state_show_serial(cli: Cli, tmp_path: Path) -> None:
    apply_file(cli, subscription_file(tmp_path, agents=5))
    apply_file(cli, subscription_file(tmp_path, agents=7, edition="enterprise"))

    first = cli("state", "show", "acme", "--serial", "1")
    assert first.code == 0, first.output
    assert "serial: 1\n" in first.out
    assert "edition: professional\n" in first.out and "agents: 5\n" in first.out
    second = cli("state", "show", "acme", "--serial", "2")
    assert "serial: 2\n" in second.out
    assert "edition: enterprise\n" in second.out and "agents: 7\n" in second.out
    current = cli("state", "show", "acme")
    assert "serial: 2\n" in current.out and "agents: 7\n" in current.out
    assert "pm_1QxY4242" not in first.out + second.out + current.out
    assert "(sensitive, …4242)" in current.out

    missing = cli("state", "show", "acme", "--serial", "3")
    assert missing.code == 1 and "acme has no version 3" in missing.err


def test_export_then_plan_shows_no_changes(cli: Cli, tmp_path: Path) -> None:
    apply_file(cli, subscription_file(tmp_path, agents=5))
    apply_file(cli, subscription_file(tmp_path, agents=12, edition="enterprise"))
    exported = cli("export", "acme", "-o", "exported.yaml")
    assert exported.code == 0, exported.output

    planned = cli("plan", "--detailed-exitcode", "exported.yaml")
    assert planned.code == 0, planned.output
    assert NO_CHANGES in planned.out
