"""Plans for people, in the spirit of Terraform and Infracost."""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator, Sequence
from decimal import Decimal
from typing import Any

from zplan.diagnostics import printable
from zplan.money import fmt
from zplan.render import Style
from zplan.render.policy import text_section

_SYMBOLS = {"create": ("+", "green"), "update": ("~", "yellow"), "delete": ("-", "red")}


def _value(value: Any) -> str:
    if value is None:
        return "(none)"
    if isinstance(value, dict):
        if "edition" in value:
            text = f"{value['edition']}, {value['agents']} agents"
            addons = value.get("addons") or {}
            if addons:
                text += " + " + ", ".join(f"{k} {_qty(v)}" for k, v in addons.items())
            return text
        if "products" in value:
            products = "; ".join(f"{k} {_value(v)}" for k, v in value["products"].items())
            return f"{products}; {value['cycle']}"
        return "; ".join(f"{k}: {_value(v)}" for k, v in value.items())
    if isinstance(value, list):
        return "[" + ", ".join(str(v) for v in value) + "]" if value else "[]"
    return str(value)


def _qty(value: Any) -> str:
    return "" if value is True else f"×{value}"


def render_account(account: dict[str, Any], style: Style) -> list[str]:
    currency = account["totals"]["currency"]
    out: list[str] = []
    prior = account["prior"]
    title = printable(f"{account['subdomain']} ({account['config']['path']})")
    if prior["exists"]:
        out.append(style(f"Account {title}", "bold"))
        out.append(
            f"  today: {_today_line(account)}; {_renews_or_ends(account, style)} "
            f"(term {prior['term_start']} to {prior['term_end']})"
        )
    else:
        out.append(style(f"Account {title}", "bold") + ": no subscription yet (first purchase)")
    if account.get("live"):
        out.append(
            "  live account: apply opens a change order for the owner to carry out in "
            "Zendesk's Admin Center; the record moves at zplan confirm"
        )
    if account.get("observed"):
        from zplan.render.observed import seats_line

        stale = account["observed"]["stale"]
        out.append("  " + style(seats_line(account["observed"]), "yellow" if stale else "dim"))
    for diagnostic in account["diagnostics"]:
        out.append(_diagnostic_line(diagnostic, style))
    out.extend(_renewals(account, currency, style))
    out.extend(_scheduled(account, style))
    changes = account["changes"]
    if not changes and any(d["severity"] == "error" for d in account["diagnostics"]):
        out.append(f"  No plan for {account['subdomain']}: fix the errors above.")
        out.extend(_notes(account, style))
        return out
    if not changes:
        out.append(
            f"  No changes. The subscription of {account['subdomain']} matches the configuration."
        )
        charged = Decimal(account["totals"].get("charged_now", "0"))
        if charged:
            out.append(
                style(
                    f"  Charged now: {fmt(charged, currency)} for the pending renewals "
                    "(excluding tax).",
                    "bold",
                )
            )
        if account["prior"]["exists"]:
            out.extend(_recurring(account, currency))
        out.extend(_notes(account, style))
        return out
    out.append("")
    rows = []
    for change in changes:
        symbol, color = _SYMBOLS[change["action"]]
        if change["kind"] == "cancel":
            symbol, color = "!", "red"
        before, after = _value(change["before"]), _value(change["after"])
        if change["kind"] in ("subscription_create",) or (
            change["action"] == "create" and change["before"] is None
        ):
            transition = after
        elif change["action"] == "delete" and change["after"] is None:
            transition = f"{before} → (removed)"
        else:
            transition = f"{before} → {after}"
        if "today" in change:
            transition += f" (today {_value(change['today'])})"
        when = "now" if change["effective"] == "now" else f"at renewal {change['effective_on']}"
        delta = Decimal(change["monthly_delta"])
        money = f"{_amount(change['monthly_delta'], currency, signed=True)}/mo" if delta else ""
        rows.append(
            (
                style(symbol, color, "bold"),
                change["address"],
                transition,
                when,
                money,
                change.get("reason"),
            )
        )
    width = max(len(r[1]) for r in rows)
    for symbol, address, transition, when, money, reason in rows:
        line = f"  {symbol} {address.ljust(width)}  {transition}  [{when}]"
        if money:
            line += f"  {money}"
        out.append(line)
        if reason:
            out.append(f"      {style(reason, 'dim')}")
    out.append("")
    out.extend(_invoice(account, currency))
    out.append("")
    summary = account["summary"]
    out.append(
        style(
            f"Plan: {summary['add']} to add, {summary['change']} to change, "
            f"{summary['remove']} to remove ({summary['at_renewal']} at renewal)."
            f"{_charged(account, currency)}",
            "bold",
        )
    )
    out.extend(_recurring(account, currency))
    if account.get("change_order"):
        from zplan.render.orders import checklist_text

        out.append("What the owner will do (after apply):")
        out.extend(checklist_text(account["change_order"], currency))
    out.extend(_notes(account, style))
    return out


