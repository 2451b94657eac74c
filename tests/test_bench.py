"""The benchmark's smoke run: seconds, so that the script cannot rot."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

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
    one = results["one_account"]
    for key in ("validate", "plan_first_purchase", "plan_with_changes", "floor_python_yaml"):
        assert one[key]["median_s"] > 0
        assert one[key]["max_rss_mb"] > 0
    sizes = {k: v for k, v in results["plan_dir"].items() if k != "growth"}
    assert set(sizes) == {"5", "20"}
    for size, row in sizes.items():
        assert row["accounts_per_s"] > 0 and row["ratio_to_floor"] > 0, size
    applied = results["apply"]["sqlite"]
    assert applied["one_process"]["accounts"] == 10
    assert applied["four_processes"]["accounts"] == 40
    assert "(c) applies per second" in done.stdout
