"""Files and directories given on the command line, read and checked.

Every command that takes ``PATH...`` takes files and directories. A directory
is searched recursively for ``*.yaml`` / ``*.yml`` in sorted order, skipping
dot-directories. The top-level key decides what a file is: ``zplan:`` a
subscription file, ``catalog:`` a price book, anything else is skipped (and
counted), except a file named on the command line, which must be a zplan file.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import gc
import itertools
import os
import stat
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, NamedTuple

from zplan.diagnostics import Diagnostic, Severity, sort_diagnostics
from zplan.errors import UsageError
from zplan.load import schema
from zplan.load.catalog import Catalog, check_catalog
from zplan.load.document import Document, FileKind, kind_of, load_file
from zplan.load.rules import check_subscription, control_characters
from zplan.model import Desired
from zplan.redact import card_numbers, mask_cards


@dataclass(slots=True)
class Checked:
    """One file after loading, schema and rules."""

    document: Document
    kind: FileKind
    diagnostics: list[Diagnostic]
    desired: Desired | None = None

    @property
    def ok(self) -> bool:
        return not any(d.is_error for d in self.diagnostics)


@dataclass(slots=True)
class Workspace:
    files: list[Checked] = field(default_factory=list)
    skipped: int = 0
    diagnostics: list[Diagnostic] = field(default_factory=list)  # across files (duplicates)

    @property
    def subscriptions(self) -> list[Checked]:
        return [f for f in self.files if f.kind is FileKind.SUBSCRIPTION]

    @property
    def all_diagnostics(self) -> list[Diagnostic]:
        found = [d for f in self.files for d in f.diagnostics]
        return sort_diagnostics([*found, *self.diagnostics])

    @property
    def notes(self) -> list[str]:
        return [skip_note(self.skipped)] if self.skipped else []


@contextlib.contextmanager
def long_run() -> Iterator[None]:
    """A run over many files. What is loaded by now (modules, the catalog) lives until the
    end: frozen, no collection visits it again (nor copies it into a forked worker). And
    the young generation is collected every 50,000 allocations, not 700: a file's objects
    are freed by reference counting as it is dropped, and a collection every few files
    cost 4-8 % of a plan's CPU (docs/performance.md)."""
    gc.freeze()
    threshold = gc.get_threshold()
    gc.set_threshold(50_000, *threshold[1:])
    try:
        yield
    finally:
        gc.set_threshold(*threshold)


def skip_note(count: int) -> str:
    if count == 1:
        return "skipped 1 file that is not a zplan file"
    return f"skipped {count} files that are not zplan files"


def expand(
    paths: Sequence[str], problems: list[Diagnostic] | None = None
) -> Iterator[tuple[str, str, bool]]:
    """(path, display name, named on the command line) for every file under ``paths``.

    Only regular files are given out. A symlink is followed only to a regular
    file inside the directory scanned (for a file named on the command line,
    inside its own directory or the working directory), never into a hidden
    directory such as ``.git``. Devices, FIFOs, sockets, links that lead
    elsewhere, loops and unreadable directories are each one diagnostic in
    ``problems`` (an error: an account file that cannot be read must not be
    left out of a plan silently); none is opened.
    """
    for given in paths:
        path = Path(given)
        try:
            info = path.lstat()
        except FileNotFoundError:
            raise UsageError(f"{given}: no such file or directory") from None
        except OSError as exc:
            raise UsageError(f"{given}: cannot read it: {exc.strerror}") from None
        if stat.S_ISDIR(info.st_mode) or (stat.S_ISLNK(info.st_mode) and path.is_dir()):
            yield from _walk(path, str(path), problems)
            continue
        roots = [path.absolute().parent, Path.cwd()]
        problem = _unsafe(path, info, roots)
        if problem is None:
            yield str(path), given, True
        elif problems is not None:
            problems.append(_scan_problem(given, *problem))


_YAML = (".yaml", ".yml")


