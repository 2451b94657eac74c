"""Files and directories given on the command line, read and checked.

Every command that takes ``PATH...`` takes files and directories. A directory
is searched recursively for ``*.yaml`` / ``*.yml`` in sorted order, skipping
dot-directories. The top-level key decides what a file is: ``zplan:`` a
subscription file, ``catalog:`` a price book, anything else is skipped (and
counted), except a file named on the command line, which must be a zplan file.
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

from zplan.diagnostics import Diagnostic, Severity, sort_diagnostics
from zplan.errors import UsageError
from zplan.load import schema
from zplan.load.catalog import Catalog, check_catalog
from zplan.load.document import Document, FileKind, load_file
from zplan.load.rules import check_subscription, control_characters
from zplan.model import Desired


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


def skip_note(count: int) -> str:
    if count == 1:
        return "skipped 1 file that is not a zplan file"
    return f"skipped {count} files that are not zplan files"


def expand(paths: Sequence[str]) -> Iterator[tuple[Path, str, bool]]:
    """(path, display name, named on the command line) for every file under ``paths``."""
    for given in paths:
        path = Path(given)
        if path.is_dir():
            for root, dirs, names in os.walk(path):
                dirs[:] = sorted(d for d in dirs if not d.startswith("."))
                for name in sorted(names):
                    if name.endswith((".yaml", ".yml")) and not name.startswith("."):
                        found = Path(root) / name
                        yield found, str(found), False
        elif path.exists():
            yield path, given, True
        else:
            raise UsageError(f"{given}: no such file or directory")


def read(
    paths: Sequence[str],
    catalog: Catalog,
    today: dt.date,
    progress: Callable[[str, int, int], None] | None = None,
) -> Workspace:
    """Load and check every file under ``paths``."""
    workspace = Workspace()
    seen: set[Path] = set()
    found = list(expand(paths))
    for done, (path, name, named) in enumerate(found, start=1):
        if progress is not None:
            progress("reading", done, len(found))
        real = path.resolve()
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


def check_file(
    path: Path, name: str, catalog: Catalog, today: dt.date, *, named: bool = True
) -> Checked | None:
    """Load and check one file; None for a file found in a directory that is not a zplan file."""
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
