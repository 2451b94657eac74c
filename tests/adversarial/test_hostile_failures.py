"""Failures that are not zplan's bugs: one clear line, exit 1, nothing half-written, no lock left.

Missing output directories, read-only stores and directories, a full disk
(``ulimit -f`` in a real process), a busy store. Read-only commands work on a
read-only store.
"""

from __future__ import annotations

import os
import re
import resource
import shutil
import signal
import sqlite3
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.adversarial.support import EXAMPLES
from tests.conftest import TODAY, Result, init_store, invoke

OWNER = "owner@acme.example"
ACME = EXAMPLES / "accounts" / "acme.yaml"


def _one_clear_error(result: Result) -> None:
    assert result.code == 1, result.output
    assert "unexpected error" not in result.output and "report it as a bug" not in result.output
    assert "Traceback" not in result.output
    errors = [line for line in result.err.splitlines() if line.startswith("Error:")]
    assert len(errors) == 1, result.err


def _bought(tmp_path: Path) -> str:
    shutil.copy(ACME, tmp_path / "acme.yaml")
    state = init_store(str(tmp_path / "store" / "state.db"))
    bought = invoke(
        ["--state", state, "--at", TODAY, "--actor", OWNER, "apply", "acme.yaml", "--auto-approve"]
    )
    assert bought.code == 0, bought.output
    return state


@pytest.mark.parametrize(
    "argv",
    [
        ["plan", "acme.yaml", "--out", "/no/such/dir/p.json"],
        ["export", "acme", "-o", "/no/such/x.yaml"],
        ["plan", "acme.yaml", "--out", "."],
        ["export", "acme", "-o", "acme.yaml/x.yaml"],
    ],
)
def test_an_output_that_cannot_be_written_is_one_line(tmp_path: Path, argv: list[str]) -> None:
    state = _bought(tmp_path)
    before = sorted(p.name for p in tmp_path.iterdir())
    result = invoke(["--state", state, "--at", TODAY, "--actor", OWNER, *argv])
    _one_clear_error(result)
    assert "cannot write" in result.err or "Invalid value" in result.err, result.err
    assert sorted(p.name for p in tmp_path.iterdir()) == before  # no stray temporary file


def _sub(argv: list[str], cwd: Path, preexec: Callable[[], None] | None = None) -> Result:
    done = subprocess.run(
        [*_unprivileged(), sys.executable, "-m", "zplan", *argv],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        preexec_fn=preexec,
    )
    return Result(done.returncode, done.stdout, done.stderr)


def _unprivileged() -> list[str]:
    """As root, setpriv drops the capabilities that bypass file permissions."""
    if os.geteuid() != 0:
        return []
    setpriv = shutil.which("setpriv")
    if setpriv is None:
        pytest.skip("running as root without setpriv: permissions cannot be tested")
    return [setpriv, "--bounding-set=-all", "--inh-caps=-all"]


READERS = [
    ["plan", "acme.yaml"],
    ["history", "acme"],
    ["history", "acme", "--verify"],
    ["state", "show", "acme"],
    ["export", "acme"],
]


@pytest.mark.parametrize("what", ["directory", "file"])
def test_a_read_only_store_reads_and_refuses_writes_in_one_line(tmp_path: Path, what: str) -> None:
    state = _bought(tmp_path)
    store = Path(state)
    target = store.parent if what == "directory" else store
    mode = 0o555 if what == "directory" else 0o444
    os.chmod(target, mode)
    try:
        for argv in READERS:
            read = _sub(["--state", state, "--at", TODAY, *argv], tmp_path)
            assert read.code == 0, (argv, read.output)
        text = (tmp_path / "acme.yaml").read_text().replace("agents: 25", "agents: 26")
        (tmp_path / "acme.yaml").write_text(text)
        written = _sub(
            [
                "--state",
                state,
                "--at",
                TODAY,
                "--actor",
                OWNER,
                "apply",
                "acme.yaml",
                "--auto-approve",
            ],
            tmp_path,
        )
        _one_clear_error(written)
        assert "read-only" in written.err, written.err
    finally:
        os.chmod(target, 0o700 if what == "directory" else 0o600)
    # Nothing was left behind that stops the next apply (a read-only -shm made busy errors).
    again = _sub(
        ["--state", state, "--at", TODAY, "--actor", OWNER, "apply", "acme.yaml", "--auto-approve"],
        tmp_path,
    )
    assert again.code == 0, again.output
    assert "1 account changed" in again.out


def _file_size_limit(kib: int) -> Callable[[], None]:
    def limit() -> None:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # writes fail with EFBIG instead
        resource.setrlimit(resource.RLIMIT_FSIZE, (kib * 1024, kib * 1024))

    return limit


@pytest.mark.parametrize("kib", [32, 72, 150, 200, 300])
def test_a_full_disk_is_one_line_and_leaves_no_lock(tmp_path: Path, kib: int) -> None:
    accounts = tmp_path / "accounts"
    accounts.mkdir()
    text = ACME.read_text()
    for index in range(40):
        (accounts / f"a{index:02}.yaml").write_text(
            text.replace("subdomain: acme", f"subdomain: acme{index:02}")
        )
    state = init_store(str(tmp_path / "store" / "state.db"))
    argv = [
        "--state",
        state,
        "--at",
        TODAY,
        "--actor",
        OWNER,
        "apply",
        "accounts",
        "--auto-approve",
    ]
    done = subprocess.run(
        [sys.executable, "-m", "zplan", *argv],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        preexec_fn=_file_size_limit(kib),
    )
    result = Result(done.returncode, done.stdout, done.stderr)
    _one_clear_error(result)
    assert "disk" in result.err or "size limit" in result.err, result.err
    assert "Apply complete" not in result.out
    if not Path(state).exists():
        return
    with sqlite3.connect(state) as conn:
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master")}
        if "locks" not in tables:
            return
        locks = conn.execute("SELECT lock_id FROM locks").fetchall()
        written = [r[0] for r in conn.execute("SELECT subdomain FROM accounts ORDER BY 1")]
    if locks:  # the lock could not be released on the full disk: the message says how
        assert f"zplan force-unlock acme00 {locks[0][0]}" in result.err, result.err
    if written:  # and what was written before the disk filled up
        said = re.search(r"written before it: ([a-z0-9, ]+)\)", result.err)
        assert said is not None and said.group(1).split(", ") == written, result.err
    else:
        assert "no account was written" in result.err or "written before" not in result.err


@pytest.mark.slow
def test_a_store_that_stays_busy_is_one_line(tmp_path: Path) -> None:
    """Another process holds the write lock past the 30 s busy timeout."""
    state = _bought(tmp_path)
    text = (tmp_path / "acme.yaml").read_text().replace("agents: 25", "agents: 26")
    (tmp_path / "acme.yaml").write_text(text)
    holder = sqlite3.connect(state, isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")
    try:
        done = subprocess.run(
            [
                *(sys.executable, "-m", "zplan", "--state", state, "--at", TODAY),
                *("--actor", OWNER, "apply", "acme.yaml", "--auto-approve"),
            ],
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    result = Result(done.returncode, done.stdout, done.stderr)
    _one_clear_error(result)
    assert "busy" in result.err, result.err