def _walk(
    top: Path, shown: str, problems: list[Diagnostic] | None
) -> Iterator[tuple[str, str, bool]]:
    """The files of a directory tree, sorted, depth first; hidden entries skipped."""
    root = Path(os.path.realpath(top))
    stack: list[tuple[str | Path, str]] = [(top, shown)]
    while stack:
        directory, name = stack.pop()
        try:
            with os.scandir(directory) as scan:
                # Names and kinds only (the scan knows them without a stat), not the entries:
                # a directory of 50,000 accounts is listed in a few megabytes.
                entries = sorted(
                    (entry.name, _kind(entry)) for entry in scan if not entry.name.startswith(".")
                )
        except OSError as exc:
            if problems is not None:
                problems.append(
                    _scan_problem(
                        name,
                        "unreadable-directory",
                        f"cannot read this directory: {exc.strerror}; the files in it are "
                        "not checked",
                        "make it readable, or move it out of the scanned directory",
                    )
                )
            continue
        below = []
        for entry_name, kind in entries:
            path_text = os.path.join(directory, entry_name)
            display = entry_name if name == "." else os.path.join(name, entry_name)  # as pathlib
            if kind == _DIRECTORY:
                below.append((path_text, display))
                continue
            if kind == _REGULAR:
                if entry_name.endswith(_YAML):
                    yield path_text, display, False
                continue
            path = Path(path_text)
            try:
                info = path.lstat()
            except OSError:
                continue  # gone since the directory was read
            if stat.S_ISDIR(info.st_mode):
                below.append((path_text, display))
                continue
            if not entry_name.endswith(_YAML):
                if stat.S_ISLNK(info.st_mode) and problems is not None:
                    problem = _link_to_directory(path)
                    if problem:
                        problems.append(_scan_problem(display, *problem))
                continue
            problem = _unsafe(path, info, [root])
            if problem is None:
                yield path_text, display, False
            elif problems is not None:
                problems.append(_scan_problem(display, *problem))
        stack.extend(reversed(below))


_REGULAR, _DIRECTORY, _OTHER = 0, 1, 2


def _kind(entry: os.DirEntry[str]) -> int:
    """A regular file or a directory as the scan saw it (no link followed); anything else
    (a link, a FIFO, a device, an entry the scan could not type) is looked at closely."""
    try:
        if entry.is_file(follow_symlinks=False):
            return _REGULAR
        if entry.is_dir(follow_symlinks=False):
            return _DIRECTORY
    except OSError:
        pass
    return _OTHER


def _unsafe(path: Path, info: os.stat_result, roots: list[Path]) -> tuple[str, str, str] | None:
    """Why ``path`` must not be opened (code, message, hint), or None for a regular file."""
    if stat.S_ISREG(info.st_mode):
        return None
    if not stat.S_ISLNK(info.st_mode):
        return (
            "not-a-file",
            f"this is {kind_of(info.st_mode)}, not a regular file; zplan does not open it",
            "a subscription file is a regular file",
        )
    try:
        target = Path(os.path.realpath(path, strict=True))
        target_info = target.stat()
    except OSError as exc:
        import errno

        if exc.errno == errno.ELOOP:
            return ("symlink-loop", "this symbolic link leads round in a loop", "remove it")
        return ("broken-symlink", "this symbolic link leads to nothing", "remove it")
    if not stat.S_ISREG(target_info.st_mode):
        return (
            "symlink-not-followed",
            f"this symbolic link leads to {kind_of(target_info.st_mode)}; zplan follows links "
            "to regular files only",
            "replace the link with the file itself",
        )
    for root in roots:
        real_root = Path(os.path.realpath(root))
        if target.is_relative_to(real_root):
            inside = target.relative_to(real_root).parts
            if not any(part.startswith(".") for part in inside):
                return None
    return (
        "symlink-not-followed",
        "this symbolic link leads outside the scanned directory (or into a hidden one); "
        "zplan does not follow it",
        "replace the link with the file itself",
    )


def _link_to_directory(path: Path) -> tuple[str, str, str] | None:
    try:
        target = path.stat()
    except OSError as exc:
        import errno

        if exc.errno == errno.ELOOP:
            return (
                "symlink-loop",
                "this symbolic link leads round in a loop; it is not followed",
                "remove it",
            )
        return None
    if stat.S_ISDIR(target.st_mode):
        return (
            "symlink-not-followed",
            "this symbolic link to a directory is not followed; the files there are not checked",
            "name that directory on the command line instead",
        )
    return None


