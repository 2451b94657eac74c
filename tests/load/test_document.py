"""zplan.document: the strict YAML loader, its values, positions and limits."""

from __future__ import annotations

import math
import time
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from zplan.load.document import MAX_DEPTH, MAX_NODES, Document, _card_numbers, load_bytes, load_text


def load(text: str) -> Document:
    return load_text(text, "f.yaml")


def codes(document: Document) -> list[str]:
    return [d.code for d in document.diagnostics]


def value_of(text: str) -> Any:
    document = load(f"a: {text}\n")
    assert document.diagnostics == [], document.diagnostics
    return document.data["a"]


# Values: the YAML 1.2 core schema --------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("5", 5),
        ("-5", -5),
        ("+5", 5),
        ("0", 0),
        ("5.5", 5.5),
        ("-0.25", -0.25),
        ("1e3", 1000.0),
        ("1.5E-2", 0.015),
        (".5", 0.5),
        (".inf", math.inf),
        ("-.Inf", -math.inf),
        ("+.INF", math.inf),
        ("null", None),
        ("Null", None),
        ("~", None),
        ("", None),
        ("true", True),
        ("True", True),
        ("FALSE", False),
        ("2026-11-27", "2026-11-27"),  # dates stay strings
        ("2026-11-27T10:00:00Z", "2026-11-27T10:00:00Z"),
        ("'5'", "5"),  # quoted numbers are strings
        ('"5.0"', "5.0"),
        ("'010'", "010"),
        ('"no"', "no"),
        ("'true'", "true"),
        ("'null'", "null"),
        ("!!str 5", "5"),
        ("!!str true", "true"),
        ("! 5", "5"),
        ("!!int '5'", 5),
        ('!!float "1"', 1.0),
        ("!!float .inf", math.inf),
        ("!!bool 'false'", False),
        ("!!null ''", None),
        ("pm_1QxY4242", "pm_1QxY4242"),
        ("professional", "professional"),
        ("5 agents", "5 agents"),
        ("|\n  two\n  lines", "two\nlines\n"),
    ],
)
def test_core_schema_values(text: str, expected: Any) -> None:
    value = value_of(text)
    assert value == expected
    assert type(value) is type(expected)


def test_nan() -> None:
    assert math.isnan(value_of(".nan"))
    assert math.isnan(value_of(".NaN"))


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("yes", "yaml11-boolean"),
        ("No", "yaml11-boolean"),
        ("OFF", "yaml11-boolean"),
        ("010", "yaml11-number"),
        ("-012", "yaml11-number"),
        ("0x1F", "yaml11-number"),
        ("0o17", "yaml11-number"),
        ("0b101", "yaml11-number"),
        ("1:30", "yaml11-number"),
        ("190:20:30.15", "yaml11-number"),
        ("1_000", "yaml11-number"),
        ("!!int 1.5", "custom-tag"),
        ("!!bool yes", "custom-tag"),
        ("!!float x", "custom-tag"),
        ("!!timestamp 2026-11-27", "custom-tag"),
        ("!!binary aGk=", "custom-tag"),
        ("!!python/name:os.system ''", "custom-tag"),
        ("!foo bar", "custom-tag"),
        ("!!set {a, b}", "custom-tag"),
        ("!!str [a]", "custom-tag"),
        ("!!seq {a: 1}", "custom-tag"),
    ],
)
def test_surprises_are_errors_at_the_value(text: str, code: str) -> None:
    document = load(f"zplan: 1\na: {text}\n")
    assert codes(document) == [code]
    problem = document.diagnostics[0]
    assert (problem.line, problem.column, problem.path) == (2, 4, "a")
    assert problem.hint
    assert not document.ok


def test_a_yaml11_boolean_says_what_it_would_mean() -> None:
    [problem] = load("cycle: no\n").diagnostics
    assert problem.message == "'no' is read by YAML 1.1 tools as the boolean false"
    assert 'quote it ("no")' in (problem.hint or "")


