"""Strict YAML loading with positions.

PyYAML's own loaders are lenient in ways that hurt a file that moves money:
they keep the last of two duplicate keys, read ``no`` as false and ``010`` as
8, expand aliases without limit. This module builds plain values from
PyYAML's event stream instead (libyaml's parser when it is there), one pass,
without recursion, and refuses each of those surprises with a diagnostic
that says where. Scalars are resolved by the YAML 1.2 core schema (``null``,
booleans, decimal integers, floats; everything else is a string, dates
included); YAML 1.1 forms that another reader would take differently are
errors with a hint rather than silent values.

What comes out is a ``Document``: the plain data (dicts, lists, str, int,
float, bool, None) for the schema and the rules, and a tree of positions to
point every diagnostic at the right line and column.
"""

from __future__ import annotations

import enum
import os
import re
import stat
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, NamedTuple

import yaml

from zplan.diagnostics import Diagnostic, Severity, sort_diagnostics
from zplan.load.yamlerrors import Explained, explain
from zplan.redact import Card, card_numbers, luhn, mask_cards

MAX_BYTES = 1024 * 1024
MAX_NODES = 10_000
MAX_DEPTH = 64
MAX_DIGITS = 30  # no count or price needs more; Python refuses int() past 4,300 digits

_Parser: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
# Control and invisible characters (a newline, a bidi override): no key or value may hold one
# (zplan.load.rules.control_characters says where). The text itself may hold line breaks.
INVISIBLE = re.compile(r"[\x00-\x1f\x7f-\x9f\u200b-\u200f\u202a-\u202e\u2060-\u2069\ufeff]")
_INVISIBLE_TEXT = re.compile(
    r"[\x00-\x09\x0b-\x1f\x7f-\x9f\u200b-\u200f\u202a-\u202e\u2060-\u2069\ufeff]"
)
# libyaml's event parser, when PyYAML was built with it.
_CParser: Any = getattr(getattr(yaml, "cyaml", None), "CParser", None)

_NULLS = {"", "~", "null", "Null", "NULL"}
_TRUES = {"true", "True", "TRUE"}
_FALSES = {"false", "False", "FALSE"}
_YAML11_BOOLS = {
    "yes": True,
    "Yes": True,
    "YES": True,
    "on": True,
    "On": True,
    "ON": True,
    "no": False,
    "No": False,
    "NO": False,
    "off": False,
    "Off": False,
    "OFF": False,
}
_SPECIAL_WORDS = frozenset({*_NULLS, *_TRUES, *_FALSES, *_YAML11_BOOLS})
_INT = re.compile(r"[-+]?(?:0|[1-9][0-9]*)")
_FLOAT = re.compile(
    r"[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?"
    r"|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN)"
)
# Numbers YAML 1.1 reads differently from YAML 1.2 (and from people).
_SURPRISES: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"[-+]?0x[0-9a-fA-F_]+"), "a hexadecimal number"),
    (re.compile(r"[-+]?0o[0-7_]+"), "an octal number"),
    (re.compile(r"[-+]?0b[01_]+"), "a binary number"),
    (re.compile(r"[-+]?0[0-9_]+"), "an octal number (a leading zero)"),
    (re.compile(r"[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+(?:\.[0-9_]*)?"), "a base-60 number"),
    (re.compile(r"[-+]?[0-9][0-9_]*_[0-9_]*(?:\.[0-9_]*)?"), "a number with digit separators"),
)
_MAP = "tag:yaml.org,2002:map"
_SEQ = "tag:yaml.org,2002:seq"
_ALLOWED_TAGS = {
    "!",  # the non-specific tag: resolved as usual
    "tag:yaml.org,2002:str",
    "tag:yaml.org,2002:int",
    "tag:yaml.org,2002:float",
    "tag:yaml.org,2002:bool",
    "tag:yaml.org,2002:null",
    "tag:yaml.org,2002:map",
    "tag:yaml.org,2002:seq",
}


class FileKind(enum.Enum):
    SUBSCRIPTION = "subscription"
    CATALOG = "catalog"
    OTHER = "other"


@dataclass(slots=True)
class Pos:
    """Where a value stands (1-based), and for mappings and sequences, its children."""

    line: int
    column: int
    entries: dict[str, tuple[int, int, Pos]] | None = None  # key -> (key line, key column, value)
    items: list[Pos] | None = None