def _scan_problem(name: str, code: str, message: str, hint: str) -> Diagnostic:
    return Diagnostic(name, 1, 1, Severity.ERROR, "(file)", code, message, hint)


_VANISHED = itertools.count(-1, -1)


def file_identity(path: Path | str) -> int:
    """Which file ``path`` is (device and inode, links followed, in one int): two names of
    one file match. One ``stat`` call, where resolving the real path walks every directory
    above it."""
    try:
        info = os.stat(path)
    except OSError:
        return next(_VANISHED)  # gone since the scan: never the same as another
    return info.st_dev << 64 | info.st_ino


def listing(paths: Sequence[str], problems: list[Diagnostic]) -> list[tuple[str, str, bool]]:
    """Every file under ``paths`` once, however many names lead to it, in the scan's order:
    (path, display name, named on the command line), compact (one string when both are
    the same: memory for a fleet is a few dozen bytes a file)."""
    seen: set[int] = set()
    found: list[tuple[str, str, bool]] = []
    for path, name, named in expand(paths, problems):
        real = file_identity(path)
        if real in seen:
            continue
        seen.add(real)
        found.append((name if path == name else path, name, named))
    return found


def read(
    paths: Sequence[str],
    catalog: Catalog,
    today: dt.date,
    progress: Callable[[str, int, int], None] | None = None,
) -> Workspace:
    """Load and check every file under ``paths``."""
    workspace = Workspace()
    seen: set[int] = set()
    found = list(expand(paths, workspace.diagnostics))
    for done, (path, name, named) in enumerate(found, start=1):
        if progress is not None:
            progress("reading", done, len(found))
        real = file_identity(path)
        if real in seen:
            continue
        seen.add(real)
        checked = check_file(path, name, catalog, today, named=named)
        if checked is None:
            workspace.skipped += 1
            continue
        workspace.files.append(checked)
    _duplicates(workspace)
    return workspace


@dataclass(slots=True)
class Scanned:
    """What ``validate`` reports of many files: their problems, not the files themselves."""

    diagnostics: list[Diagnostic]
    files: int
    skipped: int

    @property
    def notes(self) -> list[str]:
        return [skip_note(self.skipped)] if self.skipped else []


def scan(
    paths: Sequence[str],
    catalog: Catalog,
    today: dt.date,
    progress: Callable[[str, int, int], None] | None = None,
) -> Scanned:
    """``read``, keeping only the problems: each file is dropped once checked, so memory
    does not grow with the number of files (what validate needs; plan and apply read)."""
    with long_run():
        return _scan(paths, catalog, today, progress)


def _scan(
    paths: Sequence[str],
    catalog: Catalog,
    today: dt.date,
    progress: Callable[[str, int, int], None] | None,
) -> Scanned:
    found: list[Diagnostic] = []
    files_found = listing(paths, found)
    files = skipped = 0
    twins = _Twins(lambda index: files_found[index])
    for index, (path, name, named) in enumerate(files_found):
        if progress is not None:
            progress("reading", index + 1, len(files_found))
        checked = check_file(path, name, catalog, today, named=named)
        if checked is None:
            skipped += 1
            continue
        files += 1
        found.extend(checked.diagnostics)
        twins.add(_subdomain(checked), index)
    found.extend(problem for _, problem in twins.problems())
    return Scanned(sort_diagnostics(found), files, skipped)


class _Twins:
    """Files that describe the same account, found by subdomain as the files are checked.

    Only a key per file is kept (``file_of`` gives its path and name back); the files of a
    duplicate, rare, are read again for the subdomain's position.
    """

    def __init__(self, file_of: Callable[[int], tuple[str, str, bool]]) -> None:
        self.file_of = file_of
        self.first: dict[str, int] = {}  # subdomain -> the key of the first file with it
        self.same: dict[str, list[int]] = {}

    def add(self, subdomain: str | None, key: int) -> None:
        if subdomain is None:
            return
        if subdomain in self.first:
            self.same.setdefault(subdomain, [self.first[subdomain]]).append(key)
        else:
            self.first[subdomain] = key

    def problems(self) -> Iterator[tuple[int, Diagnostic]]:
        """(key, the error) for each file of an account that more than one file describes."""
        for subdomain, keys in self.same.items():
            files = [self.file_of(key) for key in keys]
            for key, (path, name, _) in zip(keys, files, strict=True):
                document = load_file(Path(path), name)
                line, column = document.position(("account", "subdomain"))
                others = ", ".join(other for _, other, _ in files if other != name)
                yield key, _duplicate(name, line, column, subdomain, others)