def test_keys_stay_as_written() -> None:
    document = load("1: a\ntrue: b\nnull: c\non: d\n010: e\n")
    assert document.diagnostics == []
    assert document.data == {"1": "a", "true": "b", "null": "c", "on": "d", "010": "e"}


# Merge keys, anchors, aliases ------------------------------------------------------------

MERGE = """\
base: &base
  cycle: annual
  payment: card
billing:
  <<: *base
  cycle: monthly
"""


def test_merge_keys_and_explicit_keys_override() -> None:
    document = load(MERGE)
    assert document.diagnostics == []
    assert document.data["billing"] == {"cycle": "monthly", "payment": "card"}
    assert document.data["base"] == {"cycle": "annual", "payment": "card"}
    # The explicit key is where it is written; the merged one where the anchor has it.
    assert document.position(("billing", "cycle")) == (6, 10)
    assert document.position(("billing", "payment")) == (3, 12)


def test_an_explicit_key_before_the_merge_also_wins() -> None:
    document = load("a: &a {x: 1, y: 2}\nb:\n  x: 9\n  <<: *a\n")
    assert document.data["b"] == {"x": 9, "y": 2}


def test_merging_a_list_of_mappings_the_first_wins() -> None:
    document = load("a: &a {x: 1}\nb: &b {x: 2, y: 2}\nc:\n  <<: [*a, *b]\n")
    assert document.diagnostics == []
    assert document.data["c"] == {"x": 1, "y": 2}


def test_merging_something_else_is_an_error() -> None:
    document = load("a: &a 5\nb:\n  <<: *a\n")
    assert codes(document) == ["bad-merge"]
    assert (document.diagnostics[0].line, document.diagnostics[0].column) == (3, 3)


def test_aliases_share_values() -> None:
    document = load("admins: &admins [a@x.example, b@x.example]\nmore: *admins\n")
    assert document.data["more"] == ["a@x.example", "b@x.example"]
    assert document.position(("more", 1)) == (1, 31)


def test_alias_to_an_undefined_anchor() -> None:
    document = load("zplan: 1\nowner: *nobody\n")
    assert codes(document) == ["undefined-alias"]
    problem = document.diagnostics[0]
    assert (problem.line, problem.column, problem.path) == (2, 8, "owner")
    assert "*nobody" in problem.message
    assert document.data is None and document.root is None


@pytest.mark.parametrize("text", ["a: &a [1, *a]\n", "a: &a {b: *a}\n", "a: &a\n  b:\n    c: *a\n"])
def test_a_recursive_alias_is_refused(text: str) -> None:
    document = load(text)
    assert codes(document) == ["undefined-alias"]
    assert document.data is None


def test_an_anchor_may_be_redefined() -> None:
    document = load("a: &x 1\nb: &x 2\nc: *x\n")
    assert document.data == {"a": 1, "b": 2, "c": 2}


def test_an_alias_as_a_key() -> None:
    document = load("k: &k cycle\nm:\n  *k : annual\n")
    assert document.data["m"] == {"cycle": "annual"}


# Positions ---------------------------------------------------------------------------

POSITIONS = """\
# comment
zplan: 1
account:
  subdomain: acme
  billing_admins:
    - a@acme.example
    - b@acme.example
products: {suite: {edition: team, agents: 3}}
"""


