"""Issue 12: the SQLite store is created on purpose, found where expected, and its file checked.

A write refuses a zero-byte file, a file that is not a zplan store, a symlink, a
file or directory others may write, and a file git tracks; ``state init`` makes
the directory 0700 and the file 0600 whatever the umask, refuses a dangling
symlink, and keeps the store out of git. Read-only commands open any store
read-only and create nothing.
"""

from __future__ import annotations

import os
import sqlite3
import stat
import subprocess
from pathlib import Path

import pytest

from tests.conftest import TODAY, Zplan, init_store
from tests.state.conftest import OWNER, subscription_file


def write(zplan: Zplan, state: str | Path, path: Path) -> tuple[int, str]:
    result = zplan(
        "--state", str(state), "--at", TODAY, "--actor", OWNER, "apply", "--auto-approve", str(path)
    )
    return result.code, result.output


@pytest.fixture
def store(tmp_path: Path) -> Path:
    return Path(init_store(str(tmp_path / "store" / "state.db")))


def test_init_makes_a_private_store_whatever_the_umask(zplan: Zplan, tmp_path: Path) -> None:
    old = os.umask(0)
    try:
        path = Path(init_store(str(tmp_path / "open" / "state.db")))
    finally:
        os.umask(old)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    again = zplan("--state", str(path), "state", "init", "--sandbox")
    assert again.code == 1 and "already exists" in again.err


def test_init_refuses_a_dangling_symlink(zplan: Zplan, tmp_path: Path) -> None:
    (tmp_path / "d").mkdir(mode=0o700)
    link = tmp_path / "d" / "state.db"
    link.symlink_to(tmp_path / "elsewhere.db")
    refused = zplan("--state", str(link), "state", "init", "--sandbox")
    assert refused.code == 1, refused.output
    assert not (tmp_path / "elsewhere.db").exists()


def test_init_works_with_zplan_now_set(zplan: Zplan, tmp_path: Path) -> None:
    made = zplan(
        "--state",
        str(tmp_path / "s" / "state.db"),
        "state",
        "init",
        "--sandbox",
        env={"ZPLAN_NOW": "2030-01-01"},
    )
    assert made.code == 0, made.output


