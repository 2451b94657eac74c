"""Which commit each applied file comes from (apply/gitinfo.py), in real git work trees.

``commits_for`` resolves each directory once, not each file (issue 18: an apply of
1,000 accounts spent ~30 µs an account resolving paths); here it is checked against
the long way (every file's ``Path.resolve()``), with symbolic links to files and to
directories, files outside any work tree, missing paths, and a cache shared by the runs
of one apply.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from zplan.apply import gitinfo
from zplan.apply.gitinfo import GitCache, commits_for


def _git(where: Path, *args: str) -> str:
    env = {
        **os.environ,
        "GIT_AUTHOR_NAME": "t",
        "GIT_AUTHOR_EMAIL": "t@example.com",
        "GIT_COMMITTER_NAME": "t",
        "GIT_COMMITTER_EMAIL": "t@example.com",
    }
    done = subprocess.run(
        ["git", "-C", str(where), *args], capture_output=True, text=True, env=env, check=True
    )
    return done.stdout.strip()


def _long_way(paths: Sequence[str], env_commit: str | None) -> dict[str, dict[str, Any]]:
    """What commits_for gave before issue 18: each file resolved on its own."""
    result: dict[str, dict[str, Any]] = {
        path: {"git_commit": env_commit, "file_commit": None} for path in paths
    }
    repos: dict[Path, dict[str, str]] = {}
    for path in paths:
        file = Path(path)
        if not file.is_file():
            continue
        out = gitinfo._git(file.resolve().parent, "rev-parse", "--show-toplevel")
        if out:
            top = Path(out.strip()).resolve()
            repos.setdefault(top, {})[file.resolve().relative_to(top).as_posix()] = path
    for top, files in repos.items():
        head = env_commit or (gitinfo._git(top, "rev-parse", "--verify", "-q", "HEAD") or "")
        last = gitinfo._last_commits(top, list(files))
        dirty = gitinfo._dirty(top, list(files))
        for relative, given in files.items():
            result[given].update(
                git_commit=head.strip() or None,
                file_commit=last.get(relative),
                file_dirty=relative in dirty,
            )
    return result


def _trees(tmp_path: Path) -> tuple[list[str], dict[str, str]]:
    """Two work trees and a plain directory, with links across them; returns the paths
    to ask about and the commit of each repository's HEAD."""
    one, two, plain = tmp_path / "one", tmp_path / "two", tmp_path / "plain"
    for repo in (one, two):
        (repo / "accounts" / "eu").mkdir(parents=True)
        _git(repo, "init", "-q")
    plain.mkdir()
    (one / "accounts" / "acme.yaml").write_text("a\n")
    (one / "accounts" / "eu" / "globex.yaml").write_text("g\n")
    (one / "accounts" / "eu" / "hooli.yaml").write_text("h\n")
    (one / "top.yaml").write_text("t\n")
    (one / "other.yaml").write_text("o\n")
    (two / "accounts" / "initech.yaml").write_text("i\n")
    for repo in (one, two):
        _git(repo, "add", "-A")
        _git(repo, "commit", "-q", "-m", "first")
    first_of_two = _git(two, "rev-parse", "HEAD")
    (one / "accounts" / "acme.yaml").write_text("a, changed\n")  # dirty
    (one / "accounts" / "new.yaml").write_text("n\n")  # untracked
    (two / "accounts" / "later.yaml").write_text("l\n")
    _git(two, "add", "-A")
    _git(two, "commit", "-q", "-m", "second")
    (plain / "stray.yaml").write_text("s\n")
    # A link to a file of the other work tree, a linked directory, and a dangling link.
    (one / "accounts" / "linked.yaml").symlink_to(two / "accounts" / "initech.yaml")
    (tmp_path / "via").symlink_to(one / "accounts")
    (one / "accounts" / "gone.yaml").symlink_to(tmp_path / "nowhere.yaml")
    paths = [
        str(one / "accounts" / "acme.yaml"),
        str(one / "accounts" / "eu" / "globex.yaml"),
        str(one / "accounts" / "new.yaml"),
        str(one / "top.yaml"),
        str(one / "accounts" / "linked.yaml"),
        str(tmp_path / "via" / "eu" / "hooli.yaml"),  # (one file, one path: apply refuses twins)
        str(tmp_path / "via" / ".." / "other.yaml"),  # the link first, then its parent
        str(two / "accounts" / "later.yaml"),
        str(plain / "stray.yaml"),
        str(one / "accounts" / "gone.yaml"),
        str(one / "accounts" / "missing.yaml"),
        str(one / "accounts"),  # a directory, not a file
    ]
    heads = {
        "one": _git(one, "rev-parse", "HEAD"),
        "two": _git(two, "rev-parse", "HEAD"),
        "first of two": first_of_two,
    }
    return paths, heads


def test_same_as_resolving_every_file(tmp_path: Path, monkeypatch: Any) -> None:
    paths, heads = _trees(tmp_path)
    expected = _long_way(paths, None)
    assert commits_for(paths, None) == expected
    # Relative paths, as a user gives them from the work tree.
    monkeypatch.chdir(tmp_path / "one")
    relative = ["accounts/acme.yaml", "accounts/eu/../eu/globex.yaml", "top.yaml", "accounts"]
    assert commits_for(relative, None) == _long_way(relative, None)
    # The facts themselves, so that both ways cannot be wrong together.
    acme, globex, new, top, linked, via, up, later, stray, gone, missing, folder = (
        expected[p] for p in paths
    )
    assert acme["file_dirty"] and not globex["file_dirty"] and new["file_dirty"]
    assert acme["git_commit"] == heads["one"] == acme["file_commit"] == via["file_commit"]
    assert new["file_commit"] is None and up["file_commit"] == heads["one"]
    assert linked["git_commit"] == heads["two"] == later["file_commit"]
    assert linked["file_commit"] == heads["first of two"] != heads["two"]
    for outside in (stray, gone, missing, folder):
        assert outside == {"git_commit": None, "file_commit": None}
    assert top["file_commit"] == heads["one"]


def test_runs_of_one_apply_ask_git_less(tmp_path: Path, monkeypatch: Any) -> None:
    """With one cache, each directory's work tree and each HEAD are asked once; the files'
    own commits and changes are asked per run (a file can change between runs)."""
    paths, _heads = _trees(tmp_path)
    calls: list[tuple[str, ...]] = []
    real = gitinfo._git

    def counted(directory: Path, *args: str) -> str | None:
        calls.append(args[:2])
        return real(directory, *args)

    monkeypatch.setattr(gitinfo, "_git", counted)
    cache = GitCache()
    first = commits_for(paths[:5], None, cache)
    asked = len(calls)
    second = commits_for(paths[:5], None, cache)
    again = calls[asked:]
    assert first == second == _long_way(paths[:5], None)
    assert ("rev-parse", "--show-toplevel") not in again
    assert ("rev-parse", "--verify") not in again
    assert sorted(again) == sorted([("log", "--format=%x1e%H"), ("status", "--porcelain")] * 2)
    # The CI's commit, when given, is the run's commit everywhere git knows the file.
    with_env = commits_for(paths, "f" * 40, GitCache())
    assert with_env == _long_way(paths, "f" * 40)