def _today_line(account: dict[str, Any]) -> str:
    now = account["prior"].get("now") or {}
    products = now.get("products", {})
    names = "; ".join(f"{k} {_value(v)}" for k, v in products.items()) or "no products"
    return f"{names}; {now.get('cycle', '?')}"


def _invoice(account: dict[str, Any], currency: str) -> list[str]:
    invoice = account["invoice"]
    lines = invoice["lines"]
    out = ["  Due now (invoice preview):"]
    if not lines:
        out.append("    nothing is charged today")
    width = max((len(line["description"]) for line in lines), default=0)
    for line in lines:
        out.append(
            f"    {line['description'].ljust(width)}  {_amount(line['amount'], currency).rjust(14)}"
        )
        out.extend(_line_math(line))
    if Decimal(invoice["balance_created"]):
        out.append(
            f"    credit kept as account balance: {_amount(invoice['balance_created'], currency)}"
        )
    if Decimal(invoice["balance_applied"]):
        out.append(f"    account balance applied: -{_amount(invoice['balance_applied'], currency)}")
    out.append(f"  Due now: {_amount(invoice['due_now'], currency)} (excluding tax)")
    renewals_due = Decimal(account["totals"].get("renewals_due", "0"))
    if renewals_due:
        out.append(f"  Plus pending renewals: {fmt(renewals_due, currency)} (excluding tax)")
    return out


def _recurring(account: dict[str, Any], currency: str) -> list[str]:
    totals = account["totals"]
    before, after = totals["recurring_before"], totals["recurring_after"]
    percent = totals["monthly_delta_percent"]
    change = _amount(totals["monthly_delta"], currency, signed=True)
    if percent is not None:
        sign = "+" if Decimal(percent) > 0 else ""
        change += f", {sign}{percent}%"
    line = (
        f"Recurring from the next renewal: {_amount(before['monthly'], currency)}/mo → "
        f"{_amount(after['monthly'], currency)}/mo ({change})"
    )
    per = (
        f"  per cycle: {_amount(before['per_cycle'], currency)} {before['cycle']} → "
        f"{_amount(after['per_cycle'], currency)} {after['cycle']} (excluding tax)"
    )
    return [line, per, *_run_rate(account, currency), *_steady(account, currency)]


def _notes(account: dict[str, Any], style: Style) -> list[str]:
    out = []
    for note in account["notes"]:
        out.append(f"  {style('note:', 'cyan')} {note}")
    if account.get("estimates_used"):
        named = account.get("estimated_prices") or []
        which = f": {', '.join(named)}" if named else ""
        out.append(
            f"  {style('note:', 'cyan')} some prices in this plan are estimates "
            f"(estimate: true in the catalog){which}"
        )
    for hint in account["hints"]:
        out.append(f"  {style('hint:', 'magenta')} {hint}")
    return out


# What will happen to the money beyond the changes (issue 14) ---------------------


def _renews_or_ends(account: dict[str, Any], style: Style) -> str:
    prior = account["prior"]
    if (prior.get("next") or {}).get("status") == "cancelled":
        return style(f"CANCELLED: ends on {prior['term_end']}, nothing renews", "red", "bold")
    return f"renews on {prior['term_end']}"


def _renewals(account: dict[str, Any], currency: str, style: Style) -> list[str]:
    """Pending renewals are charges: each with its amount and its lines."""
    out = []
    for renewal in account["invoice"]["renewals"]:
        if renewal.get("ended"):
            out.append(f"  ! the subscription ended on {renewal['date']} (cancelled)")
            continue
        out.append(
            style(
                f"  renewal pending on {renewal['date']}: "
                f"{_amount(renewal['total'], currency)} ({renewal['cycle']}), "
                "charged with the apply",
                "bold",
            )
        )
        width = max((len(line["description"]) for line in renewal["lines"]), default=0)
        for line in renewal["lines"]:
            out.append(
                f"    {line['description'].ljust(width)}  "
                f"{_amount(line['amount'], currency).rjust(14)}"
            )
            out.extend(_line_math(line))
        if Decimal(renewal["balance_applied"]):
            applied = _amount(renewal["balance_applied"], currency)
            out.append(f"    account balance applied: -{applied}")
    return out