def test_an_ordinary_store_needs_an_apply_key(
    zplan: Zplan, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("ZPLAN_SIGNING_KEY")
    refused = zplan("--state", str(tmp_path / "s" / "state.db"), "state", "init")
    assert refused.code == 1 and "needs the public key" in refused.err
    assert not (tmp_path / "s" / "state.db").exists()


def test_a_sandbox_keeps_its_own_keys_when_none_is_given(
    zplan: Zplan, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, example: Path
) -> None:
    for name in ("ZPLAN_SIGNING_KEY", "ZPLAN_PLAN_KEY", "ZPLAN_OPERATOR_KEY"):
        monkeypatch.delenv(name)
    state = tmp_path / "s" / "state.db"
    made = zplan("--state", str(state), "state", "init", "--sandbox")
    assert made.code == 0 and "sandbox key kept at" in made.out, made.output
    assert stat.S_IMODE((state.parent / "sandbox-apply.key").stat().st_mode) == 0o600
    assert write(zplan, state, example)[0] == 0
    admin = zplan(
        "--state",
        str(state),
        "--actor",
        "ops@zplan.example",
        "--at",
        TODAY,
        "admin",
        "account",
        "acme",
        "--type",
        "managed",
    )
    assert admin.code == 0, admin.output


@pytest.mark.parametrize("what", ["zero-byte", "not-sqlite", "sqlite-not-zplan"])
def test_a_file_that_is_not_a_zplan_store_is_refused(
    zplan: Zplan, tmp_path: Path, what: str, example: Path
) -> None:
    directory = tmp_path / "d"
    directory.mkdir(mode=0o700)
    path = directory / "state.db"
    if what == "zero-byte":
        path.touch(mode=0o600)
    elif what == "not-sqlite":
        path.write_text("hello")
        path.chmod(0o600)
    else:
        sqlite3.connect(path).execute("CREATE TABLE t (x)").connection.close()
        path.chmod(0o600)
    before = path.read_bytes()
    code, output = write(zplan, path, example)
    assert code == 1 and ("not a zplan" in output or "empty file" in output), output
    assert path.read_bytes() == before
    shown = zplan("--state", str(path), "history", "acme")
    assert shown.code == 1 and "Traceback" not in shown.output


def test_a_symlinked_store_is_refused(
    zplan: Zplan, store: Path, tmp_path: Path, example: Path
) -> None:
    link = store.parent / "link.db"
    link.symlink_to(store)
    code, output = write(zplan, link, example)
    assert code == 1 and "symlink" in output, output


@pytest.mark.parametrize("target", ["file", "directory"])
def test_a_store_others_may_write_is_refused(
    zplan: Zplan, store: Path, example: Path, target: str
) -> None:
    (store if target == "file" else store.parent).chmod(0o666 if target == "file" else 0o777)
    code, output = write(zplan, store, example)
    assert code == 1 and "writable by others" in output, output


def test_a_store_of_another_user_is_refused_for_writes_but_read(
    zplan: Zplan, store: Path, example: Path
) -> None:
    if os.geteuid() != 0:
        pytest.skip("changing a file's owner needs root")
    assert write(zplan, store, example)[0] == 0
    os.chown(store, 12345, 12345)
    code, output = write(zplan, store, example)
    assert code == 1 and "owned by another user" in output, output
    shown = zplan("--state", str(store), "history", "acme", "--verify")
    assert shown.code == 0, shown.output


def git(cwd: Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True)


def test_discovery_up_to_the_work_tree_top_and_git_rules(
    zplan: Zplan, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, example: Path
) -> None:
    repo = tmp_path / "repo"
    (repo / "accounts" / "deep").mkdir(parents=True)
    git(repo, "init", "-q")
    monkeypatch.delenv("ZPLAN_TEST_GUARD")
    monkeypatch.chdir(repo / "accounts" / "deep")
    made = zplan("state", "init", "--sandbox")
    assert made.code == 0 and "added .zplan/ to .gitignore" in made.out, made.output
    assert (repo / ".zplan" / "state.db").exists()
    assert ".zplan/" in (repo / ".gitignore").read_text().splitlines()
    done = zplan("--at", TODAY, "--actor", OWNER, "apply", "--auto-approve", str(example))
    assert done.code == 0, done.output
    assert "State: sqlite:///../../.zplan/state.db" in done.out
    monkeypatch.chdir(repo)
    assert zplan("history", "acme", "--verify").code == 0
    # A store committed to the repository (as a pull request could) is refused.
    git(repo, "add", "-f", ".zplan/state.db")
    code, output = write(zplan, ".zplan/state.db", subscription_file(tmp_path, agents=7))
    assert code == 1 and "tracked by git" in output, output


def test_reading_a_missing_store_creates_nothing(
    zplan: Zplan, tmp_path: Path, example: Path
) -> None:
    state = tmp_path / "nothing" / "state.db"
    for argv in (
        ("plan", str(example)),
        ("state", "heads"),
        ("state", "show", "acme"),
        ("history", "acme", "--verify"),
        ("export", "acme"),
    ):
        result = zplan("--state", str(state), "--at", TODAY, *argv)
        assert result.code in (0, 1) and "Traceback" not in result.output
    assert not state.parent.exists()


def test_read_only_commands_open_the_store_read_only(
    zplan: Zplan, store: Path, example: Path
) -> None:
    assert write(zplan, store, example)[0] == 0
    store.parent.chmod(0o500)
    store.chmod(0o400)
    try:
        shown = zplan("--state", str(store), "history", "acme", "--verify")
        assert shown.code == 0, shown.output
        planned = zplan("--state", str(store), "--at", TODAY, "plan", str(example))
        assert planned.code == 0, planned.output
    finally:
        store.parent.chmod(0o700)
        store.chmod(0o600)
