"""The PR comment's forecast: a Mermaid xychart-beta chart and a table, through a GFM renderer."""

from __future__ import annotations

import html
import re
from pathlib import Path

from markdown_it import MarkdownIt

from tests.conftest import EXAMPLES, TODAY, Zplan

OWNER = "owner@acme.example"


def _render(text: str) -> str:
    return MarkdownIt("commonmark", {"html": True}).enable("table").render(text)


def test_the_plan_comment_carries_the_forecast_chart_and_table(
    zplan: Zplan, state: str, tmp_path: Path
) -> None:
    acme = EXAMPLES / "accounts" / "acme.yaml"
    assert (
        zplan(
            "--state",
            state,
            "--at",
            "2026-03-15",
            "--actor",
            OWNER,
            "apply",
            str(acme),
            "--auto-approve",
        ).code
        == 0
    )
    more = tmp_path / "acme.yaml"
    more.write_text(
        acme.read_text().replace("agents: 25", "agents: 30").replace("copilot: 25", "copilot: 30")
    )
    bluebird = EXAMPLES / "accounts" / "bluebird.yaml"
    result = zplan(
        "--state", state, "--at", TODAY, "plan", str(more), str(bluebird), "--format", "markdown"
    )
    assert result.code == 0, result.output
    page = _render(result.out)

    [chart] = re.findall(r'<pre><code class="language-mermaid">(.*?)</code></pre>', page, re.S)
    chart = html.unescape(chart)
    lines = [line.strip() for line in chart.strip().splitlines()]
    assert lines[0] == "xychart-beta"
    labels = re.search(r"x-axis \[(.*)\]", chart)
    bars = re.search(r"\n\s*bar \[(.*)\]", chart)
    line = re.search(r"\n\s*line \[(.*)\]", chart)
    assert labels and bars and line
    assert len(labels[1].split(",")) == len(bars[1].split(",")) == len(line[1].split(",")) == 12
    assert labels[1].startswith('"2026-11", "2026-12"')
    # November: the proration for acme and bluebird's first month; March: acme renews.
    values = [v.strip() for v in bars[1].split(",")]
    assert values[1] == "920.00"  # December: bluebird's renewal
    assert values[4] == f"{Decimal_sum('920.00', acme_renewal(zplan, state, more))}"

    tables = re.findall(r"<table>.*?</table>", page, re.S)
    forecast = [t for t in tables if "Invoiced before" in t]
    assert len(forecast) == 1
    rows = re.findall(r"<tr>(.*?)</tr>", forecast[0], re.S)
    assert len(rows) == 1 + 12 + 1  # header, months, total
    assert "<strong>Total</strong>" in rows[-1]


def Decimal_sum(*amounts: str) -> str:
    from decimal import Decimal

    return str(sum((Decimal(a) for a in amounts), Decimal(0)))


def acme_renewal(zplan: Zplan, state: str, path: Path) -> str:
    """acme's renewal on 2027-03-15, as zplan forecast prices it (the same function as apply)."""
    import json

    result = zplan("--state", state, "--at", TODAY, "forecast", str(path), "--format", "json")
    [account] = json.loads(result.out)["accounts"]
    [renewal] = [e for e in account["events"]["after"] if e["kind"] == "renewal"]
    assert renewal["date"] == "2027-03-15"
    return str(renewal["amount"])


def test_a_plan_without_markdown_has_no_forecast(zplan: Zplan, state: str) -> None:
    import json

    result = zplan(
        "--state",
        state,
        "--at",
        TODAY,
        "plan",
        str(EXAMPLES / "accounts" / "acme.yaml"),
        "--format",
        "json",
    )
    assert "forecast" not in json.loads(result.out)
    assert "policy" not in json.loads(result.out)