@dataclass(slots=True)
class Document:
    """A loaded YAML file: its data, positions, and the problems found reading it."""

    path: str
    text: str
    data: Any = None
    root: Pos | None = None
    diagnostics: list[Diagnostic] = field(default_factory=list)
    # False when no key or value can hold a control or invisible character: the text has
    # none but line breaks, and no scalar was decoded into one (see rules.control_characters).
    invisible: bool = True

    @property
    def ok(self) -> bool:
        return self.root is not None and not any(d.is_error for d in self.diagnostics)

    @property
    def kind(self) -> FileKind:
        if isinstance(self.data, dict):
            if "zplan" in self.data:
                return FileKind.SUBSCRIPTION
            if "catalog" in self.data:
                return FileKind.CATALOG
        return FileKind.OTHER

    def position(self, path: tuple[str | int, ...], *, key: bool = False) -> tuple[int, int]:
        """The line and column of the value at ``path``.

        With ``key``, of its key. A path that goes past what the file has (a
        missing key) gives the position of the deepest mapping it reaches.
        """
        node = self.root
        if node is None:
            return 1, 1
        where = (node.line, node.column)
        for step in path:
            if node.entries is not None and isinstance(step, str) and step in node.entries:
                key_line, key_column, child = node.entries[step]
                where = (key_line, key_column) if key else (child.line, child.column)
                node = child
            elif node.items is not None and isinstance(step, int) and 0 <= step < len(node.items):
                node = node.items[step]
                where = (node.line, node.column)
            else:
                break
        return where

    def error(
        self,
        path: tuple[str | int, ...],
        code: str,
        message: str,
        hint: str | None = None,
        *,
        key: bool = False,
        severity: Severity = Severity.ERROR,
    ) -> Diagnostic:
        line, column = self.position(path, key=key)
        return Diagnostic(self.path, line, column, severity, dotted(path), code, message, hint)


def dotted(path: tuple[str | int, ...]) -> str:
    """``('products', 'suite', 'addons', 'copilot')`` -> ``products.suite.addons.copilot``."""
    text = ""
    for step in path:
        if isinstance(step, int):
            text += f"[{step}]"
        else:
            text += f".{step}" if text else step
    return text or "(file)"


def load_file(path: Path | str, display: str | None = None) -> Document:
    """Read and load one file; every problem becomes a diagnostic, never an exception."""
    name = display if display is not None else str(path)
    try:
        raw = read_bounded(path)
    except _NotAFile as exc:
        return _fail(
            name,
            "",
            1,
            1,
            "not-a-file",
            f"this is {exc}, not a regular file; zplan does not read it",
            "a subscription file is a regular file",
        )
    except OSError as exc:
        return _fail(name, "", 1, 1, "unreadable", f"cannot read the file: {exc.strerror}")
    if len(raw) > MAX_BYTES:
        return _fail(
            name,
            "",
            1,
            1,
            "file-too-large",
            "the file is more than 1 MiB; zplan reads files of at most 1 MiB",
            "a subscription file is a few dozen lines; is this the right file?",
        )
    return load_bytes(raw, name)


_KINDS = (
    (stat.S_ISFIFO, "a FIFO (named pipe)"),
    (stat.S_ISSOCK, "a socket"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISDIR, "a directory"),
)


def kind_of(mode: int) -> str:
    """What a file that is not a regular one is, for a message."""
    return next((text for test, text in _KINDS if test(mode)), "not a regular file")


class _NotAFile(Exception):
    """A FIFO, a socket, a device or a directory where a file was expected."""


def read_bounded(path: Path | str, limit: int = MAX_BYTES + 1) -> bytes:
    """At most ``limit`` bytes of a regular file, whatever its size says (``/proc`` says 0).

    Opened without blocking (a FIFO would wait for a writer) and checked to be a
    regular file before a byte is read.
    """
    flags = os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_NOCTTY", 0) | getattr(os, "O_CLOEXEC", 0)
    fd = os.open(path, flags)
    try:
        mode = os.fstat(fd).st_mode
        if not stat.S_ISREG(mode):
            raise _NotAFile(kind_of(mode))
        chunks, total = [], 0
        while total < limit:
            chunk = os.read(fd, min(1 << 16, limit - total))
            if not chunk:
                break
            chunks.append(chunk)
            total += len(chunk)
        return b"".join(chunks)
    finally:
        os.close(fd)


