"""The products a change adds and removes: deepdiff's answer, found without deepdiff when
both sides hold the same products (most changes: seats, editions, add-ons, the cycle)."""

from __future__ import annotations

import subprocess
import sys

from hypothesis import given
from hypothesis import strategies as st
from zplan.model import Config
from zplan.plan.diff import _paths, added_and_removed

from tests.conftest import ROOT
from tests.plan.test_properties import SETTINGS, configs


def _by_deepdiff(base: Config, desired: Config) -> tuple[list[str], list[str]]:
    paths = _paths(base, desired)
    added = sorted({p[1] for r, p in paths if r == "dictionary_item_added" and len(p) == 2})
    removed = sorted({p[1] for r, p in paths if r == "dictionary_item_removed" and len(p) == 2})
    return added, removed


@SETTINGS
@given(base=configs(), desired=configs(), same=st.booleans())
def test_added_and_removed_products_are_deepdiffs(
    base: Config, desired: Config, same: bool
) -> None:
    if same:  # the same products, other seats, editions, add-ons or cycle
        lines = {line.product: line for line in desired.products}
        desired = base._replace(
            products=tuple(lines.get(line.product, line) for line in base.products),
            cycle=desired.cycle,
        )
    assert added_and_removed(base, desired) == _by_deepdiff(base, desired)


def test_a_change_of_seats_is_planned_without_importing_deepdiff(tmp_path: object) -> None:
    script = """
import datetime as dt, sys
from zplan.load.catalog import load_catalog
from zplan.model import Config, Cycle, ProductLine
from zplan.plan.diff import compare
catalog = load_catalog(None)
now = Config(Cycle.ANNUAL, (ProductLine("suite", "professional", 10),))
more = Config(Cycle.ANNUAL, (ProductLine("suite", "professional", 12),))
day = dt.date(2026, 11, 27)
seats = compare(catalog, "USD", now, now, more, day, dt.date(2027, 3, 1))
assert [c.kind.value for c in seats.changes] == ["agents_increase"], seats.changes
print("deepdiff" in sys.modules)
support = Config(Cycle.ANNUAL, (*now.products, ProductLine("support", "team", 2)))
compare(catalog, "USD", now, now, support, day, dt.date(2027, 3, 1))
print("deepdiff" in sys.modules)
"""
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, cwd=ROOT, check=True
    )
    assert done.stdout.split() == ["False", "True"]  # a product added: deepdiff says which
