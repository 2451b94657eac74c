"""Whole fuzzed inputs, built from the generators of ``fuzzgen``.

- arbitrary text, YAML token soup, and raw bytes;
- documents built from arbitrary data under zplan's own top-level keys;
- the example files of ``examples/accounts/`` mutated structurally (keys
  dropped, duplicated, retyped, renamed, nested deeper; huge numbers, floats,
  YAML 1.1 forms, tags, unicode confusables, anchors, aliases and merge keys,
  card numbers) and then textually (BOM, UTF-16, CRLF, tabs, document markers,
  directives, truncation, stray bytes, lines moved);
- the same examples mutated as text only, comments kept;
- the price books mutated the same way, given with ``--catalog``;
- saved plans edited into any shape.
"""

from __future__ import annotations

import copy
import json
import re
from typing import Any

from hypothesis import reject
from hypothesis import strategies as st

from tests.adversarial.fuzzgen import (
    ACTORS,
    CARDS,
    DATES,
    MUTATIONS,
    semantic_edit,
    with_confusable,
)
from tests.adversarial.fuzzyaml import Doc, tree, write_yaml
from tests.adversarial.support import (
    DEFAULT_CATALOG,
    EXAMPLE_FILES,
    NEGOTIATED_CATALOG,
    example_data,
)

# Text-level mutations --------------------------------------------------------------


@st.composite
def text_mutations(draw: st.DrawFn, text: str) -> bytes:
    """``text`` as bytes, changed the way editors, tools and people change files."""
    for _ in range(draw(st.integers(0, 2))):
        how = draw(st.integers(0, 11))
        lines = text.split("\n")
        i = draw(st.integers(0, max(0, len(lines) - 1)))
        if how == 0:
            text = text.replace("\n", "\r\n")
        elif how == 1:
            text = text.replace("\n", "\r")
        elif how == 2:  # a tab for indentation
            lines[i] = re.sub(r"^( +)", lambda m: "\t" * max(1, len(m.group(1)) // 2), lines[i])
            text = "\n".join(lines)
        elif how == 3:
            lines[i] += draw(st.sampled_from(["  ", "\t", " # comment", " #" + CARDS[0], "\\"]))
            text = "\n".join(lines)
        elif how == 4:
            text = draw(
                st.sampled_from(
                    [
                        "---\n" + text,
                        text + "...\n",
                        text + "---\nzplan: 1\n",
                        "%YAML 1.1\n---\n" + text,
                        "%YAML 1.2\n---\n" + text,
                        "%TAG ! tag:evil.example,2026:\n---\n" + text,
                        "%FOO bar\n---\n" + text,
                    ]
                )
            )
        elif how == 5:  # a line deleted, duplicated, moved, indented or dedented
            op = draw(st.integers(0, 4))
            if op == 0:
                del lines[i]
            elif op == 1:
                lines.insert(i, lines[i])
            elif op == 2:
                j = draw(st.integers(0, len(lines) - 1))
                lines[i], lines[j] = lines[j], lines[i]
            elif op == 3:
                lines[i] = " " * draw(st.integers(1, 5)) + lines[i]
            else:
                lines[i] = lines[i].lstrip()
            text = "\n".join(lines)
        elif how == 6 and text:
            text = text[: draw(st.integers(0, len(text) - 1))]
        elif how == 7:
            j = draw(st.integers(0, len(text)))
            text = text[:j] + draw(st.text(min_size=1, max_size=5)) + text[j:]
        elif how == 8:
            text = "\n".join(
                with_confusable(draw, line) if k == i else line for k, line in enumerate(lines)
            )
        elif how == 9:
            text = text.replace("  ", "    ") if draw(st.booleans()) else text.replace("  ", " ")
        elif how == 10:
            text = text.rstrip("\n") if draw(st.booleans()) else text + "\n" * 3
        else:
            text = text.replace(": ", ":", 1) if draw(st.booleans()) else text.replace("- ", "-", 1)
    raw = text.encode("utf-8", "surrogatepass")
    ending = draw(st.integers(0, 9))
    if ending == 0:
        raw = b"\xef\xbb\xbf" + raw
    elif ending == 1:
        raw = text.encode("utf-16", "surrogatepass")  # with its BOM
    elif ending == 2:
        raw = text.encode("utf-16-le", "surrogatepass")
    elif ending == 3 and raw:
        j = draw(st.integers(0, len(raw)))
        raw = raw[:j] + draw(st.binary(min_size=1, max_size=4)) + raw[j:]
    elif ending == 4:
        raw = b"\xef\xbb\xbf\xef\xbb\xbf" + raw  # two BOMs
    return raw


# Documents -----------------------------------------------------------------------

EXAMPLES = {path.name: example_data(path) for path in EXAMPLE_FILES}
EXAMPLE_TEXTS = {path.name: path.read_text(encoding="utf-8") for path in EXAMPLE_FILES}
CATALOG_TEXTS = {
    path.name: path.read_text(encoding="utf-8") for path in (DEFAULT_CATALOG, NEGOTIATED_CATALOG)
}


@st.composite
def mutated_trees(draw: st.DrawFn, sources: dict[str, dict[str, Any]]) -> tuple[bytes, list[str]]:
    name = draw(st.sampled_from(sorted(sources)))
    data = copy.deepcopy(sources[name])
    log = [name]
    mode = draw(st.integers(0, 2))  # 0: edits only; 1: edits and breakage; 2: breakage only
    if "zplan" in data and mode < 2:  # a subscription: edits of the kind people make
        for _ in range(draw(st.integers(1, 4))):
            semantic_edit(draw, data, log)
    doc = Doc([tree(data)], log=log)
    if mode == 0:
        return write_yaml(doc.holder[0]).encode(), doc.log
    for mutation in draw(st.lists(st.sampled_from(MUTATIONS), min_size=1, max_size=4)):
        mutation(draw, doc)
    return draw(text_mutations(write_yaml(doc.holder[0]))), doc.log


@st.composite
def mutated_texts(draw: st.DrawFn, sources: dict[str, str]) -> bytes:
    return draw(text_mutations(sources[draw(st.sampled_from(sorted(sources)))]))


yaml_soup = st.lists(
    st.sampled_from(
        [
            "zplan",
            ":",
            " ",
            "  ",
            "\n",
            "-",
            "1",
            "[",
            "]",
            "{",
            "}",
            ",",
            "&a",
            "*a",
            "<<",
            "!!int",
            "!x",
            "'",
            '"',
            "|",
            ">",
            "#",
            "?",
            "%YAML 1.2",
            "---",
            "...",
            "\t",
            "account",
            "subdomain",
            "acme",
            "products",
            "suite",
            "agents",
            "\ufeff",
            "é",
            "\\",
            "\x00",
            "\x85",
            "\u2028",
            "catalog",
        ]
    ),
    max_size=60,
).map("".join)

json_like = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=4)
    ),
    max_leaves=12,
)


