"""Version history and stored state, for people and for tools."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import yaml

from zplan.model import Account
from zplan.money import fmt
from zplan.state.base import VerifyResult, Version


def _amount(version: Version) -> str:
    if version.invoice is None:
        return "-"
    from decimal import Decimal

    return fmt(Decimal(version.invoice["total"]), version.account.currency)


def _changes(version: Version) -> str:
    audit = version.audit or {}
    order = audit.get("order")
    if isinstance(order, dict):
        text = _plain_changes(version)
        return f"change order #{order.get('number')} {order.get('status')}: {text}"
    return _plain_changes(version)


def _plain_changes(version: Version) -> str:
    audit = version.audit or {}
    changes = audit.get("changes") or []
    if not changes:
        return audit.get("note") or version.kind
    parts = []
    for change in changes:
        before, after = change.get("before"), change.get("after")
        kind = change.get("kind") or "change"
        if isinstance(before, (dict, list)) or isinstance(after, (dict, list)):
            parts.append(f"{kind} {change['address']}{_effective(change)}")
        else:
            shown = ["(none)" if v is None else v for v in (before, after)]
            parts.append(f"{change['address']} {shown[0]} → {shown[1]}{_effective(change)}")
    return "; ".join(parts)


def _effective(change: dict[str, Any]) -> str:
    """When the change takes effect: ``[now]`` or ``[at renewal 2027-02-27]`` (issue 14)."""
    if change.get("effective") == "renewal":
        return f" [at renewal {change.get('effective_on', '')}]".replace(" ]", "]")
    if change.get("effective") == "now":
        return f" [now {change['effective_on']}]" if change.get("effective_on") else " [now]"
    return ""


def priced_on(version: Version) -> str:
    """The business date a version was priced at (older entries: the date of its time)."""
    return str((version.audit or {}).get("priced_on") or version.created_at[:10])


def render_history(
    subdomain: str,
    versions: Sequence[Version],
    result: VerifyResult | None,
    sandbox: bool = False,
) -> str:
    count = f"{len(versions)} version{'s' if len(versions) != 1 else ''}"
    kind = "; sandbox store: dates are simulated" if sandbox else ""
    out = [f"History of {subdomain} ({count}{kind})", ""]
    for version in versions:
        audit = version.audit or {}
        out.append(
            f"#{version.serial}  {priced_on(version)}  {version.kind:<7}  "
            f"{audit.get('actor') or '-'}  charged {_amount(version)}"
        )
        out.append(f"    {_changes(version)}")
        commit = audit.get("file_commit") or audit.get("git_commit")
        where = [f"written {version.created_at}"]
        if audit.get("key"):
            where.append(f"signed by {audit['key']}")
        if commit:
            dirty = " (the file had uncommitted changes)" if audit.get("file_dirty") else ""
            where.append(f"commit {commit[:12]}{dirty}")
        if audit.get("config_path"):
            where.append(f"file {audit['config_path']}")
        if audit.get("ci_run_url"):
            where.append(f"CI run {audit['ci_run_url']}")
        if audit.get("plan_id"):
            where.append(f"plan {str(audit['plan_id'])[:19]}…")
        if where:
            out.append("    " + ", ".join(where))
        override = (audit.get("policy") or {}).get("override")
        if override:
            denied = "; ".join(override.get("denied") or [])
            out.append(f"    guardrails overridden: {override.get('reason')} (denied: {denied})")
    if result is not None:
        out.append("")
        if result.ok:
            out.append(f"Audit chain verified: {result.entries} entries, no break.")
        else:
            out.append(f"Audit chain BROKEN at entry {result.serial}: {result.problem}.")
    return "\n".join(out) + "\n"


def history_json(
    subdomain: str, versions: Sequence[Version], result: VerifyResult | None
) -> dict[str, Any]:
    return {
        "subdomain": subdomain,
        "versions": [
            {
                "serial": v.serial,
                "kind": v.kind,
                "created_at": v.created_at,
                "priced_on": priced_on(v),
                "key": (v.audit or {}).get("key"),
                "actor": (v.audit or {}).get("actor"),
                "plan_id": (v.audit or {}).get("plan_id"),
                "git_commit": (v.audit or {}).get("git_commit"),
                "file_commit": (v.audit or {}).get("file_commit"),
                "config_path": (v.audit or {}).get("config_path"),
                "ci_run_url": (v.audit or {}).get("ci_run_url"),
                "policy": (v.audit or {}).get("policy"),
                "changes": (v.audit or {}).get("changes") or [],
                "charged": None if v.invoice is None else v.invoice["total"],
                "order": (v.audit or {}).get("order"),
                "currency": v.account.currency,
                "invoice": v.invoice,
            }
            for v in versions
        ],
        "verify": None
        if result is None
        else {
            "ok": result.ok,
            "entries": result.entries,
            "problem": result.problem,
            "serial": result.serial,
        },
    }


def state_yaml(account: Account, note: str | None = None) -> str:
    data = account.to_json()
    data["live"] = account.live  # shown either way: which kind of account this is
    sub = data.get("subscription")
    if sub is not None and sub["payment"]["ref"] is not None:
        last4 = sub["payment"]["ref"]["last4"]
        sub["payment"]["ref"] = f"(sensitive, …{last4})" if last4 else "(sensitive)"
    text = yaml.safe_dump(data, sort_keys=False, allow_unicode=True)
    return f"# {note}\n{text}" if note else text
