"""Control and invisible characters: the loader's shortcut (no walk when the text holds none
and no scalar decodes into one) finds exactly what walking every key and value finds."""

from __future__ import annotations

import dataclasses

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from zplan.load.document import load_text
from zplan.load.rules import control_characters


def both(text: str) -> tuple[list[str], list[str]]:
    document = load_text(text, "f.yaml")
    walked = control_characters(dataclasses.replace(document, invisible=True))
    return [str(d) for d in control_characters(document)], [str(d) for d in walked]


@pytest.mark.parametrize(
    ("text", "found"),
    [
        ("a: b\nc: d\n", 0),
        ('a: "x\\ny"\n', 1),  # an escape decodes into a line break
        ('a: "\\x07"\n', 1),
        ('"k\\u200bey": 1\n', 1),  # in a key
        ("a: |\n  two\n  lines\n", 1),  # a block scalar keeps its line break
        ("a: >\n  folded\n\n  para\n", 1),
        ("a: 'x\n\n  y'\n", 1),  # an empty line in a flow scalar is a line break
        ("a: x\u200by\n", 1),  # written as it reads, but the text holds it
        ("# a comment with \u202e only\na: b\n", 0),
        ("a: &v 'x\\ty'\nb: *v\n", 0),  # a single-quoted backslash is two characters
        ('a: &v "x\\ty"\nb: *v\nc: {<<: {d: *v}}\n', 3),
        ("a: b\r\nc: d\r\n", 0),  # line breaks of another kind, nowhere in a value
        ("a: !!str x\tb\n", 1),
    ],
)
def test_the_shortcut_finds_what_the_walk_finds(text: str, found: int) -> None:
    fast, walked = both(text)
    assert fast == walked
    assert len(fast) == found


def test_a_clean_file_needs_no_walk() -> None:
    assert load_text("zplan: 1\naccount:\n  subdomain: acme\n", "f.yaml").invisible is False
    assert load_text('zplan: 1\nnote: "a\\u200eb"\n', "f.yaml").invisible is True


_pieces = st.sampled_from(
    ["a", "é", " ", "\\n", "\\t", "\\x07", "\\u200b", "\\u202e", "\u200b", "\t", "'", "x y"]
)


@settings(max_examples=300, deadline=None)
@given(
    key=st.lists(_pieces, max_size=4).map("".join),
    value=st.lists(_pieces, max_size=6).map("".join),
    style=st.sampled_from(["plain", "single", "double", "literal", "folded"]),
)
def test_the_shortcut_agrees_on_generated_files(key: str, value: str, style: str) -> None:
    if style == "plain":
        shown = value
    elif style == "single":
        shown = "'" + value.replace("'", "''") + "'"
    elif style == "double":
        shown = '"' + value.replace('"', '\\"') + '"'
    else:
        shown = ("|" if style == "literal" else ">") + "\n  " + value.replace("\n", "\n  ")
    text = f'zplan: 1\n"{key}": {shown}\nother: *x\n'.replace("*x", '"q"')
    fast, walked = both(text)
    assert fast == walked
