"""Directory scans that cannot be turned against CI.

A pull request may add any kind of file under ``accounts/``: a symlink to
``/dev/zero``, to ``/proc/self/environ`` or to ``.git/config``, a FIFO, a
socket, a loop, a directory nobody may read. The scan reads regular files
only, and says so once for each of the others, quickly.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from zplan.load.document import MAX_BYTES, load_file, read_bounded

from tests.adversarial.support import EXAMPLES
from tests.conftest import TODAY, init_store, invoke

ACME = EXAMPLES / "accounts" / "acme.yaml"


def _hostile_tree(root: Path) -> dict[str, str]:
    """A directory of accounts with one of everything; name -> the diagnostic code it gets."""
    accounts = root / "accounts"
    (accounts / "sub").mkdir(parents=True)
    (root / ".git").mkdir()
    (root / ".git" / "config").write_text("[core]\n\tsecret_key = 1\n", encoding="utf-8")
    shutil.copy(ACME, accounts / "acme.yaml")
    (accounts / "zero.yaml").symlink_to("/dev/zero")
    os.mkfifo(accounts / "fifo.yaml")
    (accounts / "loop1.yaml").symlink_to("loop2.yaml")
    (accounts / "loop2.yaml").symlink_to("loop1.yaml")
    (accounts / "environ.yaml").symlink_to("/proc/self/environ")
    (accounts / "git.yaml").symlink_to(root / ".git" / "config")
    (accounts / "hidden.yaml").symlink_to(accounts / ".hidden" / "x.yaml")
    (accounts / ".hidden").mkdir()
    shutil.copy(ACME, accounts / ".hidden" / "x.yaml")
    (accounts / "dangling.yaml").symlink_to(accounts / "nowhere.yaml")
    (accounts / "sub" / "up").symlink_to("..")
    (accounts / "same.yaml").symlink_to("acme.yaml")  # inside the root: followed (once)
    server = socket.socket(socket.AF_UNIX)
    server.bind(str(accounts / "sock.yaml"))
    server.close()
    return {
        "zero.yaml": "symlink-not-followed",
        "fifo.yaml": "not-a-file",
        "loop1.yaml": "symlink-loop",
        "loop2.yaml": "symlink-loop",
        "environ.yaml": "symlink-not-followed",
        "git.yaml": "symlink-not-followed",
        "hidden.yaml": "symlink-not-followed",
        "dangling.yaml": "broken-symlink",
        "sub/up": "symlink-not-followed",
        "sock.yaml": "not-a-file",
    }


def test_a_hostile_directory_is_scanned_quickly_with_one_diagnostic_each(tmp_path: Path) -> None:
    expected = _hostile_tree(tmp_path)
    started = time.monotonic()
    done = subprocess.run(  # a real process: a FIFO opened for reading would hang it
        [sys.executable, "-m", "zplan", "validate", "accounts", "--format", "json"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    elapsed = time.monotonic() - started
    assert elapsed < 10, elapsed
    assert done.returncode == 1, done.stderr
    import json

    report = json.loads(done.stdout)
    found = {d["file"].removeprefix("accounts/"): d["code"] for d in report["diagnostics"]}
    assert found == expected, found
    assert len(report["diagnostics"]) == len(expected)  # one each
    assert "secret_key" not in done.stdout + done.stderr  # .git/config never read
    assert "PATH" not in done.stdout + done.stderr  # nor the environment


def test_plan_reports_them_too_and_plans_the_rest(tmp_path: Path) -> None:
    expected = _hostile_tree(tmp_path)
    state = init_store(str(tmp_path / "s.db"))
    result = invoke(["--state", state, "--at", TODAY, "plan", "accounts"])
    assert result.code == 1, result.output
    for name in expected:
        assert f"accounts/{name}:1:1: error" in result.out, name
    assert "Account acme (accounts/acme.yaml)" in result.out
    assert "This plan has errors and cannot be applied." in result.out


@pytest.mark.parametrize("kind", ["fifo", "zero", "loop"])
def test_a_named_special_file_is_one_diagnostic(tmp_path: Path, kind: str) -> None:
    target = tmp_path / "x.yaml"
    if kind == "fifo":
        os.mkfifo(target)
    elif kind == "zero":
        target.symlink_to("/dev/zero")
    else:
        target.symlink_to(target)
    done = subprocess.run(
        [sys.executable, "-m", "zplan", "validate", str(target)],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert done.returncode == 1
    lines = done.stdout.strip().splitlines()
    assert len(lines) == 2 and lines[0].startswith(f"{target}:1:1: error"), done.stdout
    assert "unexpected error" not in done.stderr


def test_a_named_symlink_out_of_its_directory_is_not_followed(tmp_path: Path) -> None:
    link = tmp_path / "accounts" / "environ.yaml"
    link.parent.mkdir()
    link.symlink_to("/proc/self/environ")
    result = invoke(["validate", str(link)])
    assert result.code == 1
    assert "symbolic link leads outside" in result.out


def test_reads_are_bounded_whatever_stat_says(tmp_path: Path) -> None:
    big = tmp_path / "big.yaml"
    big.write_bytes(b"# " + b"x" * (3 * MAX_BYTES))
    assert len(read_bounded(big)) == MAX_BYTES + 1
    document = load_file(big)
    assert [d.code for d in document.diagnostics] == ["file-too-large"]
    # /proc files say they are empty; the read stops at the bound all the same.
    assert len(read_bounded(Path("/proc/self/environ"))) <= MAX_BYTES + 1


def test_a_catalog_that_is_a_device_or_missing(tmp_path: Path) -> None:
    missing = invoke(["--catalog", str(tmp_path / "nowhere.yaml"), "catalog"])
    assert missing.code == 1 and "not found" in missing.err and "not valid" not in missing.err
    os.mkfifo(tmp_path / "fifo.yaml")
    done = subprocess.run(
        [sys.executable, "-m", "zplan", "--catalog", str(tmp_path / "fifo.yaml"), "catalog"],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert done.returncode == 1 and "FIFO" in done.stderr, done.stderr


def _without_privileges() -> list[str] | None:
    """A prefix that runs a command without the right to bypass file permissions.

    As root (CI containers), chmod 000 stops nothing: setpriv drops every
    capability, and root then gets only the owner's permissions, like anyone else.
    """
    if os.geteuid() != 0:
        return []
    setpriv = shutil.which("setpriv")
    if setpriv is None:
        return None
    return [setpriv, "--bounding-set=-all", "--inh-caps=-all"]


def test_an_unreadable_directory_is_a_diagnostic(tmp_path: Path) -> None:
    prefix = _without_privileges()
    if prefix is None:
        pytest.skip("running as root without setpriv: cannot make a directory unreadable")
    accounts = tmp_path / "accounts"
    (accounts / "locked").mkdir(parents=True)
    shutil.copy(ACME, accounts / "acme.yaml")
    shutil.copy(ACME, accounts / "locked" / "other.yaml")
    os.chmod(accounts / "locked", 0)
    try:
        done = subprocess.run(
            [*prefix, sys.executable, "-m", "zplan", "validate", "accounts"],
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
    finally:
        os.chmod(accounts / "locked", 0o755)
    assert done.returncode == 1, done.stdout + done.stderr
    assert "accounts/locked:1:1: error: (file): cannot read this directory" in done.stdout
    assert "1 file checked" in done.stdout
