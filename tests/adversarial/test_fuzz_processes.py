"""Fuzzed and worst-case files as real processes: wall time under 2 s and peak memory
under 200 MB (measured with ``os.wait4``).
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.adversarial.fuzzgen import DATES, DEFAULT, SLOW
from tests.adversarial.fuzzinputs import (
    EXAMPLE_TEXTS,
    EXAMPLES,
    data_documents,
    mutated_texts,
    mutated_trees,
)
from tests.adversarial.support import MEMORY_LIMIT_MB, TIME_LIMIT, measured

# Memory and time as real processes ----------------------------------------------------


def _bomb(levels: int = 9, width: int = 10) -> str:
    lines = ["zplan: 1", "a0: &a0 [" + ", ".join(["lol"] * width) + "]"]
    for i in range(1, levels):
        lines.append(f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * width) + "]")
    return "\n".join(lines) + "\n"


WORST_CASES = {
    "billion-laughs.yaml": _bomb(),
    "deep-flow.yaml": "zplan: 1\nx: " + "[" * 10_000 + "]" * 10_000 + "\n",
    "deep-block.yaml": "zplan: 1\nx:\n" + "".join(" " * i + "- \n" for i in range(1, 1000)),
    "wide.yaml": "zplan: 1\nx: [" + ", ".join(["1"] * 120_000) + "]\n",
    "just-under-1MiB.yaml": "zplan: 1\n# " + "x" * (1024 * 1024 - 20) + "\n",
    "over-1MiB.yaml": "zplan: 1\n" + "x: y\n" * 300_000,
    "many-keys.yaml": "zplan: 1\n" + "".join(f"k{i}: {i}\n" for i in range(9_990)),
    "long-line.yaml": "zplan: 1\nx: " + "a" * 1_000_000 + "\n",
    "many-errors.yaml": "zplan: 1\nproducts:\n"
    + "".join(f"  p{i}: {{edition: e, agents: 0}}\n" for i in range(2500)),
}


@pytest.mark.parametrize("name", sorted(WORST_CASES))
def test_worst_cases_stay_within_time_and_memory(
    name: str, tmp_path: Path, seeded_store: Path
) -> None:
    (tmp_path / name).write_text(WORST_CASES[name], encoding="utf-8")
    state = tmp_path / "state.db"
    shutil.copy(seeded_store, state)
    for argv in (["validate", name], ["--state", str(state), "--at", DATES[0], "plan", name]):
        run = measured(argv, tmp_path)
        assert run.code in (0, 1), run.output[-2000:]
        assert not any(m in run.output for m in ("Traceback", "unexpected error")), run.output[
            -2000:
        ]
        # A process pays ~0.3 s to start; the bound is for zplan's work and the start together.
        assert run.seconds < TIME_LIMIT, f"{name}: {run.seconds:.2f} s"
        assert run.max_rss_mb < MEMORY_LIMIT_MB, f"{name}: {run.max_rss_mb:.0f} MB"


_SAMPLES = st.one_of(
    mutated_trees(EXAMPLES).map(lambda m: m[0]),
    mutated_texts(EXAMPLE_TEXTS),
    st.binary(max_size=3000),
    data_documents(),
)


def _as_process(raw: bytes, date: str, plan: bool, directory: Path, state: Path) -> None:
    (directory / "sample.yaml").write_bytes(raw)
    argv = (
        ["--state", str(state), "--at", date, "plan", "sample.yaml"]
        if plan
        else ["validate", "sample.yaml"]
    )
    run = measured(argv, directory)
    assert run.code in (0, 1), (raw[:500], run.output[-2000:])
    assert not any(m in run.output for m in ("Traceback", "unexpected error")), run.output[-2000:]
    assert run.seconds < TIME_LIMIT, (raw[:500], run.seconds)
    assert run.max_rss_mb < MEMORY_LIMIT_MB, (raw[:500], run.max_rss_mb)


@settings(DEFAULT, max_examples=4)
@given(raw=_SAMPLES, date=st.sampled_from(DATES), plan=st.booleans())
def test_a_sample_of_fuzzed_files_as_processes(
    store: str, raw: bytes, date: str, plan: bool
) -> None:
    """Fuzzed files through real processes: peak memory (os.wait4) and wall time."""
    _as_process(raw, date, plan, Path.cwd(), Path(store))


@pytest.mark.slow
@settings(SLOW, max_examples=60)
@given(raw=_SAMPLES, date=st.sampled_from(DATES), plan=st.booleans())
def test_a_sample_of_fuzzed_files_as_processes_slow(
    store: str, raw: bytes, date: str, plan: bool
) -> None:
    _as_process(raw, date, plan, Path.cwd(), Path(store))