class LazyDocument:
    """A file's positions for a diagnostic, read again only if one is needed: an apply of a
    fleet keeps each file's checked values, not its parsed text (``Document.error``)."""

    __slots__ = ("_document", "_file", "path")

    def __init__(self, file: str, name: str) -> None:
        self._file = file
        self.path = name
        self._document: Document | None = None

    def error(self, *args: Any, **kwargs: Any) -> Diagnostic:
        if self._document is None:
            self._document = load_file(Path(self._file), self.path)
        return self._document.error(*args, **kwargs)


class Lean(NamedTuple):
    """What an apply needs of its files: each account's checked values and where it is, the
    problems of the files that give no account, and which accounts the files describe."""

    entries: list[tuple[Desired, LazyDocument]]
    problems: list[Diagnostic]  # as workflow.file_problems of ``read``'s workspace
    notes: list[str]
    described: set[str]  # subdomains of every subscription file (for unmanaged accounts)


def read_lean(
    paths: Sequence[str],
    catalog: Catalog,
    today: dt.date,
    progress: Callable[[str, int, int], None] | None = None,
) -> Lean:
    """``read``, keeping of each file only what an apply uses (not the parsed document)."""
    scan_problems: list[Diagnostic] = []
    files_found = listing(paths, scan_problems)
    kept: list[tuple[int, Desired | None, list[Diagnostic]]] = []  # index, desired, problems
    twins = _Twins(lambda at: files_found[kept[at][0]])  # keyed by position in kept
    skipped = 0
    for index, (path, name, named) in enumerate(files_found):
        if progress is not None:
            progress("reading", index + 1, len(files_found))
        checked = check_file(path, name, catalog, today, named=named)
        if checked is None:
            skipped += 1
            continue
        if checked.kind is FileKind.CATALOG:
            continue  # plan and apply skip price books
        twins.add(_subdomain(checked), len(kept))
        desired = checked.desired if checked.kind is FileKind.SUBSCRIPTION else None
        kept.append((index, desired, checked.diagnostics))
    for at, problem in list(twins.problems()):  # two files for one account: neither is planned
        index, _, own = kept[at]
        kept[at] = (index, None, [*own, problem])
    entries: list[tuple[Desired, LazyDocument]] = []
    problems: list[Diagnostic] = []
    for index, desired, found in kept:
        if desired is None:
            problems.extend(found)
        else:
            problems.extend(d for d in found if not d.is_error)
            path, name, _ = files_found[index]
            entries.append((desired, LazyDocument(path, name)))
    notes = [skip_note(skipped)] if skipped else []
    return Lean(entries, [*problems, *scan_problems], notes, set(twins.first))


def _subdomain(checked: Checked) -> str | None:
    if checked.kind is not FileKind.SUBSCRIPTION:
        return None
    data = checked.document.data
    try:
        subdomain = data["account"]["subdomain"]
    except (KeyError, TypeError):
        return None
    return subdomain if isinstance(subdomain, str) else None


def _duplicate(name: str, line: int, column: int, subdomain: str, others: str) -> Diagnostic:
    return Diagnostic(
        name,
        line,
        column,
        Severity.ERROR,
        "account.subdomain",
        "duplicate-subdomain",
        f"the account {subdomain} is also described by {others}",
        "keep one file per account",
    )