def load_bytes(raw: bytes, name: str) -> Document:
    """Load YAML from bytes (UTF-8, an optional BOM)."""
    if len(raw) > MAX_BYTES:
        return _fail(
            name,
            "",
            1,
            1,
            "file-too-large",
            f"the file is {len(raw):,} bytes; zplan reads files of at most 1 MiB",
        )
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        return _fail(
            name,
            "",
            1,
            1,
            "not-utf8",
            "the file is UTF-16; zplan reads UTF-8 only",
            "save the file as UTF-8",
        )
    if raw.startswith(b"\xef\xbb\xbf"):
        raw = raw[3:]
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        before = raw[: exc.start]
        line = before.count(b"\n") + 1
        column = len(before[before.rfind(b"\n") + 1 :].decode("utf-8", "replace")) + 1
        return _fail(
            name,
            "",
            line,
            column,
            "not-utf8",
            f"byte 0x{raw[exc.start]:02x} is not valid UTF-8",
            "save the file as UTF-8",
        )
    return load_text(text, name)


def load_text(text: str, name: str) -> Document:
    """Load YAML text: card-number scan, then the strict one-pass build."""
    document = Document(name, text)
    cards = _card_numbers(text)
    card_problems = []
    reported_to = -1
    for card in cards:  # one problem per stretch of overlapping candidates
        if card.start >= reported_to:
            card_problems.append(_card_problem(name, text, card))
        reported_to = max(reported_to, card.start + len(card.text))
    builder = _Builder(document)
    builder.run()
    # A scalar written as it reads holds only characters of the text: when the text has no
    # invisible one (line breaks aside: no such scalar holds one), only the decoded can.
    document.invisible = builder.invisible or _INVISIBLE_TEXT.search(text) is not None
    # A number the raw text does not show: spelled with YAML escapes ("\x34111…"),
    # folded across lines, or split by a quoted line continuation.
    known = {card.digits for card in cards}
    for line, column, card in builder.cards:
        if card.digits not in known:
            known.add(card.digits)
            cards.append(card)
            card_problems.append(replace(_card_problem(name, text, card), line=line, column=column))
    # Other problems may quote the text that holds the number (a key, a tag, a
    # YAML 1.1 number): mask it there too, so that it is never echoed back.
    others = [_redact(d, cards) for d in document.diagnostics]
    document.diagnostics = sort_diagnostics([*card_problems, *others])
    if card_problems:
        # A file with card data is refused whole; nothing in it is used.
        document.data = None
        document.root = None
    return document


def _fail(
    name: str, text: str, line: int, column: int, code: str, message: str, hint: str | None = None
) -> Document:
    document = Document(name, text)
    document.diagnostics.append(
        Diagnostic(name, line, column, Severity.ERROR, "(file)", code, message, hint)
    )
    return document


# The card scan is zplan.redact's (one mechanism for files and for every output).
_luhn = luhn
_Card = Card
_card_numbers = card_numbers


def _card_problem(name: str, text: str, card: _Card) -> Diagnostic:
    """A card number, reported without echoing it (at most its last four digits)."""
    digits = card.digits
    line = text.count("\n", 0, card.start) + 1
    column = card.start - (text.rfind("\n", 0, card.start) + 1) + 1
    return Diagnostic(
        name,
        line,
        column,
        Severity.ERROR,
        "(file)",
        "card-number",
        f"this looks like a payment card number (ending in {digits[-4:]}); "
        "zplan refuses files that hold card data",
        "remove it, and give payment_ref the token your payment provider issued "
        "(such as pm_…) instead",
    )


def _redact(diagnostic: Diagnostic, cards: list[_Card]) -> Diagnostic:
    secrets = []
    for card in cards:
        masked = f"…{card.digits[-4:]}"
        secrets += [(card.text, masked), (card.digits, masked)]
    secrets.sort(key=lambda pair: len(pair[0]), reverse=True)

    def mask(value: str) -> str:
        for secret, masked in secrets:
            value = value.replace(secret, masked)
        return mask_cards(value)

    return replace(
        diagnostic,
        path=mask(diagnostic.path),
        message=mask(diagnostic.message),
        hint=None if diagnostic.hint is None else mask(diagnostic.hint),
    )


