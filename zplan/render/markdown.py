"""A pull-request comment: marker line, headline, summary table, details per account.

Built for GitHub and GitLab (both render HTML ``<details>`` blocks and pipe
tables). Kept under 65,000 characters: detail is cut, with a note; totals
never are.
"""

from __future__ import annotations

import html
import re
from decimal import Decimal
from typing import Any

from zplan.diagnostics import printable
from zplan.money import fmt
from zplan.redact import show_invisible
from zplan.render.forecast import markdown_section as forecast_section
from zplan.render.policy import markdown_banner

MARKER = "<!-- zplan-plan -->"
LIMIT = 65_000


# What can start markup in the middle of a line (inert text never starts one): emphasis,
# code, links, tables, strikethrough, escapes; ':' before '//' (URL autolinks) and
# '.' after 'www' (www. autolinks). '&', '<', '>' become entities; '@' and '#' spans.
_PUNCTUATION = re.compile(r"([\\`*_\[\]|~]|:(?=//)|(?<=[wW]{3})\.)")
_HTML_ONLY = re.compile(r"[<>&]")


def _visible(text: str) -> str:
    """No line breaks, control, bidi or zero-width characters: all shown escaped."""
    return show_invisible(printable(text))


def inert(text: str) -> str:
    """Untrusted text, rendered as the characters it holds and nothing else.

    Every character that can start markup inside a line is backslash-escaped
    (``<``, ``>`` and ``&`` written as entities, so that not even the raw comment
    holds a tag): no HTML, links, images, emphasis, code, tables, strikethrough,
    entities or autolinks (``$`` is left as written: money is shown with it). (Inert text never starts a line: the template
    always writes something before it, so list, heading and quote markers in it
    are plain characters.) GitHub
    makes mentions, e-mail links and issue references out of ``@`` and ``#``
    even when escaped, so each ``@`` and ``#`` stands alone in an empty
    ``<span>``: what reads ``@octocat`` notifies nobody. Line breaks, control,
    bidi and zero-width characters are shown escaped (``\\x0a``, ``\\u202e``).
    """
    escaped = _PUNCTUATION.sub(r"\\\1", _visible(text))
    escaped = escaped.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return escaped.replace("@", "<span>@</span>").replace("#", "<span>#</span>")


def code(text: str, *, table: bool = True) -> str:
    """Untrusted text as an inline code span (paths, keys, subdomains, addresses).

    The fence is one backtick longer than the longest run of backticks inside;
    in a table ``|`` is escaped (GFM splits cells before it reads code spans).
    Text with ``<``, ``>`` or ``&`` is written with ``inert`` instead, so that
    not even the raw comment holds markup from a file.
    """
    text = _visible(text)
    if not text:
        return "(empty)"
    if _HTML_ONLY.search(text):
        return inert(text)
    if table:
        text = text.replace("|", "\\|")
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    fence = "`" * (longest + 1)
    if text.startswith(("`", " ")) or text.endswith(("`", " ")):
        text = f" {text} "
    return f"{fence}{text}{fence}"


def _money(amount: Decimal, currency: str, *, signed: bool = False) -> str:
    text = fmt(amount, currency, signed=signed)
    return text if re.fullmatch(r"[A-Z]{3}", currency) else inert(text)


def html_code(text: str) -> str:
    """Untrusted text inside zplan's own HTML (the ``<summary>`` line)."""
    return f"<code>{html.escape(_visible(text), quote=True)}</code>"


def _headline(document: dict[str, Any]) -> list[str]:
    per_currency: dict[str, list[Decimal]] = {}
    for account in document["accounts"]:
        totals = account["totals"]
        sums = per_currency.setdefault(totals["currency"], [Decimal(0), Decimal(0), Decimal(0)])
        sums[0] += Decimal(totals["recurring_before"]["monthly"])
        sums[1] += Decimal(totals["recurring_after"]["monthly"])
        sums[2] += Decimal(totals["due_now"]) + Decimal(totals.get("renewals_due", "0"))
    if not per_currency:
        return ["### zplan: no accounts planned"]
    lines = []
    for currency, (before, after, due) in sorted(per_currency.items()):
        delta = after - before
        percent = (
            "" if before == 0 else f" ({'+' if delta >= 0 else ''}{delta / before * 100:.2f}%)"
        )
        if delta > 0:
            verb = f"increase by {_money(delta, currency)}{percent}"
        elif delta < 0:
            verb = f"decrease by {_money(-delta, currency)}{percent}"
        else:
            verb = "stay the same"
        lines.append(
            f"### 💰 zplan: monthly cost will {verb}, {_money(due, currency)} due now "
            f"({inert(currency)}, excluding tax)"
        )
    return lines


