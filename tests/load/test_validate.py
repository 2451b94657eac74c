"""``zplan validate``: every bad input is an error at the right place, never a traceback.

The table below gives each bad file whole (or as raw bytes) with the one
diagnostic it must produce: its code, line and column, and its dotted path.
Each case is run with ``--format json`` (to read the fields exactly) and with
the text format (to check the ``FILE:LINE:COLUMN: error: PATH: MESSAGE`` line).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import EXAMPLES, TODAY, Result, Zplan

# A valid subscription; the line numbers below refer to it.
BASE = """\
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
    addons:
      copilot: 25
"""

CARD = "4111 1111 1111 1111"  # a test card number: passes the Luhn check

# A small price book with seat limits, an annual-only edition and a per-account add-on.
SMALL_CATALOG = """\
catalog: small-test
as_of: 2026-01-01
currencies: [USD]
products:
  desk:
    name: Desk
    editions:
      basic:
        name: Desk Basic
        price: {USD: {annual: "10.00"}}
        source: "a test"
        min_agents: 2
        max_agents: 5
        included_light_agents: 0
      pro:
        name: Desk Pro
        price: {USD: {annual: "20.00", monthly: "25.00"}}
        estimate: true
        min_agents: 1
        max_agents: 50
        included_light_agents: 10
addons:
  sandbox:
    name: Sandbox
    unit: account
    cycles: [annual, monthly]
    price: {USD: {annual: "100.00", monthly: "120.00"}}
    source: "a test"
    available_on: {desk: basic}
"""

SMALL = """\
zplan: 1
account: {subdomain: small, owner: owner@small.example}
billing: {cycle: annual, payment: card}
agreements: {master_subscription_agreement: accepted, privacy_policy: accepted}
products:
  desk:
    edition: basic
    agents: 3
    addons:
      sandbox: true
