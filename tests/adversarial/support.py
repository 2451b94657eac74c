"""Helpers shared by the adversarial tests: clean-exit checks, timing, memory, example files."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from zplan.load.document import load_text

from tests.conftest import EXAMPLES, Result, invoke

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE_FILES = sorted((EXAMPLES / "accounts").glob("*.yaml"))
DEFAULT_CATALOG = ROOT / "zplan" / "catalogs" / "zendesk-list-2026-11.yaml"
NEGOTIATED_CATALOG = EXAMPLES / "catalogs" / "acme-negotiated.yaml"

# Seconds of CPU, per command, for any input (the bound). CPU time, not wall time:
# the bound is about what zplan does with an input, and a busy machine (2 cores shared by
# the test workers and whatever else runs) stretches wall time by 2x and more. A hang is
# still caught: measured() kills a command after 30 s of wall time.
TIME_LIMIT = 2.0
MEMORY_LIMIT_MB = 200.0
CRASH_MARKERS = ("Traceback", "unexpected error")


def example_data(path: Path) -> dict:
    """An example file as zplan's own loader reads it (dates stay strings)."""
    document = load_text(path.read_text(encoding="utf-8"), path.name)
    assert document.ok, document.diagnostics
    assert isinstance(document.data, dict)
    return document.data


def assert_clean(result: Result, argv: Sequence[str], codes: Sequence[int] = (0, 1)) -> None:
    """An exit code from ``codes``, and neither a traceback nor the crash message."""
    shown = " ".join(a if len(a) < 80 else a[:80] + "…" for a in argv)
    assert result.code in codes, f"zplan {shown}: exit {result.code}\n{result.output[-3000:]}"
    for marker in CRASH_MARKERS:
        assert marker not in result.output, f"zplan {shown}: {marker}\n{result.output[-3000:]}"


def checked(
    argv: Sequence[str],
    codes: Sequence[int] = (0, 1),
    limit: float = TIME_LIMIT,
    env: dict[str, str] | None = None,
) -> Result:
    """Run zplan in this process through ``zplan.cli.run``; it must end cleanly within ``limit``."""
    started = time.process_time()
    result = invoke(list(argv), env=env)
    elapsed = time.process_time() - started
    assert_clean(result, argv, codes)
    assert elapsed < limit, f"zplan {' '.join(argv)[:200]} took {elapsed:.2f} s of CPU"
    return result


def crash_logs(directory: Path) -> list[Path]:
    """The crash logs zplan wrote into ``directory`` (the ``crash_dir`` fixture's)."""
    return sorted(directory.glob("zplan-crash-*.log"))


@dataclass(frozen=True)
class Measured:
    code: int
    out: str
    err: str
    seconds: float
    max_rss_mb: float

    @property
    def output(self) -> str:
        return self.out + self.err


# A small launcher process runs zplan and reports the peak memory of its child: on Linux a
# child's ru_maxrss keeps the high-water mark of the process it was forked from (a test
# worker may hold hundreds of MB), so zplan must be forked from a process that is small.
_LAUNCHER = """
import resource, subprocess, sys, time
try:
    code = subprocess.call(sys.argv[2:], timeout=float(sys.argv[1]))
except subprocess.TimeoutExpired:
    code = -9
usage = resource.getrusage(resource.RUSAGE_CHILDREN)
seconds = usage.ru_utime + usage.ru_stime  # CPU time of zplan, as the limit is stated
print(seconds, usage.ru_maxrss, file=sys.stderr)
sys.exit(code if code >= 0 else 137)
"""


def measured(
    argv: Sequence[str], cwd: Path, env: dict[str, str] | None = None, timeout: float = 30.0
) -> Measured:
    """Run ``python -m zplan ARGV`` and report its CPU time and peak memory."""
    out_path, err_path = cwd / ".measured.out", cwd / ".measured.err"
    full_env = {**os.environ, "ZPLAN_TEST_GUARD": "1", **(env or {})}
    with out_path.open("wb") as out, err_path.open("wb") as err:
        process = subprocess.run(
            [sys.executable, "-c", _LAUNCHER, str(timeout), sys.executable, "-m", "zplan", *argv],
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=err,
            cwd=cwd,
            env=full_env,
            check=False,
        )
    errors = err_path.read_text(encoding="utf-8", errors="replace").splitlines()
    seconds, max_rss_kib = errors[-1].split()
    return Measured(
        process.returncode,
        out_path.read_text(encoding="utf-8", errors="replace"),
        "\n".join(errors[:-1]) + ("\n" if len(errors) > 1 else ""),
        float(seconds),
        int(max_rss_kib) / 1024,  # KiB on Linux
    )
