"""Change orders for people: the owner's checklist as text and markdown, and as JSON.

The steps themselves (their words and amounts) are built once, when the order
is priced (``zplan/apply/orders.py``), and kept in the order; these renderers
only lay them out.
"""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

from zplan.money import fmt


def _money(amount: str | None, currency: str) -> str:
    return "" if amount is None else fmt(Decimal(amount), currency)


def _last_day(order: dict[str, Any]) -> str:
    import datetime as dt

    return (dt.date.fromisoformat(order["expires_on"]) - dt.timedelta(days=1)).isoformat()


def order_status(order: dict[str, Any], status: str, today: str) -> str:
    """``open``, ``expired`` (open past its date), or the status the store keeps."""
    if status == "open" and today >= order["expires_on"]:
        return "expired"
    return status


def checklist_text(checklist: dict[str, Any], currency: str) -> list[str]:
    out = []
    for step in checklist["steps"]:
        out.append(f"  {step['n']:>2}. {step['text']}")
    if checklist.get("message"):
        out.append("")
        out.append("  Message for the account manager:")
        out.extend(f"    {line}".rstrip() for line in checklist["message"].splitlines())
    return out


def order_text(order: dict[str, Any], status: str, today: str) -> str:
    """The order as the apply and ``zplan order`` print it."""
    currency = order["currency"]
    shown = order_status(order, status, today)
    due = fmt(Decimal(order["invoice"]["total"]), currency)
    who = (
        "the account manager"
        if order["checklist"]["handled_by"] == "account_manager"
        else f"the owner ({order['owner']})"
    )
    out = [
        f"Change order #{order['number']} for {order['subdomain']}: {shown}",
        f"  priced on {order['priced_on']}: {due} due now before tax; "
        f"confirmable through {_last_day(order)} (expires on {order['expires_on']})",
        f"  carried out by {who} in Zendesk; the record moves at zplan confirm",
        "",
        "What the owner will do:" if who != "the account manager" else "What to do:",
        *checklist_text(order["checklist"], currency),
    ]
    return "\n".join(out) + "\n"


def order_json(order: dict[str, Any], status: str, today: str) -> str:
    shown = {**order, "status": order_status(order, status, today)}
    return json.dumps(shown, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def _md(text: str) -> str:
    """Step text holds values from the file (promo codes, e-mails): inert, as all user text."""
    from zplan.render.markdown import inert

    return inert(text)


def _code(text: str) -> str:
    from zplan.render.markdown import code

    return code(text, table=False)


def checklist_markdown(checklist: dict[str, Any], title: str) -> list[str]:
    """``#### What the owner will do`` and the numbered steps (the PR/MR comment)."""
    out = [f"#### {title}", ""]
    for step in checklist["steps"]:
        out.append(f"{step['n']}. {_md(step['text'])}")
    if checklist.get("message"):
        out += ["", "Message for the account manager:", "", "```text"]
        out += [line.replace("```", "'''") for line in checklist["message"].splitlines()]
        out.append("```")
    out.append("")
    return out


def order_markdown(order: dict[str, Any], status: str, today: str) -> str:
    currency = order["currency"]
    shown = order_status(order, status, today)
    out = [
        "<!-- zplan-change-order -->",
        f"### 🧾 zplan: change order #{order['number']} for {_code(order['subdomain'])} ({shown})",
        "",
        f"Priced on {order['priced_on']}: **{fmt(Decimal(order['invoice']['total']), currency)}"
        f"** due now before tax. Confirmable through {_last_day(order)}. "
        "The record moves only at `zplan confirm`.",
        "",
        *checklist_markdown(order["checklist"], "What the owner will do"),
    ]
    return "\n".join(out) + "\n"
