"""Where the SQLite store is, and whether its file may be trusted with a write.

Without ``--state``, zplan looks for ``.zplan/state.db`` from the current
directory up to the top of the git work tree (as git finds ``.git``), so every
subdirectory of a repository uses the same store. ``state init`` creates the
store there (directory 0700, file 0600, whatever the umask; never through a
symlink) and adds ``.zplan/`` to the work tree's ``.gitignore``. Before a
write, the file must be a regular file (not a symlink, not empty), owned by
the user running zplan, writable by nobody else, and not tracked by git (a
pull request could commit one).
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from zplan.errors import StateError

STORE_DIR = ".zplan"
STORE_NAME = "state.db"
SQLITE_MAGIC = b"SQLite format 3\x00"


def work_tree_top(start: Path) -> Path | None:
    """The nearest directory at or above ``start`` holding ``.git`` (a directory or a file)."""
    for directory in (start, *start.parents):
        if os.path.lexists(directory / ".git"):
            return directory
    return None


def discover(cwd: Path | None = None) -> Path:
    """The default store: the nearest ``.zplan/state.db`` up to the work tree's top.

    When there is none, the place ``state init`` would create it: the top of the
    work tree, or the current directory outside one.
    """
    start = (cwd or Path.cwd()).absolute()
    top = work_tree_top(start)
    upward = [start, *start.parents]
    directories = upward[: upward.index(top) + 1] if top is not None else upward[:1]
    for directory in directories:
        candidate = directory / STORE_DIR / STORE_NAME
        if os.path.lexists(candidate):
            return _relative(candidate, start)
    return _relative((top or start) / STORE_DIR / STORE_NAME, start)


def _relative(path: Path, start: Path) -> Path:
    try:
        return Path(os.path.relpath(path, start))
    except ValueError:
        return path


def missing(path: Path) -> StateError:
    from zplan.state.base import missing_store

    return missing_store(path)


def _refuse(path: Path, why: str, hint: str) -> StateError:
    return StateError(f"refusing the state store {path}: {why}; nothing was written", hint=hint)


def check_store_file(path: Path) -> None:
    """Raise unless ``path`` is a store file a write may trust."""
    try:
        info = os.lstat(path)
    except FileNotFoundError:
        raise missing(path) from None
    if stat.S_ISLNK(info.st_mode):
        raise _refuse(path, "it is a symlink", "point --state at the real file")
    if not stat.S_ISREG(info.st_mode):
        raise _refuse(path, "it is not a regular file", "point --state at a zplan store")
    _check_owner_and_mode(path, info, "file")
    parent = path.parent
    parent_info = os.lstat(parent if str(parent) else ".")
    if stat.S_ISLNK(parent_info.st_mode):
        raise _refuse(path, f"its directory {parent} is a symlink", "use the real directory")
    _check_owner_and_mode(path, parent_info, "directory")
    if info.st_size == 0:
        raise _refuse(
            path,
            "it is an empty file (zero bytes), not a zplan store",
            "zplan never treats an empty file as an empty store; remove it, or restore the store",
        )
    with open(path, "rb") as handle:
        if handle.read(len(SQLITE_MAGIC)) != SQLITE_MAGIC:
            raise _refuse(path, "it is not a zplan store (not an SQLite file)", "check --state")
    if tracked_by_git(path):
        raise _refuse(
            path,
            "it is tracked by git (a commit could replace it)",
            f"git rm --cached {path}, and keep {STORE_DIR}/ in .gitignore",
        )


def _check_owner_and_mode(path: Path, info: os.stat_result, what: str) -> None:
    if info.st_uid != os.geteuid():
        raise _refuse(
            path,
            f"its {what} is owned by another user (uid {info.st_uid})",
            "writes need a store of your own; reading (plan, history) works on any",
        )
    if info.st_mode & (stat.S_IWGRP | stat.S_IWOTH):
        raise _refuse(
            path,
            f"its {what} is writable by others (mode {stat.S_IMODE(info.st_mode):04o})",
            f"chmod go-w {path if what == 'file' else path.parent}",
        )


def tracked_by_git(path: Path) -> bool:
    """Whether git tracks ``path`` (only asked inside a work tree)."""
    absolute = path.absolute()
    if work_tree_top(absolute.parent) is None:
        return False
    return _git_says_yes(["ls-files", "--error-unmatch", "--", absolute.name], absolute.parent)


def _ignored(path: Path) -> bool:
    return _git_says_yes(["check-ignore", "-q", "--", path.name], path.parent)


def _git_says_yes(args: list[str], cwd: Path) -> bool:
    """Whether ``git ARGS`` exits 0 in ``cwd`` (no git, or a git that fails: no)."""
    import subprocess  # only where a store is written: reads never ask git

    try:
        done = subprocess.run(
            ["git", *args],  # noqa: S607 - git from PATH, as users run it
            cwd=cwd,
            capture_output=True,
            timeout=30,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return False
    return done.returncode == 0


def create_private(path: Path) -> None:
    """Make the store's directory (0700) and an empty file (0600); refuse any that exists."""
    directory = path.parent
    if os.path.lexists(path):
        raise StateError(
            f"{path} already exists",
            hint="a store is created once; zplan state init refuses to touch an existing file",
        )
    if os.path.islink(directory):
        raise _refuse(path, f"its directory {directory} is a symlink", "use a real directory")
    if not directory.exists():
        directory.parent.mkdir(parents=True, exist_ok=True)
        try:
            directory.mkdir(mode=0o700)
        except FileExistsError:
            pass
        else:
            os.chmod(directory, 0o700)  # mkdir's mode is cut by the umask
    flags = os.O_CREAT | os.O_EXCL | os.O_WRONLY | getattr(os, "O_NOFOLLOW", 0)
    try:
        fd = os.open(path, flags, 0o600)  # O_EXCL also refuses a dangling symlink
    except FileExistsError:
        raise StateError(
            f"{path} already exists (or is a dangling symlink)",
            hint="a store is created once, at a path that is free",
        ) from None
    try:
        os.fchmod(fd, 0o600)
    finally:
        os.close(fd)


def ignore(path: Path) -> str | None:
    """Add the store to the work tree's ``.gitignore``; the line added, if any."""
    absolute = path.absolute()
    top = work_tree_top(absolute.parent)
    if top is None:
        return None
    try:
        relative = absolute.parent.relative_to(top)
    except ValueError:
        return None
    if relative.name == STORE_DIR and len(relative.parts) == 1:
        line = f"{STORE_DIR}/"
    elif str(relative) == ".":
        line = f"/{absolute.name}*"
    else:
        line = f"/{relative.as_posix()}/"
    if _ignored(absolute):
        return None  # git ignores it already (a rule of the repository's own)
    gitignore = top / ".gitignore"
    try:
        existing = gitignore.read_text(encoding="utf-8")
    except FileNotFoundError:
        existing = ""
    except OSError:
        return None
    if line in existing.splitlines():
        return None
    with gitignore.open("a", encoding="utf-8") as handle:
        if existing and not existing.endswith("\n"):
            handle.write("\n")
        handle.write(f"{line}\n")
    return line
