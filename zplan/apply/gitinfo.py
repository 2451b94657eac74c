"""Which git commit each applied file comes from, found with a few git calls for all files.

An apply records, per account, the commit of the run (the CI's ``GITHUB_SHA``
/ ``CI_COMMIT_SHA``, else ``HEAD``), the last commit that touched the file,
and whether the file had uncommitted changes. Asking git once per file costs
two processes per account (seconds for a thousand accounts); this asks once
per repository.
"""

from __future__ import annotations

import os
import stat
import subprocess
from collections.abc import Sequence
from pathlib import Path, PurePosixPath
from typing import Any


def _git(directory: Path, *args: str) -> str | None:
    try:
        done = subprocess.run(
            ["git", "-C", str(directory), *args],  # noqa: S607 - git from PATH, as users run it
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return done.stdout if done.returncode == 0 else None


class GitCache:
    """What stays true for a whole apply, asked of git once: each directory's work tree
    (``rev-parse --show-toplevel``) and each work tree's ``HEAD``. An apply that writes
    in runs of accounts passes the same cache to every run."""

    def __init__(self) -> None:
        self.tops: dict[str, str | None] = {}  # real directory -> its work tree's top
        self.heads: dict[str, str] = {}  # top -> HEAD ("" when git has none)
        self.real: dict[str, str] = {}  # directory as given -> its real path


def commits_for(
    paths: Sequence[str], env_commit: str | None, cache: GitCache | None = None
) -> dict[str, dict[str, Any]]:
    """For each path: ``git_commit``, ``file_commit`` and ``file_dirty`` (where git knows)."""
    cache = cache if cache is not None else GitCache()
    result: dict[str, dict[str, Any]] = {
        path: {"git_commit": env_commit, "file_commit": None} for path in paths
    }
    repos: dict[str, dict[str, str]] = {}  # toplevel -> {path relative to it: given path}
    for path in paths:
        located = _located(path, cache)
        if located is None:
            continue
        directory, name = located
        if directory not in cache.tops:
            out = _git(Path(directory), "rev-parse", "--show-toplevel")
            cache.tops[directory] = str(Path(out.strip()).resolve()) if out else None
        top = cache.tops[directory]
        if top is not None:
            inside = PurePosixPath(directory).relative_to(top).as_posix()
            relative = name if inside == "." else f"{inside}/{name}"
            repos.setdefault(top, {})[relative] = path
    for top, files in repos.items():
        head = env_commit
        if not head:
            if top not in cache.heads:
                cache.heads[top] = (
                    _git(Path(top), "rev-parse", "--verify", "-q", "HEAD") or ""
                ).strip()
            head = cache.heads[top]
        last = _last_commits(Path(top), list(files))
        dirty = _dirty(Path(top), list(files))
        for relative, given in files.items():
            info = result[given]
            info["git_commit"] = head or None
            info["file_commit"] = last.get(relative)
            info["file_dirty"] = relative in dirty
    return result


def _located(path: str, cache: GitCache) -> tuple[str, str] | None:
    """(real directory, name) of a regular file, as ``Path(path).resolve()`` gives them;
    None when ``path`` is not a file. A file that is not a symbolic link is in its
    directory's real path: each directory is resolved once, not each file."""
    try:
        mode = os.lstat(path).st_mode
    except (OSError, ValueError):
        return None
    if stat.S_ISLNK(mode):
        if not os.path.isfile(path):
            return None
        return os.path.split(str(Path(path).resolve()))
    if not stat.S_ISREG(mode):
        return None
    given, name = os.path.split(path)
    real = cache.real.get(given)
    if real is None:
        real = cache.real[given] = str(Path(given or ".").resolve())
    return real, name


def _last_commits(top: Path, files: list[str]) -> dict[str, str]:
    """The most recent commit touching each file, from one ``git log``."""
    out = _git(top, "log", "--format=%x1e%H", "--name-only", "--no-renames", "--", *files)
    found: dict[str, str] = {}
    if not out:
        return found
    wanted = set(files)
    for record in out.split("\x1e")[1:]:
        lines = [line for line in record.splitlines() if line]
        if not lines:
            continue
        commit, names = lines[0], lines[1:]
        for name in names:
            if name in wanted and name not in found:
                found[name] = commit
        if len(found) == len(wanted):
            break
    return found


def _dirty(top: Path, files: list[str]) -> set[str]:
    """Files that differ from HEAD (modified, added or untracked)."""
    out = _git(
        top, "status", "--porcelain", "-z", "--no-renames", "--untracked-files=all", "--", *files
    )
    dirty: set[str] = set()
    if not out:
        return dirty
    for entry in out.split("\0"):
        if len(entry) > 3:
            dirty.add(entry[3:])
    return dirty
