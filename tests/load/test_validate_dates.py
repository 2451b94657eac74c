"""``zplan validate`` warnings and the date: promotions that expire (``--at``,
``ZPLAN_NOW``), that fit another cycle or other products.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import TODAY, Zplan
from tests.load.validate_support import BASE, diagnostics_of, edit, no_traceback, write

# Warnings and the date ---------------------------------------------------------------


def with_promo(code: str, text: str = BASE) -> str:
    return edit("  payment: card\n", f"  payment: card\n  promo_code: {code}\n", text)


def test_expired_promotion_warns(zplan: Zplan, tmp_path: Path) -> None:
    write(tmp_path, "acct.yaml", with_promo("summer25"))
    result = zplan("--at", TODAY, "validate", "--format", "json", "acct.yaml")
    assert result.code == 0, result.output
    document = json.loads(result.out)
    assert (document["valid"], document["error_count"], document["warning_count"]) == (True, 0, 1)
    [warning] = document["diagnostics"]
    assert warning["severity"] == "warning"
    assert (warning["line"], warning["column"], warning["code"]) == (8, 15, "promo-expired")
    assert "expired on 2026-08-31" in warning["message"]
    text = zplan("--at", TODAY, "validate", "acct.yaml")
    assert text.code == 0
    assert text.out.startswith(
        "acct.yaml:8:15: warning: billing.promo_code: the promotion SUMMER25"
    )
    assert text.out.endswith("1 file checked: valid.\n")


@pytest.mark.parametrize(
    ("date", "warned"),
    [("2027-06-30", False), ("2027-07-01", True), ("2027-07-01T09:30:00Z", True)],
)
@pytest.mark.parametrize("how", ["--at", "ZPLAN_NOW"])
def test_the_date_decides_expiry(
    zplan: Zplan, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, date: str, warned: bool, how: str
) -> None:
    write(tmp_path, "acct.yaml", with_promo("WELCOME10"))
    if how == "--at":
        result = zplan("--at", date, "validate", "--format", "json", "acct.yaml")
    else:
        monkeypatch.setenv("ZPLAN_NOW", date)
        result = zplan("validate", "--format", "json", "acct.yaml")
    assert result.code == 0, result.output
    codes = [d["code"] for d in diagnostics_of(result)]
    assert codes == (["promo-expired"] if warned else [])


def test_at_wins_over_zplan_now(
    zplan: Zplan, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write(tmp_path, "acct.yaml", with_promo("WELCOME10"))
    monkeypatch.setenv("ZPLAN_NOW", "2027-07-01")
    result = zplan("--at", "2027-01-01", "validate", "--format", "json", "acct.yaml")
    assert diagnostics_of(result) == []


def test_a_bad_date_is_a_usage_error(zplan: Zplan, tmp_path: Path) -> None:
    write(tmp_path, "acct.yaml", BASE)
    result = zplan("--at", "27/11/2026", "validate", "acct.yaml")
    assert result.code == 1
    assert "is not a date" in result.err
    no_traceback(result)


def test_promotion_for_another_cycle_warns(zplan: Zplan, tmp_path: Path) -> None:
    write(tmp_path, "acct.yaml", with_promo("STARTUP50"))
    result = zplan("--at", TODAY, "validate", "--format", "json", "acct.yaml")
    assert result.code == 0, result.output
    [warning] = diagnostics_of(result)
    assert (warning["severity"], warning["code"], warning["line"]) == ("warning", "promo-cycle", 8)
    assert "needs monthly billing" in warning["message"]


def test_promotion_for_other_products_warns(zplan: Zplan, tmp_path: Path) -> None:
    chat_only = edit(
        BASE[BASE.index("products:") :], "products:\n  chat: {edition: team, agents: 2}\n"
    )
    write(tmp_path, "acct.yaml", with_promo("welcome10", chat_only))
    result = zplan("--at", TODAY, "validate", "--format", "json", "acct.yaml")
    assert result.code == 0, result.output
    [warning] = diagnostics_of(result)
    assert (warning["severity"], warning["code"]) == ("warning", "promo-not-eligible")
    assert warning["message"].startswith("the promotion WELCOME10 applies to suite, support")


def test_cancelled_without_products_is_valid(zplan: Zplan, tmp_path: Path) -> None:
    cancelled = BASE[: BASE.index("products:")] + "status: cancelled\n"
    write(tmp_path, "acct.yaml", cancelled)
    result = zplan("--at", TODAY, "validate", "acct.yaml")
    assert result.code == 0, result.output
