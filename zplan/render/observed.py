"""The live account in a plan, for people: seats in use, and how old the reading is."""

from __future__ import annotations

from typing import Any


def seats_line(observed: dict[str, Any]) -> str:
    """``seats in use: 32 of 40 (suite; observed 2026-11-27T08:00:00Z)``, stale flagged."""
    of = "" if observed.get("seats_on_record") is None else f" of {observed['seats_on_record']}"
    product = f"{observed['product']}; " if observed.get("product") else ""
    line = (
        f"seats in use: {observed['seats_in_use']}{of} ({product}observed {observed['observed_at']}"
    )
    if observed.get("plan"):
        line += f"; plan {observed['plan']}"
    line += ")"
    if observed.get("stale"):
        line += f" STALE: {observed['age_seconds'] // 3600} h old"
    return line