def check_file(
    path: Path | str, name: str, catalog: Catalog, today: dt.date, *, named: bool = True
) -> Checked | None:
    """Load and check one file; None for a file found in a directory that is not a zplan file."""
    if card_numbers(name):  # a name is input too: it would be echoed, and saved in plans
        document = Document(name, "")
        problem = _scan_problem(
            name,
            "card-number",
            f"the file name looks like it holds a payment card number ({mask_cards(name)}); "
            "zplan refuses files that hold card data",
            "rename the file",
        )
        return Checked(document, FileKind.OTHER, [problem])
    document = load_file(path, name)
    if not named and _parsed_but_not_a_mapping(document):
        return None  # a YAML list or scalar (a playbook, say): not zplan's
    if not document.ok:
        return Checked(document, FileKind.OTHER, sort_diagnostics(document.diagnostics))
    kind = document.kind
    if kind is FileKind.OTHER:
        if not named:
            return None
        problem = Diagnostic(  # the wrong kind of file: at 1:1, as subscription.md says
            name,
            1,
            1,
            Severity.ERROR,
            "(file)",
            "not-zplan",
            "not a zplan file: it has neither 'zplan:' nor 'catalog:' at the top",
            "a subscription file starts with 'zplan: 1'",
        )
        return Checked(document, kind, [problem])
    if kind is FileKind.CATALOG:
        return Checked(document, kind, check_catalog(document))
    diagnostics = list(document.diagnostics)
    diagnostics.extend(control_characters(document))
    located = schema.check_located(document, schema.SUBSCRIPTION)
    diagnostics.extend(d for _, d in located)
    desired = None
    if not any(d.is_error for d in diagnostics):
        desired, problems = check_subscription(document, catalog, today)
        diagnostics.extend(problems)
    else:
        # Report the catalog's rules too, for the parts the schema errors leave intact.
        diagnostics.extend(_rules_beside_schema_errors(document, located, catalog, today))
    return Checked(document, kind, sort_diagnostics(diagnostics), desired)


def _parsed_but_not_a_mapping(document: Document) -> bool:
    return (
        document.root is not None
        and not isinstance(document.data, dict)
        and all(d.code == "not-a-mapping" for d in document.diagnostics)
    )


# The rules read these whole; a schema error in or above one of them leaves them nothing to check.
_RULE_INPUTS: tuple[tuple[str | int, ...], ...] = (("account",), ("billing",), ("status",))


def _rules_beside_schema_errors(
    document: Document,
    located: list[tuple[tuple[str | int, ...], Diagnostic]],
    catalog: Catalog,
    today: dt.date,
) -> list[Diagnostic]:
    """The rules' problems in a file with schema errors, leaving out the products they touch.

    Conclusions about the whole product list (no products, a promotion that
    fits none) are left out when a product had to be left out.
    """
    broken = [steps for steps, d in located if d.is_error]
    for steps in broken:
        if len(steps) == 0 or steps == ("products",):
            return []
        for part in _RULE_INPUTS:
            if steps[: len(part)] == part:
                return []
    products = document.data.get("products")
    dropped = {steps[1] for steps in broken if len(steps) > 1 and steps[0] == "products"}
    data = dict(document.data)
    if isinstance(products, dict):
        data["products"] = {k: v for k, v in products.items() if k not in dropped}
    view = replace(document, data=data, diagnostics=[])
    _, problems = check_subscription(view, catalog, today)
    if dropped:
        problems = [p for p in problems if p.code not in ("no-products", "promo-not-eligible")]
    return problems


def _duplicates(workspace: Workspace) -> None:
    """Two files for one subdomain: an error on each of them, and neither is planned."""
    by_subdomain: dict[str, list[Checked]] = {}
    for checked in workspace.subscriptions:
        data = checked.document.data
        try:
            subdomain = data["account"]["subdomain"]
        except (KeyError, TypeError):
            continue
        if isinstance(subdomain, str):
            by_subdomain.setdefault(subdomain, []).append(checked)
    for subdomain, files in by_subdomain.items():
        if len(files) < 2:
            continue
        for checked in files:
            others = ", ".join(f.document.path for f in files if f is not checked)
            checked.diagnostics.append(
                checked.document.error(
                    ("account", "subdomain"),
                    "duplicate-subdomain",
                    f"the account {subdomain} is also described by {others}",
                    "keep one file per account",
                )
            )
            checked.desired = None


def severity_counts(diagnostics: Sequence[Diagnostic]) -> tuple[int, int]:
    errors = sum(1 for d in diagnostics if d.severity is Severity.ERROR)
    warnings = sum(1 for d in diagnostics if d.severity is Severity.WARNING)
    return errors, warnings
