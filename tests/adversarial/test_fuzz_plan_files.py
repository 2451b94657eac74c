"""Fuzzing with saved plans edited into any shape: ``show`` and ``apply`` refuse them
cleanly, and nothing is applied.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from hypothesis import Phase, event, given, settings
from hypothesis import strategies as st

from tests.adversarial.fuzzgen import DATES, DEFAULT, SLOW, SLOW_EXAMPLES
from tests.adversarial.fuzzinputs import EXAMPLE_TEXTS, edited_plans
from tests.adversarial.support import assert_clean, checked
from tests.conftest import Keys, invoke, key_env

# Saved plans, edited into any shape: show and apply refuse them cleanly -----------------


@pytest.fixture(scope="module")
def signing_store(
    seeded_store: Path, tmp_path_factory: pytest.TempPathFactory, keys: Keys
) -> tuple[Path, dict[str, Any]]:
    """A copy of the seeded store that has signed a plan (acme: 25 -> 30 agents), and the plan."""
    directory = tmp_path_factory.mktemp("saved")
    state = directory / "state.db"
    shutil.copy(seeded_store, state)
    changed = directory / "acme.yaml"
    changed.write_text(EXAMPLE_TEXTS["acme.yaml"].replace("agents: 25", "agents: 30"))
    out = directory / "plan.json"
    argv = [
        "--state",
        str(state),
        "--at",
        DATES[0],
        "--actor",
        "owner@acme.example",
        "plan",
        str(changed),
        "--out",
        str(out),
    ]
    result = invoke(argv, env=key_env(keys))
    assert result.code == 0, result.output
    return state, json.loads(out.read_text())


@pytest.fixture
def saved_plan(signing_store: tuple[Path, dict[str, Any]]) -> dict[str, Any]:
    return signing_store[1]


@pytest.fixture
def signer(signing_store: tuple[Path, dict[str, Any]], tmp_path: Path) -> str:
    """A private copy of the store that signed ``saved_plan``: edits are checked against it."""
    target = tmp_path / "signer"
    target.mkdir(mode=0o700)
    shutil.copy(signing_store[0], target / "state.db")
    return str(target / "state.db")


def exercise_plan_file(text: str, store: str, fmt: str, show: bool) -> None:
    path = Path("edited-plan.json")
    path.write_text(text, encoding="utf-8")
    if show:
        assert_clean(invoke(["show", str(path), "--format", fmt]), ["show", str(path)])
    applied = checked(
        ["--state", store, "--at", DATES[0], "--actor", "owner@acme.example", "apply", str(path)]
    )
    assert applied.code == 1, applied.output  # edited: refused, never applied
    assert "Apply complete" not in applied.output
    event(f"edited plan: {applied.output.strip().splitlines()[-1][:60]}")


@DEFAULT
@given(data=st.data())
def test_edited_plan_files_are_refused(
    signer: str, saved_plan: dict[str, Any], data: st.DataObject
) -> None:
    """apply refuses a saved plan edited into any shape, cleanly (show: the test below)."""
    exercise_plan_file(data.draw(edited_plans(saved_plan)), signer, "text", show=False)


@settings(DEFAULT, phases=[Phase.generate], max_examples=200)
@given(data=st.data())
def test_show_of_edited_plan_files(
    signer: str, saved_plan: dict[str, Any], data: st.DataObject
) -> None:
    fmt = data.draw(st.sampled_from(["text", "json", "markdown"]))
    exercise_plan_file(data.draw(edited_plans(saved_plan)), signer, fmt, show=True)


@pytest.mark.slow
@settings(SLOW, max_examples=SLOW_EXAMPLES["plan_file"])
@given(data=st.data())
def test_edited_plan_files_slow(
    signer: str, saved_plan: dict[str, Any], data: st.DataObject
) -> None:
    exercise_plan_file(data.draw(edited_plans(saved_plan)), signer, "text", show=False)