_SCHEDULED_SYMBOLS = {"product_remove": "-", "unbundle": "-", "addon_remove": "-", "cancel": "!"}
_OUTCOMES = {"withdrawn": "this plan withdraws it", "changed": "this plan changes it (below)"}


def _scheduled(account: dict[str, Any], style: Style) -> list[str]:
    """What already stands scheduled for the renewal, a cancellation first and loudest."""
    items = account.get("scheduled") or []
    if not items:
        return []
    out = ["", f"  Scheduled for the renewal on {items[0]['effective_on']}:"]
    width = max(len(item["address"]) for item in items)
    for item in items:
        outcome = _OUTCOMES.get(item["outcome"])
        tail = f"  ({outcome})" if outcome else ""
        if item["kind"] == "cancel":
            out.append(
                style(
                    f"    ! CANCELLED: the subscription of {account['subdomain']} ends on "
                    f"{item['effective_on']}; nothing renews{tail}",
                    "red",
                    "bold",
                )
            )
            continue
        symbol = _SCHEDULED_SYMBOLS.get(item["kind"], "~")
        today, renewing = _value(item["today"]), _value(item["at_renewal"])
        if item["at_renewal"] is None:
            renewing = "(removed)"
        out.append(
            f"    {symbol} {item['address'].ljust(width)}  {today} → {renewing}  "
            f"[{item['kind'].replace('_', ' ')}]{tail}"
        )
    return out


def _line_math(line: dict[str, Any]) -> list[str]:
    """The line's period and how its amount is computed, to check it by hand."""
    if "formula" not in line:
        return []
    period = line.get("period") or {}
    when = f"{period['from']} to {period['to']}: " if period else ""
    if period and period["from"] in line["description"]:
        when = ""  # a full-cycle line names its period already
    return [f"      {when}{line['formula']}"]


def _charged(account: dict[str, Any], currency: str) -> str:
    totals = account["totals"]
    charged = _amount(totals.get("charged_now", totals["due_now"]), currency)
    renewals = totals.get("renewals_due", "0")
    if Decimal(renewals):
        return (
            f" Charged now: {charged} (due now "
            f"{_amount(totals['due_now'], currency)} + pending renewals "
            f"{_amount(renewals, currency)}, excluding tax)."
        )
    return f" Charged now: {charged} (excluding tax)."


def _run_rate(account: dict[str, Any], currency: str) -> list[str]:
    """Today's run rate beside the renewal figure when they differ, and why."""
    totals = account["totals"]
    rate = totals.get("run_rate")
    if not rate or rate["monthly"] == totals["recurring_before"]["monthly"]:
        return []
    renews_on = account["prior"]["term_end"]
    if (account["prior"].get("next") or {}).get("status") == "cancelled":
        why = f"the subscription is cancelled: nothing renews on {renews_on}"
    else:
        why = f"the changes scheduled for {renews_on} take effect at that renewal"
    return [f"  today's run rate: {_amount(rate['monthly'], currency)}/mo; {why}"]


def _steady(account: dict[str, Any], currency: str) -> list[str]:
    """A promotion that stops is shown as what it is, not as a recurring saving."""
    totals = account["totals"]
    after, steady = totals["recurring_after"], totals.get("recurring_steady")
    promotion = account.get("promotion")
    if not steady or steady["per_cycle"] == after["per_cycle"] or promotion is None:
        return []
    duration = promotion["duration"]
    how = (
        "once"
        if duration == "once"
        else f"{duration['cycles']} cycles from {promotion['added_on']}"
        if isinstance(duration, dict)
        else str(duration)
    )
    return [
        f"  next renewal {_amount(after['per_cycle'], currency)} {after['cycle']} "
        f"({promotion['code']}, {how}), then {_amount(steady['per_cycle'], currency)} "
        f"{steady['cycle']} ({_amount(steady['monthly'], currency)}/mo)"
    ]


def _diagnostic_line(diagnostic: dict[str, Any], style: Style) -> str:
    diagnostic = {k: printable(v) if isinstance(v, str) else v for k, v in diagnostic.items()}
    color = "red" if diagnostic["severity"] == "error" else "yellow"
    text = (
        f"  {diagnostic['file']}:{diagnostic['line']}:{diagnostic['column']}: "
        f"{style(diagnostic['severity'], color, 'bold')}: {diagnostic['path']}: "
        f"{diagnostic['message']}"
    )
    if diagnostic.get("hint"):
        text += f" ({diagnostic['hint']})"
    return text


SANDBOX_NOTE = "sandbox store: dates are simulated"


