"""``zplan plan`` over many files: each file read, checked and planned on its own, in parallel.

A plan of a directory is, per file, independent work: load, check, read the
account from the store, price. ``plan_files`` does that work file by file and
assembles one plan document; with more than ``PARALLEL_FROM`` files, on a
machine with more than one core, the files are shared among worker processes
(forked, so they start with the catalog already loaded, each with its own
store connection). Workers send back plain JSON-shaped results (cheap to
pickle, unlike the dataclasses); the parent only assembles. The same function
does a file's work in both paths, so the document is the same either way (a
test compares them).

With a ``shape`` (``plan_stream``), each account is turned into its output
fragment where it is planned (in the worker), and the parent keeps only what
the whole document needs (diagnostics, flags, one summary row) while the
fragments wait in a temporary file: memory stays flat however many accounts
there are, and the output is written in order once the verdict is known.

``ZPLAN_JOBS`` sets the number of processes (1: no workers).
"""

from __future__ import annotations

import datetime as dt
import os
import sys
import tempfile
from array import array
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import IO, Any, NamedTuple, Protocol

from zplan.apply.planfile import account_json, plan_document
from zplan.diagnostics import Diagnostic, Severity
from zplan.load.catalog import Catalog
from zplan.load.document import FileKind, load_file
from zplan.load.files import Checked, check_file, listing, long_run, skip_note
from zplan.model import Account
from zplan.pipeline.guardrails import Extras, finish, for_account
from zplan.plan.observed import Observing
from zplan.plan.planner import Context, plan_account
from zplan.state import open_store
from zplan.state.base import Mode, Store

_UNIT = "\x1f"  # between the strings a fragment keeps for the end (none holds a control character)
PARALLEL_FROM = 400  # below this, starting workers costs more than it saves
CHUNK = 250

Progress = Callable[[str, int, int], None]

# Set in each worker process (and in the parent for the serial path).
_CONTEXT: dict[str, Any] = {}


def jobs() -> int:
    setting = os.environ.get("ZPLAN_JOBS")
    if setting and setting.isdigit() and int(setting) >= 1:
        return int(setting)
    return os.cpu_count() or 1


def _plan_one(
    item: tuple[int, str, str, bool], checked: Checked | None, stored: Mapping[str, Account]
) -> dict[str, Any]:
    """Everything about one file, as plain data: what the plan document needs of it."""
    ctx: Context = _CONTEXT["ctx"]
    index, _, name, _ = item
    if checked is None:
        return {"index": index, "kind": "skipped"}
    data = checked.document.data
    account = data.get("account") if isinstance(data, dict) else None
    subdomain = account.get("subdomain") if isinstance(account, dict) else None
    result: dict[str, Any] = {
        "index": index,
        "path": name,
        "kind": checked.kind.value,
        "subdomain": subdomain if isinstance(subdomain, str) else None,
    }
    if checked.kind is FileKind.CATALOG:
        return result  # plan and apply skip price books
    if checked.desired is None:
        result["diagnostics"] = [d.to_json() for d in checked.diagnostics]
        return result
    planned = plan_account(
        ctx, stored.get(checked.desired.subdomain), checked.desired, checked.document
    )
    result["diagnostics"] = [d.to_json() for d in checked.diagnostics if not d.is_error]
    result["account"] = account_json(planned, ctx.catalog)
    result["errors"] = planned.has_errors
    result["changes"] = bool(planned.changes)
    result["estimates"] = planned.estimates_used
    extras = _CONTEXT.get("extras")
    if extras is not None and extras.active:
        result.update(for_account(extras, ctx.catalog, ctx.today, planned, result["account"]))
    shape: Shape | None = _CONTEXT.get("shape")
    if shape is not None:  # only what the output needs goes back to the parent
        account = result.pop("account")
        result["errors"] = any(d["severity"] == "error" for d in account["diagnostics"])
        result["changes"] = bool(account["changes"]) or bool(
            (account.get("observed") or {}).get("drift")
        )
        result["estimates"] = bool(account.get("estimates_used"))
        result["fragment"], result["extra"] = shape.account(account, result.pop("sums", None))
    return result


