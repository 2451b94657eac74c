"""YAML syntax errors a person can act on (issue 14).

The parser says where it gave up, in its own words ("did not find expected
key", "mapping values are not allowed in this context"); the mistake is often
elsewhere: a tab in the indentation of a later line, a quote opened lines
before, a key indented between two levels. ``explain`` reads the text around
the parser's error and returns the line the person got wrong, what is wrong
there, and a hint naming the keys involved. It falls back to the parser's own
words when it recognises nothing.
"""

from __future__ import annotations

import re
from typing import NamedTuple

import yaml


class Explained(NamedTuple):
    line: int  # 1-based
    column: int  # 1-based
    message: str
    hint: str | None
    path: str | None = None  # the keys down to the line the person got wrong
    intended: int | None = None  # the indentation the line was meant to have (for its path)


def path_of(lines: list[str], index: int, intended: int | None = None) -> str | None:
    """``products.suite.agents`` for the line at ``index`` (indented by ``intended``)."""
    keys: list[str] = []
    own = _key_of(lines[index].replace("\t", " "))
    if own is None:
        return None
    keys.append(own[0].strip("'\""))
    indent = _indent(lines[index].replace("\t", " ")) if intended is None else intended
    for above in range(index - 1, -1, -1):
        line = lines[above].replace("\t", " ")
        if not _content(line) or _indent(line) >= indent:
            continue
        found = _key_of(line)
        if found is None:
            if line.strip().startswith("-"):
                indent = _indent(line)
                continue
            return None
        keys.append(found[0].strip("'\""))
        indent = _indent(line)
        if indent == 0:
            break
    return ".".join(reversed(keys)) or None


_KEY = re.compile(
    r"""^(?P<indent> *)(?:- +)?(?P<key>[^\s:#'"{}\[\],][^:#]*?|"[^"]*"|'[^']*')\s*:(?:\s+(?P<value>\S.*?))?\s*$"""
)


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip(" "))


def _content(line: str) -> bool:
    stripped = line.strip()
    return bool(stripped) and not stripped.startswith("#")


def _key_of(line: str) -> tuple[str, str | None] | None:
    """``(key, value)`` of a ``key: value`` line (value None when the key opens a block)."""
    match = _KEY.match(line.split(" #", 1)[0].rstrip())
    if match is None:
        return None
    return match.group("key").strip(), match.group("value")


def _parent(lines: list[str], index: int, indent: int) -> tuple[int, str] | None:
    """The nearest line above ``index`` indented less than ``indent`` that opens a block."""
    for above in range(index - 1, -1, -1):
        line = lines[above]
        if _content(line) and _indent(line) < indent:
            found = _key_of(line)
            return (above, found[0]) if found else None
    return None


def _spaces(n: int) -> str:
    return f"{n} space{'s' * (n != 1)}"


def _tab(lines: list[str]) -> Explained | None:
    """The first line whose indentation holds a tab."""
    for index, line in enumerate(lines):
        lead = line[: len(line) - len(line.lstrip(" \t"))]
        if "\t" in lead and not line.strip():
            return Explained(
                index + 1,
                lead.index("\t") + 1,
                "tabs are not allowed for indentation (this blank line holds a tab)",
                "delete the tab",
            )
        if "\t" in lead and line.strip():
            column = lead.index("\t") + 1
            found = _key_of(line.replace("\t", " "))
            what = f"`{found[0]}:`" if found else "this line"
            hint = "indent with spaces"
            want = None
            previous = next((lines[i] for i in range(index - 1, -1, -1) if _content(lines[i])), "")
            prev_key = _key_of(previous)
            if prev_key is not None:
                want = _indent(previous) + (2 if prev_key[1] is None else 0)
                relation = "under" if prev_key[1] is None else "like"
                hint = (
                    f"indent with spaces: {what} by {_spaces(want)}, {relation} "
                    f"`{prev_key[0]}:` above"
                )
            return Explained(
                index + 1,
                column,
                f"tabs are not allowed for indentation ({what})",
                hint,
                intended=want,
            )
    return None


