"""Guardrail results (the plan document's ``policy``) in text, markdown and GitHub annotations."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from zplan.diagnostics import printable
from zplan.render import Style


def _entries(document: Mapping[str, Any]) -> list[tuple[str, Mapping[str, Any]]]:
    policy = document.get("policy") or {}
    return [("deny", e) for e in policy.get("deny", [])] + [
        ("warn", e) for e in policy.get("warn", [])
    ]


def text_section(document: Mapping[str, Any], style: Style) -> list[str]:
    """``Policy:`` and one line per result, deny in red; nothing when no policies were given."""
    policy = document.get("policy")
    if policy is None:
        return []
    denied, warned = len(policy["deny"]), len(policy["warn"])
    if not denied and not warned:
        return [style("Policy: every guardrail passed.", "green", "bold")]
    out = [style(f"Policy: {denied} denied, {warned} warning{'s' * (warned != 1)}.", "bold")]
    for level, entry in _entries(document):
        color = "red" if level == "deny" else "yellow"
        out.append(
            f"  {style(level, color, 'bold')}: {printable(entry['message'])}  "
            f"{style('(' + printable(entry['source']) + ')', 'dim')}"
        )
    return out


def _cell(text: str) -> str:
    """A policy message in the comment: inert, as every text a file can reach (issue 13)."""
    from zplan.render.markdown import inert

    return inert(text)


def markdown_banner(document: Mapping[str, Any]) -> list[str]:
    """Right after the marker line: how many guardrails failed, the messages per account."""
    policy = document.get("policy")
    if policy is None:
        return []
    denied, warned = len(policy["deny"]), len(policy["warn"])
    if not denied and not warned:
        return ["> ✅ **Every guardrail passed.**", ""]
    if denied:
        head = f"> ⛔ **{denied} guardrail{'s' * (denied != 1)} failed**"
    else:
        head = "> ⚠️ **Guardrails passed, with warnings**"
    if warned:
        head += f" · {warned} warning{'s' * (warned != 1)}"
    out = [head, ">"]
    groups: dict[str, list[tuple[str, Mapping[str, Any]]]] = {}
    for level, entry in _entries(document):
        groups.setdefault(entry.get("subdomain") or "", []).append((level, entry))
    for subdomain in sorted(groups, key=lambda s: (s != "", s)):
        title = _code(subdomain) if subdomain else "the whole plan"
        out.append(f"> **{title}**")
        for level, entry in groups[subdomain]:
            mark = "⛔ deny" if level == "deny" else "⚠️ warn"
            out.append(f"> - {mark}: {_cell(entry['message'])}")
        out.append(">")
    out[-1] = ""
    return out


def _code(text: str) -> str:
    from zplan.render.markdown import code

    return code(text, table=False)


def _escape_data(value: str) -> str:
    return value.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _escape_property(value: str) -> str:
    return _escape_data(value).replace(":", "%3A").replace(",", "%2C")


def github(document: Mapping[str, Any]) -> str:
    """GitHub workflow commands: account diagnostics, and each guardrail result on its file."""
    lines = []
    for account in document.get("accounts", []):
        for d in account.get("diagnostics", []):
            command = {"error": "error", "warning": "warning", "note": "notice"}[d["severity"]]
            lines.append(
                f"::{command} file={_escape_property(d['file'])},line={d['line']},"
                f"col={d['column']},title=zplan::{_escape_data(d['path'] + ': ' + d['message'])}"
            )
    for level, entry in _entries(document):
        command = "error" if level == "deny" else "warning"
        where = f"file={_escape_property(entry['file'])},line=1," if entry.get("file") else ""
        title = "zplan guardrail" if level == "deny" else "zplan guardrail warning"
        message = f"{entry['message']} [{entry['source']}]"
        lines.append(f"::{command} {where}title={_escape_property(title)}::{_escape_data(message)}")
    return "\n".join(lines) + ("\n" if lines else "")