def _table(document: dict[str, Any]) -> tuple[list[str], int]:
    rows = ["| Account | Previous | New | Diff | Due now |", "| --- | ---: | ---: | ---: | ---: |"]
    unchanged = 0
    totals: dict[str, list[Decimal]] = {}
    for account in document["accounts"]:
        t = account["totals"]
        currency = t["currency"]
        before = Decimal(t["recurring_before"]["monthly"])
        after = Decimal(t["recurring_after"]["monthly"])
        due = Decimal(t["due_now"]) + Decimal(t.get("renewals_due", "0"))
        sums = totals.setdefault(currency, [Decimal(0)] * 3)
        sums[0] += before
        sums[1] += after
        sums[2] += due
        if not _shown(account):
            unchanged += 1
            continue
        flag = " ⚠️" if account["diagnostics"] else ""
        flag += " ⛔ cancelled" if _cancelled(account) else ""
        rows.append(
            f"| {code(account['subdomain'])}{flag} | {_money(before, currency)}/mo"
            f"{_run_rate_cell(account)} | "
            f"{_money(after, currency)}/mo | {_money(after - before, currency, signed=True)} | "
            f"{_money(due, currency)} |"
        )
    for currency, (before, after, due) in sorted(totals.items()):
        rows.append(
            f"| **Total ({inert(currency)})** | **{_money(before, currency)}/mo** | "
            f"**{_money(after, currency)}/mo** | **{_money(after - before, currency, signed=True)}**"
            f" | **{_money(due, currency)}** |"
        )
    return rows, unchanged


def _details(account: dict[str, Any]) -> list[str]:
    currency = account["totals"]["currency"]
    summary = account["summary"]
    head = (
        f"<details><summary><b>{html_code(account['subdomain'])}</b>: {int(summary['add'])} to "
        f"add, {int(summary['change'])} to change, {int(summary['remove'])} to remove "
        f"({int(summary['at_renewal'])} at renewal), due now "
        f"{html.escape(_visible(fmt(Decimal(account['totals']['due_now']), currency)))}</summary>"
    )
    out = [head, "", f"File: {code(account['config']['path'], table=False)}", ""]
    out += _scheduled_md(account)
    out += _renewals_md(account, currency)
    if account.get("observed"):
        from zplan.render.observed import seats_line

        out += [inert(seats_line(account["observed"])), ""]
    if account["diagnostics"]:
        for d in account["diagnostics"]:
            out.append(
                f"- **{inert(d['severity'])}** {code(d['path'], table=False)}: "
                f"{inert(d['message'])}"
            )
        out.append("")
    if account["changes"]:
        out += [
            "| | Address | Before → after | When | Monthly |",
            "| --- | --- | --- | --- | ---: |",
        ]
        symbols = {"create": "➕", "update": "✏️", "delete": "➖"}
        for change in account["changes"]:
            symbol = "⛔" if change["kind"] == "cancel" else symbols[change["action"]]
            transition = f"{_short(change['before'])} → {_short(change['after'])}"
            when = "now" if change["effective"] == "now" else f"renewal {change['effective_on']}"
            out.append(
                f"| {symbol} | {code(change['address'])} | {inert(transition)} | {when} | "
                f"{_money(Decimal(change['monthly_delta']), currency, signed=True)} |"
            )
        out.append("")
    lines = account["invoice"]["lines"]
    if lines:
        out += [
            "Due now (invoice preview):",
            "",
            "| Line | Period | Computed | Amount |",
            "| --- | --- | --- | ---: |",
        ]
        for line in lines:
            out.append(_line_row(line, currency))
        out.append(
            f"| **Due now** | | | **{_money(Decimal(account['invoice']['due_now']), currency)}** |"
        )
        out.append("")
    if account.get("live"):
        out += [
            "> 🟢 **Live account:** apply opens a change order; the owner makes the change in "
            "Zendesk's Admin Center, and the record moves at `zplan confirm`.",
            "",
        ]
    if account.get("change_order"):
        from zplan.render.orders import checklist_markdown

        out += checklist_markdown(account["change_order"], "What the owner will do")
    out += _money_summary(account, currency)
    for note in account["notes"]:
        out.append(f"> **Note:** {inert(note)}")
    for hint in account["hints"]:
        out.append(f"> 💡 {inert(hint)}")
    out += ["", "</details>", ""]
    return out


