"""The plan shows everything that will happen to the money (issue 14), in text, JSON, markdown.

Each test builds a real history in a SQLite store with real applies, then
reads the plan as an owner would: a cancellation, a scheduled decrease and a
pending renewal must each be unmissable; promotions are shown as what they
are; estimates are named; history says when each change takes effect.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tests.conftest import Zplan, init_store

OWNER = "owner@acme.example"


def _file(
    products: str, *, cycle: str = "annual", promo: str | None = None, status: str = "active"
) -> str:
    billing = f"{{cycle: {cycle}, payment: card{', promo_code: ' + promo if promo else ''}}}"
    return (
        "zplan: 1\n"
        f"account: {{subdomain: acme, owner: {OWNER}}}\n"
        f"billing: {billing}\n"
        "agreements: {master_subscription_agreement: accepted, privacy_policy: accepted}\n"
        f"products:\n{products}"
        f"status: {status}\n"
    )


SUITE_25 = "  suite: {edition: professional, agents: 25, addons: {copilot: 10}}\n"
SUITE_20 = "  suite: {edition: professional, agents: 20, addons: {copilot: 10}}\n"


class Account:
    """One account's file and store, applied and planned at given dates."""

    def __init__(self, zplan: Zplan, tmp_path: Path) -> None:
        self.zplan = zplan
        self.state = init_store(str(tmp_path / "state.db"))
        self.path = tmp_path / "acme.yaml"

    def run(self, at: str, *args: str, input: str | None = None) -> Any:
        return self.zplan("--state", self.state, "--at", at, "--actor", OWNER, *args, input=input)

    def apply(self, at: str, text: str, *flags: str) -> str:
        self.path.write_text(text, encoding="utf-8")
        done = self.run(at, "apply", "--auto-approve", *flags, str(self.path))
        assert done.code == 0, done.output
        return str(done.out)

    def plan(self, at: str, form: str = "text") -> str:
        done = self.run(at, "plan", "--format", form, str(self.path))
        assert done.code == 0, done.output
        return str(done.out)

    def json(self, at: str) -> dict[str, Any]:
        document: dict[str, Any] = json.loads(self.plan(at, "json"))["accounts"][0]
        return document


def test_a_cancelled_subscription_says_so_everywhere(zplan: Zplan, tmp_path: Path) -> None:
    acme = Account(zplan, tmp_path)
    acme.apply("2026-01-04", _file(SUITE_25))
    acme.apply("2026-03-01", _file(SUITE_20))
    acme.apply("2026-04-01", _file(SUITE_20, status="cancelled"), "--allow-cancel")

    text = acme.plan("2026-05-01")
    assert "CANCELLED: ends on 2027-01-04, nothing renews" in text
    assert "; renews on" not in text
    scheduled = text.index("Scheduled for the renewal on 2027-01-04:")
    cancelled = text.index("! CANCELLED: the subscription of acme ends on 2027-01-04")
    decrease = text.index("products.suite.agents  25 → 20  [agents decrease]")
    assert scheduled < cancelled < decrease < text.index("No changes.")
    # Suite Professional 25 x 115 + Copilot 10 x 50 = 3,375.00 a month in force today.
    assert "today's run rate: $3,375.00/mo; the subscription is cancelled" in text

    account = acme.json("2026-05-01")
    assert [s["kind"] for s in account["scheduled"]] == ["cancel", "agents_decrease"]
    assert account["scheduled"][0]["outcome"] == "stays"
    assert account["totals"]["run_rate"]["monthly"] == "3375.00"
    assert account["totals"]["recurring_before"]["monthly"] == "0.00"

    markdown = acme.plan("2026-05-01", "markdown")
    alert = "⛔ **`acme` is cancelled: the subscription ends on 2027-01-04; nothing renews.**"
    assert alert in markdown
    assert markdown.index(alert) < markdown.index("| Account |")  # above the table, not folded
    assert "$0.00/mo (today $3,375.00/mo)" in markdown


def test_a_scheduled_decrease_shows_beside_today_and_a_withdrawal_says_so(
    zplan: Zplan, tmp_path: Path
) -> None:
    acme = Account(zplan, tmp_path)
    acme.apply("2026-01-04", _file(SUITE_25))
    acme.apply("2026-03-01", _file(SUITE_20))

    acme.path.write_text(_file(SUITE_20), encoding="utf-8")
    text = acme.plan("2026-05-01")
    assert "products.suite.agents  25 → 20  [agents decrease]" in text
    # Renewal: 20 x 115 + 10 x 50 = 2,800.00/mo; today 25 x 115 + 500 = 3,375.00/mo.
    assert "Recurring from the next renewal: $2,800.00/mo → $2,800.00/mo" in text
    assert (
        "today's run rate: $3,375.00/mo; the changes scheduled for 2027-01-04 take effect "
        "at that renewal" in text
    )
    markdown = acme.plan("2026-05-01", "markdown")
    assert "$2,800.00/mo (today $3,375.00/mo)" in markdown
    scheduled = (
        "> 📅 `acme`: scheduled for the renewal on 2027-01-04: `products.suite.agents` 25 → 20."
    )
    assert scheduled in markdown
    assert markdown.index(scheduled) < markdown.index("| Account |")

    acme.path.write_text(_file(SUITE_25), encoding="utf-8")
    text = acme.plan("2026-05-01")
    assert "25 → 20  [agents decrease]  (this plan withdraws it)" in text
    assert acme.json("2026-05-01")["scheduled"][0]["outcome"] == "withdrawn"


