"""Security of saved plans: any edit of a saved plan, a plan signed by another store,
and plan files built to crash ``show`` or ``apply`` are refused; nothing is written.
"""

from __future__ import annotations

import copy
import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.adversarial.security_support import (
    ADMIN,
    OWNER,
    SECRET_REF2,
    TODAY,
    Account,
    snapshot,
    subscription,
)
from tests.adversarial.support import assert_clean, checked
from tests.conftest import invoke

# Saved plans: integrity ------------------------------------------------------------


def _leaf_paths(value: Any, path: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    if isinstance(value, dict) and value:
        for key, item in value.items():
            yield from _leaf_paths(item, (*path, key))
    elif isinstance(value, list) and value:
        for index, item in enumerate(value):
            yield from _leaf_paths(item, (*path, index))
    else:
        yield path


def _containers(value: Any, path: tuple[Any, ...] = ()) -> Iterator[tuple[tuple[Any, ...], Any]]:
    if isinstance(value, dict):
        yield path, value
        for key, item in value.items():
            yield from _containers(item, (*path, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _containers(item, (*path, index))


def _get(document: Any, path: tuple[Any, ...]) -> Any:
    for step in path:
        document = document[step]
    return document


def _changed(value: Any) -> Any:
    """Another value of the same kind (the smallest edit a person or a tool would make)."""
    if isinstance(value, bool):
        return not value
    if isinstance(value, int):
        return value + 1
    if isinstance(value, float):
        return value + 0.5
    if isinstance(value, str):
        return value[:-1] + ("1" if value[-1:] != "1" else "2") if value else "x"
    if value is None:
        return "x"
    if isinstance(value, list):
        return [1]
    return {"x": 1}


def _edits(plan: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    """The plan edited one field at a time: each leaf changed, each key removed, a key added."""
    for path in _leaf_paths(plan):
        edited = copy.deepcopy(plan)
        _get(edited, path[:-1])[path[-1]] = _changed(_get(plan, path))
        yield "change " + ".".join(map(str, path)), edited
    for path, mapping in _containers(plan):
        for key in mapping:
            edited = copy.deepcopy(plan)
            del _get(edited, path)[key]
            yield "remove " + ".".join(map(str, (*path, key))), edited
        edited = copy.deepcopy(plan)
        _get(edited, path)["approved_by"] = OWNER
        yield "add " + ".".join(map(str, (*path, "approved_by"))), edited


def test_every_field_of_a_saved_plan_edited_is_refused(acme: Account) -> None:
    """Each leaf changed, each key removed, a key added, one at a time: refused, nothing written."""
    text = subscription(
        agents=30, admins=(ADMIN, "ops@acme.example"), promo="LOYALTY5", payment_ref=SECRET_REF2
    )
    plan_path = acme.save(text, actor=OWNER)
    plan = json.loads(plan_path.read_text())
    assert len(plan["accounts"][0]["changes"]) >= 4
    before = acme.snapshot()
    edits = 0
    for what, edited in _edits(plan):
        edited_path = acme.dir / "edited.json"
        edited_path.write_text(json.dumps(edited, indent=2, ensure_ascii=False), encoding="utf-8")
        result = acme.run("apply", str(edited_path), actor=OWNER)
        assert result.code == 1, f"{what}: {result.output}"
        assert "Apply complete" not in result.output, what
        assert acme.snapshot() == before, f"{what}: the store changed"
        edits += 1
    assert edits > 200
    # The plan as saved still applies: the refusals were about the edits.
    assert acme.run("apply", str(plan_path), actor=OWNER).code == 0
    acme.verify()


def test_reformatting_a_saved_plan_is_not_an_edit(acme: Account) -> None:
    """Key order and whitespace do not count; the content is what is signed."""
    plan_path = acme.save(subscription(agents=30), actor=OWNER)
    plan = json.loads(plan_path.read_text())
    plan_path.write_text(json.dumps(plan, sort_keys=True, separators=(",", ":")), encoding="utf-8")
    assert acme.run("apply", str(plan_path), actor=OWNER).code == 0


@pytest.mark.parametrize("other", ["another-store", "untrusted-key"])
def test_a_plan_signed_by_another_store_is_refused(
    acme: Account, other: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A plan made against another store (same account bought there), or signed by a key
    this store does not trust (issue 12: plans are signed by a registered plan key)."""
    if other == "untrusted-key":
        assert invoke(["keygen", str(tmp_path / "stranger.key")]).code == 0
        trusted = os.environ["ZPLAN_PLAN_KEY"]
        monkeypatch.setenv("ZPLAN_PLAN_KEY", str(tmp_path / "stranger.key"))
        plan_path = acme.save(subscription(agents=30), actor=OWNER)
        monkeypatch.setenv("ZPLAN_PLAN_KEY", trusted)
        state = Path(acme.state)
    else:
        plan_path = acme.save(subscription(agents=30), actor=OWNER)
        elsewhere = Account(tmp_path / "elsewhere")
        state = Path(elsewhere.state)
    before = snapshot(str(state))
    result = checked(
        ["--state", str(state), "--at", TODAY, "--actor", OWNER, "apply", str(plan_path)]
    )
    assert result.code == 1, result.output
    assert "signature does not match" in result.output
    assert snapshot(str(state)) == before
    if other == "another-store":  # the store that made it accepts it
        assert acme.run("apply", str(plan_path), actor=OWNER).code == 0


# Regressions: plan files -----------------------------------------------------------


def test_regression_non_ascii_signature(acme: Account) -> None:
    plan_path = acme.save(subscription(agents=30), actor=OWNER)
    plan = json.loads(plan_path.read_text())
    plan["signature"] = "hmac-sha256:" + "é" * 64
    plan_path.write_text(json.dumps(plan), encoding="utf-8")
    before = acme.snapshot()
    result = invoke(
        ["--state", acme.state, "--at", TODAY, "--actor", OWNER, "apply", str(plan_path)]
    )
    assert_clean(result, ["apply", "plan.json"])
    assert result.code == 1 and "signature" in result.output
    assert acme.snapshot() == before


@pytest.mark.parametrize("command", ["apply", "show"])
def test_regression_deeply_nested_plan_file(acme: Account, command: str) -> None:
    path = acme.dir / "deep.json"
    path.write_text(
        '{"plan_id": "x", "a": ' + "[" * 100_000 + "]" * 100_000 + "}", encoding="utf-8"
    )
    argv = ["--state", acme.state, "--actor", OWNER, command, str(path)]
    result = invoke(argv)
    assert_clean(result, argv)
    assert result.code == 1


@pytest.mark.parametrize(
    ("field", "value"),
    [
        (("accounts",), [1]),
        (("accounts", 0, "totals"), "x"),
        (("accounts", 0, "invoice", "due_now"), "a lot"),
        (("accounts", 0, "invoice", "lines", 0, "description"), None),
    ],
    ids=["accounts", "totals", "due-now", "line-description"],
)
@pytest.mark.parametrize("fmt", ["text", "markdown"])
def test_regression_show_of_an_edited_plan_file(
    acme: Account, field: tuple[Any, ...], value: Any, fmt: str
) -> None:
    plan_path = acme.save(subscription(agents=30), actor=OWNER)
    plan = json.loads(plan_path.read_text())
    _get(plan, field[:-1])[field[-1]] = value
    plan_path.write_text(json.dumps(plan), encoding="utf-8")
    result = invoke(["show", str(plan_path), "--format", fmt])
    assert_clean(result, ["show", "plan.json"])
