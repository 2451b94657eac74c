"""Whole-process measurements: wall time, CPU time and peak memory of a command and its workers.

Every command is started by a small launcher process (``_LAUNCHER``) that waits for it
and reports ``getrusage(RUSAGE_CHILDREN)``:

- CPU: ``ru_utime + ru_stime``. When a process is waited for, the kernel adds to its
  parent's children totals the process's own times *and* those of the descendants it
  waited for itself; ``ProcessPoolExecutor`` joins its workers on shutdown, so zplan's
  worker processes are counted. ``check_accounting`` verifies it on this machine (the
  test suite runs it too).
- Peak memory: ``ru_maxrss`` of RUSAGE_CHILDREN is the largest peak RSS of any single
  waited-for descendant (the kernel keeps the maximum, it does not add), so it is the
  peak of the largest single process: zplan's parent or one of its workers.
- The launcher exists because on Linux a child's ``ru_maxrss`` starts from the
  high-water mark of the process it was forked from (the mark survives ``exec``): a
  command forked from this script, grown large by its own bookkeeping, would report this
  script's size. The launcher is small (~10 MB, below anything it measures).
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from typing import Any

_LAUNCHER = """
import resource, subprocess, sys, time
started = time.perf_counter()
code = subprocess.call(sys.argv[1:])
seconds = time.perf_counter() - started
usage = resource.getrusage(resource.RUSAGE_CHILDREN)
print(seconds, usage.ru_utime + usage.ru_stime, usage.ru_maxrss, file=sys.stderr)
sys.exit(code)
"""


@dataclass
class Run:
    wall: float
    cpu: float
    max_rss_kb: int
    code: int
    out: str


def run(
    argv: list[str],
    env: dict[str, str] | None = None,
    cwd: str | os.PathLike[str] | None = None,
) -> Run:
    """One whole process (and its workers): wall time, total CPU time, largest peak RSS."""
    full_env = {**os.environ, **(env or {})}
    full_env.pop("ZPLAN_TEST_GUARD", None)
    with tempfile.TemporaryFile() as output, tempfile.TemporaryFile() as report:
        process = subprocess.run(
            [sys.executable, "-S", "-c", _LAUNCHER, *argv],
            env=full_env,
            cwd=cwd,
            stdout=output,
            stderr=report,
            stdin=subprocess.DEVNULL,
            check=False,
        )
        output.seek(0)
        report.seek(0)
        lines = report.read().decode("utf-8", "replace").splitlines()
        try:
            seconds, cpu, max_rss = lines[-1].split()
        except (IndexError, ValueError):
            raise SystemExit(
                f"launcher failed for {' '.join(argv)}:\n" + "\n".join(lines[-20:])
            ) from None
        text = output.read().decode("utf-8", "replace") + "\n".join(lines[:-1])
    return Run(float(seconds), float(cpu), int(max_rss), process.returncode, text)


def summary(runs: list[Run]) -> dict[str, Any]:
    """Medians (and spread) of several runs of one command."""
    walls = [r.wall for r in runs]
    cpus = [r.cpu for r in runs]
    return {
        "wall_s": round(statistics.median(walls), 4),
        "cpu_s": round(statistics.median(cpus), 4),
        "max_rss_mb": round(statistics.median(r.max_rss_kb for r in runs) / 1024, 1),
        "runs": len(runs),
        "wall_min_s": round(min(walls), 4),
        "wall_max_s": round(max(walls), 4),
        "cpu_min_s": round(min(cpus), 4),
        "cpu_max_s": round(max(cpus), 4),
        "max_rss_max_mb": round(max(r.max_rss_kb for r in runs) / 1024, 1),
    }


def timed(
    argv: list[str],
    repeat: int,
    ok: tuple[int, ...] = (0, 2),
    **kwargs: Any,
) -> dict[str, Any]:
    """``repeat`` whole-process runs of ``argv``; fails loudly if one exits otherwise than ``ok``."""
    runs = []
    for _ in range(repeat):
        result = run(argv, **kwargs)
        if result.code not in ok:
            raise SystemExit(
                f"benchmark command failed ({result.code}): {' '.join(argv)}\n{result.out[-2000:]}"
            )
        runs.append(result)
    return summary(runs)


# What the launcher reports, checked on this machine --------------------------------

_WORKERS = """
import multiprocessing, sys, time
from concurrent.futures import ProcessPoolExecutor

def burn(megabytes):
    block = bytearray(megabytes * 1024 * 1024)  # touched: resident
    for i in range(0, len(block), 4096):
        block[i] = 1
    end = time.process_time() + float(sys.argv[1])
    while time.process_time() < end:
        pass
    return len(block)

if __name__ == "__main__":
    pool = ProcessPoolExecutor(2, mp_context=multiprocessing.get_context("fork"))
    with pool:
        list(pool.map(burn, [int(sys.argv[2]), 1]))
"""


def check_accounting(burn_s: float = 0.3, worker_mb: int = 120) -> dict[str, Any]:
    """Two forked ProcessPoolExecutor workers each burn ``burn_s`` of CPU; one of them also
    holds ``worker_mb`` MB. The launcher must report at least both workers' CPU, and a peak
    of at least ``worker_mb`` (the worker's), while the parent stays small."""
    result = run([sys.executable, "-c", _WORKERS, str(burn_s), str(worker_mb)])
    if result.code != 0:
        raise SystemExit(f"accounting check failed:\n{result.out[-2000:]}")
    peak_mb = result.max_rss_kb / 1024
    return {
        "workers_cpu_expected_s": 2 * burn_s,
        "cpu_reported_s": round(result.cpu, 3),
        "workers_cpu_counted": result.cpu >= 2 * burn_s * 0.95,
        "worker_peak_expected_mb": worker_mb,
        "peak_reported_mb": round(peak_mb, 1),
        "worker_peak_counted": peak_mb >= worker_mb,
        "peak_not_summed": peak_mb < worker_mb + 60,
    }