def _short(value: Any) -> str:
    if value is None:
        return "—"
    if isinstance(value, dict):
        if "edition" in value:
            return f"{value['edition']} ×{value['agents']}{_addons(value)}"
        if "products" in value:
            products = ", ".join(
                f"{k} {v['edition']} ×{v['agents']}{_addons(v)}"
                for k, v in value["products"].items()
            )
            return f"{products}; {value['cycle']}" if "cycle" in value else products
        return ", ".join(f"{k}: {_short(v)}" for k, v in value.items())
    if isinstance(value, list):
        return ", ".join(map(str, value)) or "[]"
    return str(value)


def _addons(value: dict[str, Any]) -> str:
    addons = value.get("addons") or {}
    if not addons:
        return ""
    return " + " + ", ".join(k if q is True else f"{k} ×{q}" for k, q in addons.items())


# What will happen to the money beyond the changes (issue 14) ---------------------


def _cancelled(account: dict[str, Any]) -> bool:
    return any(item["kind"] == "cancel" for item in account.get("scheduled") or []) or any(
        c["kind"] == "cancel" for c in account["changes"]
    )


def _shown(account: dict[str, Any]) -> bool:
    """Accounts with changes, renewals, problems, something scheduled or live drift get a row
    and details."""
    return bool(
        account["changes"]
        or account["invoice"]["renewals"]
        or account["diagnostics"]
        or account.get("scheduled")
        or (account.get("observed") or {}).get("drift")
    )


def _run_rate_cell(account: dict[str, Any]) -> str:
    totals = account["totals"]
    rate = totals.get("run_rate")
    if not rate or rate["monthly"] == totals["recurring_before"]["monthly"]:
        return ""
    return f" (today {_money(Decimal(rate['monthly']), totals['currency'])}/mo)"


def _scheduled_md(account: dict[str, Any]) -> list[str]:
    items = account.get("scheduled") or []
    if not items:
        return []
    out = []
    for item in items:
        if item["kind"] == "cancel":
            out.append(
                f"> ⛔ **Cancelled: the subscription of {code(account['subdomain'])} ends on "
                f"{item['effective_on']}; nothing renews.**"
            )
            out.append("")
    rest = [i for i in items if i["kind"] != "cancel"]
    if rest:
        out += [
            f"Scheduled for the renewal on {items[0]['effective_on']}:",
            "",
            "| Address | Today → at renewal | Kind | This plan |",
            "| --- | --- | --- | --- |",
        ]
        for item in rest:
            transition = f"{_short(item['today'])} → {_short(item['at_renewal'])}"
            out.append(
                f"| {code(item['address'])} | {inert(transition)} | "
                f"{item['kind'].replace('_', ' ')} | {item['outcome']} |"
            )
        out.append("")
    return out


def _renewals_md(account: dict[str, Any], currency: str) -> list[str]:
    out = []
    for renewal in account["invoice"]["renewals"]:
        if renewal.get("ended"):
            out += [f"The subscription ended on {renewal['date']} (cancelled).", ""]
            continue
        out += [
            f"**Renewal pending on {renewal['date']}, charged with the apply: "
            f"{_money(Decimal(renewal['total']), currency)}** ({renewal['cycle']})",
            "",
            "| Line | Period | Computed | Amount |",
            "| --- | --- | --- | ---: |",
        ]
        out += [_line_row(line, currency) for line in renewal["lines"]]
        out.append("")
    return out


