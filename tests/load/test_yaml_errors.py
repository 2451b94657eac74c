"""YAML syntax errors a person can act on (issue 14).

Each bad file is the example subscription with one line got wrong, the way
people get it wrong: a key indented between two levels or under a key that
already has a value, a tab in the indentation, a quote or bracket never
closed, a missing ':' or ','. The error must point at the line the person got
wrong (not where the parser gave up), say what is wrong there and how to fix
it, naming the keys involved. Positions are exact (1-based line and column).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, NamedTuple

import pytest

from tests.conftest import Zplan
from tests.load import validate_support

# The bad-input table's file, with a list of billing admins (a flow-sequence case needs one).
BASE = validate_support.BASE.replace(
    "  owner: owner@acme.example\n",
    "  owner: owner@acme.example\n  billing_admins:\n    - finance@acme.example\n",
)


def edit(old: str, new: str) -> str:
    assert BASE.count(old) == 1, old
    return BASE.replace(old, new)


class Bad(NamedTuple):
    text: str
    at: tuple[int, int]
    path: str
    message: str
    hint: str


def case(name: str, *args: Any) -> Any:
    return pytest.param(Bad(*args), id=name)


CASES = [
    case(
        "key-between-two-levels",
        edit("    agents: 25", "   agents: 25"),
        (16, 4),
        "products.suite.agents",
        "`agents:` is indented by 3 spaces: neither under `suite:` (4 spaces, like `edition:`) nor beside it (2 spaces)",
        "indent `agents:` by 2 spaces under `suite:` (4 in all, like `edition:`)",
    ),
    case(
        "key-under-a-value",
        edit("    agents: 25", "      agents: 25"),
        (16, 7),
        "products.suite.agents",
        "`agents:` is indented under `edition:`, which already has a value (professional)",
        "indent `agents:` by 2 spaces under `suite:`, like `edition:`",
    ),
    case(
        "tab-at-line-start",
        edit("    agents: 25", "\tagents: 25"),
        (16, 1),
        "products.suite.agents",
        "tabs are not allowed for indentation (`agents:`)",
        "indent with spaces: `agents:` by 4 spaces, like `edition:` above",
    ),
    case(
        "tab-after-spaces",
        edit("    agents: 25", "    \tagents: 25"),
        (16, 5),
        "products.suite.agents",
        "tabs are not allowed for indentation (`agents:`)",
        "indent with spaces: `agents:` by 4 spaces, like `edition:` above",
    ),
    case(
        "tabs-on-a-nested-line",
        edit("      copilot: 25", "\t\tcopilot: 25"),
        (18, 1),
        "products.suite.addons.copilot",
        "tabs are not allowed for indentation (`copilot:`)",
        "indent with spaces: `copilot:` by 6 spaces, under `addons:` above",
    ),
    case(
        "unclosed-double-quote",
        edit("owner: owner@acme.example", 'owner: "owner@acme.example'),
        (4, 10),
        "account.owner",
        'the " opened here is never closed',
        'close the quote with " at the end of the value',
    ),
    case(
        "unclosed-single-quote",
        edit("subdomain: acme", "subdomain: 'acme"),
        (3, 14),
        "account.subdomain",
        "the ' opened here is never closed",
        "close the quote with ' at the end of the value",
    ),
    case(
        "quote-closed-lines-later",
        edit("owner: owner@acme.example", 'owner: "owner@acme.example').replace(
            "payment: card", 'payment: "card"'
        ),
        (4, 10),
        "account.owner",
        'the " opened here is not closed on its line: the string runs on to line 9',
        'close the quote with " at the end of line 4',
    ),
    case(
        "key-without-colon",
        edit("billing:\n", "billing\n"),
        (7, 8),
        "billing",
        "`billing` has no ':' after it",
        "write `billing:`",
    ),
    case(
        "colon-inside-a-value",
        edit("owner: owner@acme.example", "owner: owner@acme.example: x"),
        (4, 28),
        "account.owner",
        "mapping values are not allowed here: the value of `owner` holds ': ', which YAML reads as another key",
        'quote the value: owner: "owner@acme.example: x"',
    ),
    case(
        "list-item-among-keys",
        edit("  privacy_policy: accepted\n", "  privacy_policy: accepted\n  - extra\n"),
        (13, 3),
        "agreements",
        "a list item where a key of `agreements:` is expected",
        "a list goes under a key of its own, indented, e.g. billing_admins:",
    ),
    case(
        "unclosed-flow-mapping",
        edit(
            "billing:\n  cycle: annual\n  payment: card\n",
            "billing: {cycle: annual, payment: card\n",
        ),
        (7, 10),
        "billing",
        "the '{' opened here is not closed on its line",
        "close it with '}'",
    ),
    case(
        "missing-comma-in-flow",
        edit(
            "billing:\n  cycle: annual\n  payment: card\n",
            "billing: {cycle: annual payment: card}\n",
        ),
        (7, 25),
        "billing",
        "a ',' is missing before `payment`",
        "separate the items with ', ' inside '{…}'",
    ),
    case(
        "unclosed-flow-sequence",
        edit(
            "  billing_admins:\n    - finance@acme.example\n",
            "  billing_admins: [finance@acme.example\n",
        ),
        (5, 19),
        "account.billing_admins",
        "the '[' opened here is not closed on its line",
        "close it with ']'",
    ),
    case(
        "text-after-a-quoted-value",
        edit("cycle: annual", 'cycle: "annual" x'),
        (8, 19),
        "billing.cycle",
        "unexpected 'x' after the value of `cycle`",
        "quote the whole value if it holds quotes or brackets",
    ),
    case(
        "top-level-key-indented",
        edit("account:\n", "  account:\n"),
        (2, 3),
        "account",
        "`account:` is indented under `zplan:`, which already has a value (1)",
        "start `account:` at the first column, like `zplan:`; or remove the value 1 so that `zplan:` holds keys",
    ),
    case(
        "keys-under-a-scalar",
        edit("billing:\n", "billing: annual\n"),
        (8, 3),
        "cycle",
        "`cycle:` is indented under `billing:`, which already has a value (annual)",
        "start `cycle:` at the first column, like `billing:`; or remove the value annual so that `billing:` holds keys",
    ),
    case(
        "key-one-space-short",
        edit("  owner: owner@acme.example", " owner: owner@acme.example"),
        (4, 2),
        "account.owner",
        "`owner:` is indented by 1 space: neither under `account:` (2 spaces, like `subdomain:`) nor beside it (0 spaces)",
        "indent `owner:` by 2 spaces under `account:` (2 in all, like `subdomain:`)",
    ),
    case(
        "sibling-over-indented",
        edit("  privacy_policy: accepted", "    privacy_policy: accepted"),
        (12, 5),
        "agreements.privacy_policy",
        "`privacy_policy:` is indented under `master_subscription_agreement:`, which already has a value (accepted)",
        "indent `privacy_policy:` by 2 spaces under `agreements:`, like `master_subscription_agreement:`",
    ),
    case(
        "tab-on-a-blank-line",
        edit("products:\n  suite:\n", "products:\n  suite:\n  \n\t\n"),
        (16, 1),
        "products.suite",
        "tabs are not allowed for indentation (this blank line holds a tab)",
        "delete the tab",
    ),
]


def test_the_base_file_is_valid(zplan: Zplan, tmp_path: Path) -> None:
    path = tmp_path / "acme.yaml"
    path.write_text(BASE, encoding="utf-8")
    assert zplan("--at", "2026-11-27", "validate", str(path)).code == 0


@pytest.mark.parametrize("bad", CASES)
def test_a_yaml_mistake_points_at_the_line_to_fix(bad: Bad, zplan: Zplan, tmp_path: Path) -> None:
    path = tmp_path / "acme.yaml"
    path.write_text(bad.text, encoding="utf-8")
    done = zplan("--at", "2026-11-27", "validate", "--format", "json", str(path))
    assert done.code == 1, done.output
    assert "Traceback" not in done.output
    (problem,) = json.loads(done.out)["diagnostics"]
    assert problem["code"] == "yaml-syntax"
    assert (problem["line"], problem["column"]) == bad.at
    assert problem["path"] == bad.path
    assert problem["message"] == bad.message
    assert problem["hint"] == bad.hint

    text = zplan("--at", "2026-11-27", "validate", str(path))
    line, column = bad.at
    assert f"{path}:{line}:{column}: error: {bad.path}: {bad.message} ({bad.hint})" in text.out


def test_there_are_at_least_fifteen_cases() -> None:
    assert len(CASES) >= 15


def test_what_is_not_recognised_keeps_the_parsers_words(zplan: Zplan, tmp_path: Path) -> None:
    path = tmp_path / "list.yaml"
    path.write_text("- zplan: 1\naccount: x\n", encoding="utf-8")
    done = zplan("validate", "--format", "json", str(path))
    (problem,) = json.loads(done.out)["diagnostics"]
    assert (problem["line"], problem["column"]) == (2, 1)
    assert "did not find expected '-' indicator" in problem["message"]
