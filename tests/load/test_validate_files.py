"""``zplan validate`` over several files and directories: every problem, sorted by file
then position; what a directory scan reads and skips; price books among accounts.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import EXAMPLES, TODAY, Zplan
from tests.load.validate_support import (
    BASE,
    SMALL,
    SMALL_CATALOG,
    diagnostics_of,
    edit,
    no_traceback,
    write,
)

# All problems, several files ---------------------------------------------------------

MANY_PROBLEMS = """\
zplan: 1
colour: blue
account:
  subdomain: Acme
  owner: owner@acme.example
billing:
  cycle: annual
  payment: card
  promo_code: WELCOM10
agreements:
  master_subscription_agreement: accepted
  privacy_policy: accepted
products:
  suite:
    edition: profesional
    agents: 25
  guide: {edition: professional, agents: 3.0}
  talk: {edition: team, agents: 2}
"""


def test_every_problem_in_a_file_sorted_by_position(zplan: Zplan, tmp_path: Path) -> None:
    write(tmp_path, "acct.yaml", MANY_PROBLEMS)
    result = zplan("--at", TODAY, "validate", "--format", "json", "acct.yaml")
    assert result.code == 1
    found = [(d["line"], d["column"], d["code"]) for d in diagnostics_of(result)]
    assert found == [
        (2, 1, "unknown-key"),
        (4, 14, "invalid-format"),
        (17, 42, "not-an-integer"),
    ]


def test_rules_are_reported_beside_schema_errors(zplan: Zplan, tmp_path: Path) -> None:
    write(tmp_path, "acct.yaml", edit("subdomain: Acme", "subdomain: acme", MANY_PROBLEMS))
    result = zplan("--at", TODAY, "validate", "--format", "json", "acct.yaml")
    assert result.code == 1
    found = [(d["line"], d["column"], d["path"], d["code"]) for d in diagnostics_of(result)]
    assert found == [
        (2, 1, "colour", "unknown-key"),
        (9, 15, "billing.promo_code", "unknown-promotion"),
        (15, 14, "products.suite.edition", "unknown-edition"),
        (17, 42, "products.guide.agents", "not-an-integer"),
        (18, 3, "products.talk", "suite-conflict"),
    ]


def test_several_files_sorted_by_file_then_position(zplan: Zplan, tmp_path: Path) -> None:
    write(tmp_path, "b.yaml", edit("cycle: annual", "cycle: no"))
    write(
        tmp_path,
        "a.yaml",
        edit("subdomain: acme", "subdomain: Acme").replace("agents: 25", "agents: 010"),
    )
    result = zplan("--at", TODAY, "validate", "--format", "json", "b.yaml", "a.yaml")
    assert result.code == 1
    found = [(d["file"], d["line"], d["column"]) for d in diagnostics_of(result)]
    # a.yaml stops at its YAML 1.1 number: a file that does not load is not checked further.
    assert found == [("a.yaml", 14, 13), ("b.yaml", 6, 10)]
    text = zplan("--at", TODAY, "validate", "b.yaml", "a.yaml")
    assert text.out.splitlines()[-1] == "2 files checked: 2 errors."


# Directories -------------------------------------------------------------------------

WORKFLOW = """\
# Validate the accounts on every pull request.
name: zplan
on: [pull_request]
jobs:
  validate:
    runs-on: ubuntu-latest
    steps:
      - run: zplan validate accounts/
