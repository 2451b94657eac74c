"""``zplan validate`` output formats: the spec's example to the character, JSON, and
GitHub annotations (the default under GitHub Actions).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import TODAY, Zplan
from tests.load.validate_support import BASE, edit, write

# The spec's example, to the character ------------------------------------------------

SPEC_EXAMPLE = """\
zplan: 1
account:
  subdomain: acme
  owner: owner@acme.example
billing: {cycle: annual, payment: card}
agreements:
  master_subscription_agreement: accepted
  privacy_policy: accepted
# Suite Professional, as agreed
products:
  suite:
    edition: profesional
    agents: 25
"""


def test_text_line_as_in_the_spec(zplan: Zplan, tmp_path: Path) -> None:
    write(tmp_path, "accounts/acme.yaml", SPEC_EXAMPLE)
    result = zplan("--at", TODAY, "validate", "accounts/acme.yaml")
    assert result.code == 1
    assert result.out.splitlines() == [
        "accounts/acme.yaml:12:14: error: products.suite.edition: 'profesional' is not an "
        "edition of suite (did you mean 'professional'?)",
        "1 file checked: 1 error.",
    ]


def test_json_as_in_the_spec(zplan: Zplan, tmp_path: Path) -> None:
    write(tmp_path, "accounts/acme.yaml", SPEC_EXAMPLE)
    result = zplan("--at", TODAY, "validate", "--format", "json", "accounts/acme.yaml")
    assert result.code == 1
    assert json.loads(result.out) == {
        "format_version": "1",
        "valid": False,
        "error_count": 1,
        "warning_count": 0,
        "diagnostics": [
            {
                "severity": "error",
                "file": "accounts/acme.yaml",
                "line": 12,
                "column": 14,
                "path": "products.suite.edition",
                "code": "unknown-edition",
                "message": "'profesional' is not an edition of suite",
                "hint": "did you mean 'professional'?",
            }
        ],
    }


def test_json_of_a_valid_file(zplan: Zplan, tmp_path: Path) -> None:
    write(tmp_path, "acct.yaml", BASE)
    result = zplan("--at", TODAY, "validate", "--format", "json", "acct.yaml")
    assert result.code == 0, result.output
    assert json.loads(result.out) == {
        "format_version": "1",
        "valid": True,
        "error_count": 0,
        "warning_count": 0,
        "diagnostics": [],
    }


def test_github_format(zplan: Zplan, tmp_path: Path) -> None:
    write(tmp_path, "accounts/acme.yaml", SPEC_EXAMPLE)
    result = zplan("--at", TODAY, "validate", "--format", "github", "accounts/acme.yaml")
    assert result.code == 1
    assert result.out == (
        "::error file=accounts/acme.yaml,line=12,col=14,title=zplan::products.suite.edition: "
        "'profesional' is not an edition of suite (did you mean 'professional'?) "
        "[unknown-edition]\n"
    )


def test_github_is_the_default_under_github_actions(
    zplan: Zplan, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write(tmp_path, "acct.yaml", edit("cycle: annual", "cycle: no"))
    monkeypatch.setenv("GITHUB_ACTIONS", "true")
    result = zplan("--at", TODAY, "validate", "acct.yaml")
    assert result.code == 1
    assert result.out.startswith(
        "::error file=acct.yaml,line=6,col=10,title=zplan::billing.cycle: "
    )
    assert "[yaml11-boolean]" in result.out
    chosen = zplan("--at", TODAY, "validate", "--format", "text", "acct.yaml")
    assert chosen.out.startswith("acct.yaml:6:10: error: billing.cycle: ")
    monkeypatch.setenv("GITHUB_ACTIONS", "false")
    plain = zplan("--at", TODAY, "validate", "acct.yaml")
    assert plain.out.startswith("acct.yaml:6:10: error: ")


def test_github_warnings_are_warnings(zplan: Zplan, tmp_path: Path) -> None:
    write(
        tmp_path,
        "acct.yaml",
        edit("  payment: card\n", "  payment: card\n  promo_code: SUMMER25\n"),
    )
    result = zplan("--at", TODAY, "validate", "--format", "github", "acct.yaml")
    assert result.code == 0
    assert result.out.startswith("::warning file=acct.yaml,line=8,col=15,title=zplan::")
