"""What every fuzzed input must pass.

Every input, however broken, must give ``zplan validate`` and ``zplan plan``
an exit code of 0 or 1 with diagnostics: never a traceback, never the
"unexpected error" line, never more than 2 s (in process, through
``zplan.cli.run``), never a card number echoed; and the compiled schema check
agrees with jsonschema. ``plan`` runs against the ``store`` fixture
(tests/adversarial/conftest.py): an account for every example's subdomain (some
of them ``managed`` or ``add_agents_only``), at dates inside the term and after
renewals, so that the diff, the pricing, the renewals and the permission checks
run on what the fuzzer produces.
"""

from __future__ import annotations

import json
import re
import traceback
from pathlib import Path

from hypothesis import event, reject
from zplan.load import schema

from tests.adversarial.fuzzgen import CARDS, DATES
from tests.adversarial.support import checked

# The checks ------------------------------------------------------------------------


def check_validate(path: Path, fmt: str, catalog: str | None = None) -> None:
    extra = ["--catalog", catalog] if catalog else []
    argv = [*extra, "--at", DATES[0], "validate", str(path), "--format", fmt]
    result = checked(argv)
    event(f"validate exit {result.code}")
    if fmt == "json":
        report = json.loads(result.out)
        assert report["valid"] == (result.code == 0), result.out
        assert report["error_count"] == sum(d["severity"] == "error" for d in report["diagnostics"])
        if result.code == 1:
            assert report["error_count"] >= 1
        for diagnostic in report["diagnostics"]:
            assert diagnostic["line"] >= 1 and diagnostic["column"] >= 1, diagnostic
    elif fmt == "text" and result.code == 1:
        assert ": error: " in result.output or result.output.startswith("Error:"), result.output
    no_card_echoed(result.output)


def check_plan(
    path: Path, store: str, date: str, actor: str | None, fmt: str, catalog: str | None = None
) -> None:
    extra = ["--actor", actor] if actor else []
    extra += ["--catalog", catalog] if catalog else []
    argv = ["--state", store, "--at", date, *extra, "plan", str(path), "--format", fmt]
    result = checked(argv)
    event(f"plan exit {result.code}")
    if fmt == "json" and result.code == 0:
        document = json.loads(result.out)
        assert not schema.validate_data(schema.PLAN, document)
        changed = any(a["changes"] for a in document["accounts"])
        event("plan with changes" if changed else "plan without changes")
    no_card_echoed(result.output)


def no_card_echoed(output: str) -> None:
    digits = re.sub(r"[ -]", "", output)
    for number in CARDS:
        assert re.sub(r"[ -]", "", number) not in digits, "a card number was echoed"


def fast_schema_agrees(raw: bytes) -> None:
    """The compiled yes/no schema check agrees with jsonschema on what the loader made."""
    from zplan.load.document import load_bytes

    document = load_bytes(raw, "fuzzed.yaml")
    if document.ok and isinstance(document.data, dict) and "zplan" in document.data:
        fast = schema.is_valid(schema.SUBSCRIPTION, document.data)
        slow = not any(
            True for _ in schema._validator(schema.SUBSCRIPTION).iter_errors(document.data)
        )
        assert fast == slow, document.data


# Crashes found by this fuzzer that zplan has not fixed yet: (function, message, the
# regression test that keeps it). An input that hits one is set aside (hypothesis
# ``reject``), so that the fuzzer keeps looking for new ones; the regression test,
# marked xfail(strict=True), fails as soon as the fix lands, and then this entry goes.
KNOWN_LOADER_CRASHES: tuple[tuple[str, str, str], ...] = ()  # none open


def unless_known_crash(raw: bytes) -> bytes:
    """``raw``, unless the loader is known to crash on it (then the input is rejected)."""
    from zplan.load.document import load_bytes

    try:
        load_bytes(raw, "fuzzed.yaml")
    except ValueError as exc:
        where = traceback.extract_tb(exc.__traceback__)[-1].name
        for function, message, test in KNOWN_LOADER_CRASHES:
            if where == function and message in str(exc):
                event(f"known crash: {test}")
                reject()
        raise
    return raw


def exercise(raw: bytes, store: str, draw_choice: tuple[str, str, str | None, str]) -> None:
    """validate and plan one fuzzed file, in the formats and at the date and actor drawn."""
    fmt_validate, date, actor, fmt_plan = draw_choice
    path = Path("fuzzed.yaml")
    path.write_bytes(unless_known_crash(raw))
    check_validate(path, fmt_validate)
    check_plan(path, store, date, actor, fmt_plan)
    fast_schema_agrees(raw)