@st.composite
def data_documents(draw: st.DrawFn) -> bytes:
    """Arbitrary values under zplan's top-level keys, written out as YAML."""
    keys = ["zplan", "account", "billing", "agreements", "products", "status"]
    chosen = draw(st.lists(st.sampled_from(keys), unique=True))
    data: dict[str, Any] = {"zplan": 1}
    for key in chosen:
        data[key] = draw(json_like)
    root = tree(data)
    return draw(text_mutations(write_yaml(root)))


choices = st.tuples(
    st.sampled_from(["text", "json", "github"]),
    st.sampled_from(DATES),
    st.sampled_from(ACTORS),
    st.sampled_from(["text", "json", "markdown"]),
)


CATALOG_DATA = {
    name: example_data(path)
    for name, path in (("default.yaml", DEFAULT_CATALOG), ("negotiated.yaml", NEGOTIATED_CATALOG))
}


@st.composite
def fuzzed_catalogs(draw: st.DrawFn) -> bytes:
    if draw(st.booleans()):
        return draw(mutated_trees(CATALOG_DATA))[0]
    return draw(mutated_texts(CATALOG_TEXTS))


def _leaves(value: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    if isinstance(value, dict):
        return [p for k, v in value.items() for p in _leaves(v, (*path, k))] or [path]
    if isinstance(value, list):
        return [p for i, v in enumerate(value) for p in _leaves(v, (*path, i))] or [path]
    return [path]


def _set(document: Any, path: tuple[Any, ...], value: Any) -> None:
    for step in path[:-1]:
        document = document[step]
    document[path[-1]] = value


@st.composite
def edited_plans(draw: st.DrawFn, plan: dict[str, Any]) -> str:
    document = copy.deepcopy(plan)
    for _ in range(draw(st.integers(1, 3))):
        paths = _leaves(document)
        path = paths[draw(st.integers(0, len(paths) - 1))]
        if not path:
            continue
        _set(document, path, draw(json_like))
    if json.dumps(document, sort_keys=True) == json.dumps(plan, sort_keys=True):
        reject()  # an "edit" that put back what was there: not an edit
    text = json.dumps(document, ensure_ascii=draw(st.booleans()))
    if draw(st.integers(0, 9)) == 9:  # (0 is what hypothesis draws most: truncation is rare)
        text = text[: draw(st.integers(1, len(text)))]
    return text
