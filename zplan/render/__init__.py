"""Renderers: plans and diagnostics for people (text), reviews (markdown), tools (json, github).

Each turns a plan document, diagnostics, history or a catalog into text; none
prints. May import the values, ``load`` (the catalog) and ``state`` (history
values). Never imports ``plan``, ``apply``, ``pipeline``, ``cli``, or click.
"""

from __future__ import annotations

from typing import NamedTuple

_CODES = {
    "red": "31",
    "green": "32",
    "yellow": "33",
    "blue": "34",
    "magenta": "35",
    "cyan": "36",
    "bold": "1",
    "dim": "2",
}


class Style(NamedTuple):
    """ANSI colour, or none at all."""

    color: bool = False

    def __call__(self, text: str, *names: str) -> str:
        if not self.color or not names:
            return text
        codes = ";".join(_CODES[name] for name in names)
        return f"\033[{codes}m{text}\033[0m"