"""


def edit(old: str, new: str, text: str = BASE) -> str:
    """``text`` with its one occurrence of ``old`` replaced."""
    assert text.count(old) == 1, old
    return text.replace(old, new)


def laughs() -> str:
    levels = ["a: &a [x, x, x, x, x, x, x, x, x, x]"]
    for name, previous in zip("bcde", "abcd", strict=True):
        levels.append(f"{name}: &{name} [" + ", ".join([f"*{previous}"] * 10) + "]")
    return "zplan: 1\n" + "\n".join(levels) + "\n"


@dataclass(frozen=True)
class Case:
    content: str | bytes
    code: str
    line: int
    column: int
    path: str
    says: str = ""  # in the message or the hint
    errors: int = 1  # how many errors the file has in all
    small_catalog: bool = False
    subprocess: bool = False


def case(id: str, *args: Any, **kwargs: Any) -> Any:
    return pytest.param(Case(*args, **kwargs), id=id)


CASES = [
    # Reading YAML safely.
    case(
        "duplicate-key-top", BASE + "zplan: 1\n", "duplicate-key", 17, 1, "zplan", "first on line 1"
    ),
    case(
        "duplicate-key-nested",
        edit("  payment: card\n", "  payment: card\n  cycle: monthly\n"),
        "duplicate-key",
        8,
        3,
        "billing.cycle",
        "first on line 6",
    ),
    case(
        "duplicate-key-deep",
        edit("      copilot: 25\n", "      copilot: 25\n      copilot: 20\n"),
        "duplicate-key",
        17,
        7,
        "products.suite.addons.copilot",
        "appears twice",
    ),
    case("billion-laughs", laughs(), "too-many-nodes", 5, 36, "d[7]", "10,000", subprocess=True),
    case(
        "nesting-65-levels",
        "zplan: 1\nx: " + "[" * 64 + "]" * 64 + "\n",
        "too-deep",
        2,
        67,
        "x" + "[0]" * 63,
        "deeper than 64",
    ),
    case(
        "nesting-block-style",
        "zplan: 1\nx:\n" + "".join("  " * i + "- \n" for i in range(70)),
        "too-deep",
        66,
        127,
        "x" + "[0]" * 63,
        "deeper than 64",
        subprocess=True,
    ),
    case(
        "file-over-1-mib",
        b"zplan: [\n\tbroken" + b"#" * (1024 * 1024),
        "file-too-large",
        1,
        1,
        "(file)",
        "at most 1 MiB",
        subprocess=True,
    ),
    case(
        "python-tag",
        edit("cycle: annual", "cycle: !!python/object/apply:os.system [ls]"),
        "custom-tag",
        6,
        10,
        "billing.cycle",
        "!!python/object/apply:os.system",
        subprocess=True,
    ),
    case(
        "local-tag",
        edit("edition: professional", "edition: !foo professional"),
        "custom-tag",
        13,
        14,
        "products.suite.edition",
        "!foo",
    ),
    case(
        "not-utf8",
        edit("subdomain: acme", "subdomain: ac\udcffme").encode("utf-8", "surrogateescape"),
        "not-utf8",
        3,
        16,
        "(file)",
        "0xff",
        subprocess=True,
    ),
    case(
        "not-utf8-after-accents",
        b"zplan: 1\n# \xc3\xa9t\xc3\xa9 \xe9\n",
        "not-utf8",
        2,
        7,
        "(file)",
        "0xe9",
    ),
    case("utf16-bom", BASE.encode("utf-16"), "not-utf8", 1, 1, "(file)", "UTF-16"),
    case("empty-file", "", "empty-file", 1, 1, "(file)", "empty"),
    case("comment-only", "# zplan: 1\n# nothing else\n", "empty-file", 1, 1, "(file)", "empty"),
    case(
        "multi-document", BASE + "---\n" + BASE, "multi-document", 17, 1, "(file)", "more than one"
    ),
    case(
        "top-level-list", "- zplan: 1\n- account: acme\n", "not-a-mapping", 1, 1, "(file)", "a list"
    ),
    case("top-level-scalar", "zplan 1\n", "not-a-mapping", 1, 1, "(file)", "a string"),
    case(
        "cycle-no",
        edit("cycle: annual", "cycle: no"),
        "yaml11-boolean",
        6,
        10,
        "billing.cycle",
        "boolean false",
    ),
    case(
        "cycle-yes",
        edit("cycle: annual", "cycle: yes"),
        "yaml11-boolean",
        6,
        10,
        "billing.cycle",
        "boolean true",
    ),
    case(
        "cycle-on",
        edit("cycle: annual", "cycle: on"),
        "yaml11-boolean",
        6,
        10,
        "billing.cycle",
        'quote it ("on")',
    ),
    case(
        "leading-zero",
        edit("agents: 25", "agents: 010"),
        "yaml11-number",
        14,
        13,
        "products.suite.agents",
        "leading zero",
    ),
    case(
        "hex",
        edit("agents: 25", "agents: 0x1F"),
        "yaml11-number",
        14,
        13,
        "products.suite.agents",
        "hexadecimal",
    ),
    case(
        "octal-0o",
        edit("agents: 25", "agents: 0o17"),
        "yaml11-number",
        14,
        13,
        "products.suite.agents",
        "octal",
    ),
    case(
        "binary",
        edit("agents: 25", "agents: 0b101"),
        "yaml11-number",
        14,
        13,
        "products.suite.agents",
        "binary",
    ),
    case(
        "sexagesimal",
        edit("agents: 25", "agents: 1:30"),
        "yaml11-number",
        14,
        13,
        "products.suite.agents",
        "base-60",
    ),
    case(
        "digit-separators",
        edit("agents: 25", "agents: 1_000"),
        "yaml11-number",
        14,
        13,
        "products.suite.agents",
        "separators",
    ),
    case(
        "agents-5.0",
        edit("agents: 25", "agents: 5.0"),
        "not-an-integer",
        14,
        13,
        "products.suite.agents",
        "write 5",
    ),
    case(
        "agents-1e3",
        edit("agents: 25", "agents: 1e3"),
        "not-an-integer",
        14,
        13,
        "products.suite.agents",
        "write 1000",
    ),
    case(
        "agents-true",
        edit("agents: 25", "agents: true"),
        "wrong-type",
        14,
        13,
        "products.suite.agents",
        "the boolean true",
    ),
    case(
        "agents-infinity",
        edit("agents: 25", "agents: .inf"),
        "wrong-type",
        14,
        13,
        "products.suite.agents",
        "inf",
    ),
    case(
        "card-in-value",
        edit("  payment: card\n", f"  payment: card\n  payment_ref: {CARD}\n"),
        "card-number",
        8,
        16,
        "(file)",
        "ending in 1111",
    ),
    case(
        "card-in-comment",
        BASE + f"# paid with {CARD.replace(' ', '-')}\n",
        "card-number",
        17,
        13,
        "(file)",
        "ending in 1111",
    ),
    case(
        "card-as-duplicate-key",
        BASE + "4111111111111111: a\n4111111111111111: b\n",
        "card-number",
        17,
        1,
        "(file)",
        "ending in 1111",
        errors=3,
    ),
    case(
        "tab-indentation",
        edit("  subdomain: acme", "\tsubdomain: acme"),
        "yaml-syntax",
        3,
        1,
        "account",
        "indent with spaces",
    ),
    case(
        "syntax-error",
        edit("owner: owner@acme.example", "owner: owner@acme.example: x"),
        "yaml-syntax",
        4,
        28,
        "account",
        "mapping values are not allowed",
    ),
    case(
        "unclosed-quote",
        edit("edition: professional", 'edition: "professional'),
        "yaml-syntax",
        17,
        1,
        "products.suite.edition",
        "end of stream",
    ),
    case(
        "control-character",
        edit("subdomain: acme", "subdomain: ac\x07me"),
        "yaml-syntax",
        3,
        16,
        "(file)",
        "U+0007",
    ),
    case(
        "undefined-alias",
        edit("subdomain: acme", "subdomain: *acme"),
        "undefined-alias",
        3,
        14,
        "account.subdomain",
        "*acme",
    ),
    case(
        "tag-on-list",
        edit("cycle: annual", "cycle: !!int [1]"),
        "custom-tag",
        6,
        10,
        "billing.cycle",
        "!!int",
    ),
    # The schema.
    case(
        "unknown-top-level-key",
        BASE + "statuss: active\n",
        "unknown-key",
        17,
        1,
        "statuss",
        "did you mean 'status'?",
    ),
    case(
        "unknown-key-in-product",
        edit("    agents: 25\n", "    agents: 25\n    seats: 25\n"),
        "unknown-key",
        15,
        5,
        "products.suite.seats",
        "allowed here: edition, agents, addons",
    ),
    case(
        "missing-owner",
        edit("  owner: owner@acme.example\n", ""),
        "missing-key",
        3,
        3,
        "account",
        "'owner' is required",
    ),
    case(
        "missing-billing",
        "# a comment first\n" + edit("billing:\n  cycle: annual\n  payment: card\n", ""),
        "missing-key",
        2,
        1,
        "(file)",
        "'billing' is required",
    ),
    case(
        "missing-agents",
        edit("    agents: 25\n", ""),
        "missing-key",
        13,
        5,
        "products.suite",
        "'agents' is required",
    ),
    case(
        "agreement-not-accepted",
        edit("privacy_policy: accepted", "privacy_policy: declined"),
        "invalid-value",
        10,
        19,
        "agreements.privacy_policy",
        "must be 'accepted'",
    ),
    case("zplan-2", edit("zplan: 1", "zplan: 2"), "invalid-value", 1, 8, "zplan", "must be 1"),
    case("zplan-1.0", edit("zplan: 1", "zplan: 1.0"), "not-an-integer", 1, 8, "zplan", "write 1"),
    case(
        "bad-subdomain",
        edit("subdomain: acme", "subdomain: Acme_Corp"),
        "invalid-format",
        3,
        14,
        "account.subdomain",
        "'Acme_Corp'",
    ),
    case(
        "bad-email",
        edit("owner: owner@acme.example", "owner: owner-at-acme"),
        "invalid-format",
        4,
        10,
        "account.owner",
        "e-mail",
    ),
    case(
        "bad-cycle",
        edit("cycle: annual", "cycle: yearly"),
        "invalid-value",
        6,
        10,
        "billing.cycle",
        "not one of annual, monthly",
    ),
    case(
        "bad-status",
        BASE + "status: canceled\n",
        "invalid-value",
        17,
        9,
        "status",
        "did you mean 'cancelled'?",
    ),
    case(
        "addon-zero-seats",
        edit("copilot: 25", "copilot: 0"),
        "invalid-value",
        16,
        16,
        "products.suite.addons.copilot",
        "0 is not allowed",
    ),
    case(
        "products-a-list",
        edit(BASE[BASE.index("products:") :], "products: [suite]\n"),
        "wrong-type",
        11,
        11,
        "products",
        "a mapping",
    ),
    # The catalog's rules.
    case(
        "unknown-product",
        edit("  suite:", "  suit:"),
        "unknown-product",
        12,
        3,
        "products.suit",
        "did you mean 'suite'?",
    ),
    case(
        "unknown-edition",
        edit("edition: professional", "edition: profesional"),
        "unknown-edition",
        13,
        14,
        "products.suite.edition",
        "did you mean 'professional'?",
    ),
    case(
        "unknown-addon",
        edit("copilot: 25", "copilt: 25"),
        "unknown-addon",
        16,
        7,
        "products.suite.addons.copilt",
        "did you mean 'copilot'?",
    ),
    case(
        "unknown-currency",
        edit("  owner: owner@acme.example\n", "  owner: owner@acme.example\n  currency: USB\n"),
        "unknown-currency",
        5,
        13,
        "account.currency",
        "did you mean 'USD'?",
    ),
    case(
        "unknown-promotion",
        edit("  payment: card\n", "  payment: card\n  promo_code: WELCOME11\n"),
        "unknown-promotion",
        8,
        15,
        "billing.promo_code",
        "did you mean 'WELCOME10'?",
    ),
    case(
        "suite-with-support",
        BASE + "  support: {edition: team, agents: 2}\n",
        "suite-conflict",
        17,
        3,
        "products.support",
        "Zendesk Suite replaces it",
    ),
    case(
        "addon-below-edition",
        edit("edition: professional", "edition: growth"),
        "addon-edition",
        16,
        7,
        "products.suite.addons.copilot",
        "needs Suite Professional or above",
    ),
    case(
        "addon-on-monthly",
        edit("cycle: annual", "cycle: monthly"),
        "addon-cycle",
        16,
        7,
        "products.suite.addons.copilot",
        "annual billing only, not monthly",
    ),
    case(
        "addon-seats-over-agents",
        edit("copilot: 25", "copilot: 26"),
        "addon-seats",
        16,
        16,
        "products.suite.addons.copilot",
        "only 25 agents",
    ),
    case(
        "per-agent-addon-true",
        edit("copilot: 25", "copilot: true"),
        "addon-unit",
        16,
        16,
        "products.suite.addons.copilot",
        "give the number of seats",
    ),
    case(
        "addon-not-sold-with-product",
        edit("  suite:\n    edition: professional", "  chat:\n    edition: professional"),
        "addon-product",
        16,
        7,
        "products.chat.addons.copilot",
        "not sold with chat",
    ),
    case(
        "products-empty",
        edit(BASE[BASE.index("products:") :], "products: {}\n"),
        "no-products",
        11,
        11,
        "products",
        "at least one product",
    ),
    case(
        "products-missing",
        "# no products\n" + BASE[: BASE.index("products:")],
        "no-products",
        2,
        1,
        "(file)",
        "at least one product",
    ),
    case(
        "seats-over-max",
        edit("agents: 3", "agents: 6", SMALL),
        "seat-limit",
        8,
        13,
        "products.desk.agents",
        "at most 5 agents",
        small_catalog=True,
    ),
    case(
        "seats-under-min",
        edit("agents: 3", "agents: 1", SMALL),
        "seat-limit",
        8,
        13,
        "products.desk.agents",
        "at least 2 agents",
        small_catalog=True,
    ),
    case(
        "per-account-addon-number",
        edit("sandbox: true", "sandbox: 3", SMALL),
        "addon-unit",
        10,
        16,
        "products.desk.addons.sandbox",
        "write true",
        small_catalog=True,
    ),
    case(
        "edition-not-sold-monthly",
        edit("cycle: annual", "cycle: monthly", SMALL),
        "cycle-not-sold",
        3,
        18,
        "billing.cycle",
        "not sold on monthly",
        small_catalog=True,
    ),
]


def write(tmp_path: Path, name: str, content: str | bytes) -> str:
    path = tmp_path / name
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8")
    return name


def diagnostics_of(result: Result) -> list[dict[str, Any]]:
    document = json.loads(result.out)
    found: list[dict[str, Any]] = document["diagnostics"]
    return found


def no_traceback(result: Result) -> None:
    assert "Traceback" not in result.output
    assert "unexpected error" not in result.output


@pytest.mark.parametrize("bad", CASES)
def test_bad_input(bad: Case, zplan: Zplan, tmp_path: Path) -> None:
    name = write(tmp_path, "acct.yaml", bad.content)
    options = ["--at", TODAY]
    if bad.small_catalog:
        options += ["--catalog", write(tmp_path, "small-catalog.yaml", SMALL_CATALOG)]
    run = zplan.sub if bad.subprocess else zplan  # a few through a real process, end to end

    as_json = run(*options, "validate", "--format", "json", name)
    no_traceback(as_json)
    assert as_json.code == 1, as_json.output
    errors = [d for d in diagnostics_of(as_json) if d["severity"] == "error"]
    assert len(errors) == bad.errors, errors
    found = [d for d in errors if d["code"] == bad.code]
    assert found, errors
    first = found[0]
    assert (first["line"], first["column"], first["path"]) == (bad.line, bad.column, bad.path)
    assert first["file"] == name
    assert bad.says in f"{first['message']} ({first['hint']})"

    as_text = zplan(*options, "validate", name)
    no_traceback(as_text)
    assert as_text.code == 1
    assert f"{name}:{bad.line}:{bad.column}: error: {bad.path}: {first['message']}" in as_text.out
    assert f"1 file checked: {bad.errors} error" in as_text.out
    if CARD.replace(" ", "")[:12] in str(bad.content).replace(" ", "").replace("-", ""):
        for result in (as_json, as_text):
            assert "1111" in result.out
            for shown in (CARD, CARD.replace(" ", ""), CARD.replace(" ", "-"), "4111111111"):
                assert shown not in result.output


def test_the_table_is_big_enough() -> None:
    assert len(CASES) >= 45
    assert len({c.id for c in CASES}) == len(CASES)


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


# Warnings and the date ---------------------------------------------------------------


def with_promo(code: str, text: str = BASE) -> str:
    return edit("  payment: card\n", f"  payment: card\n  promo_code: {code}\n", text)


def test_expired_promotion_warns(zplan: Zplan, tmp_path: Path) -> None:
    write(tmp_path, "acct.yaml", with_promo("summer25"))
    result = zplan("--at", TODAY, "validate", "--format", "json", "acct.yaml")
    assert result.code == 0, result.output
    document = json.loads(result.out)
    assert (document["valid"], document["error_count"], document["warning_count"]) == (True, 0, 1)
    [warning] = document["diagnostics"]
    assert warning["severity"] == "warning"
    assert (warning["line"], warning["column"], warning["code"]) == (8, 15, "promo-expired")
    assert "expired on 2026-08-31" in warning["message"]
    text = zplan("--at", TODAY, "validate", "acct.yaml")
    assert text.code == 0
    assert text.out.startswith(
        "acct.yaml:8:15: warning: billing.promo_code: the promotion SUMMER25"
    )
    assert text.out.endswith("1 file checked: valid.\n")


@pytest.mark.parametrize(
    ("date", "warned"),
    [("2027-06-30", False), ("2027-07-01", True), ("2027-07-01T09:30:00Z", True)],
)
@pytest.mark.parametrize("how", ["--at", "ZPLAN_NOW"])
def test_the_date_decides_expiry(
    zplan: Zplan, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, date: str, warned: bool, how: str
) -> None:
    write(tmp_path, "acct.yaml", with_promo("WELCOME10"))
    if how == "--at":
        result = zplan("--at", date, "validate", "--format", "json", "acct.yaml")
    else:
        monkeypatch.setenv("ZPLAN_NOW", date)
        result = zplan("validate", "--format", "json", "acct.yaml")
    assert result.code == 0, result.output
    codes = [d["code"] for d in diagnostics_of(result)]
    assert codes == (["promo-expired"] if warned else [])


def test_at_wins_over_zplan_now(
    zplan: Zplan, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write(tmp_path, "acct.yaml", with_promo("WELCOME10"))
    monkeypatch.setenv("ZPLAN_NOW", "2027-07-01")
    result = zplan("--at", "2027-01-01", "validate", "--format", "json", "acct.yaml")
    assert diagnostics_of(result) == []


def test_a_bad_date_is_a_usage_error(zplan: Zplan, tmp_path: Path) -> None:
    write(tmp_path, "acct.yaml", BASE)
    result = zplan("--at", "27/11/2026", "validate", "acct.yaml")
    assert result.code == 1
    assert "is not a date" in result.err
    no_traceback(result)


def test_promotion_for_another_cycle_warns(zplan: Zplan, tmp_path: Path) -> None:
    write(tmp_path, "acct.yaml", with_promo("STARTUP50"))
    result = zplan("--at", TODAY, "validate", "--format", "json", "acct.yaml")
    assert result.code == 0, result.output
    [warning] = diagnostics_of(result)
    assert (warning["severity"], warning["code"], warning["line"]) == ("warning", "promo-cycle", 8)
    assert "needs monthly billing" in warning["message"]


def test_promotion_for_other_products_warns(zplan: Zplan, tmp_path: Path) -> None:
    chat_only = edit(
        BASE[BASE.index("products:") :], "products:\n  chat: {edition: team, agents: 2}\n"
    )
    write(tmp_path, "acct.yaml", with_promo("welcome10", chat_only))
    result = zplan("--at", TODAY, "validate", "--format", "json", "acct.yaml")
    assert result.code == 0, result.output
    [warning] = diagnostics_of(result)
    assert (warning["severity"], warning["code"]) == ("warning", "promo-not-eligible")
    assert warning["message"].startswith("the promotion WELCOME10 applies to suite, support")


def test_cancelled_without_products_is_valid(zplan: Zplan, tmp_path: Path) -> None:
    cancelled = BASE[: BASE.index("products:")] + "status: cancelled\n"
    write(tmp_path, "acct.yaml", cancelled)
    result = zplan("--at", TODAY, "validate", "acct.yaml")
    assert result.code == 0, result.output
