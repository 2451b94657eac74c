"""Fuzzing with the example files mutated: as YAML trees (then as text), as text
only, and whole directories of them planned serially and in parallel.

Each input goes through ``fuzzcheck.exercise``: ``validate`` and ``plan`` (against the
``store`` fixture of tests/adversarial/conftest.py) must end cleanly within 2 s.
"""

from __future__ import annotations

import json
import random
import re
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings

from tests.adversarial.fuzzcheck import exercise
from tests.adversarial.fuzzgen import DEFAULT, SLOW, SLOW_EXAMPLES
from tests.adversarial.fuzzinputs import (
    EXAMPLE_TEXTS,
    EXAMPLES,
    choices,
    mutated_texts,
    mutated_trees,
)
from tests.adversarial.support import checked


@settings(DEFAULT, max_examples=150)
@given(mutated=mutated_trees(EXAMPLES), choice=choices)
def test_mutated_examples(store: str, mutated: tuple[bytes, list[str]], choice: Any) -> None:
    exercise(mutated[0], store, choice)


@DEFAULT
@given(raw=mutated_texts(EXAMPLE_TEXTS), choice=choices)
def test_mutated_example_texts(store: str, raw: bytes, choice: Any) -> None:
    exercise(raw, store, choice)


@pytest.mark.slow
@settings(SLOW, max_examples=SLOW_EXAMPLES["mutated"])
@given(mutated=mutated_trees(EXAMPLES), choice=choices)
def test_mutated_examples_slow(store: str, mutated: tuple[bytes, list[str]], choice: Any) -> None:
    exercise(mutated[0], store, choice)


@pytest.mark.slow
@settings(SLOW, max_examples=SLOW_EXAMPLES["mutated_text"])
@given(raw=mutated_texts(EXAMPLE_TEXTS), choice=choices)
def test_mutated_example_texts_slow(store: str, raw: bytes, choice: Any) -> None:
    exercise(raw, store, choice)


# Directories of fuzzed files: the parallel planner agrees with the serial one -------------


def _fuzzed_directory(seed: int, count: int, directory: Path) -> None:
    """``count`` example files, most for accounts of their own, many of them broken."""
    rng = random.Random(seed)
    names = sorted(EXAMPLE_TEXTS)
    for i in range(count):
        name = rng.choice(names)
        text = EXAMPLE_TEXTS[name]
        subdomain = EXAMPLES[name]["account"]["subdomain"]
        if rng.random() < 0.8:  # an account of its own; else a second file for the same one
            text = text.replace(f"subdomain: {subdomain}", f"subdomain: {subdomain}-{i}")
        lines = text.split("\n")
        for _ in range(rng.choice([0, 0, 1, 2, 3])):
            j = rng.randrange(len(lines))
            how = rng.randrange(6)
            if how == 0:
                del lines[j]
            elif how == 1:
                lines.insert(j, lines[j])
            elif how == 2:
                lines[j] = re.sub(
                    r"\d+", lambda m: str(int(m.group()) * rng.choice([0, 2, 10**6])), lines[j]
                )
            elif how == 3:
                lines[j] = " " + lines[j]
            elif how == 4:
                k = rng.randrange(len(lines[j]) + 1)
                lines[j] = (
                    lines[j][:k]
                    + rng.choice([":", "&a", "*a", "'", "\t", "é", "- "])
                    + lines[j][k:]
                )
            else:
                lines[j] = lines[j].replace(
                    "professional", rng.choice(["team", "enterprise", "pro"])
                )
        raw = "\n".join(lines).encode()
        if rng.random() < 0.05:
            raw = b"\xef\xbb\xbf" + raw.replace(b"\n", b"\r\n")
        sub = directory / f"d{i % 7}"
        sub.mkdir(exist_ok=True)
        (sub / f"{i:04d}-{name}").write_bytes(raw)


def _plan_directory(directory: Path, store: str, jobs: str) -> tuple[int, Any]:
    argv = [
        "--state",
        store,
        "--at",
        "2026-11-27T12:00:00Z",
        "plan",
        str(directory),
        "--format",
        "json",
    ]
    result = checked(argv, limit=60.0, env={"ZPLAN_JOBS": jobs})
    return result.code, json.loads(result.out)


@pytest.mark.parametrize(
    ("count", "seed"),
    [pytest.param(420, 1, id="default")]
    + [pytest.param(450, seed, id=f"slow-{seed}", marks=pytest.mark.slow) for seed in range(2, 6)],
)
def test_a_directory_of_fuzzed_files_planned_in_parallel(store: str, count: int, seed: int) -> None:
    """Over bulk.PARALLEL_FROM files: worker processes give the very plan the serial path does."""
    directory = Path("fuzzed-directory")
    directory.mkdir()
    _fuzzed_directory(seed, count, directory)
    checked(["validate", str(directory)], limit=60.0)
    serial = _plan_directory(directory, store, "1")
    parallel = _plan_directory(directory, store, "2")
    assert serial == parallel
    code, document = serial
    assert len(document["accounts"]) + len(document["diagnostics"]) > 0
    print(f"directory plan: exit {code}, {len(document['accounts'])} accounts")