"""


def test_two_files_for_one_subdomain(zplan: Zplan, tmp_path: Path) -> None:
    write(tmp_path, "accounts/acme.yaml", BASE)
    write(
        tmp_path,
        "accounts/old/acme-copy.yaml",
        edit("cycle: annual", "cycle: monthly").replace("    addons:\n      copilot: 25\n", ""),
    )
    result = zplan("--at", TODAY, "validate", "--format", "json", "accounts")
    assert result.code == 1
    # Each file is in error, pointing at the other: neither is planned.
    assert [(d["file"], d["line"], d["column"], d["code"]) for d in diagnostics_of(result)] == [
        ("accounts/acme.yaml", 3, 14, "duplicate-subdomain"),
        ("accounts/old/acme-copy.yaml", 3, 14, "duplicate-subdomain"),
    ]
    messages = [d["message"] for d in diagnostics_of(result)]
    assert "also described by accounts/old/acme-copy.yaml" in messages[0]
    assert "also described by accounts/acme.yaml" in messages[1]


def test_directory_skips_files_that_are_not_zplan_files(zplan: Zplan, tmp_path: Path) -> None:
    write(tmp_path, "repo/accounts/acme.yaml", BASE)
    write(tmp_path, "repo/ci/zplan.yaml", WORKFLOW)
    result = zplan("--at", TODAY, "validate", "repo")
    assert result.code == 0, result.output
    assert result.out == ("note: skipped 1 file that is not a zplan file\n1 file checked: valid.\n")
    named = zplan("--at", TODAY, "validate", "repo/accounts", "repo/ci/zplan.yaml")
    assert named.code == 1
    assert named.out.startswith(
        "repo/ci/zplan.yaml:1:1: error: (file): not a zplan file: it has neither 'zplan:' nor "
        "'catalog:' at the top"
    )
    assert "skipped" not in named.out
    write(tmp_path, "repo/ci/lint.yml", "- name: lint\n  hosts: all\n")  # a playbook: a list
    again = zplan("--at", TODAY, "validate", "repo")
    assert again.code == 0
    assert "note: skipped 2 files that are not zplan files\n" in again.out


def test_a_file_named_on_the_command_line_is_never_skipped(zplan: Zplan, tmp_path: Path) -> None:
    write(tmp_path, "ci.yaml", WORKFLOW)
    result = zplan("--at", TODAY, "validate", "--format", "json", "ci.yaml")
    assert result.code == 1
    [problem] = diagnostics_of(result)
    assert (problem["line"], problem["column"], problem["code"]) == (1, 1, "not-zplan")
    write(tmp_path, "list.yaml", "- zplan: 1\n")
    listed = zplan("--at", TODAY, "validate", "--format", "json", "list.yaml")
    assert listed.code == 1
    assert [d["code"] for d in diagnostics_of(listed)] == ["not-a-mapping"]


def test_a_broken_file_in_a_directory_is_an_error(zplan: Zplan, tmp_path: Path) -> None:
    write(tmp_path, "repo/notes.yaml", "title: [unclosed\n")
    result = zplan("--at", TODAY, "validate", "--format", "json", "repo")
    assert result.code == 1
    [problem] = diagnostics_of(result)
    assert (problem["file"], problem["code"]) == ("repo/notes.yaml", "yaml-syntax")


def test_dot_directories_are_skipped_and_yml_is_found(zplan: Zplan, tmp_path: Path) -> None:
    write(tmp_path, "repo/.github/workflows/broken.yaml", "zplan: [\n")
    write(tmp_path, "repo/.hidden.yaml", "zplan: 2\n")
    write(tmp_path, "repo/accounts/acme.yml", edit("cycle: annual", "cycle: weekly"))
    write(tmp_path, "repo/accounts/readme.txt", "zplan: 1\n")
    result = zplan("--at", TODAY, "validate", "--format", "json", "repo")
    assert result.code == 1
    assert [(d["file"], d["line"], d["column"], d["code"]) for d in diagnostics_of(result)] == [
        ("repo/accounts/acme.yml", 6, 10, "invalid-value")
    ]


def test_a_catalog_in_a_directory_is_validated_as_a_catalog(zplan: Zplan, tmp_path: Path) -> None:
    write(tmp_path, "repo/catalogs/small.yaml", SMALL_CATALOG)
    write(tmp_path, "repo/accounts/small.yaml", SMALL)
    good = zplan("--at", TODAY, "--catalog", "repo/catalogs/small.yaml", "validate", "repo")
    assert good.code == 0, good.output
    assert good.out == "2 files checked: valid.\n"

    broken = edit('annual: "10.00"', "annual: 10.00", SMALL_CATALOG)
    broken = edit("unit: account", "unit: seat", broken)
    write(tmp_path, "repo/catalogs/small.yaml", broken)
    result = zplan("--at", TODAY, "validate", "--format", "json", "repo/catalogs")
    assert result.code == 1
    assert [(d["line"], d["column"], d["path"], d["code"]) for d in diagnostics_of(result)] == [
        (10, 31, "products.desk.editions.basic.price.USD.annual", "wrong-type"),
        (25, 11, "addons.sandbox.unit", "invalid-value"),
    ]


def test_a_catalog_that_breaks_its_own_rules(zplan: Zplan, tmp_path: Path) -> None:
    broken = edit("available_on: {desk: basic}", "available_on: {desk: premium}", SMALL_CATALOG)
    write(tmp_path, "catalog.yaml", broken)
    result = zplan("--at", TODAY, "validate", "--format", "json", "catalog.yaml")
    assert result.code == 1
    assert [(d["line"], d["column"], d["code"]) for d in diagnostics_of(result)] == [
        (29, 26, "unknown-edition")
    ]


def test_no_such_path(zplan: Zplan) -> None:
    result = zplan("validate", "missing.yaml")
    assert result.code == 1
    assert "missing.yaml: no such file or directory" in result.err
    no_traceback(result)


def test_examples_validate(zplan: Zplan) -> None:
    result = zplan("--at", TODAY, "validate", str(EXAMPLES))
    assert result.code == 0, result.output
    assert result.out.endswith("files checked: valid.\n")


def test_a_long_run_collects_rarely_and_puts_the_threshold_back() -> None:
    import gc

    from zplan.load.files import long_run

    before = gc.get_threshold()
    seen = []

    def inside() -> None:
        with long_run():
            seen.append(gc.get_threshold())
            raise RuntimeError

    with pytest.raises(RuntimeError):
        inside()
    assert seen == [(50_000, *before[1:])]
    assert gc.get_threshold() == before