def state_line(url: str, sandbox: bool) -> str:
    """The header line naming the store a plan or apply used."""
    return f"State: {url}" + (f" ({SANDBOX_NOTE})" if sandbox else "")


def render_plan(document: dict[str, Any], style: Style) -> str:
    accounts = document["accounts"]
    out = plan_head(document, style)
    for index, account in enumerate(accounts):
        if index:
            out.append("")
        out.extend(render_account(account, style))
    rows = [summary_values(account) for account in accounts]
    out.extend(plan_foot(document, style, len(accounts), lambda: iter(rows)))
    return "\n".join(out) + "\n"


def plan_head(document: dict[str, Any], style: Style) -> list[str]:
    """What comes before the accounts: the store, and the problems of files not planned."""
    out: list[str] = []
    state = document.get("state")
    if isinstance(state, dict):
        out.append(state_line(str(state.get("url")), bool(state.get("sandbox"))))
        out.append("")
    for diagnostic in document.get("diagnostics", []):
        out.append(_diagnostic_line(diagnostic, style).strip())
    return out


def plan_foot(
    document: dict[str, Any], style: Style, count: int, rows: Callable[[], Iterator[list[str]]]
) -> Iterator[str]:
    """What comes after the ``count`` accounts; ``rows`` gives their ``summary_values`` (twice)."""
    policy = text_section(document, style)
    if policy:
        yield ""
        yield from policy
    if count > 1:
        yield ""
        yield from summary_lines(rows)
    for note in document.get("notes", []):
        yield f"{style('note:', 'cyan')} {note}"
    if document.get("unmanaged"):
        yield (
            f"{style('note:', 'cyan')} unmanaged accounts (in the state store, described by "
            f"no file; never changed): {', '.join(document['unmanaged'])}"
        )
    if not document["applyable"]:
        yield style("This plan has errors and cannot be applied.", "red", "bold")


def summary_values(account: dict[str, Any]) -> list[str]:
    """An account's row of the summary: currency, monthly before and after, due (for the
    totals), then its cells as shown (worked out where the account is planned)."""
    t = account["totals"]
    due = Decimal(t["due_now"]) + Decimal(t.get("renewals_due", "0"))
    before, after = t["recurring_before"]["monthly"], t["recurring_after"]["monthly"]
    return [
        t["currency"],
        before,
        after,
        str(due),
        *_cells(account["subdomain"], t["currency"], before, after, str(due)),
    ]


def summary_table(document: dict[str, Any]) -> list[str]:
    """One row per account, then totals per currency."""
    rows = [summary_values(account) for account in document["accounts"]]
    return list(summary_lines(lambda: iter(rows)))


def summary_lines(values: Callable[[], Iterator[list[str]]]) -> Iterator[str]:
    """The summary table from the rows ``values()`` gives (called twice: widths, then lines)."""
    header = ("Account", "Previous", "New", "Diff", "Due now")
    widths = [len(h) for h in header]
    totals: dict[str, list[Decimal]] = {}
    for row in values():
        widths = [max(w, len(c)) for w, c in zip(widths, row[4:], strict=True)]
        sums = totals.get(row[0])
        if sums is None:
            sums = totals[row[0]] = [Decimal(0)] * 3
        sums[0] += Decimal(row[1])
        sums[1] += Decimal(row[2])
        sums[2] += Decimal(row[3])
    total_cells = [
        _cells(f"Total ({currency})", currency, str(before), str(after), str(due))
        for currency, (before, after, due) in sorted(totals.items())
    ]
    for cells in total_cells:
        widths = [max(w, len(c)) for w, c in zip(widths, cells, strict=True)]

    def line(cells: Sequence[str]) -> str:
        padded = [cells[0].ljust(widths[0])] + [cells[i].rjust(widths[i]) for i in range(1, 5)]
        return "  ".join(padded).rstrip()

    yield line(header)
    yield "  ".join("-" * w for w in widths)
    for row in values():
        yield line(row[4:])
    for cells in total_cells:
        yield line(cells)


def _cells(
    name: str, currency: str, before: str, after: str, due: str
) -> tuple[str, str, str, str, str]:
    return (
        name,
        f"{_amount(before, currency)}/mo",
        f"{_amount(after, currency)}/mo",
        _amount(str(Decimal(after) - Decimal(before)), currency, signed=True),
        _amount(due, currency),
    )


@functools.lru_cache(maxsize=256)
def _amount(text: str, currency: str, signed: bool = False) -> str:
    """A JSON amount for people. The same few recur in every account's text (its monthly
    figure in the recurring lines and the summary row, zeros): each is formatted once."""
    return fmt(Decimal(text), currency, signed=signed)