@pytest.mark.parametrize(
    ("path", "key", "expected"),
    [
        ((), False, (2, 1)),
        (("zplan",), False, (2, 8)),
        (("zplan",), True, (2, 1)),
        (("account",), False, (4, 3)),
        (("account",), True, (3, 1)),
        (("account", "subdomain"), False, (4, 14)),
        (("account", "subdomain"), True, (4, 3)),
        (("account", "billing_admins", 0), False, (6, 7)),
        (("account", "billing_admins", 1), False, (7, 7)),
        (("products", "suite"), False, (8, 19)),
        (("products", "suite"), True, (8, 12)),
        (("products", "suite", "agents"), False, (8, 43)),
        (("products", "suite", "agents"), True, (8, 35)),
        # Missing: the deepest mapping the path reaches (a missing key's parent).
        (("billing",), False, (2, 1)),
        (("account", "owner"), False, (4, 3)),
        (("account", "owner"), True, (3, 1)),
        (("products", "suite", "addons", "copilot"), False, (8, 19)),
        (("account", "billing_admins", 5), False, (6, 5)),
        (("zplan", "deeper"), False, (2, 8)),
    ],
)
def test_positions(path: tuple[str | int, ...], key: bool, expected: tuple[int, int]) -> None:
    document = load(POSITIONS)
    assert document.diagnostics == []
    assert document.position(path, key=key) == expected


def test_error_builds_a_positioned_diagnostic() -> None:
    document = load(POSITIONS)
    problem = document.error(("account", "billing_admins", 1), "x-code", "a message", "a hint")
    assert (problem.file, problem.line, problem.column) == ("f.yaml", 7, 7)
    assert (problem.path, problem.code, problem.message, problem.hint) == (
        "account.billing_admins[1]",
        "x-code",
        "a message",
        "a hint",
    )
    assert document.error((), "c", "m").path == "(file)"


def test_positions_count_characters_not_bytes() -> None:
    document = load("name: Zürich Zoë\nowner: ö@x.example\nx: [é, ü]\n")
    assert document.position(("x", 1)) == (3, 8)
    assert document.position(("owner",)) == (2, 8)


# Duplicate keys ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "line", "column", "path"),
    [
        ("a: 1\nb: 2\na: 3\n", 3, 1, "a"),
        ("a:\n  b: 1\n  b: 1\n", 3, 3, "a.b"),
        ("a: [{x: 1, x: 2}]\n", 1, 12, "a[0].x"),
        ("a: {b: {c: 1}}\na: {b: {c: 1}}\n", 2, 1, "a"),
        ("'a': 1\n\"a\": 2\n", 2, 1, "a"),
    ],
)
def test_a_duplicate_key_anywhere(text: str, line: int, column: int, path: str) -> None:
    document = load(text)
    assert codes(document) == ["duplicate-key"]
    problem = document.diagnostics[0]
    assert (problem.line, problem.column, problem.path) == (line, column, path)
    assert not document.ok


def test_every_duplicate_is_reported() -> None:
    document = load("a: 1\na: 2\nb: 1\nb: 2\n")
    assert [(d.line, d.code) for d in document.diagnostics] == [
        (2, "duplicate-key"),
        (4, "duplicate-key"),
    ]


# Limits ------------------------------------------------------------------------------


def expansion(aliases: int, extra: int) -> str:
    """A document of ``count(aliases, extra)`` values, aliases expanded."""
    scalars = ", ".join(["x"] * 99)
    outer = ", ".join(["*a"] * aliases)
    more = ", ".join(["y"] * extra)
    # root, key a, list a + 99 scalars, key b, list b, the aliases, key c, list c, extra
    return f"a: &a [{scalars}]\nb: [{outer}]\nc: [{more}]\n"


def count(aliases: int, extra: int) -> int:
    return 1 + 1 + 100 + 1 + 1 + 100 * aliases + 1 + 1 + extra


def test_the_node_limit_counts_through_aliases() -> None:
    assert count(98, 94) == MAX_NODES
    at_limit = load(expansion(98, 94))
    assert at_limit.diagnostics == []
    assert len(at_limit.data["b"]) == 98

    over = load(expansion(98, 95))
    assert codes(over) == ["too-many-nodes"]
    assert over.data is None
    # Over by one alias: the alias that crosses the limit is the one reported.
    by_alias = load(expansion(99, 0))
    assert codes(by_alias) == ["too-many-nodes"]
    assert count(99, 0) > MAX_NODES > count(98, 0)
    assert (by_alias.diagnostics[0].line, by_alias.diagnostics[0].column) == (2, 5 + 4 * 98)


