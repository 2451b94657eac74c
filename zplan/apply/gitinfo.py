"""Which git commit each applied file comes from, found with a few git calls for all files.

An apply records, per account, the commit of the run (the CI's ``GITHUB_SHA``
/ ``CI_COMMIT_SHA``, else ``HEAD``), the last commit that touched the file,
and whether the file had uncommitted changes. Asking git once per file costs
two processes per account (seconds for a thousand accounts); this asks once
per repository.
"""

from __future__ import annotations

import subprocess
from collections.abc import Sequence
from pathlib import Path
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


def commits_for(paths: Sequence[str], env_commit: str | None) -> dict[str, dict[str, Any]]:
    """For each path: ``git_commit``, ``file_commit`` and ``file_dirty`` (where git knows)."""
    result: dict[str, dict[str, Any]] = {
        path: {"git_commit": env_commit, "file_commit": None} for path in paths
    }
    repos: dict[Path, dict[str, str]] = {}  # toplevel -> {path relative to it: given path}
    tops: dict[Path, Path | None] = {}
    for path in paths:
        file = Path(path)
        if not file.is_file():
            continue
        directory = file.resolve().parent
        if directory not in tops:
            out = _git(directory, "rev-parse", "--show-toplevel")
            tops[directory] = Path(out.strip()).resolve() if out else None
        top = tops[directory]
        if top is not None:
            repos.setdefault(top, {})[file.resolve().relative_to(top).as_posix()] = path
    for top, files in repos.items():
        head = env_commit or (_git(top, "rev-parse", "--verify", "-q", "HEAD") or "").strip()
        last = _last_commits(top, list(files))
        dirty = _dirty(top, list(files))
        for relative, given in files.items():
            info = result[given]
            info["git_commit"] = head or None
            info["file_commit"] = last.get(relative)
            info["file_dirty"] = relative in dirty
    return result


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
