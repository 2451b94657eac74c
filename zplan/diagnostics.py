"""Positioned problems found in a file: the unit every check reports in."""

from __future__ import annotations

import enum
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field


class Severity(enum.Enum):
    ERROR = "error"
    WARNING = "warning"
    NOTE = "note"


@dataclass(frozen=True, slots=True, order=True)
class Diagnostic:
    """One problem: ``FILE:LINE:COLUMN: SEVERITY: PATH: MESSAGE``.

    Line and column are 1-based and point at the offending value (at the key
    for an unknown key, at the parent mapping for a missing one).
    """

    file: str
    line: int
    column: int
    severity: Severity = field(compare=False)
    path: str
    code: str
    message: str
    hint: str | None = None

    def to_json(self) -> dict[str, object]:
        return {
            "severity": self.severity.value,
            "file": self.file,
            "line": self.line,
            "column": self.column,
            "path": self.path,
            "code": self.code,
            "message": self.message,
            "hint": self.hint,
        }

    @property
    def is_error(self) -> bool:
        return self.severity is Severity.ERROR


_CONTROL = {code: f"\\x{code:02x}" for code in [*range(0x20), 0x7F]}


def printable(text: str) -> str:
    """``text`` with control characters escaped, so that it cannot rewrite a terminal line."""
    return text.translate(_CONTROL)


def sort_diagnostics(diagnostics: Iterable[Diagnostic]) -> list[Diagnostic]:
    """Sorted by file and position, duplicates removed, order otherwise kept."""
    seen: set[Diagnostic] = set()
    unique = []
    for diagnostic in diagnostics:
        if diagnostic not in seen:
            seen.add(diagnostic)
            unique.append(diagnostic)
    return sorted(unique, key=lambda d: (d.file, d.line, d.column))


def did_you_mean(word: str, candidates: Sequence[str]) -> str | None:
    """A hint naming the closest candidate, if one is close enough."""
    lowered = {candidate.lower(): candidate for candidate in candidates}
    import difflib  # only for a word that is not known

    matches = difflib.get_close_matches(word.lower(), list(lowered), n=1, cutoff=0.6)
    if matches:
        return f"did you mean '{lowered[matches[0]]}'?"
    return None


def has_errors(diagnostics: Iterable[Diagnostic]) -> bool:
    return any(d.is_error for d in diagnostics)