def test_billion_laughs_is_refused_quickly() -> None:
    lines = ["a: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]"]
    for index in range(1, 10):
        previous = f"*{chr(ord('a') + index - 1)}"
        name = chr(ord("a") + index)
        lines.append(f"{name}: &{name} [{', '.join([previous] * 10)}]")
    started = time.monotonic()
    document = load("\n".join(lines) + "\n")
    assert time.monotonic() - started < 10
    assert codes(document) == ["too-many-nodes"]
    assert document.data is None


def nested(levels: int) -> str:
    """A mapping (one level) holding ``levels - 1`` nested flow lists."""
    return "x: " + "[" * (levels - 1) + "]" * (levels - 1) + "\n"


def test_nesting_up_to_the_limit() -> None:
    document = load(nested(MAX_DEPTH))
    assert document.diagnostics == []
    deep = document.data["x"]
    for _ in range(MAX_DEPTH - 2):
        deep = deep[0]
    assert deep == []


def test_nesting_past_the_limit() -> None:
    document = load(nested(MAX_DEPTH + 1))
    assert codes(document) == ["too-deep"]
    assert (document.diagnostics[0].line, document.diagnostics[0].column) == (1, 4 + MAX_DEPTH - 1)


def test_nesting_through_aliases_counts() -> None:
    # Each anchor is 40 levels deep where it is written, but stands for the one before it too.
    text = "a: &a [[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[x]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]\n"
    text += "b: &b " + "[" * 39 + "*a" + "]" * 39 + "\n"
    document = load(text)
    assert codes(document) == ["too-deep"]
    assert document.diagnostics[0].line == 2
    assert document.data is None


@pytest.mark.parametrize(
    "text",
    [
        "x: " + "[" * 100_000 + "]" * 100_000 + "\n",
        "x: " + "[" * 100_000 + "\n",
        "x: " + "{a: " * 100_000 + "\n",
        "".join(" " * index + "- \n" for index in range(2_000)),
    ],
    ids=["flow-lists", "unclosed-flow-lists", "flow-mappings", "block-lists"],
)
def test_very_deep_documents_are_refused_without_a_crash(text: str) -> None:
    started = time.monotonic()
    document = load(text)
    assert time.monotonic() - started < 30  # loose: it must finish, not overflow the stack
    assert codes(document) == ["too-deep"]
    assert document.data is None


def test_a_file_over_one_mebibyte() -> None:
    document = load_bytes(b"a: b\n" + b"#" * (1024 * 1024), "big.yaml")
    assert codes(document) == ["file-too-large"]
    assert (document.diagnostics[0].line, document.diagnostics[0].column) == (1, 1)
    assert load_bytes(b"a: b\n" + b"#" * (1024 * 1024 - 5), "max.yaml").diagnostics == []


# Bytes, characters -------------------------------------------------------------------


def test_a_utf8_bom_is_accepted() -> None:
    document = load_bytes(b"\xef\xbb\xbfzplan: 1\nx: 2\n", "f.yaml")
    assert document.diagnostics == []
    assert document.data == {"zplan": 1, "x": 2}
    assert document.position(("zplan",)) == (1, 8)


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-le", "utf-16-be"])
def test_utf16_is_refused(encoding: str) -> None:
    raw = "zplan: 1\n".encode(encoding)
    if encoding != "utf-16":
        raw = ("\ufeff" + "zplan: 1\n").encode(encoding)
    document = load_bytes(raw, "f.yaml")
    assert codes(document) == ["not-utf8"]
    assert (document.diagnostics[0].line, document.diagnostics[0].column) == (1, 1)


