"""Regressions of the fuzzers: each failure they found, reduced to its smallest input."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from tests.adversarial.fuzzcheck import no_card_echoed
from tests.adversarial.fuzzinputs import EXAMPLE_TEXTS
from tests.adversarial.support import DEFAULT_CATALOG, EXAMPLE_FILES, assert_clean
from tests.conftest import init_store, invoke

# Regressions: each failure the fuzzers found, reduced to its smallest input ----------
#
# Those marked xfail(strict=True) are defects of zplan that are not fixed yet: the test
# states what zplan should do, fails today, and turns the suite red once fixed (so that
# the marker, and the entry in KNOWN_LOADER_CRASHES, can go).

VALID = """\
zplan: 1
account:
  subdomain: acme
  owner: owner@acme.example
billing:
  cycle: annual
  payment: card
agreements:
  master_subscription_agreement: accepted
  privacy_policy: accepted
products:
  suite:
    edition: professional
    agents: 25
"""


def _validate_text(text: str) -> Any:
    Path("case.yaml").write_text(text, encoding="utf-8")
    result = invoke(["validate", "case.yaml", "--format", "json"])
    assert_clean(result, ["validate", "case.yaml"])
    return json.loads(result.out)


@pytest.mark.parametrize("number", ["1" * 4301, "-" + "1" * 5000, "!!int " + "9" * 4400])
def test_regression_integer_over_4300_digits(number: str) -> None:
    """``agents: 111…1`` (4,301 digits or more): an error at the value, not a crash."""
    report = _validate_text(VALID.replace("agents: 25", f"agents: {number}"))
    assert not report["valid"]
    assert any(d["path"] == "products.suite.agents" for d in report["diagnostics"]), report


@pytest.mark.parametrize(
    "merge",
    ["  <<: []\n", "  <<: *nothing\n"],
    ids=["empty-list", "alias-to-an-empty-list"],
)
def test_regression_merge_of_an_empty_list(merge: str) -> None:
    """``<<: []`` merges nothing (or is refused with a diagnostic); it must not crash."""
    text = "nothing: &nothing []\n" + VALID.replace(
        "  owner: owner@acme.example\n", "  owner: owner@acme.example\n" + merge
    )
    report = _validate_text(text)
    assert report["error_count"] >= 1  # the unknown top-level key 'nothing', at least


def test_regression_a_quoted_merge_key_is_an_ordinary_key() -> None:
    import yaml
    from zplan.load.document import load_text

    text = (
        'base: &base {edition: enterprise}\nproducts:\n  suite:\n    "<<": *base\n    agents: 3\n'
    )
    assert load_text(text, "case.yaml").data == yaml.safe_load(text)


@pytest.mark.parametrize(
    ("old", "new"),
    [
        ("subdomain: acme", 'subdomain: "acme\\n"'),
        ("owner: owner@acme.example", 'owner: "owner@acme.example\\n"'),
    ],
    ids=["subdomain", "owner"],
)
def test_regression_trailing_newline_passes_the_schema_patterns(old: str, new: str) -> None:
    report = _validate_text(VALID.replace(old, new))
    assert not report["valid"], "a value ending in a newline passed the schema"


@pytest.mark.parametrize(
    "argv",
    [
        ["validate", "case.yaml"],
        ["validate", "case.yaml", "--format", "json"],
        ["validate", "case.yaml", "--format", "github"],
        ["--catalog", "case.yaml", "catalog"],
        ["--catalog", "case.yaml", "validate", "valid.yaml"],
    ],
    ids=["text", "json", "github", "catalog", "catalog-validate"],
)
def test_regression_card_number_behind_an_anchor_name(argv: list[str]) -> None:
    """The slow run's find, in a fuzzed catalog: in ``&a1 4111 1111 1111 1111:`` the
    anchor's last digit joined the number into a 17-digit run that fails the Luhn
    check, so the card went unnoticed, and the duplicate key ``*a1`` echoed it."""
    Path("case.yaml").write_text("&a1 4111 1111 1111 1111: x\n*a1 : y\n", encoding="utf-8")
    Path("valid.yaml").write_text(VALID, encoding="utf-8")
    result = invoke(argv)
    assert_clean(result, argv, codes=(1,))
    assert "payment card number (ending in 1111)" in result.output, result.output
    no_card_echoed(result.output)


def _catalog_without_copilot() -> str:
    text = DEFAULT_CATALOG.read_text(encoding="utf-8")
    start, end = text.index("  copilot:\n"), text.index("  workforce_engagement:\n")
    return text[:start] + text[end:]


@pytest.mark.parametrize("command", ["plan", "state-show"])
def test_regression_stored_addon_the_catalog_does_not_sell(command: str, tmp_path: Path) -> None:
    """An account that has Copilot, planned with a price book that does not sell it."""
    state = init_store(str(tmp_path / "state.db"))
    acme = EXAMPLE_FILES[0]
    bought = invoke(
        [
            "--state",
            state,
            "--at",
            "2026-06-01",
            "--actor",
            "owner@acme.example",
            "apply",
            str(acme),
            "--auto-approve",
        ]
    )
    assert bought.code == 0, bought.output
    catalog = tmp_path / "no-copilot.yaml"
    catalog.write_text(_catalog_without_copilot(), encoding="utf-8")
    assert "copilot:" not in catalog.read_text()
    assert invoke(["--catalog", str(catalog), "catalog"]).code == 0  # a valid price book
    without = tmp_path / "acme.yaml"
    without.write_text(re.sub(r"\n +copilot: 25[^\n]*", "", EXAMPLE_TEXTS["acme.yaml"]))
    assert "copilot" not in without.read_text()
    if command == "plan":
        argv = [
            "--state",
            state,
            "--at",
            "2026-11-27",
            "--catalog",
            str(catalog),
            "plan",
            str(without),
        ]
    else:  # a renewal is pending at this date: rolling it over prices the stored add-on
        argv = [
            "--state",
            state,
            "--at",
            "2027-07-01",
            "--catalog",
            str(catalog),
            "state",
            "show",
            "acme",
        ]
    result = invoke(argv)
    assert_clean(result, argv)
    assert result.code == 1 and "copilot" in result.output, result.output