def test_a_pending_renewal_is_a_charge(zplan: Zplan, tmp_path: Path) -> None:
    acme = Account(zplan, tmp_path)
    products = (
        "  support: {edition: team, agents: 20}\n  talk: {edition: professional, agents: 3}\n"
    )
    acme.apply("2026-01-04", _file(products))
    text = acme.plan("2027-01-10")
    # Support Team 20 x 19 x 12 = 4,560.00; Talk Professional 3 x 49 x 12 = 1,764.00.
    assert "renewal pending on 2027-01-04: $6,324.00 (annual), charged with the apply" in text
    assert "20 × $19.00 × 12 months" in text
    assert "Charged now: $6,324.00 for the pending renewals (excluding tax)." in text
    account = acme.json("2027-01-10")
    assert account["totals"]["due_now"] == "0.00"  # unchanged meaning: today's invoice alone
    assert account["totals"]["renewals_due"] == "6324.00"
    assert account["totals"]["charged_now"] == "6324.00"
    markdown = acme.plan("2027-01-10", "markdown")
    assert "`acme`: pending renewals of $6,324.00 are charged with the apply." in markdown

    applied = acme.apply("2027-01-10", _file(products))
    assert "Apply complete: 1 account changed (acme). Charged $6,324.00 to acme" in applied


def test_the_plan_line_counts_renewals_in_the_total_charged(zplan: Zplan, tmp_path: Path) -> None:
    acme = Account(zplan, tmp_path)
    acme.apply("2026-01-04", _file("  talk: {edition: professional, agents: 3}\n"))
    acme.path.write_text(_file("  talk: {edition: professional, agents: 5}\n"), encoding="utf-8")
    text = acme.plan("2027-01-10")
    # Renewal 3 x 49 x 12 = 1,764.00; 2 more agents: 2 x 49 x 12 = 1,176.00 x 359/365 = 1,156.67.
    assert "(5 × $49.00 − 3 × $49.00) × 12 months × 359/365" in text
    assert (
        "Charged now: $2,920.67 (due now $1,156.67 + pending renewals $1,764.00, excluding tax)."
        in text
    )


def test_a_once_promotion_is_not_called_recurring(zplan: Zplan, tmp_path: Path) -> None:
    acme = Account(zplan, tmp_path)
    suite = "  suite: {edition: professional, agents: 25}\n"
    acme.apply("2026-02-27", _file(suite))
    acme.path.write_text(_file(suite, promo="WELCOME10"), encoding="utf-8")
    text = acme.plan("2026-11-27")
    # 115 x 25 x 12 = 34,500.00; 10 % off the renewal once: 31,050.00; then 34,500.00.
    assert (
        "next renewal $31,050.00 annual (WELCOME10, once), then $34,500.00 annual "
        "($2,875.00/mo)" in text
    )
    totals = acme.json("2026-11-27")["totals"]
    assert totals["recurring_after"]["per_cycle"] == "31050.00"
    assert totals["recurring_steady"]["per_cycle"] == "34500.00"
    assert "(`WELCOME10`, once), then $34,500.00 annual." in acme.plan("2026-11-27", "markdown")


def test_the_estimate_note_names_the_estimated_entries(zplan: Zplan, tmp_path: Path) -> None:
    acme = Account(zplan, tmp_path)
    acme.path.write_text(
        _file("  suite: {edition: enterprise, agents: 5, addons: {quality_assurance: 2}}\n"),
        encoding="utf-8",
    )
    text = acme.plan("2026-11-27")
    assert (
        "some prices in this plan are estimates (estimate: true in the catalog): "
        "Suite Enterprise, Quality Assurance" in text
    ), text
    assert acme.json("2026-11-27")["estimated_prices"] == ["Suite Enterprise", "Quality Assurance"]
    assert "some prices are estimates (Suite Enterprise, Quality Assurance)" in acme.plan(
        "2026-11-27", "markdown"
    )


def test_the_markdown_first_purchase_row_is_complete(zplan: Zplan, tmp_path: Path) -> None:
    acme = Account(zplan, tmp_path)
    acme.path.write_text(_file(SUITE_25, cycle="annual"), encoding="utf-8")
    markdown = acme.plan("2026-11-27", "markdown")
    assert "suite professional ×25 + copilot ×10; annual" in markdown
    # And its lines can be checked: 25 x 115 x 12 = 34,500.00; 10 x 50 x 12 = 6,000.00.
    assert "25 × $115.00 × 12 months" in markdown
    assert "10 × $50.00 × 12 months" in markdown


def test_history_says_when_each_change_takes_effect(zplan: Zplan, tmp_path: Path) -> None:
    acme = Account(zplan, tmp_path)
    acme.apply("2026-01-04", _file(SUITE_25))
    acme.apply("2026-03-01", _file(SUITE_20))
    acme.apply("2026-04-01", _file(SUITE_20.replace("copilot: 10", "copilot: 12")))
    done = acme.run("2026-05-01", "history", "acme")
    assert done.code == 0, done.output
    assert "subscription_create subscription [now 2026-01-04]" in done.out
    assert "products.suite.agents 25 → 20 [at renewal 2027-01-04]" in done.out
    assert "products.suite.addons.copilot 10 → 12 [now 2026-04-01]" in done.out