@pytest.mark.parametrize(
    ("raw", "line", "column", "byte"),
    [
        (b"\xffzplan: 1\n", 1, 1, "0xff"),
        (b"zplan: 1\nname: caf\xe9\n", 2, 10, "0xe9"),
        (b"zplan: 1\nname: \xc3\xa9t\xc3\xa9 \xc3\n", 2, 11, "0xc3"),
        (b"a: 1\nb: 2\nc: \xed\xa0\x80\n", 3, 4, "0xed"),  # an encoded surrogate
    ],
)
def test_bytes_that_are_not_utf8(raw: bytes, line: int, column: int, byte: str) -> None:
    document = load_bytes(raw, "f.yaml")
    assert codes(document) == ["not-utf8"]
    problem = document.diagnostics[0]
    assert (problem.line, problem.column) == (line, column)
    assert byte in problem.message


@pytest.mark.parametrize(
    ("text", "line", "column", "shown"),
    [
        ("a: b\x07c\n", 1, 5, "U+0007"),
        ("a: 1\nb: 'x\x00y'\n", 2, 6, "U+0000"),
        ("a: 1\nb: été\x1b\n", 2, 7, "U+001B"),
        ("a: \x7f\n", 1, 4, "U+007F"),
    ],
)
def test_control_characters(text: str, line: int, column: int, shown: str) -> None:
    document = load(text)
    assert codes(document) == ["yaml-syntax"]
    problem = document.diagnostics[0]
    assert (problem.line, problem.column) == (line, column)
    assert shown in problem.message
    assert document.data is None


def test_tabs_and_escapes_inside_values_are_fine() -> None:
    document = load('a: "tab\\there"\nb: \'x\ty\'\nc: "\\x07"\n')
    assert document.diagnostics == []
    assert document.data == {"a": "tab\there", "b": "x\ty", "c": "\x07"}


# Whole-file problems ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "code", "line"),
    [
        ("", "empty-file", 1),
        ("\n\n   \n", "empty-file", 1),
        ("# only\n# comments\n", "empty-file", 1),
        ("a: 1\n---\na: 2\n", "multi-document", 2),
        ("--- \na: 1\n...\n---\na: 2\n", "multi-document", 4),
        ("- a\n- b\n", "not-a-mapping", 1),
        ("# first\njust words\n", "not-a-mapping", 2),
        ("---\n", "not-a-mapping", 2),
        ("? [a, b]\n: c\n", "complex-key", 1),
        ("? {a: 1}\n: c\n", "complex-key", 1),
    ],
)
def test_whole_file_problems(text: str, code: str, line: int) -> None:
    document = load(text)
    assert codes(document) == [code]
    assert document.diagnostics[0].line == line
    assert not document.ok


def test_an_explicit_document_start_is_fine() -> None:
    document = load("---\nzplan: 1\n...\n")
    assert document.diagnostics == []
    assert document.data == {"zplan": 1}


def test_kind_is_decided_by_the_top_level_key() -> None:
    assert load("zplan: 1\n").kind.value == "subscription"
    assert load("catalog: x\n").kind.value == "catalog"
    assert load("name: CI\non: push\n").kind.value == "other"
    assert load("- zplan\n").kind.value == "other"


# Card numbers ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "column"),
    [
        ("ref: 4111111111111111\n", 6),
        ("ref: '4111 1111 1111 1111'\n", 7),
        ("ref: x # 4111-1111-1111-1111\n", 10),
        ("ref: pm_4111111111111111\n", 9),
        ("ref: 378282246310005\n", 6),  # 15 digits (Amex test number)
        ("4111111111111111: x\n", 1),
    ],
)
def test_card_numbers_are_refused(text: str, column: int) -> None:
    document = load(text)
    assert "card-number" in codes(document)
    card = next(d for d in document.diagnostics if d.code == "card-number")
    assert (card.line, card.column) == (1, column)
    assert document.data is None and document.root is None
    digits = "".join(c for c in text if c.isdigit())
    for problem in document.diagnostics:
        shown = f"{problem.path} {problem.message} {problem.hint}"
        assert digits not in shown.replace(" ", "").replace("-", "")
        assert digits[-4:] in card.message


