"""Planning many files: the parallel path gives exactly the serial path's document."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from zplan.pipeline import bulk

from tests.conftest import EXAMPLES, TODAY, Zplan


@pytest.fixture
def many(tmp_path: Path, zplan: Zplan, state: str) -> Path:
    """36 accounts (some bought already, some not), a duplicate pair, a broken file, a workflow."""
    accounts = tmp_path / "accounts"
    shutil.copytree(EXAMPLES / "accounts-20", accounts)
    for source in sorted((EXAMPLES / "accounts").glob("*.yaml")):
        shutil.copy(source, accounts / f"z-{source.name}")
    bought = zplan(
        "--state",
        state,
        "--at",
        "2026-03-01",
        "--actor",
        "cx-platform@meridian-group.example",
        "apply",
        "--auto-approve",
        str(EXAMPLES / "accounts-20"),
    )
    assert bought.code == 0, bought.output
    (accounts / "zz-broken.yaml").write_text("zplan: 1\naccount: [\n")
    (accounts / "zz-workflow.yml").write_text("on: push\njobs: {}\n")
    first = sorted(accounts.glob("z-*.yaml"))[0]
    (accounts / "zz-copy.yaml").write_text(first.read_text())
    return accounts


def test_parallel_plan_equals_serial_plan(
    many: Path, state: str, zplan: Zplan, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ZPLAN_JOBS", "1")
    serial = zplan("--state", state, "--at", TODAY, "plan", "--format", "json", str(many))
    monkeypatch.setattr(bulk, "PARALLEL_FROM", 4)
    monkeypatch.setattr(bulk, "CHUNK", 5)
    one = json.loads(serial.out)
    one.pop("created_at")
    for jobs in ("2", "3"):  # the parent and one worker, the parent and two
        monkeypatch.setenv("ZPLAN_JOBS", jobs)
        parallel = zplan("--state", state, "--at", TODAY, "plan", "--format", "json", str(many))
        assert serial.code == parallel.code == 1  # the broken file and the duplicate pair
        two = json.loads(parallel.out)
        two.pop("created_at")
        assert one == two
    codes = sorted(d["code"] for d in one["diagnostics"] if d["severity"] == "error")
    assert codes == ["duplicate-subdomain", "duplicate-subdomain", "yaml-syntax"]
    assert one["notes"] == ["skipped 1 file that is not a zplan file"]
    assert len(one["accounts"]) == 20 + 11 - 1
    changed = [a for a in one["accounts"] if a["changes"]]
    # The examples but the duplicated one and oldmill (cancelled, nothing to buy) are purchases.
    assert len(changed) == 9


def test_large_plans_print_json_on_one_line(
    many: Path, state: str, zplan: Zplan, monkeypatch: pytest.MonkeyPatch
) -> None:
    from zplan.apply import planfile

    small = zplan("--state", state, "--at", TODAY, "plan", "--format", "json", str(many))
    assert small.out.count("\n") > 100
    monkeypatch.setattr(planfile, "PRETTY_UP_TO", 5)
    large = zplan("--state", state, "--at", TODAY, "plan", "--format", "json", str(many))
    assert large.out.count("\n") == 1
    assert json.loads(large.out)["accounts"] == json.loads(small.out)["accounts"]
