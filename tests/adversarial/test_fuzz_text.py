"""Fuzzing with inputs that owe nothing to zplan's files: arbitrary text, YAML token
soup, raw bytes, and documents of arbitrary data under zplan's top-level keys.

Each input goes through ``fuzzcheck.exercise``: ``validate`` and ``plan`` (against the
``store`` fixture of tests/adversarial/conftest.py) must end cleanly within 2 s.
"""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.adversarial.fuzzcheck import exercise
from tests.adversarial.fuzzgen import DEFAULT, SLOW, SLOW_EXAMPLES
from tests.adversarial.fuzzinputs import choices, data_documents, yaml_soup

# The fuzz tests: default run ----------------------------------------------------------


@DEFAULT
@given(text=st.one_of(st.text(), yaml_soup), choice=choices)
def test_arbitrary_text(store: str, text: str, choice: Any) -> None:
    exercise(text.encode("utf-8", "surrogatepass"), store, choice)


@DEFAULT
@given(raw=st.binary(max_size=2000), choice=choices)
def test_raw_bytes(store: str, raw: bytes, choice: Any) -> None:
    exercise(raw, store, choice)


@DEFAULT
@given(raw=data_documents(), choice=choices)
def test_documents_of_arbitrary_data(store: str, raw: bytes, choice: Any) -> None:
    exercise(raw, store, choice)


# The slow run: the same generators, more than 10,000 inputs ------------------------


@pytest.mark.slow
@settings(SLOW, max_examples=SLOW_EXAMPLES["text"])
@given(text=st.one_of(st.text(), yaml_soup), choice=choices)
def test_arbitrary_text_slow(store: str, text: str, choice: Any) -> None:
    exercise(text.encode("utf-8", "surrogatepass"), store, choice)


@pytest.mark.slow
@settings(SLOW, max_examples=SLOW_EXAMPLES["bytes"])
@given(raw=st.binary(max_size=4000), choice=choices)
def test_raw_bytes_slow(store: str, raw: bytes, choice: Any) -> None:
    exercise(raw, store, choice)


@pytest.mark.slow
@settings(SLOW, max_examples=SLOW_EXAMPLES["data"])
@given(raw=data_documents(), choice=choices)
def test_documents_of_arbitrary_data_slow(store: str, raw: bytes, choice: Any) -> None:
    exercise(raw, store, choice)