def _unclosed_quote(text: str, error_line: int) -> Explained | None:
    """A quoted string that runs over a line end before the error: its quote was never closed."""
    last: yaml.ScalarToken | None = None
    try:
        for token in yaml.scan(text, Loader=yaml.SafeLoader):
            if not isinstance(token, yaml.ScalarToken) or token.style not in ('"', "'"):
                continue
            if token.end_mark.line > token.start_mark.line:
                last = token
    except yaml.MarkedYAMLError:
        pass
    if last is None or last.start_mark.line > error_line:
        return None
    quote = last.style
    return Explained(
        last.start_mark.line + 1,
        last.start_mark.column + 1,
        f"the {quote} opened here is not closed on its line: the string runs on to line "
        f"{last.end_mark.line + 1}",
        f"close the quote with {quote} at the end of line {last.start_mark.line + 1}",
    )


def explain(text: str, exc: yaml.MarkedYAMLError) -> Explained | None:
    """The parser's error as a person can act on it, or None to keep the parser's words."""
    found = _explain(text, exc)
    if found is None:
        return None
    lines = text.split("\n")
    if found.path is not None or found.line > len(lines):
        return found
    return found._replace(path=path_of(lines, found.line - 1, found.intended))


def _explain(text: str, exc: yaml.MarkedYAMLError) -> Explained | None:
    lines = text.split("\n")
    problem = (exc.problem or "").strip()
    context = (exc.context or "").strip()
    mark, opened = exc.problem_mark, exc.context_mark
    if mark is None:
        return None
    if "tab" in problem or "\t" in text:
        found = _tab(lines)
        if found is not None:
            return found
    if "quoted scalar" in context and opened is not None:
        quote = text[opened.index] if opened.index < len(text) else '"'
        return Explained(
            opened.line + 1,
            opened.column + 1,
            f"the {quote} opened here is never closed",
            f"close the quote with {quote} at the end of the value",
        )
    quoted = _unclosed_quote(text, mark.line)
    if quoted is not None:
        return quoted
    if "flow" in context and opened is not None:
        bracket = text[opened.index] if opened.index < len(text) else "{"
        closing = {"{": "}", "[": "]"}.get(bracket, "}")
        if mark.line > opened.line:
            return Explained(
                opened.line + 1,
                opened.column + 1,
                f"the '{bracket}' opened here is not closed on its line",
                f"close it with '{closing}'",
            )
        line = lines[mark.line] if mark.line < len(lines) else ""
        before = line[: mark.column].rstrip(":").rstrip()
        word = before.split(" ")[-1] if " " in before else ""
        start = len(before) - len(word)
        if word and start > 0 and line[start - 2 : start - 1] not in (",", ":", "{", "["):
            return Explained(
                mark.line + 1,
                start + 1,
                f"a ',' is missing before `{word}`",
                f"separate the items with ', ' inside '{bracket}…{closing}'",
            )
        return Explained(
            mark.line + 1,
            mark.column + 1,
            f"expected ',' or '{closing}' here",
            "separate the items with ', ' and put a space after each ':'",
        )
    if "could not find expected ':'" in problem and opened is not None:
        line = lines[opened.line]
        word = line.strip().split()[0] if line.strip() else ""
        return Explained(
            opened.line + 1,
            _indent(line) + len(word) + 1,
            f"`{word}` has no ':' after it",
            f"write `{word}:`",
            path=word,
        )
    index = mark.line
    if index >= len(lines):
        return None
    line = lines[index]
    at_start = mark.column == _indent(line)
    if "expected key" in problem and at_start and "block mapping" in context:
        return _between_levels(lines, index, opened)
    keyed = _key_of(line[: mark.column])
    if "expected key" in problem and keyed is not None and keyed[1] is not None:
        rest = line[mark.column :].strip()
        return Explained(
            mark.line + 1,
            mark.column + 1,
            f"unexpected {rest!r} after the value of `{keyed[0]}`",
            "quote the whole value if it holds quotes or brackets",
        )
    if "mapping values are not allowed" in problem:
        return _under_a_value(lines, index, mark.column)
    return None