def _line_row(line: dict[str, Any], currency: str) -> str:
    period = line.get("period")
    when = f"{period['from']} to {period['to']}" if period else ""
    return (
        f"| {inert(line['description'])} | {when} | {inert(line.get('formula', ''))} | "
        f"{_money(Decimal(line['amount']), currency)} |"
    )


def _money_summary(account: dict[str, Any], currency: str) -> list[str]:
    totals = account["totals"]
    out = []
    renewals = Decimal(totals.get("renewals_due", "0"))
    if renewals:
        out.append(
            f"**Charged now: {_money(Decimal(totals['charged_now']), currency)}** (due now "
            f"{_money(Decimal(totals['due_now']), currency)} + pending renewals "
            f"{_money(renewals, currency)}, excluding tax)"
        )
        out.append("")
    steady, after = totals.get("recurring_steady"), totals["recurring_after"]
    promotion = account.get("promotion")
    if steady and promotion and steady["per_cycle"] != after["per_cycle"]:
        duration = promotion["duration"]
        how = duration if isinstance(duration, str) else f"{duration['cycles']} cycles"
        out.append(
            f"Next renewal {_money(Decimal(after['per_cycle']), currency)} {after['cycle']} "
            f"({code(promotion['code'])}, {how}), then "
            f"{_money(Decimal(steady['per_cycle']), currency)} {steady['cycle']}."
        )
        out.append("")
    return out


def _alerts(document: dict[str, Any], most: int = 20) -> list[str]:
    """Cancellations, scheduled changes and pending renewal charges, above the table."""
    alerts = []
    for account in document["accounts"]:
        currency = account["totals"]["currency"]
        name = code(account["subdomain"])
        for item in account.get("scheduled") or []:
            if item["kind"] == "cancel":
                alerts.append(
                    f"> ⛔ **{name} is cancelled: the subscription ends on "
                    f"{item['effective_on']}; nothing renews.**"
                )
        for change in account["changes"]:
            if change["kind"] == "cancel":
                alerts.append(
                    f"> ⛔ **This plan cancels {name}: the subscription ends on "
                    f"{change['effective_on']}.**"
                )
        staying = [
            i
            for i in account.get("scheduled") or []
            if i["kind"] != "cancel" and i["outcome"] == "stays"
        ]
        if staying:
            listed = ", ".join(
                f"{code(i['address'])} {inert(_short(i['today']))} → {inert(_short(i['at_renewal']))}"
                for i in staying[:3]
            )
            more = f" and {len(staying) - 3} more" if len(staying) > 3 else ""
            alerts.append(
                f"> 📅 {name}: scheduled for the renewal on {staying[0]['effective_on']}: "
                f"{listed}{more}."
            )
        renewals = Decimal(account["totals"].get("renewals_due", "0"))
        if renewals:
            alerts.append(
                f"> 🔁 **{name}: pending renewals of {_money(renewals, currency)} are charged "
                "with the apply.**"
            )
    if len(alerts) > most:
        alerts = [*alerts[:most], f"> … and {len(alerts) - most} more (see below)."]
    return [*[f"{a}\n" for a in alerts]] if alerts else []


def _estimated(document: dict[str, Any]) -> str:
    if not document["catalog"]["estimates_used"]:
        return ""
    names: list[str] = []
    for account in document["accounts"]:
        names += [n for n in account.get("estimated_prices") or [] if n not in names]
    listed = f" ({', '.join(names)})" if names else ""
    return f" · some prices are estimates{listed}"


