"""The forecast: month by month, before and after the plan, as a table and a Mermaid chart.

GitHub and GitLab render Mermaid ``xychart-beta`` blocks in comments; a
reader without Mermaid sees the code block, and the table beside it says the
same.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from zplan.money import fmt


def _plain(amount: Decimal) -> str:
    """A number Mermaid reads: no currency sign, no thousands separator."""
    return f"{amount.quantize(Decimal('0.01'))}"


def chart(months: list[Mapping[str, Any]], currency: str, title: str) -> list[str]:
    """Bars: invoiced after the plan; line: invoiced without it."""
    labels = ", ".join(f'"{m["month"]}"' for m in months)
    after = [Decimal(m["after"]["invoiced"]) for m in months]
    before = [Decimal(m["before"]["invoiced"]) for m in months]
    top = max([*after, *before, Decimal(1)])
    return [
        "```mermaid",
        "xychart-beta",
        f'    title "{title.replace(chr(34), chr(39))}"',
        f"    x-axis [{labels}]",
        f'    y-axis "{currency}" 0 --> {_plain(top * Decimal("1.1")).split(".")[0]}',
        f"    bar [{', '.join(_plain(a) for a in after)}]",
        f"    line [{', '.join(_plain(b) for b in before)}]",
        "```",
    ]


def table(months: list[Mapping[str, Any]], currency: str) -> list[str]:
    rows = [
        "| Month | Invoiced before | Invoiced after | Diff | Run rate before | Run rate after |",
        "| --- | ---: | ---: | ---: | ---: | ---: |",
    ]
    sums = [Decimal(0), Decimal(0)]
    for m in months:
        before = Decimal(m["before"]["invoiced"])
        after = Decimal(m["after"]["invoiced"])
        sums[0] += before
        sums[1] += after
        rows.append(
            f"| {m['month']} | {fmt(before, currency)} | {fmt(after, currency)} | "
            f"{fmt(after - before, currency, signed=True)} | "
            f"{fmt(Decimal(m['before']['run_rate']), currency)}/mo | "
            f"{fmt(Decimal(m['after']['run_rate']), currency)}/mo |"
        )
    rows.append(
        f"| **Total** | **{fmt(sums[0], currency)}** | **{fmt(sums[1], currency)}** | "
        f"**{fmt(sums[1] - sums[0], currency, signed=True)}** | | |"
    )
    return rows


def markdown_section(document: Mapping[str, Any]) -> list[str]:
    """The plan comment's forecast: per currency, a chart and a table (nothing without one)."""
    forecast = document.get("forecast")
    if not forecast or not forecast.get("totals"):
        return []
    count = forecast["months"]
    out = [f"#### 📈 Forecast: the next {count} months, before and after this plan", ""]
    for total in forecast["totals"]:
        currency = total["currency"]
        out += chart(
            total["months"], currency, f"Invoiced per month ({currency}): bars after, line before"
        )
        out += [""]
        out += table(total["months"], currency)
        out += [""]
    out.append(
        "<sub>Invoiced: the invoices applying and then renewing would produce (due now and "
        "pending renewals in the first month). Run rate: the monthly recurring cost in force, "
        "promotions included. Excluding tax.</sub>"
    )
    out.append("")
    return out


def text(forecast: Mapping[str, Any]) -> str:
    """``zplan forecast`` for people: per account, then the totals."""
    out: list[str] = []
    for account in forecast.get("accounts", []):
        currency = account["currency"]
        out.append(f"Account {account['subdomain']} ({currency})")
        out += ["  " + line for line in _text_table(account["months"], currency)]
        events = account["events"]["after"]
        if events:
            out.append("  Events (after the plan):")
            out += [f"    {e['date']}  {e['text']}" for e in events]
        out.append("")
    for total in forecast.get("totals", []):
        currency = total["currency"]
        out.append(f"Total ({currency}, excluding tax)")
        out += ["  " + line for line in _text_table(total["months"], currency)]
        out.append("")
    return "\n".join(out)


def _text_table(months: list[Mapping[str, Any]], currency: str) -> list[str]:
    rows = [("Month", "Before", "After", "Diff", "Run rate after")]
    sums = [Decimal(0), Decimal(0)]
    for m in months:
        before, after = Decimal(m["before"]["invoiced"]), Decimal(m["after"]["invoiced"])
        sums[0] += before
        sums[1] += after
        rows.append(
            (
                m["month"],
                fmt(before, currency),
                fmt(after, currency),
                fmt(after - before, currency, signed=True),
                fmt(Decimal(m["after"]["run_rate"]), currency) + "/mo",
            )
        )
    rows.append(
        (
            "Total",
            fmt(sums[0], currency),
            fmt(sums[1], currency),
            fmt(sums[1] - sums[0], currency, signed=True),
            "",
        )
    )
    widths = [max(len(r[i]) for r in rows) for i in range(5)]
    return [
        "  ".join([r[0].ljust(widths[0])] + [r[i].rjust(widths[i]) for i in range(1, 5)]).rstrip()
        for r in rows
    ]


def markdown(forecast: Mapping[str, Any]) -> str:
    """``zplan forecast --format markdown``: the totals' chart and table, then each account's."""
    out = [f"### 📈 zplan forecast: the next {forecast['months']} months", ""]
    for total in forecast.get("totals", []):
        currency = total["currency"]
        out += chart(
            total["months"], currency, f"All accounts ({currency}): bars after, line before"
        )
        out += ["", *table(total["months"], currency), ""]
    for account in forecast.get("accounts", []):
        currency = account["currency"]
        out += [f"<details><summary><b>{account['subdomain']}</b></summary>", ""]
        out += [*table(account["months"], currency), ""]
        for event in account["events"]["after"]:
            out.append(f"- {event['date']}: {event['text']}")
        out += ["", "</details>", ""]
    return "\n".join(out)
