"""A small YAML writer for the fuzzers: anchors, aliases, merge keys, tags, duplicate keys.

PyYAML's emitter cannot write duplicate keys or aliases placed by hand, so the
mutated documents are kept in this tree (``tree``), written out here
(``write_yaml``), and a mutation picks a place in it through ``slots``.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

# A small YAML writer: anchors, aliases, merge keys, tags, duplicate keys --------------
#
# PyYAML's emitter cannot write duplicate keys or aliases placed by hand, so the
# mutated documents are kept in this tree and written out here.


@dataclass
class Scalar:
    text: str
    style: str = "plain"  # plain | double | single | raw (written verbatim)
    anchor: str | None = None
    tag: str | None = None


@dataclass
class Seq:
    items: list[Any]
    anchor: str | None = None
    tag: str | None = None
    flow: bool = False


@dataclass
class Map:
    pairs: list[list[Any]]  # [key node, value node]; keys may repeat
    anchor: str | None = None
    tag: str | None = None
    flow: bool = False


@dataclass
class Alias:
    name: str


Node = Scalar | Seq | Map | Alias

_PLAIN = re.compile(r"[A-Za-z0-9_./@+~][A-Za-z0-9_./@+~ -]*")
_FLOW_PLAIN = re.compile(r"[A-Za-z0-9_./@+~][A-Za-z0-9_./@+~-]*")


def tree(value: Any) -> Node:
    """Plain data as a tree (strings stay plain where YAML reads them back as strings)."""
    if isinstance(value, dict):
        return Map([[tree(str(k)), tree(v)] for k, v in value.items()])
    if isinstance(value, list):
        return Seq([tree(v) for v in value])
    if isinstance(value, bool):
        return Scalar("true" if value else "false")
    if value is None:
        return Scalar("null")
    if isinstance(value, int):
        return Scalar(str(value))
    if isinstance(value, float):
        if value != value:  # noqa: PLR0124 - NaN
            return Scalar(".nan")
        if value in (float("inf"), float("-inf")):
            return Scalar(".inf" if value > 0 else "-.inf")
        return Scalar(repr(value))
    text = str(value)
    plain = _PLAIN.fullmatch(text) and not text.endswith(" ") and text[:1].isalpha()
    return Scalar(text, "plain" if plain else "double")


def _props(node: Scalar | Seq | Map) -> str:
    parts = [f"!{node.tag}" if node.tag and not node.tag.startswith("!") else node.tag or ""]
    parts.append(f"&{node.anchor}" if node.anchor else "")
    return " ".join(p for p in parts if p)


def _scalar(node: Scalar, flow: bool) -> str:
    text = node.text
    plain = node.style == "plain" and (_FLOW_PLAIN if flow else _PLAIN).fullmatch(text)
    if node.style == "raw" or plain:
        body = text
    elif node.style == "single" and "\n" not in text:
        body = "'" + text.replace("'", "''") + "'"
    else:
        body = json.dumps(text, ensure_ascii=False)
    props = _props(node)
    return f"{props} {body}" if props else body


def _inline(node: Node, flow: bool = False) -> str | None:
    """The node on one line, or None when it is written as a block."""
    if isinstance(node, Alias):
        return f"*{node.name}"
    if isinstance(node, Scalar):
        return _scalar(node, flow)
    props = _props(node)
    empty = not (node.pairs if isinstance(node, Map) else node.items)
    if not (flow or node.flow or empty):
        return None
    if isinstance(node, Map):
        body = "{" + ", ".join(f"{_key(k, True)}: {_inline(v, True)}" for k, v in node.pairs) + "}"
    else:
        body = "[" + ", ".join(str(_inline(v, True)) for v in node.items) + "]"
    return f"{props} {body}" if props else body


def _key(node: Node, flow: bool = False) -> str:
    if isinstance(node, Alias):
        return f"*{node.name} "  # the space keeps ':' out of the alias name
    text = _inline(node, flow)
    return "? " + str(text) if text is None else text


def _block(node: Node, indent: int) -> list[str]:
    pad = " " * indent
    lines: list[str] = []
    if isinstance(node, Map):
        for key, value in node.pairs:
            inline = _inline(value)
            if inline is not None:
                lines.append(f"{pad}{_key(key)}: {inline}")
            else:
                assert isinstance(value, (Map, Seq))
                props = _props(value)
                lines.append(f"{pad}{_key(key)}:{' ' + props if props else ''}")
                lines += _block(value, indent + 2)
    elif isinstance(node, Seq):
        for item in node.items:
            inline = _inline(item)
            if inline is not None:
                lines.append(f"{pad}- {inline}")
            else:
                assert isinstance(item, (Map, Seq))
                props = _props(item)
                lines.append(f"{pad}-{' ' + props if props else ''}")
                lines += _block(item, indent + 2)
    return lines


def write_yaml(root: Node) -> str:
    inline = _inline(root)
    if inline is not None:
        return inline + "\n"
    props = _props(root)  # type: ignore[arg-type]
    head = [f"--- {props}"] if props else []
    return "\n".join(head + _block(root, 0)) + "\n"


# Where nodes are, so that a mutation can pick one -----------------------------------


@dataclass
class Slot:
    holder: list[Any]  # a pair, a Seq's items, or the root holder
    index: int
    role: str  # key | value | item | root

    @property
    def node(self) -> Node:
        return self.holder[self.index]  # type: ignore[no-any-return]

    def put(self, node: Node) -> None:
        self.holder[self.index] = node


def slots(root_holder: list[Node]) -> list[Slot]:
    """Every place holding a node, in document order (a key before its value)."""
    found: list[Slot] = []

    def walk(slot: Slot) -> None:
        found.append(slot)
        node = slot.node
        if isinstance(node, Map):
            for pair in node.pairs:
                walk(Slot(pair, 0, "key"))
                walk(Slot(pair, 1, "value"))
        elif isinstance(node, Seq):
            for index in range(len(node.items)):
                walk(Slot(node.items, index, "item"))

    walk(Slot(root_holder, 0, "root"))
    return found


@dataclass
class Doc:
    holder: list[Node]
    anchors: int = 0
    log: list[str] = field(default_factory=list)  # what was done, for the failure report

    def new_anchor(self) -> str:
        self.anchors += 1
        return f"a{self.anchors}"