@pytest.mark.parametrize(
    "text",
    [
        "ref: 4111111111111112\n",  # fails the Luhn check
        "ref: 411111111111\n",  # 12 digits
        "ref: 41111111111111111111\n",  # 20 digits
        "phone: +1 555 0100\n",
        "date: 2026-11-27\n",
    ],
)
def test_what_is_not_a_card_number(text: str) -> None:
    assert load(text).diagnostics == []


@pytest.mark.parametrize(
    "text",
    [
        "x: 04111111111111111\n",  # a YAML 1.1 number too
        "x: !!bool 4111-1111-1111-1111\n",  # a bad tagged value too
        "x: !4111111111111111 y\n",  # a custom tag too
        "4111111111111111: a\n4111111111111111: b\n",  # a duplicate key too
        "&a1 4111 1111 1111 1111: a\n*a1 : b\n",  # the same, the anchor's digit before it
    ],
)
def test_a_card_number_is_never_echoed_by_other_problems(text: str) -> None:
    document = load(text)
    assert len(document.diagnostics) >= 2
    for problem in document.diagnostics:
        shown = f"{problem.path} {problem.message} {problem.hint}"
        assert "1111111111" not in shown.replace("-", "")


@pytest.mark.parametrize(
    ("text", "column"),
    [
        ("&a1 4111 1111 1111 1111: x\n", 5),  # the fuzzer's find: the anchor's digit joined
        ("ref: 7 4111-1111-1111-1111\n", 8),
        ("ref: 4111 1111 1111 1111 7\n", 6),
        ("ref: 9 3782 822463 10005 7\n", 8),  # Amex, printed 4-6-5
        ("ids: 2026 4111 1111 1111 1111 2027\n", 11),
    ],
)
def test_card_number_inside_a_longer_run_of_digits(text: str, column: int) -> None:
    """Stray groups of digits around a printed card number do not hide it."""
    document = load(text)
    cards = [d for d in document.diagnostics if d.code == "card-number"]
    assert [(d.line, d.column) for d in cards] == [(1, column)], document.diagnostics
    assert document.data is None


def _printed_cards(groups: list[str]) -> set[tuple[int, str]]:
    """The oracle for card numbers in one run: (offset, digits) of the whole run when it
    has 13 to 19 digits and passes Luhn, else of every window of whole groups of 3 digits
    or more that does (the rule in zplan.document._card_numbers), checked one by one."""

    def luhn(digits: str) -> bool:
        total = 0
        for index, char in enumerate(reversed(digits)):
            value = int(char) * (2 if index % 2 else 1)
            total += value - 9 if value > 9 else value
        return total % 10 == 0

    starts = [sum(len(g) + 1 for g in groups[:i]) for i in range(len(groups))]
    whole = "".join(groups)
    if 13 <= len(whole) <= 19 and luhn(whole):
        return {(0, whole)}
    found = set()
    for first in range(len(groups)):
        for last in range(first, len(groups)):
            if any(len(g) < 3 for g in groups[first : last + 1]):
                break
            digits = "".join(groups[first : last + 1])
            if 13 <= len(digits) <= 19 and luhn(digits):
                found.add((starts[first], digits))
    return found


@given(
    st.lists(st.from_regex(r"[0-9]{1,7}", fullmatch=True), min_size=1, max_size=12),
    st.sampled_from([" ", "-"]),
)
@settings(max_examples=300)
def test_card_scan_agrees_with_the_one_by_one_oracle(groups: list[str], separator: str) -> None:
    """The scan finds what checking every window one by one finds, and nothing else."""
    text = separator.join(groups)
    assert {(c.start, c.digits) for c in _card_numbers(text)} == _printed_cards(groups)


def test_card_scan_of_a_mebibyte_of_digit_groups_is_quick() -> None:
    """The worst input for the window scan: one run of a million characters."""
    started = time.perf_counter()
    document = load_text('x: "' + "123 " * 262_000 + '"\n', "big.yaml")
    assert time.perf_counter() - started < 5  # ~0.5 s here; a bound, not a benchmark
    assert "card-number" not in codes(document)
