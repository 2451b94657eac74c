"""A pull-request comment: marker line, headline, summary table, details per account.

Built for GitHub and GitLab (both render HTML ``<details>`` blocks and pipe
tables). Kept under 65,000 characters: detail is cut, with a note; totals
never are.
"""

from __future__ import annotations

import html
import re
from array import array
from collections.abc import Callable, Sequence
from decimal import Decimal
from itertools import accumulate
from typing import Any, NamedTuple

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


class Piece(NamedTuple):
    """What the comment needs of one account, beside its details block (``details``)."""

    currency: str
    before: Decimal  # monthly, before the plan
    after: Decimal  # monthly, after it
    due: Decimal  # due now and pending renewals
    row: str  # its table row; "" when it has nothing to show (no row, no details)
    alerts: list[str]  # cancellations, scheduled changes, renewal charges (above the table)
    estimated: list[str]  # the names of its estimated prices


def piece(account: dict[str, Any]) -> Piece:
    t = account["totals"]
    currency = t["currency"]
    before = Decimal(t["recurring_before"]["monthly"])
    after = Decimal(t["recurring_after"]["monthly"])
    due = Decimal(t["due_now"]) + Decimal(t.get("renewals_due", "0"))
    row = ""
    if _shown(account):
        flag = " ⚠️" if account["diagnostics"] else ""
        flag += " ⛔ cancelled" if _cancelled(account) else ""
        row = (
            f"| {code(account['subdomain'])}{flag} | {_money(before, currency)}/mo"
            f"{_run_rate_cell(account)} | "
            f"{_money(after, currency)}/mo | {_money(after - before, currency, signed=True)} | "
            f"{_money(due, currency)} |"
        )
    estimated = list(account.get("estimated_prices") or [])
    return Piece(currency, before, after, due, row, _account_alerts(account), estimated)


class Tally:
    """The comment's plan-wide parts, added up account by account in the plan's order.

    It keeps what the whole comment needs and no account's text: sums per currency,
    the first ``most`` alerts and their count, the estimated prices' names, and the
    size of each shown account's row and details block (to find what fits).
    """

    def __init__(self, most: int = 20) -> None:
        self.most = most
        self.money: dict[str, list[Decimal]] = {}  # currency -> before, after, due
        self.alerts: list[str] = []
        self.alert_count = 0
        self.unchanged = 0
        self.estimated: list[str] = []
        self.rows: array[int] = array("q")  # per shown account: its row's length, line end too
        self.details: array[int] = array("q")  # per shown account: its details block's length

    def add(self, piece: Piece, details_length: int) -> None:
        """One account, with the length of its ``details`` text (0 when it has no row)."""
        sums = self.money.setdefault(piece.currency, [Decimal(0)] * 3)
        sums[0] += piece.before
        sums[1] += piece.after
        sums[2] += piece.due
        room = self.most - len(self.alerts)
        if room > 0:
            self.alerts += piece.alerts[:room]
        self.alert_count += len(piece.alerts)
        self.estimated += [n for n in piece.estimated if n not in self.estimated]
        if not piece.row:
            self.unchanged += 1
            return
        self.rows.append(len(piece.row) + 1)
        self.details.append(details_length + 1)


def _headline(tally: Tally) -> list[str]:
    if not tally.money:
        return ["### zplan: no accounts planned"]
    lines = []
    for currency, (before, after, due) in sorted(tally.money.items()):
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


TABLE_HEAD = [
    "| Account | Previous | New | Diff | Due now |",
    "| --- | ---: | ---: | ---: | ---: |",
]


def _total_rows(tally: Tally) -> list[str]:
    return [
        f"| **Total ({inert(currency)})** | **{_money(before, currency)}/mo** | "
        f"**{_money(after, currency)}/mo** | **{_money(after - before, currency, signed=True)}**"
        f" | **{_money(due, currency)}** |"
        for currency, (before, after, due) in sorted(tally.money.items())
    ]


def details(account: dict[str, Any]) -> str:
    """The account's ``<details>`` block (for accounts with a row), as one text."""
    return "\n".join(_details(account))


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