class _Stop(Exception):
    """A problem after which the rest of the file cannot be read."""


@dataclass(slots=True)
class _Frame:
    is_map: bool
    value: Any
    pos: Pos
    anchor: str | None
    start_count: int
    key: str | None = None
    key_at: tuple[int, int] = (0, 0)
    key_merges: bool = False  # the key is a plain << (a quoted "<<" is an ordinary key)
    merges: list[tuple[dict[str, Any], Pos]] = field(default_factory=list)
    height: int = 1  # levels of nesting from here down, aliases expanded


class _Anchor(NamedTuple):
    value: Any
    pos: Pos
    size: int  # values it expands to
    height: int  # levels of nesting it brings (0 for a scalar)


class _Builder:
    """Turns the event stream into plain values and positions, checking as it goes."""

    def __init__(self, document: Document) -> None:
        self.document = document
        self.stack: list[_Frame] = []
        self.anchors: dict[str, _Anchor] = {}
        self.cards: list[tuple[int, int, Card]] = []  # card numbers in decoded scalars
        self.invisible = False  # a decoded scalar holds a control or invisible character
        self.count = 0
        self.documents = 0

    def problem(
        self, line: int, column: int, code: str, message: str, hint: str | None = None
    ) -> None:
        self.document.diagnostics.append(
            Diagnostic(
                self.document.path, line, column, Severity.ERROR, self._path(), code, message, hint
            )
        )

    def _path(self) -> str:
        steps: list[str | int] = []
        for frame in self.stack:
            if frame.is_map:
                if frame.key is not None:
                    steps.append(frame.key)
            else:
                steps.append(len(frame.value))
        return dotted(tuple(steps))

    def run(self) -> None:
        try:
            self.events()
        except _Stop:
            self.document.data = None
            self.document.root = None
            return
        except yaml.MarkedYAMLError as exc:
            mark = exc.problem_mark or exc.context_mark
            line, column = (mark.line + 1, mark.column + 1) if mark else (1, 1)
            message = (exc.problem or exc.context or "the YAML cannot be read").strip()
            if exc.context and exc.problem:
                message = f"{message} ({exc.context.strip()})"
            hint = None
            if "\t" in self.document.text and "cannot start any token" in message:
                hint = "YAML does not allow tabs for indentation; indent with spaces"
            if "maximum nesting depth" in message:  # libyaml's own limit, far above ours
                self.problem(
                    line, column, "too-deep", f"the document nests deeper than {MAX_DEPTH} levels"
                )
            elif (explained := _explain(self.document.text, exc)) is not None:
                # Where the person went wrong, rather than where the parser gave up (issue 14).
                self.problem(*explained[:2], "yaml-syntax", *explained[2:4])
                if explained.path:
                    last = self.document.diagnostics[-1]
                    self.document.diagnostics[-1] = replace(last, path=explained.path)
            else:
                self.problem(line, column, "yaml-syntax", message, hint)
            self.document.data = None
            self.document.root = None
            return
        except yaml.YAMLError as exc:  # ReaderError: a character YAML does not allow
            position = getattr(exc, "position", 0)
            text = self.document.text
            if getattr(exc, "encoding", "unicode") != "unicode":
                # libyaml counts bytes of the UTF-8 text, not characters.
                position = len(text.encode("utf-8")[:position].decode("utf-8", "replace"))
            line = text.count("\n", 0, position) + 1
            column = position - (text.rfind("\n", 0, position) + 1) + 1
            character = getattr(exc, "character", None)
            if isinstance(character, str):
                character = ord(character)
            shown = f"U+{character:04X}" if isinstance(character, int) else "a character"
            self.problem(
                line,
                column,
                "yaml-syntax",
                f"{shown} is not allowed in a YAML file (control characters are not)",
            )
            self.document.data = None
            self.document.root = None
            return
        if self.documents == 0:
            self.problem(
                1,
                1,
                "empty-file",
                "the file is empty",
                "a subscription file starts with 'zplan: 1'",
            )
        elif self.document.root is not None and not isinstance(self.document.data, dict):
            root = self.document.root
            self.problem(
                root.line,
                root.column,
                "not-a-mapping",
                f"the top level is {_kind(self.document.data)}, not a mapping of keys",
                "a subscription file starts with 'zplan: 1'",
            )

    def events(self) -> None:
        """Every event of the text through ``handle``: libyaml's parser driven directly (no
        generator between them), PyYAML's own when libyaml is not there."""
        if _CParser is None:
            for event in yaml.parse(self.document.text, Loader=_Parser):
                self.handle(event)
            return
        parser = _CParser(self.document.text)
        # The two commonest events (a scalar, the end of a mapping) are dealt with here, the
        # rest in ``handle``: this loop runs some fifty times a file.
        scalar_event, mapping_end, stack = yaml.ScalarEvent, yaml.MappingEndEvent, self.stack
        mapping_start = yaml.MappingStartEvent
        try:
            get, handle, scalar, close = parser.get_event, self.handle, self.scalar, self.close
            start = self.start
            while (found := get()) is not None:
                kind = type(found)
                if kind is scalar_event:
                    self.count += 1
                    tag = found.tag
                    mark = found.start_mark
                    line, column = mark.line + 1, mark.column + 1
                    if self.count > MAX_NODES or (tag is not None and tag not in _ALLOWED_TAGS):
                        self.check_node(tag, line, column)
                    scalar(found, line, column)
                elif kind is mapping_end:
                    close(stack.pop())
                elif kind is mapping_start:
                    mark = found.start_mark
                    start(found, True, mark.line + 1, mark.column + 1)
                else:
                    handle(found)
        finally:
            parser.dispose()

    def handle(self, event: yaml.Event) -> None:
        mark = event.start_mark
        line, column = (mark.line + 1, mark.column + 1) if mark is not None else (1, 1)
        if type(event) is yaml.ScalarEvent:  # the common case first: this loop is hot
            self.count += 1
            tag = event.tag
            if self.count > MAX_NODES or (tag is not None and tag not in _ALLOWED_TAGS):
                self.check_node(tag, line, column)
            self.scalar(event, line, column)
            return
        if isinstance(event, yaml.DocumentStartEvent):
            self.documents += 1
            if self.documents > 1:
                self.problem(
                    line,
                    column,
                    "multi-document",
                    "the file holds more than one YAML document",
                    "keep one account per file; remove the '---' separator",
                )
                raise _Stop
            return
        if isinstance(event, (yaml.StreamStartEvent, yaml.StreamEndEvent, yaml.DocumentEndEvent)):
            return
        if isinstance(event, (yaml.MappingEndEvent, yaml.SequenceEndEvent)):
            self.close(self.stack.pop())
            return
        if isinstance(event, yaml.AliasEvent):
            self.alias(event, line, column)
            return
        assert isinstance(event, (yaml.MappingStartEvent, yaml.SequenceStartEvent))
        self.start(event, isinstance(event, yaml.MappingStartEvent), line, column)

    def start(self, event: yaml.CollectionStartEvent, is_map: bool, line: int, column: int) -> None:
        """A mapping or a list begins."""
        self.count += 1
        tag = event.tag
        self.check_node(tag, line, column)
        if tag not in (None, "!", _MAP if is_map else _SEQ):
            self.problem(
                line,
                column,
                "custom-tag",
                f"the tag {_show_tag(tag)} cannot be put on a {'mapping' if is_map else 'list'}",
                "remove the tag",
            )
            raise _Stop
        self.check_depth(1, line, column)
        self.expect_value(line, column)
        pos = Pos(line, column, entries={} if is_map else None, items=None if is_map else [])
        value: Any = {} if is_map else []
        self.stack.append(_Frame(is_map, value, pos, event.anchor, self.count))

    def check_node(self, tag: str | None, line: int, column: int) -> None:
        """Refuse a document past the node limit, and tags zplan does not read."""
        if self.count > MAX_NODES:
            self.problem(
                line,
                column,
                "too-many-nodes",
                f"the document expands to more than {MAX_NODES:,} values",
                "anchors and aliases that multiply (a 'billion laughs') are refused",
            )
            raise _Stop
        if tag is not None and tag not in _ALLOWED_TAGS:
            self.problem(
                line,
                column,
                "custom-tag",
                f"the tag {_show_tag(tag)} is not allowed",
                "zplan reads plain YAML: remove the tag",
            )
            raise _Stop

    def check_depth(self, height: int, line: int, column: int) -> None:
        """A value ``height`` levels deep may not take the document past MAX_DEPTH."""
        if len(self.stack) + height > MAX_DEPTH:
            self.problem(
                line, column, "too-deep", f"the document nests deeper than {MAX_DEPTH} levels"
            )
            raise _Stop

    def expect_value(self, line: int, column: int) -> None:
        """A collection may not be a mapping key."""
        if self.stack and self.stack[-1].is_map and self.stack[-1].key is None:
            self.problem(
                line,
                column,
                "complex-key",
                "a mapping key must be a plain word, not a list or a mapping",
            )
            raise _Stop

    def scalar(self, event: yaml.ScalarEvent, line: int, column: int) -> None:
        value = event.value
        start, end = event.start_mark, event.end_mark
        raw = self.document.text[start.index : end.index] if start and end else None
        # Written as it reads (the usual case, checked first), or merely quoted: nothing to
        # decode. Otherwise (escapes, folding) the decoded value is scanned.
        if raw != value and raw != f'"{value}"' and raw != f"'{value}'":  # noqa: PLR1714
            for card in card_numbers(value):  # the decoded value, keys included
                self.cards.append((line, column, card))
            if INVISIBLE.search(value):
                self.invisible = True
        top = self.stack[-1] if self.stack else None
        if top is not None and top.is_map and top.key is None:
            self.mapping_key(top, event, line, column)
            return
        value = self.resolve(event, line, column)
        self.attach(value, Pos(line, column), event.anchor, self.count - 1, 0)

    def mapping_key(self, frame: _Frame, event: yaml.ScalarEvent, line: int, column: int) -> None:
        key = event.value
        entries = frame.pos.entries
        assert entries is not None
        frame.key = key
        if key in entries and not (key == "<<" and _plain(event)):
            first_line = entries[key][0]
            self.problem(
                line,
                column,
                "duplicate-key",
                f"the key '{key}' appears twice in this mapping (first on line {first_line})",
                "YAML keeps only the last one silently; zplan refuses both: remove one",
            )
        frame.key_at = (line, column)
        frame.key_merges = key == "<<" and (event.style is None or event.style == "")
        if event.anchor:
            self.anchors[event.anchor] = _Anchor(key, Pos(line, column), 1, 0)

    def resolve(self, event: yaml.ScalarEvent, line: int, column: int) -> Any:
        text = event.value
        tag = event.tag
        if tag == "tag:yaml.org,2002:str" or (tag is None and not _plain(event)) or tag == "!":
            return text
        if tag is not None:  # an explicit standard tag: !!int "5" and friends
            return self.explicit(tag, text, line, column)
        # Fast paths for the usual words and counts (this runs for every value).
        if text[:1].isalpha() and text not in _SPECIAL_WORDS:
            return text
        if text.isascii() and text.isdigit() and (text[0] != "0" or text == "0"):
            return self.integer(text, line, column)
        if text in _NULLS:
            return None
        if text in _TRUES:
            return True
        if text in _FALSES:
            return False
        if text in _YAML11_BOOLS:
            meaning = str(_YAML11_BOOLS[text]).lower()
            self.problem(
                line,
                column,
                "yaml11-boolean",
                f"'{text}' is read by YAML 1.1 tools as the boolean {meaning}",
                f'quote it ("{text}") if you mean the word, or write {meaning} '
                "if you mean a boolean",
            )
            return text
        if _INT.fullmatch(text):
            return self.integer(text, line, column)
        for pattern, what in _SURPRISES:
            if pattern.fullmatch(text):
                self.problem(
                    line,
                    column,
                    "yaml11-number",
                    f"'{text}' is read by YAML 1.1 tools as {what}",
                    f'write the number in plain decimal digits, or quote it ("{text}") '
                    "if it is not a number",
                )
                return text
        if _FLOAT.fullmatch(text):
            return _float(text)
        return text

    def integer(self, text: str, line: int, column: int) -> Any:
        """A whole number; one too long to be a count is refused (and never given to int())."""
        digits = len(text.lstrip("+-"))
        if digits > MAX_DIGITS:
            self.problem(
                line,
                column,
                "number-too-large",
                f"a number of {digits:,} digits; zplan reads numbers of at most {MAX_DIGITS}",
            )
            return text
        return int(text)

    def explicit(self, tag: str, text: str, line: int, column: int) -> Any:
        kind = tag.rsplit(":", 1)[-1]
        if kind == "null" and text in _NULLS:
            return None
        if kind == "bool" and text in _TRUES | _FALSES:
            return text in _TRUES
        if kind == "int" and _INT.fullmatch(text):
            return self.integer(text, line, column)
        if kind == "float" and _FLOAT.fullmatch(text):
            return _float(text)
        self.problem(
            line, column, "custom-tag", f"'{text}' cannot be read as !!{kind}", "remove the tag"
        )
        return text

    def alias(self, event: yaml.AliasEvent, line: int, column: int) -> None:
        found = self.anchors.get(event.anchor or "")
        if found is None:
            self.problem(
                line,
                column,
                "undefined-alias",
                f"the alias *{event.anchor} refers to no anchor defined before it",
            )
            raise _Stop
        value = found.value
        self.count += found.size
        self.check_node(None, line, column)
        top = self.stack[-1] if self.stack else None
        if top is not None and top.is_map and top.key is None:
            if not isinstance(value, str):
                self.problem(
                    line,
                    column,
                    "complex-key",
                    "a mapping key must be a plain word, not a list or a mapping",
                )
                raise _Stop
            self.mapping_key(top, yaml.ScalarEvent(None, None, (True, False), value), line, column)
            return
        # Aliases nest what they stand for: a chain of them may not build depth past the limit.
        self.check_depth(found.height, line, column)
        self.attach(value, found.pos, None, 0, found.height)

    def close(self, frame: _Frame) -> None:
        if frame.is_map and frame.merges:
            for merged, merged_pos in frame.merges:
                assert merged_pos.entries is not None and frame.pos.entries is not None
                for key, item in merged.items():
                    if key not in frame.value:
                        frame.value[key] = item
                        frame.pos.entries[key] = merged_pos.entries[key]
        self.attach(frame.value, frame.pos, frame.anchor, frame.start_count - 1, frame.height)

    def attach(
        self, value: Any, pos: Pos, anchor: str | None, start_count: int, height: int
    ) -> None:
        if anchor:
            self.anchors[anchor] = _Anchor(value, pos, self.count - start_count, height)
        if not self.stack:
            self.document.data = value
            self.document.root = pos
            return
        parent = self.stack[-1]
        if height >= parent.height:
            parent.height = height + 1
        if not parent.is_map:
            parent.value.append(value)
            assert parent.pos.items is not None
            parent.pos.items.append(pos)
            return
        key = parent.key
        assert key is not None and parent.pos.entries is not None
        parent.key = None
        if parent.key_merges and "<<" not in parent.value:
            parent.key_merges = False
            sources = value if isinstance(value, list) else [value]
            source_pos = (pos.items or []) if isinstance(value, list) else [pos]
            if all(isinstance(item, dict) for item in sources):
                parent.merges.extend(zip(sources, source_pos, strict=True))
                return
            line, column = parent.key_at
            self.problem(
                line,
                column,
                "bad-merge",
                "'<<' merges a mapping (or a list of mappings) into this one",
            )
            return
        if key not in parent.pos.entries:
            parent.value[key] = value
            parent.pos.entries[key] = (*parent.key_at, pos)