def _between_levels(lines: list[str], index: int, opened: yaml.Mark | None) -> Explained | None:
    """A line that is no key of the mapping above: indented between two levels, or a list item."""
    line = lines[index]
    indent = _indent(line)
    if line.strip().startswith("-"):
        parent = _parent(lines, index, indent)
        owner = f"`{parent[1]}:`" if parent else "the mapping above"
        return Explained(
            index + 1,
            indent + 1,
            f"a list item where a key of {owner} is expected",
            "a list goes under a key of its own, indented, e.g. billing_admins:",
        )
    found = _key_of(line)
    what = f"`{found[0]}:`" if found else "this line"
    deeper = next(
        (i for i in range(index - 1, -1, -1) if _content(lines[i]) and _indent(lines[i]) > indent),
        None,
    )
    if deeper is not None:
        deep_indent = _indent(lines[deeper])
        parent = _parent(lines, deeper, deep_indent)
        sibling = _key_of(lines[deeper])
        if parent is not None and _indent(lines[parent[0]]) < indent:
            parent_indent = _indent(lines[parent[0]])
            like = f", like `{sibling[0]}:`" if sibling else ""
            return Explained(
                index + 1,
                indent + 1,
                f"{what} is indented by {_spaces(indent)}: neither under `{parent[1]}:` "
                f"({_spaces(deep_indent)}{like}) nor beside it ({_spaces(parent_indent)})",
                f"indent {what} by {_spaces(deep_indent - parent_indent)} under "
                f"`{parent[1]}:` ({deep_indent} in all{like})",
                intended=deep_indent,
            )
    if opened is None:
        return None
    level = opened.column  # the indentation of the mapping the parser was reading
    sibling = _key_of(lines[opened.line])
    like = f", like `{sibling[0]}:`" if sibling else ""
    return Explained(
        index + 1,
        indent + 1,
        f"{what} is indented by {_spaces(indent)}, the keys above it by {_spaces(level)}",
        f"indent {what} by {_spaces(level)}{like}",
    )


def _under_a_value(lines: list[str], index: int, column: int) -> Explained | None:
    """``key: value`` then a more indented key; or a second ': ' in a plain value."""
    line = lines[index]
    found = _key_of(line)
    indent = _indent(line)
    if found is not None and found[1] is not None and column > indent + len(found[0]):
        # The parser stopped in the value: a ': ' inside an unquoted value.
        key, value = found
        if value is not None and ": " in value:
            return Explained(
                index + 1,
                column + 1,
                f"mapping values are not allowed here: the value of `{key}` holds ': ', "
                "which YAML reads as another key",
                f'quote the value: {key}: "{value}"',
            )
    previous = next((i for i in range(index - 1, -1, -1) if _content(lines[i])), None)
    if previous is None:
        if indent:
            return Explained(
                index + 1,
                indent + 1,
                "the first key of the file is indented",
                "start top-level keys at the first column",
            )
        return None
    above = _key_of(lines[previous])
    if above is None or above[1] is None or _indent(lines[previous]) >= indent:
        return None
    what = f"`{found[0]}:`" if found else "this line"
    above_indent = _indent(lines[previous])
    parent = _parent(lines, previous, above_indent)
    message = f"{what} is indented under `{above[0]}:`, which already has a value ({above[1]})"
    if parent is None:
        hint = (
            f"start {what} at the first column, like `{above[0]}:`; or remove the value "
            f"{above[1]} so that `{above[0]}:` holds keys"
        )
    else:
        relative = above_indent - _indent(lines[parent[0]])
        hint = f"indent {what} by {_spaces(relative)} under `{parent[1]}:`, like `{above[0]}:`"
    return Explained(index + 1, indent + 1, message, hint, intended=above_indent)
