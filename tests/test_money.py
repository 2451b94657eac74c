"""Money formatting for people, against the plain definition it replaced (issue 18)."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st
from zplan.money import fmt, minor_units, quantum

SYMBOLS = {"USD": "$", "EUR": "€", "GBP": "£", "JPY": "¥"}


def reference(amount: Decimal, currency: str, signed: bool) -> str:
    value = amount.quantize(quantum(currency), rounding=ROUND_HALF_UP)
    if value == 0:
        value = abs(value)
    digits = f"{abs(value):,.{minor_units(currency)}f}"
    symbol = SYMBOLS.get(currency)
    body = f"{symbol}{digits}" if symbol else f"{digits} {currency}"
    if value < 0:
        return f"-{body}"
    return f"+{body}" if signed else body


currencies = st.sampled_from(["USD", "EUR", "JPY", "KWD", "CHF", "HUF"])
amounts = st.decimals(
    min_value=Decimal("-1e12"), max_value=Decimal("1e12"), allow_nan=False, places=4
)


@given(amount=amounts, currency=currencies, signed=st.booleans())
def test_fmt_is_the_plain_definition(amount: Decimal, currency: str, signed: bool) -> None:
    assert fmt(amount, currency, signed=signed) == reference(amount, currency, signed)


@pytest.mark.parametrize(
    ("amount", "currency", "signed", "shown"),
    [
        ("-0", "USD", False, "$0.00"),
        ("-0.004", "USD", True, "+$0.00"),
        ("-0.005", "USD", False, "-$0.01"),
        ("1234567.891", "EUR", False, "€1,234,567.89"),
        ("-1234.5", "JPY", False, "-¥1,235"),
        ("999.9995", "KWD", True, "+1,000.000 KWD"),
    ],
)
def test_fmt_edges(amount: str, currency: str, signed: bool, shown: str) -> None:
    assert fmt(Decimal(amount), currency, signed=signed) == shown