class Shape(Protocol):
    """How one account is written out (given by the command line: text, JSON or markdown)."""

    def account(
        self, account: dict[str, Any], sums: Mapping[str, Any] | None = None
    ) -> tuple[str, list[str]]:
        """The account's output fragment, and strings kept for the end (its summary row);
        ``sums``: its forecast's figures, when the plan has a forecast (``extras``)."""
        ...


def _worker_start(state: str | None) -> None:
    # A forked worker must not use the parent's connection: it opens its own.
    _CONTEXT["store"] = open_store(state, mode=Mode.READ)


def _chunk(items: list[tuple[int, str, str, bool]]) -> list[dict[str, Any]]:
    """A run of files: each loaded and checked, their accounts read in one go, each planned."""
    ctx: Context = _CONTEXT["ctx"]
    store: Store = _CONTEXT["store"]
    checked = [
        check_file(path, name, ctx.catalog, ctx.today, named=named)
        for _, path, name, named in items
    ]
    wanted = [c.desired.subdomain for c in checked if c is not None and c.desired is not None]
    stored = store.accounts(wanted) if wanted else {}
    return [_plan_one(item, c, stored) for item, c in zip(items, checked, strict=True)]


def _prepare(
    paths: Sequence[str],
    catalog: Catalog,
    today: dt.date,
    actor: str | None,
    extras: Extras | None,
    observing: Observing | None,
    shape: Shape | None,
) -> tuple[list[tuple[int, str, str, bool]], list[Diagnostic], Context]:
    problems: list[Diagnostic] = []
    found = _unique(paths, problems)
    ctx = Context(catalog, today, actor)
    if observing is not None:
        ctx = ctx._replace(**observing._asdict())
    _CONTEXT["ctx"] = ctx
    _CONTEXT["extras"] = extras
    _CONTEXT["shape"] = shape
    return found, problems, ctx


