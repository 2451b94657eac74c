"""An apply from files keeps no account whole (issue 18): the same plan, plan id and writes."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pytest
from zplan.apply.planfile import plan_id_of
from zplan.apply.session import Provenance, Session
from zplan.cli.options import render_plan
from zplan.cli.stream import TextShape
from zplan.clock import Clock
from zplan.load.catalog import load_catalog
from zplan.load.files import read, read_lean
from zplan.pipeline import workflow
from zplan.pipeline.bulk import Spill
from zplan.render import Style
from zplan.state import open_store
from zplan.state.base import Mode

from tests.conftest import TODAY, Zplan
from tests.pipeline.test_bulk import many  # noqa: F401 - the fixture

ACTOR = "cx-platform@meridian-group.example"


def test_the_lean_plan_is_the_whole_plan(many: Path, state: str) -> None:  # noqa: F811
    catalog, clock = load_catalog(None), Clock.from_setting(TODAY)
    paths = [str(many)]
    with open_store(state, mode=Mode.READ) as store:
        session = Session(store, catalog, clock, Provenance(ACTOR), None)  # type: ignore[arg-type]
        workspace = read(paths, catalog, clock.today())
        unmanaged = workflow.unmanaged(store, workspace, paths)
        document = session.make_plan(
            workflow.entries_of(workspace),
            workspace.notes,
            workflow.file_problems(workspace),
            unmanaged,
        )
        lean_files = read_lean(paths, catalog, clock.today())
        assert lean_files.described >= {a["subdomain"] for a in document["accounts"]}
        shape, spill = TextShape(Style(False)), Spill()
        lean = session.plan_lean(
            lean_files.entries,
            lean_files.problems,
            lean_files.notes,
            unmanaged,
            lambda account: spill.add(*shape.account(account)),
        )
        out = io.StringIO()
        shown = spill.done(lean.head, bool(lean.writing))
        shape.write(shown, out.write)
        shown.close()
    document["created_at"] = lean.head["created_at"]
    assert out.getvalue() == render_plan(document, "text", False)
    assert lean.plan_id == plan_id_of(document)
    assert lean.head["applyable"] is document["applyable"] is False  # broken file, duplicates
    assert len(lean.digests) == len(document["accounts"]) == 30


def test_a_fleet_apply_writes_what_it_showed(tmp_path: Path, state: str, zplan: Zplan) -> None:
    accounts = tmp_path / "accounts"
    accounts.mkdir()
    source = (Path(__file__).parent.parent.parent / "examples" / "accounts-20").glob("*.yaml")
    for path in sorted(source):
        (accounts / path.name).write_text(path.read_text())
    argv = ["--state", state, "--at", TODAY, "--actor", ACTOR]
    applied = zplan(*argv, "apply", "--auto-approve", str(accounts))
    assert applied.code == 0, applied.output
    assert "Apply complete: 20 accounts changed" in applied.out
    again = zplan(*argv, "plan", "--detailed-exitcode", str(accounts))
    assert again.code == 0, again.output  # the store holds exactly what was shown
    heads = zplan(*argv, "state", "heads", "--format", "json")
    assert heads.code == 0 and heads.out.count('"subdomain"') == 20, heads.output


def test_versions_from_the_shown_json_are_the_versions_from_the_plan(
    many: Path,  # noqa: F811
    state: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A lean apply hands each account's JSON, as the re-plan showed it, to the write
    (its invoice lines, amounts and changes are not made again): what is written is
    what ``versions_for`` makes from the plan alone, and the shown JSON is left as it was."""
    import json
    import uuid

    from zplan.apply import session as session_module
    from zplan.apply.planfile import account_json

    edits = {  # changes to accounts bought already: seats, add-ons, payment reference, cycle
        "bellhop.yaml": [("agents: 42", "agents: 50"), ("copilot: 42", "copilot: 50")],
        "fernleaf.yaml": [("pp_4FnLgRdn8k", "pp_9ZzzNewRef1"), ("agents: 4", "agents: 6")],
        "dockside.yaml": [("status: active", "status: active\n")],
    }
    for name, pairs in edits.items():
        text = (many / name).read_text()
        for old, new in pairs:
            assert old in text, (name, old)
            text = text.replace(old, new)
        (many / name).write_text(text)
    monkeypatch.setattr(session_module, "new_lineage", lambda: str(uuid.UUID(int=7, version=4)))
    catalog, clock = load_catalog(None), Clock.from_setting(TODAY)
    with open_store(state, mode=Mode.READ) as store:
        session = Session(store, catalog, clock, Provenance(ACTOR), None)  # type: ignore[arg-type]
        workspace = read([str(many)], catalog, clock.today())
        session.make_plan(workflow.entries_of(workspace), [], [], [])
    assert session.plan is not None
    writing = [p for p in session.plan.accounts if p.writes]
    kinds = {c.kind.value for p in writing for c in p.changes}
    assert len(writing) > 10 and any(p.renewals for p in writing), writing
    assert {"agents_increase", "payment_change"} <= kinds, kinds

    def text(versions: list[Any]) -> str:
        return json.dumps(
            [(v.account.to_json(), v.kind, v.invoice, v.audit, v.priced_on) for v in versions],
            sort_keys=True,
        )

    for plan in writing:
        shown = account_json(plan, catalog)
        before = json.dumps(shown, sort_keys=True)
        args = (plan, "sha256:x", Provenance(ACTOR), clock, catalog, {}, None)
        made = session_module.versions_for(*args, now="2026-11-27T00:00:00Z")
        reused = session_module.versions_for(*args, now="2026-11-27T00:00:00Z", shown=shown)
        assert text(reused) == text(made), plan.subdomain
        assert json.dumps(shown, sort_keys=True) == before, plan.subdomain


def test_a_new_lineage_is_a_random_uuid4() -> None:
    import uuid

    from zplan.apply.session import new_lineage

    made = [new_lineage() for _ in range(2000)]
    assert len(set(made)) == len(made)
    for text in made:
        parsed = uuid.UUID(text)
        assert str(parsed) == text and parsed.version == 4
        assert parsed.variant == uuid.RFC_4122
    # Every random bit is used: each hex digit but the fixed ones takes many values.
    digits = [{text.replace("-", "")[i] for text in made} for i in range(32)]
    assert [i for i, seen in enumerate(digits) if len(seen) < 16] == [12, 16]
    assert digits[12] == {"4"} and digits[16] <= set("89ab")
