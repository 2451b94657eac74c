"""Decimal money: rounding to the currency's minor unit, formatting.

Amounts are ``decimal.Decimal`` everywhere; floats never enter (the YAML
loader refuses them where money is read). Rounding is ROUND_HALF_UP to the
minor unit, once per invoice line.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

ZERO = Decimal("0")
HUNDRED = Decimal("100")

# Minor units by ISO 4217 code; two places unless listed here.
_MINOR_UNITS = {"JPY": 0, "KRW": 0, "CLP": 0, "ISK": 0, "HUF": 2, "KWD": 3, "BHD": 3, "JOD": 3}

_SYMBOLS = {"USD": "$", "EUR": "€", "GBP": "£", "JPY": "¥"}


def minor_units(currency: str) -> int:
    return _MINOR_UNITS.get(currency, 2)


_QUANTA: dict[str, Decimal] = {}  # currency -> its minor unit as a Decimal (made once)


def quantum(currency: str) -> Decimal:
    found = _QUANTA.get(currency)
    if found is None:
        found = _QUANTA[currency] = Decimal(1).scaleb(-minor_units(currency))
    return found


def round_money(amount: Decimal, currency: str) -> Decimal:
    """Round to the currency's minor unit, half up."""
    found = _QUANTA.get(currency)
    return amount.quantize(
        found if found is not None else quantum(currency), rounding=ROUND_HALF_UP
    )


def round_percent(value: Decimal) -> Decimal:
    return value.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


def parse_amount(text: str) -> Decimal:
    """A decimal string from a catalog or plan file; ValueError if it is not one."""
    try:
        value = Decimal(text)
    except (InvalidOperation, TypeError):
        raise ValueError(f"{text!r} is not a decimal amount") from None
    if not value.is_finite():
        raise ValueError(f"{text!r} is not a finite amount")
    return value


def to_json(amount: Decimal, currency: str) -> str:
    """The JSON form: a string with exactly the minor unit's places ("1234.50")."""
    # Rounded to the minor unit, a Decimal prints with exactly its places (the hot path of
    # every plan: round_money and minor_units inlined).
    if not amount:  # a third of every plan's amounts (no balance, nothing at renewal)
        zero = _ZEROS.get(currency)
        if zero is None:
            zero = _ZEROS[currency] = str(abs(amount.quantize(quantum(currency))))
        return zero
    found = _QUANTA.get(currency)
    value = amount.quantize(found if found is not None else quantum(currency), ROUND_HALF_UP)
    if not value:
        value = abs(value)  # no "-0.00"
    return str(value)


_ZEROS: dict[str, str] = {}  # currency -> zero as the JSON writes it


def percent_to_json(value: Decimal) -> str:
    rounded = round_percent(value)
    if rounded == 0:
        rounded = abs(rounded)
    return f"{rounded:.2f}"


_FORMS: dict[str, tuple[Decimal, str, str]] = {}  # currency -> (quantum, before, after)


def _form(currency: str) -> tuple[Decimal, str, str]:
    found = _FORMS.get(currency)
    if found is None:
        symbol = _SYMBOLS.get(currency)
        before, after = (symbol, "") if symbol else ("", f" {currency}")
        found = _FORMS[currency] = (quantum(currency), before, after)
    return found


def fmt(amount: Decimal, currency: str, *, signed: bool = False) -> str:
    """For people: ``$1,234.50``, ``-$12.00``; ``+$3.00`` when signed."""
    # Every account's text shows a dozen amounts: one quantize, one format, one lookup.
    found = _FORMS.get(currency)
    places, before, after = found if found is not None else _form(currency)
    value = amount.quantize(places, ROUND_HALF_UP)
    digits = f"{value:,f}"  # rounded to the minor unit: exactly its places
    if digits[0] == "-":
        digits = digits[1:]
        if value:
            return f"-{before}{digits}{after}"
    if signed:
        return f"+{before}{digits}{after}"
    return f"{before}{digits}{after}"