def _results(
    found: list[tuple[int, str, str, bool]],
    store: Store,
    state: str | None,
    progress: Progress | None,
) -> Iterator[dict[str, Any]]:
    """Every file's result, in the order of ``found``: from workers when there are many."""
    workers = min(jobs(), max(1, len(found) // CHUNK))
    if workers > 1 and len(found) >= PARALLEL_FROM and sys.platform.startswith("linux"):
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor

        chunks = [found[i : i + CHUNK] for i in range(0, len(found), CHUNK)]
        # The workers inherit the frozen objects and the collection threshold.
        pool = ProcessPoolExecutor(
            workers,
            mp_context=multiprocessing.get_context("fork"),
            initializer=_worker_start,
            initargs=(state,),
        )
        done = 0
        with long_run(), pool:
            for part in pool.map(_chunk, chunks):
                done += len(part)
                yield from part
                if progress is not None:
                    progress("planning", done, len(found))
        return
    _CONTEXT["store"] = store
    done = 0
    with long_run():
        for start in range(0, len(found), CHUNK):
            part = _chunk(found[start : start + CHUNK])
            done += len(part)
            yield from part
            if progress is not None:
                progress("planning", done, len(found))


def plan_files(
    paths: Sequence[str],
    catalog: Catalog,
    today: dt.date,
    actor: str | None,
    store: Store,
    state: str | None,
    created_at: str,
    progress: Progress | None = None,
    extras: Extras | None = None,
    observing: Observing | None = None,
) -> dict[str, Any]:
    """The plan document for every file under ``paths`` (unsigned); ``extras``: policies and
    the forecast, evaluated per account in the process that plans it; ``observing``: what is
    known of the live accounts (the workers inherit it with the context)."""
    found, problems, ctx = _prepare(paths, catalog, today, actor, extras, observing, None)
    results = list(_results(found, store, state, progress))
    if problems:  # files the scan would not open: errors of the plan, before every file
        results.append(
            {"index": -1, "kind": "unread", "diagnostics": [d.to_json() for d in problems]}
        )
    document = _assemble(results, ctx, store, paths, created_at)
    if extras is not None and extras.active:
        document = finish(document, extras, catalog, today, results)
    return document


class Streamed(NamedTuple):
    """A plan whose accounts wait, as output fragments, in temporary files.

    ``head`` is the plan document without its accounts (``accounts`` is empty);
    ``parts()`` gives each account's fragment and extra, in order; ``fragments()`` and
    ``rows()`` one of the two (the extras are a file of their own: a summary reads them
    twice, and the fragments not at all).
    """

    head: dict[str, Any]
    planned: int  # accounts in the plan
    changes: bool  # some account changes (or its live account drifted)
    spill: IO[bytes]  # the fragments, one after the other
    notes: IO[bytes]  # the extras, one after the other
    spans: array[int]  # fragment length, extra length, per spilled account
    kept: bytearray  # per spilled account: 1 if it is in the plan

    def _records(self, fragments: bool, extras: bool) -> Iterator[tuple[bytes, bytes]]:
        self.spill.seek(0)
        self.notes.seek(0)
        read_fragment, read_extra, spans = self.spill.read, self.notes.read, self.spans
        for index, keep in enumerate(self.kept):
            size, extra = spans[2 * index], spans[2 * index + 1]
            if fragments:
                fragment = read_fragment(size)
            if extras:
                note = read_extra(extra)
            if keep:
                yield (fragment if fragments else b""), (note if extras else b"")

    def parts(self) -> Iterator[tuple[str, list[str]]]:
        for fragment, note in self._records(True, True):
            yield fragment.decode("utf-8"), _split(note)

    def fragments(self) -> Iterator[str]:
        return (fragment.decode("utf-8") for fragment, _ in self._records(True, False))

    def rows(self) -> Iterator[list[str]]:
        return (_split(note) for _, note in self._records(False, True))

    def close(self) -> None:
        self.spill.close()
        self.notes.close()


def _split(note: bytes) -> list[str]:
    return note.decode("utf-8").split(_UNIT) if note else []


class Spill:
    """Fragments written to temporary files as they come, for a ``Streamed`` at the end."""

    def __init__(self) -> None:
        self.file = tempfile.TemporaryFile()  # noqa: SIM115 - handed to the Streamed, closed there
        self.notes = tempfile.TemporaryFile()  # noqa: SIM115 - as the file
        self.spans: array[int] = array("q")
        self.count = 0

    def add(self, fragment: str, extra: list[str]) -> None:
        body, kept = fragment.encode("utf-8"), _UNIT.join(extra).encode("utf-8")
        self.file.write(body)
        self.notes.write(kept)
        self.spans.extend((len(body), len(kept)))
        self.count += 1

    def done(self, head: dict[str, Any], changes: bool) -> Streamed:
        kept = bytearray(b"\x01" * self.count)
        return Streamed(head, self.count, changes, self.file, self.notes, self.spans, kept)


def plan_stream(
    paths: Sequence[str],
    catalog: Catalog,
    today: dt.date,
    actor: str | None,
    store: Store,
    state: str | None,
    created_at: str,
    shape: Shape,
    progress: Progress | None = None,
    observing: Observing | None = None,
    extras: Extras | None = None,
) -> Streamed:
    """The plan of every file under ``paths``, each account already in its output ``shape``.

    The same plan as ``plan_files`` (a test compares them), but no account's
    document is kept: workers send back the fragment, the parent spills it.
    ``extras``: forecast months only (each account's figures go to the shape).
    """
    found, problems, ctx = _prepare(paths, catalog, today, actor, extras, observing, shape)
    spill = Spill()  # returned open (in the Streamed), closed by the caller
    flags = bytearray()  # per spilled account: 1 errors, 2 changes, 4 estimates
    first: dict[str, int] = {}  # subdomain -> the file that describes it (index in found)
    twins: dict[str, list[int]] = {}
    spilled_at = array("q", bytes(8 * len(found)))  # per file: 1 + where its account is spilled
    noted: list[tuple[int, list[dict[str, Any]]]] = []  # (index, diagnostics)
    skipped = 0
    for result in _results(found, store, state, progress):
        kind = result["kind"]
        if kind == "skipped":
            skipped += 1
            continue
        if result.get("diagnostics"):
            noted.append((result["index"], result["diagnostics"]))
        subdomain = result.get("subdomain")
        if kind != "subscription":
            continue
        if "fragment" in result:
            spill.add(result["fragment"], result["extra"])
            spilled_at[result["index"]] = len(flags) + 1
            flags.append(result["errors"] | result["changes"] << 1 | result["estimates"] << 2)
        if isinstance(subdomain, str):
            if subdomain in first:
                twins.setdefault(subdomain, [first[subdomain]]).append(result["index"])
            else:
                first[subdomain] = result["index"]
    kept = bytearray(b"\x01" * len(flags))
    for subdomain, same in twins.items():  # two files for one account: neither is planned
        for index in same:
            if spilled_at[index]:
                kept[spilled_at[index] - 1] = 0
            others = ", ".join(found[i][2] for i in same if i != index)
            noted.append((index, [_duplicate(found[index][2], subdomain, others).to_json()]))
    if problems:  # files the scan would not open: errors of the plan, before every file
        noted.append((-1, [d.to_json() for d in problems]))
    noted.sort(key=lambda pair: pair[0])  # stable: a file's own diagnostics, then duplicates
    diagnostics = [d for _, found_here in noted for d in found_here]
    plan = [flag for flag, keep in zip(flags, kept, strict=True) if keep]
    errors = any(d["severity"] == "error" for d in diagnostics) or any(f & 1 for f in plan)
    unmanaged: list[str] = []
    if any(Path(p).is_dir() for p in paths):
        unmanaged = [s for s in store.subdomains() if s not in first]
    del first
    head = plan_document(
        priced_on=ctx.today,
        created_at=created_at,
        catalog_id=ctx.catalog.id,
        catalog_sha256=ctx.catalog.sha256,
        accounts=[],
        diagnostics=diagnostics,
        notes=[skip_note(skipped)] if skipped else [],
        unmanaged=unmanaged,
        applyable=not errors,
        estimates_used=any(f & 4 for f in plan),
    )
    changes = any(f & 2 for f in plan)
    return Streamed(head, len(plan), changes, spill.file, spill.notes, spill.spans, kept)


def _unique(paths: Sequence[str], problems: list[Diagnostic]) -> list[tuple[int, str, str, bool]]:
    """Each file once, however many paths lead to it, numbered in the scan's order."""
    return [(index, *item) for index, item in enumerate(listing(paths, problems))]


def _assemble(
    results: list[dict[str, Any]], ctx: Context, store: Store, paths: Sequence[str], created_at: str
) -> dict[str, Any]:
    results.sort(key=lambda r: r["index"])
    skipped = sum(1 for r in results if r["kind"] == "skipped")
    subscriptions = [r for r in results if r["kind"] == "subscription"]
    by_subdomain: dict[str, list[dict[str, Any]]] = {}
    for result in subscriptions:
        if result["subdomain"] is not None:
            by_subdomain.setdefault(result["subdomain"], []).append(result)
    for subdomain, same in by_subdomain.items():
        if len(same) > 1:
            for result in same:
                others = ", ".join(r["path"] for r in same if r is not result)
                result.pop("account", None)
                result["diagnostics"] = [
                    *result.get("diagnostics", []),
                    _duplicate(result["path"], subdomain, others).to_json(),
                ]
    accounts = [r["account"] for r in subscriptions if "account" in r]
    diagnostics = [d for r in results for d in r.get("diagnostics", [])]
    notes = [skip_note(skipped)] if skipped else []
    unmanaged: list[str] = []
    if any(Path(p).is_dir() for p in paths):
        described = set(by_subdomain)
        unmanaged = [s for s in store.subdomains() if s not in described]
    errors = any(d["severity"] == "error" for d in diagnostics) or any(
        any(d["severity"] == "error" for d in a["diagnostics"]) for a in accounts
    )
    return plan_document(
        priced_on=ctx.today,
        created_at=created_at,
        catalog_id=ctx.catalog.id,
        catalog_sha256=ctx.catalog.sha256,
        accounts=accounts,
        diagnostics=diagnostics,
        notes=notes,
        unmanaged=unmanaged,
        applyable=not errors,
        estimates_used=any(a.get("estimates_used") for a in accounts),
    )


def _duplicate(path: str, subdomain: str, others: str) -> Diagnostic:
    document = load_file(Path(path), path)
    if document.root is None:
        return Diagnostic(
            path,
            1,
            1,
            Severity.ERROR,
            "account.subdomain",
            "duplicate-subdomain",
            f"the account {subdomain} is also described by {others}",
        )
    return document.error(
        ("account", "subdomain"),
        "duplicate-subdomain",
        f"the account {subdomain} is also described by {others}",
        "keep one file per account",
    )