def render_markdown(document: dict[str, Any], limit: int = LIMIT) -> str:
    """The comment; detail blocks are dropped from the end until it fits under ``limit``."""
    head = [MARKER, *markdown_banner(document), *_headline(document), "", *_alerts(document)]
    if not document.get("applyable", True):
        head += ["> ❌ **This plan has errors and cannot be applied.**", ""]
    for d in document.get("diagnostics", []):
        head.append(
            f"- **{inert(d['severity'])}** {code(d['file'], table=False)}:{int(d['line'])}:"
            f"{int(d['column'])} {code(d['path'], table=False)}: {inert(d['message'])}"
        )
    if document.get("diagnostics"):
        head.append("")
    table, unchanged = _table(document)
    tail = []
    if unchanged:
        tail.append(f"{unchanged} account{'s' * (unchanged != 1)} without changes.")
    if document.get("unmanaged"):
        tail.append(
            f"Unmanaged accounts (in the store, described by no file; never changed): "
            f"{', '.join(code(s, table=False) for s in document['unmanaged'])}"
        )
    footer = [
        *forecast_section(document),
        "",
        f"<sub>zplan {document.get('zplan_version', '')} · priced on "
        f"{document['priced_on']} · catalog {code(document['catalog']['id'])}"
        f"{inert(_estimated(document))}"
        "</sub>",
        "",
    ]
    details: list[list[str]] = []
    for account in document["accounts"]:
        if _shown(account):
            details.append(_details(account))
    # Totals always fit: cut table rows (never the totals) and detail blocks as needed.
    body_rows = table[2:]
    total_rows = [r for r in body_rows if r.startswith("| **Total")]
    account_rows = [r for r in body_rows if not r.startswith("| **Total")]
    kept_rows, kept_details = _fitting(
        head, table[:2], account_rows, total_rows, tail, details, footer, limit
    )
    cut = (kept_rows, kept_details) != (len(account_rows), len(details))
    return _assemble(
        head,
        table[:2],
        account_rows[:kept_rows],
        total_rows,
        tail,
        details[:kept_details],
        footer,
        cut,
        len(account_rows) - kept_rows,
        len(details) - kept_details,
        limit,
    )


def _fitting(
    head: list[str],
    table_head: list[str],
    rows: list[str],
    totals: list[str],
    tail: list[str],
    details: list[list[str]],
    footer: list[str],
    limit: int,
) -> tuple[int, int]:
    """How many table rows and detail blocks fit under ``limit``: detail blocks are dropped
    from the end first, then rows. The length of each candidate comes from running sums,
    not from assembling it (a plan of thousands of new accounts would take minutes)."""

    def size(lines: list[str]) -> int:
        return sum(len(line) + 1 for line in lines)

    row_sums = [0]
    for row in rows:
        row_sums.append(row_sums[-1] + len(row) + 1)
    detail_sums = [0]
    for block in details:
        detail_sums.append(detail_sums[-1] + size(block))
    fixed = size([*head, *table_head, *totals, ""]) + size([*tail, ""]) + size(footer) - 1

    def length(kept_rows: int, kept_details: int, cut: bool) -> int:
        total = fixed + row_sums[kept_rows] + detail_sums[kept_details]
        notes = _notes(cut, len(rows) - kept_rows, len(details) - kept_details, limit)
        return total + size(notes)

    kept_rows, kept_details = len(rows), len(details)
    if length(kept_rows, kept_details, False) <= limit:
        return kept_rows, kept_details
    while kept_details or kept_rows:
        if kept_details:
            kept_details -= 1
        else:
            kept_rows -= 1
        if length(kept_rows, kept_details, True) <= limit:
            break
    return kept_rows, kept_details


def _assemble(
    head: list[str],
    table_head: list[str],
    rows: list[str],
    totals: list[str],
    tail: list[str],
    details: list[list[str]],
    footer: list[str],
    cut: bool,
    cut_rows: int,
    cut_details: int,
    limit: int = LIMIT,
) -> str:
    rows_note, details_note = _notes(cut, cut_rows, cut_details, limit, split=True)
    out = [*head, *table_head, *rows, *totals, "", *rows_note, *tail, ""]
    for block in details:
        out += block
    out += [*details_note, *footer]
    return "\n".join(out)


def _notes(cut: bool, cut_rows: int, cut_details: int, limit: int, *, split: bool = False) -> Any:
    """The lines that say what was cut: after the table, and after the details."""
    rows_note = []
    if cut_rows:
        rows_note = [
            f"_{cut_rows} more changed accounts are not listed: the comment is limited "
            f"in size (the totals include them). Run zplan plan to see them._",
            "",
        ]
    details_note = []
    if cut and cut_details:
        details_note = [
            f"_Details of {cut_details} accounts were cut to keep this comment under "
            f"{limit:,} characters; the table and totals are complete._"
        ]
    return (rows_note, details_note) if split else [*rows_note, *details_note]
