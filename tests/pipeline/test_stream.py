"""A plan written as it is planned (issue 18): the same bytes as the whole document rendered."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from zplan.apply import planfile
from zplan.cli.options import render_plan
from zplan.clock import Clock
from zplan.pipeline import bulk, workflow
from zplan.pipeline.settings import Settings

from tests.conftest import TODAY, Zplan
from tests.pipeline.test_bulk import many  # noqa: F401 - the fixture

_CREATED = re.compile(r'"created_at": "[^"]*"')


def _whole(state: str, paths: list[str], fmt: str) -> str:
    """The plan as the document path renders it (saved plans and policies go that way)."""
    config = Settings(state, None, Clock.from_setting(TODAY), None, False, TODAY)
    with config.store() as store:
        document = workflow.make_plan(paths, config, store)
    return render_plan(document, fmt, False)


@pytest.mark.parametrize("jobs", ["1", "2"])
@pytest.mark.parametrize("fmt", ["text", "json", "json-one-line"])
def test_streamed_plan_is_the_rendered_document(
    many: Path,  # noqa: F811 - the fixture
    state: str,
    zplan: Zplan,
    monkeypatch: pytest.MonkeyPatch,
    fmt: str,
    jobs: str,
) -> None:
    # A duplicate pair, a broken file, a skipped file and unmanaged accounts are all in `many`.
    monkeypatch.setenv("ZPLAN_JOBS", jobs)
    monkeypatch.setattr(bulk, "PARALLEL_FROM", 4)
    monkeypatch.setattr(bulk, "CHUNK", 5)
    if fmt == "json-one-line":
        monkeypatch.setattr(planfile, "PRETTY_UP_TO", 5)
    shown = "json" if fmt.startswith("json") else "text"
    streamed = zplan("--state", state, "--at", TODAY, "plan", "--format", shown, str(many))
    whole = _whole(state, [str(many)], shown)
    assert streamed.code == 1  # the broken file and the duplicate pair
    assert _CREATED.sub("", streamed.out) == _CREATED.sub("", whole)
    assert "is also described by" in streamed.out and "zz-broken.yaml" in streamed.out
    if fmt == "json-one-line":
        assert streamed.out.count("\n") == 1


@pytest.mark.parametrize("fmt", ["text", "json"])
def test_streamed_plan_of_one_file_and_of_nothing(
    tmp_path: Path, state: str, zplan: Zplan, fmt: str
) -> None:
    from tests.conftest import EXAMPLES

    one = str(EXAMPLES / "accounts" / "acme.yaml")
    streamed = zplan("--state", state, "--at", TODAY, "plan", "--format", fmt, one)
    assert streamed.code == 0, streamed.output
    assert _CREATED.sub("", streamed.out) == _CREATED.sub("", _whole(state, [one], fmt))
    empty = tmp_path / "empty"
    empty.mkdir()
    nothing = zplan("--state", state, "--at", TODAY, "plan", "--format", fmt, str(empty))
    assert nothing.code == 0, nothing.output
    assert _CREATED.sub("", nothing.out) == _CREATED.sub("", _whole(state, [str(empty)], fmt))


def test_streamed_plan_exit_codes_follow_the_changes(
    many: Path,  # noqa: F811 - the fixture
    state: str,
    zplan: Zplan,
) -> None:
    for name in ("zz-broken.yaml", "zz-copy.yaml"):
        (many / name).unlink()
    drift = zplan("--state", state, "--at", TODAY, "plan", "--detailed-exitcode", str(many))
    assert drift.code == 2, drift.output  # the examples are not bought yet
    for path in many.glob("z-*.yaml"):
        path.unlink()
    calm = zplan("--state", state, "--at", TODAY, "plan", "--detailed-exitcode", str(many))
    assert calm.code == 0, calm.output
