"""Fuzzing with price books: a price book, however broken, is refused or used
cleanly by ``validate``, ``catalog``, ``catalog compare``, ``plan``, ``apply`` and
``state show``.
"""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest
from hypothesis import event, given, settings
from hypothesis import strategies as st

from tests.adversarial.fuzzcheck import check_plan, check_validate, unless_known_crash
from tests.adversarial.fuzzgen import DATES, DEFAULT, SLOW, SLOW_EXAMPLES
from tests.adversarial.fuzzinputs import EXAMPLE_TEXTS, fuzzed_catalogs
from tests.adversarial.support import EXAMPLE_FILES, checked
from tests.conftest import init_store

ACME_MORE_AGENTS = EXAMPLE_TEXTS["acme.yaml"].replace("agents: 25", "agents: 31")


def exercise_catalog(raw: bytes, date: str, product: str) -> None:
    """A fuzzed price book: validated, printed, compared, and used to buy, renew and change."""
    catalog = Path("fuzzed-catalog.yaml")
    catalog.write_bytes(unless_known_crash(raw))
    given = ["--catalog", str(catalog)]
    account = EXAMPLE_FILES[0]  # acme.yaml
    check_validate(catalog, "json")
    check_validate(account, "text", str(catalog))
    checked([*given, "catalog", "--format", "json"])
    checked([*given, "catalog"])
    checked([*given, "catalog", "compare", product])
    # A store of its own, whose account was bought with this very catalog: a catalog
    # that does not sell what a stored account has crashes plan (a known defect:
    # test_regression_stored_addon_the_catalog_does_not_sell), so that is left out here.
    state = init_store(str(Path(f"state-{uuid.uuid4().hex}.db")))
    owner = ["--state", state, "--actor", "owner@acme.example", *given]
    bought = checked([*owner, "--at", "2026-06-01", "apply", str(account), "--auto-approve"])
    event(f"catalog: purchase exit {bought.code}")
    changed = Path("acme-more-agents.yaml")
    changed.write_text(ACME_MORE_AGENTS, encoding="utf-8")
    check_plan(changed, state, date, "owner@acme.example", "json", str(catalog))
    if bought.code == 0:
        checked([*owner, "--at", date, "state", "show", "acme"])
        checked([*owner, "--at", date, "apply", str(changed), "--auto-approve"])
        checked([*owner, "--at", date, "history", "acme", "--verify"], codes=(0,))


@DEFAULT
@given(
    raw=fuzzed_catalogs(),
    date=st.sampled_from(DATES),
    product=st.sampled_from(["suite", "support", "chat", "nope"]),
)
def test_fuzzed_catalogs(raw: bytes, date: str, product: str) -> None:
    exercise_catalog(raw, date, product)


@pytest.mark.slow
@settings(SLOW, max_examples=SLOW_EXAMPLES["catalog"])
@given(
    raw=fuzzed_catalogs(),
    date=st.sampled_from(DATES),
    product=st.sampled_from(["suite", "support", "chat", "nope"]),
)
def test_fuzzed_catalogs_slow(raw: bytes, date: str, product: str) -> None:
    exercise_catalog(raw, date, product)