def _explain(text: str, exc: yaml.MarkedYAMLError) -> Explained | None:
    """The syntax error explained, or None: the explanation is a best effort over the text,
    and any surprise in it leaves the parser's own words rather than a crash."""
    try:
        return explain(text, exc)
    except Exception:  # a best effort: the parser's message still stands
        return None


def _show_tag(tag: str | None) -> str:
    """``tag:yaml.org,2002:int`` as it is written in a file: ``!!int``."""
    prefix = "tag:yaml.org,2002:"
    text = str(tag)
    return "!!" + text[len(prefix) :] if text.startswith(prefix) else text


def _float(text: str) -> float:
    """A YAML 1.2 core float (``.inf``, ``-.Inf``, ``.NaN`` included; Python spells them otherwise)."""
    lowered = text.lower()
    if lowered.endswith(".inf"):
        return float("-inf") if text.startswith("-") else float("inf")
    if lowered == ".nan":
        return float("nan")
    return float(text)


def _plain(event: yaml.ScalarEvent) -> bool:
    return event.style in (None, "")


def _kind(value: Any) -> str:
    if isinstance(value, list):
        return "a list"
    if isinstance(value, str):
        return "a string"
    if value is None:
        return "empty (null)"
    if isinstance(value, bool):
        return "a boolean"
    return "a number"
