"""The benchmark's smoke run (seconds, so that the script cannot rot), and the accounting its
figures rest on: a launcher's RUSAGE_CHILDREN counts forked workers' CPU and their peak."""

from __future__ import annotations

import json
import random
import subprocess
import sys
from pathlib import Path

from bench.accounts import account_file, cached_tree
from bench.measure import check_accounting
from bench.run import command_lines

from tests.conftest import ROOT


def test_benchmark_smoke_run(tmp_path: Path) -> None:
    out = tmp_path / "results.json"
    done = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "run.py"), "--smoke", "--out", str(out)],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    results = json.loads(out.read_text())
    cold = results["cold_start"]
    for key in ("validate", "plan_first_purchase", "plan_with_changes", "floor_python_yaml"):
        assert cold[key]["wall_s"] > 0 and cold[key]["cpu_s"] > 0, key
        assert cold[key]["max_rss_mb"] > 5, key
    # zplan imports far more than Python alone does.
    assert cold["validate"]["cpu_s"] > cold["python_S_startup"]["cpu_s"]
    assert set(results["sizes"]) == {"5", "20"}
    for size, row in results["sizes"].items():
        for key in ("floor", "validate", "plan_first_purchase", "plan_no_change", "apply"):
            assert row[key]["cpu_s"] > 0 and row[key]["max_rss_mb"] > 0, (size, key)
        for key in ("validate", "plan_first_purchase", "plan_no_change"):
            assert row[key]["cpu_x_floor"] > 0, (size, key)
        assert row["workers_speedup"] > 0
    assert results["growth"]["steps"][0]["from"] == 5
    assert "mb_per_10k" in results["growth"]["steps"][0]["validate"]
    whats = [t["what"] for t in results["targets"]]
    assert "cold start: validate FILE, CPU" in whats
    assert all(isinstance(t["met"], bool) for t in results["targets"])
    assert results["accounting"]["workers_cpu_counted"] is True
    assert "(c) applies" in done.stdout and "targets (issue 18)" in done.stdout
    # The tables again from the results file, measuring nothing.
    again = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "run.py"), "--report", str(out)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert again.returncode == 0, again.stderr
    assert "targets (issue 18)" in again.stdout and "growth of peak memory" in again.stdout


def test_forked_workers_cpu_and_peak_are_counted() -> None:
    """What the bench relies on for plans with workers: their CPU is added, and the peak is
    that of the largest single process (a 100 MB worker), not a sum, not the parent's."""
    checked = check_accounting(burn_s=0.15, worker_mb=100)
    assert checked["workers_cpu_counted"], checked
    assert checked["worker_peak_counted"], checked
    assert checked["peak_not_summed"], checked


def test_generated_trees_are_cached_and_seeded(tmp_path: Path) -> None:
    first, cached = cached_tree(30, 5, tmp_path)
    assert not cached and len(list(first.glob("*.yaml"))) == 30
    (first / "acct00000.yaml").write_text("touched", encoding="utf-8")
    again, cached = cached_tree(30, 5, tmp_path)
    assert cached and again == first  # not regenerated
    assert (again / "acct00000.yaml").read_text(encoding="utf-8") == "touched"
    other, cached = cached_tree(30, 6, tmp_path)
    assert not cached and other != first
    # Same seed and index, same file: the tree is reproducible from a clean clone.
    rng = random.Random(5 * 1_000_003 + 7)
    assert (first / "acct00007.yaml").read_text(encoding="utf-8") == account_file(rng, 7)[1]


def test_peer_command_lines_fit_their_room() -> None:
    names = [f"acct{i:05d}.yaml" for i in range(1000)]  # 15 bytes each with the space
    assert command_lines(names, 1 << 20) == [names]
    batches = command_lines(names, 150)
    assert [n for batch in batches for n in batch] == names  # all, in order
    assert all(sum(len(n) + 1 for n in batch) <= 150 for batch in batches)
    assert len(batches) == 100
    assert command_lines(["a" * 300], 150) == [["a" * 300]]  # too long alone: still run


def test_compare_runs_two_versions_on_the_same_files() -> None:
    done = subprocess.run(
        [
            sys.executable,
            str(ROOT / "bench" / "compare.py"),
            *("HEAD", "--size", "20", "--rounds", "1", "--json"),
        ],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    figures = json.loads(done.stdout)["figures"]
    assert set(figures) == {
        "floor",
        "plan DIR, first purchases | checkout",
        "plan DIR, first purchases | HEAD",
        "plan DIR, no changes | checkout",
        "plan DIR, no changes | HEAD",
    }
    assert all(f["cpu_s"] > 0 and f["x_floor"] > 0 for f in figures.values())


def test_compare_names_a_revision_git_does_not_know() -> None:
    done = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "compare.py"), "no-such-revision", "--size", "5"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 1
    assert "git archive no-such-revision:" in done.stderr
