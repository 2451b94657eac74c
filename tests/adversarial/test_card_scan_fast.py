"""The card scan finds long runs with one regex (issue 18): the same cards as run by run."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st
from zplan import redact


def _run_by_run(text: str) -> list[redact.Card]:
    """The scan as it was: every run of digits, then the long ones examined."""
    found = []
    for run in redact._DIGIT_RUN.finditer(text):
        written = run.group()
        digits = redact.digits_of(written)
        if len(digits) < 13:
            continue
        if len(digits) <= 19 and redact.luhn(digits) and redact._printed(written):
            found.append(redact.Card(run.start(), written, digits))
            continue
        found.extend(c for c in redact._cards_within(text, run) if redact._printed(c.text))
    return found


_CHARS = st.sampled_from(
    [
        *"0123456789" * 4,
        *" -._:\t",
        *"\u00a0\u1680\u2000\u2007\u200a\u202f\u205f\u3000",  # separators beyond ASCII
        *"a\n,×•é\U0001f4b0",  # not separators, some beyond ASCII
    ]
)


@settings(max_examples=3000, deadline=None)
@given(st.lists(_CHARS, max_size=80).map("".join))
def test_long_runs_found_by_the_regex_are_the_runs_scanned_one_by_one(text: str) -> None:
    assert redact.card_numbers(text) == _run_by_run(text)


def test_cards_among_many_short_numbers_are_still_found() -> None:
    text = "$4,697.75 2026-11-27 12.50 " * 200 + "pay 4111 1111 1111 1111 now " + "7.5 " * 100
    assert [c.digits for c in redact.card_numbers(text)] == ["4111111111111111"]
    assert "•••• 1111" in redact.mask_cards(text)