def _account_alerts(account: dict[str, Any]) -> list[str]:
    """An account's cancellations, scheduled changes and pending renewal charges."""
    alerts = []
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
    return alerts


def _alerts(tally: Tally) -> list[str]:
    """Above the table: the first alerts of the plan, and how many more there are."""
    alerts = tally.alerts
    if tally.alert_count > tally.most:
        alerts = [*alerts, f"> … and {tally.alert_count - tally.most} more (see below)."]
    return [f"{a}\n" for a in alerts]


def _estimated(document: dict[str, Any], tally: Tally) -> str:
    if not document["catalog"]["estimates_used"]:
        return ""
    listed = f" ({', '.join(tally.estimated)})" if tally.estimated else ""
    return f" · some prices are estimates{listed}"


def render_markdown(document: dict[str, Any], limit: int = LIMIT) -> str:
    """The comment; detail blocks are dropped from the end until it fits under ``limit``."""
    tally = Tally()
    rows: list[str] = []
    blocks: list[str] = []
    for account in document["accounts"]:
        part = piece(account)
        block = details(account) if part.row else ""
        tally.add(part, len(block))
        if part.row:
            rows.append(part.row)
            blocks.append(block)
    return comment(document, tally, lambda n: rows[:n], lambda n: blocks[:n], limit)


Firsts = Callable[[int], Sequence[str]]  # the first n rows, or details blocks


def comment(
    document: dict[str, Any], tally: Tally, rows: Firsts, blocks: Firsts, limit: int = LIMIT
) -> str:
    """The comment of a plan (``document``, its accounts summed in ``tally``): ``rows`` and
    ``blocks`` give the first shown accounts' rows and details (only those that fit are
    asked for). The whole document and the streamed plan (zplan.cli.stream) both end here."""
    head = [MARKER, *markdown_banner(document), *_headline(tally), "", *_alerts(tally)]
    if not document.get("applyable", True):
        head += ["> ❌ **This plan has errors and cannot be applied.**", ""]
    for d in document.get("diagnostics", []):
        head.append(
            f"- **{inert(d['severity'])}** {code(d['file'], table=False)}:{int(d['line'])}:"
            f"{int(d['column'])} {code(d['path'], table=False)}: {inert(d['message'])}"
        )
    if document.get("diagnostics"):
        head.append("")
    tail = []
    if tally.unchanged:
        tail.append(f"{tally.unchanged} account{'s' * (tally.unchanged != 1)} without changes.")
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
        f"{inert(_estimated(document, tally))}"
        "</sub>",
        "",
    ]
    # Totals always fit: cut table rows (never the totals) and detail blocks as needed.
    totals = _total_rows(tally)
    kept_rows, kept_details = _fitting(
        head, TABLE_HEAD, tally.rows, totals, tail, tally.details, footer, limit
    )
    shown = len(tally.rows)
    cut = (kept_rows, kept_details) != (shown, shown)
    return _assemble(
        head,
        TABLE_HEAD,
        list(rows(kept_rows)),
        totals,
        tail,
        list(blocks(kept_details)),
        footer,
        cut,
        shown - kept_rows,
        shown - kept_details,
        limit,
    )


def _fitting(
    head: list[str],
    table_head: list[str],
    rows: Sequence[int],
    totals: list[str],
    tail: list[str],
    details: Sequence[int],
    footer: list[str],
    limit: int,
) -> tuple[int, int]:
    """How many table rows and detail blocks fit under ``limit``: detail blocks are dropped
    from the end first, then rows. ``rows`` and ``details`` are their lengths, line ends
    included. The length of each candidate comes from running sums, not from assembling it
    (a plan of thousands of new accounts would take minutes)."""

    def size(lines: list[str]) -> int:
        return sum(len(line) + 1 for line in lines)

    row_sums = [0, *accumulate(rows)]
    detail_sums = [0, *accumulate(details)]
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
    details: list[str],
    footer: list[str],
    cut: bool,
    cut_rows: int,
    cut_details: int,
    limit: int = LIMIT,
) -> str:
    rows_note, details_note = _notes(cut, cut_rows, cut_details, limit, split=True)
    out = [*head, *table_head, *rows, *totals, "", *rows_note, *tail, ""]
    out += details  # each block one text of several lines
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
