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

``ZPLAN_JOBS`` sets the number of processes (1: no workers).
"""

from __future__ import annotations

import datetime as dt
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from zplan.apply.planfile import account_json, plan_document
from zplan.diagnostics import Diagnostic, Severity
from zplan.load.catalog import Catalog
from zplan.load.document import FileKind, load_file
from zplan.load.files import check_file, expand, skip_note
from zplan.pipeline.guardrails import Extras, finish, for_account
from zplan.plan.observed import Observing
from zplan.plan.planner import Context, plan_account
from zplan.state import open_store
from zplan.state.base import Mode, Store

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


def _plan_one(index: int, path: str, name: str, named: bool) -> dict[str, Any]:
    """Everything about one file, as plain data: what the plan document needs of it."""
    ctx: Context = _CONTEXT["ctx"]
    store: Store = _CONTEXT["store"]
    checked = check_file(Path(path), name, ctx.catalog, ctx.today, named=named)
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
        ctx, store.account(checked.desired.subdomain), checked.desired, checked.document
    )
    result["diagnostics"] = [d.to_json() for d in checked.diagnostics if not d.is_error]
    result["account"] = account_json(planned, ctx.catalog)
    result["errors"] = planned.has_errors
    result["changes"] = bool(planned.changes)
    result["estimates"] = planned.estimates_used
    extras = _CONTEXT.get("extras")
    if extras is not None and extras.active:
        result.update(for_account(extras, ctx.catalog, ctx.today, planned, result["account"]))
    return result


def _worker_start(state: str | None) -> None:
    # A forked worker must not use the parent's connection: it opens its own.
    _CONTEXT["store"] = open_store(state, mode=Mode.READ)


def _chunk(items: list[tuple[int, str, str, bool]]) -> list[dict[str, Any]]:
    return [_plan_one(*item) for item in items]


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
    problems: list[Diagnostic] = []
    found = _unique(expand(paths, problems))
    ctx = Context(catalog, today, actor)
    if observing is not None:
        ctx = ctx._replace(**observing._asdict())
    _CONTEXT["ctx"] = ctx
    _CONTEXT["extras"] = extras
    workers = min(jobs(), max(1, len(found) // CHUNK))
    results: list[dict[str, Any]] = []
    if workers > 1 and len(found) >= PARALLEL_FROM and sys.platform.startswith("linux"):
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor

        chunks = [found[i : i + CHUNK] for i in range(0, len(found), CHUNK)]
        pool = ProcessPoolExecutor(
            workers,
            mp_context=multiprocessing.get_context("fork"),
            initializer=_worker_start,
            initargs=(state,),
        )
        with pool:
            for part in pool.map(_chunk, chunks):
                results.extend(part)
                if progress is not None:
                    progress("planning", len(results), len(found))
    else:
        _CONTEXT["store"] = store
        for item in found:
            results.append(_plan_one(*item))
            if progress is not None:
                progress("planning", len(results), len(found))
    if problems:  # files the scan would not open: errors of the plan, before every file
        results.append(
            {"index": -1, "kind": "unread", "diagnostics": [d.to_json() for d in problems]}
        )
    document = _assemble(results, ctx, store, paths, created_at)
    if extras is not None and extras.active:
        document = finish(document, extras, catalog, today, results)
    return document


def _unique(items: Any) -> list[tuple[int, str, str, bool]]:
    seen: set[Path] = set()
    unique: list[tuple[int, str, str, bool]] = []
    for path, name, named in items:
        real = path.resolve()
        if real not in seen:
            seen.add(real)
            unique.append((len(unique), str(path), name, named))
    return unique


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
