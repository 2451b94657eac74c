"""Diagnostics as text lines, ``terraform validate -json``-style JSON, or GitHub annotations."""

from __future__ import annotations

import json
from collections.abc import Sequence

from zplan.diagnostics import Diagnostic, Severity, printable
from zplan.render import Style


def text(diagnostics: Sequence[Diagnostic], style: Style) -> str:
    lines = []
    for d in diagnostics:
        color = {"error": "red", "warning": "yellow", "note": "cyan"}[d.severity.value]
        line = (
            f"{printable(d.file)}:{d.line}:{d.column}: {style(d.severity.value, color, 'bold')}: "
            f"{printable(d.path)}: {printable(d.message)}"
        )
        if d.hint:
            line += f" ({printable(d.hint)})"
        lines.append(line)
    return "\n".join(lines) + ("\n" if lines else "")


def as_json(diagnostics: Sequence[Diagnostic]) -> str:
    errors = sum(1 for d in diagnostics if d.severity is Severity.ERROR)
    warnings = sum(1 for d in diagnostics if d.severity is Severity.WARNING)
    document = {
        "format_version": "1",
        "valid": errors == 0,
        "error_count": errors,
        "warning_count": warnings,
        "diagnostics": [d.to_json() for d in diagnostics],
    }
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"


def _escape_data(value: str) -> str:
    return value.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _escape_property(value: str) -> str:
    return _escape_data(value).replace(":", "%3A").replace(",", "%2C")


def github(diagnostics: Sequence[Diagnostic]) -> str:
    """GitHub Actions workflow commands: one annotation per diagnostic."""
    lines = []
    for d in diagnostics:
        command = {"error": "error", "warning": "warning", "note": "notice"}[d.severity.value]
        message = f"{d.path}: {d.message}" + (f" ({d.hint})" if d.hint else "") + f" [{d.code}]"
        lines.append(
            f"::{command} file={_escape_property(d.file)},line={d.line},col={d.column},"
            f"title=zplan::{_escape_data(message)}"
        )
    return "\n".join(lines) + ("\n" if lines else "")


def verdict(diagnostics: Sequence[Diagnostic], files: int, notes: Sequence[str]) -> str:
    """The closing lines of ``zplan validate``'s text output."""
    errors = sum(1 for d in diagnostics if d.is_error)
    lines = [f"note: {note}" for note in notes]
    state = "valid" if not errors else f"{errors} error{'s' * (errors != 1)}"
    lines.append(f"{files} file{'s' * (files != 1)} checked: {state}.")
    return "\n".join(lines) + "\n"
