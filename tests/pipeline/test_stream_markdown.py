"""The pull-request comment written as it is planned (issue 18): the same bytes as the whole
plan document rendered by ``render_markdown``, without holding every account."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from bench.accounts import write_accounts
from zplan.clock import Clock
from zplan.pipeline import bulk, workflow
from zplan.pipeline.guardrails import Extras
from zplan.pipeline.settings import Settings
from zplan.render.markdown import LIMIT, render_markdown

from tests.conftest import EXAMPLES, ROOT, TODAY, Zplan
from tests.pipeline.test_bulk import many  # noqa: F401 - the fixture

OWNER = "cx-platform@meridian-group.example"


def _whole(state: str, paths: list[str], catalog: str | None = None) -> str:
    """The comment as the whole-document path renders it (``--out`` and ``--policy`` go that
    way): the document with its twelve-month forecast, as ``zplan plan --format markdown``."""
    config = Settings(state, catalog, Clock.from_setting(TODAY), None, False, TODAY)
    with config.store() as store:
        document = workflow.make_plan(paths, config, store, extras=Extras(None, 12))
    return render_markdown(document)


def _streamed(zplan: Zplan, state: str, *paths: str) -> tuple[int, str]:
    result = zplan("--state", state, "--at", TODAY, "plan", "--format", "markdown", *paths)
    return result.code, result.out


def _workers(monkeypatch: pytest.MonkeyPatch, jobs: str, chunk: int) -> None:
    """``jobs`` processes (1: none) for even a small plan, ``chunk`` files at a time."""
    monkeypatch.setenv("ZPLAN_JOBS", jobs)
    monkeypatch.setattr(bulk, "PARALLEL_FROM", 4)
    monkeypatch.setattr(bulk, "CHUNK", chunk)


def _gfm(text: str) -> str:
    from markdown_it import MarkdownIt

    page: str = MarkdownIt("commonmark", {"html": True}).enable("table").render(text)
    return page


@pytest.fixture
def fleet(many: Path, zplan: Zplan, state: str, tmp_path: Path) -> Path:  # noqa: F811
    """``many`` (bought accounts, new ones, a duplicate pair, a broken file, a workflow file)
    and: cancellations, seat cuts scheduled for the renewal, and more than twenty alerts (the monthly accounts bought in March have renewals pending)."""
    cuts = tmp_path / "cuts"
    cuts.mkdir()
    for name in ("lumen-edu.yaml", "marlin-marine.yaml"):
        text = (many / name).read_text()
        cut = re.sub(r"agents: (\d+)", lambda m: f"agents: {max(1, int(m[1]) - 1)}", text)
        (cuts / name).write_text(cut)
        (many / name).write_text(cut)
    scheduled = zplan(
        "--state", state, "--at", "2026-06-01", "--actor", OWNER,
        "apply", "--auto-approve", str(cuts),
    )  # fmt: skip
    assert scheduled.code == 0, scheduled.output
    for name in ("kestrel-air.yaml", "umber-studio.yaml", "nimbus-cloud.yaml"):
        path = many / name
        path.write_text(path.read_text().replace("status: active", "status: cancelled"))
    monthly = tmp_path / "monthly"  # more accounts bought in March: renewals pending
    monthly.mkdir()
    for name in ("cartwheel", "fernleaf", "juniper-labs", "quarry-tools"):
        text = (EXAMPLES / "accounts-20" / f"{name}.yaml").read_text()
        for n in range(3):
            copy = text.replace(f"subdomain: {name}", f"subdomain: {name}-{n}")
            (monthly / f"{name}-{n}.yaml").write_text(copy)
            (many / f"{name}-{n}.yaml").write_text(copy)
    bought = zplan(
        "--state", state, "--at", "2026-03-01", "--actor", OWNER,
        "apply", "--auto-approve", str(monthly),
    )  # fmt: skip
    assert bought.code == 0, bought.output
    return many


@pytest.mark.parametrize("jobs", ["1", "2"])
def test_the_streamed_comment_is_the_rendered_document(
    fleet: Path, state: str, zplan: Zplan, monkeypatch: pytest.MonkeyPatch, jobs: str
) -> None:
    _workers(monkeypatch, jobs, 5)
    code, streamed = _streamed(zplan, state, str(fleet))
    whole = _whole(state, [str(fleet)])
    assert code == 1  # the broken file and the duplicate pair
    assert streamed == whole
    # Every part of the comment is there, and it renders as GitHub would show it.
    assert "⛔ cancelled |" in streamed and "This plan cancels" in streamed
    assert "scheduled for the renewal on" in streamed
    assert "are charged with the apply" in streamed
    assert re.search(r"> … and \d+ more \(see below\)\.", streamed)
    assert "cannot be applied" in streamed and "zz-broken.yaml" in streamed
    assert "is also described by" in streamed
    assert "#### 📈 Forecast: the next 12 months" in streamed
    assert "Unmanaged accounts" not in streamed  # every stored account has its file here
    page = _gfm(streamed)
    assert page.count("<details>") == page.count("</details>") > 20
    assert page.count("<strong>Total (USD)") == 1


@pytest.mark.parametrize("jobs", ["1", "2"])
def test_several_currencies(
    tmp_path: Path, state: str, zplan: Zplan, monkeypatch: pytest.MonkeyPatch, jobs: str
) -> None:
    """A catalog priced in dollars and euros: a headline, a total and a forecast per currency."""
    _workers(monkeypatch, jobs, 2)
    catalog = str(EXAMPLES / "catalogs" / "acme-negotiated.yaml")
    fleet = tmp_path / "fleet"
    fleet.mkdir()
    acme = (EXAMPLES / "accounts" / "acme.yaml").read_text()
    shutil.copy(EXAMPLES / "accounts" / "bluebird.yaml", fleet / "bluebird.yaml")
    for n in range(4):
        euro = acme.replace("currency: USD", "currency: EUR").replace(
            "subdomain: acme", f"subdomain: acme-eu{n}"
        )
        assert "currency: EUR" in euro
        (fleet / f"eu-{n}.yaml").write_text(euro)
        (fleet / f"us-{n}.yaml").write_text(acme.replace("subdomain: acme", f"subdomain: us{n}"))
    result = zplan(
        "--catalog", catalog, "--state", state, "--at", TODAY,
        "plan", "--format", "markdown", str(fleet),
    )  # fmt: skip
    assert result.code == 0, result.output
    assert result.out == _whole(state, [str(fleet)], catalog)
    assert result.out.count("### 💰 zplan: monthly cost will") == 2
    assert "(EUR, excluding tax)" in result.out and "(USD, excluding tax)" in result.out
    assert "Invoiced per month (EUR)" in result.out and "Invoiced per month (USD)" in result.out
    page = _gfm(result.out)
    assert page.count("<strong>Total (") == 2
    assert page.count('<code class="language-mermaid">') == 2


def test_unmanaged_accounts_and_a_plan_with_nothing_to_show(
    many: Path,  # noqa: F811
    state: str,
    zplan: Zplan,
    tmp_path: Path,
) -> None:
    # Only some bought accounts are described, unchanged: the rest are unmanaged.
    some = tmp_path / "some"
    some.mkdir()
    for name in ("bellhop.yaml", "dockside.yaml"):
        shutil.copy(EXAMPLES / "accounts-20" / name, some / name)
    code, streamed = _streamed(zplan, state, str(some))
    assert code == 0
    assert streamed == _whole(state, [str(some)])
    assert "Unmanaged accounts (in the store, described by no file; never changed)" in streamed
    assert "2 accounts without changes." in streamed
    assert "<details>" not in streamed


@pytest.mark.parametrize("what", ["one file", "empty directory"])
def test_one_account_and_no_account_at_all(
    tmp_path: Path, state: str, zplan: Zplan, what: str
) -> None:
    if what == "one file":
        paths = [str(EXAMPLES / "accounts" / "acme.yaml")]
    else:
        (tmp_path / "empty").mkdir()
        paths = [str(tmp_path / "empty")]
    code, streamed = _streamed(zplan, state, *paths)
    assert code == 0
    assert streamed == _whole(state, paths)
    if what == "empty directory":
        assert "### zplan: no accounts planned" in streamed
        assert "Forecast" not in streamed  # no account, no forecast
    else:
        assert "<details>" in streamed and "#### 📈 Forecast" in streamed


@pytest.mark.parametrize("jobs", ["1", "2"])
def test_a_comment_too_long_is_cut_the_same_way(
    tmp_path: Path, state: str, zplan: Zplan, monkeypatch: pytest.MonkeyPatch, jobs: str
) -> None:
    """First purchases of 1,200 accounts: every account has a row and details; the details
    are cut, then the rows (the totals never are)."""
    fleet = tmp_path / "fleet"
    write_accounts(fleet, 1_200, 7)
    _workers(monkeypatch, jobs, 50)
    code, streamed = _streamed(zplan, state, str(fleet))
    assert code == 0
    assert streamed == _whole(state, [str(fleet)])
    assert len(streamed) <= LIMIT
    assert "more changed accounts are not listed" in streamed
    assert re.search(r"_Details of \d+ accounts were cut", streamed)
    assert "**Total (USD)**" in streamed
    page = _gfm(streamed)
    assert "<details>" not in page and page.count("<tr>") > 300


def test_a_comment_cut_in_its_details_only(tmp_path: Path, state: str, zplan: Zplan) -> None:
    fleet = tmp_path / "fleet"
    write_accounts(fleet, 150, 11)
    code, streamed = _streamed(zplan, state, str(fleet))
    assert code == 0
    assert streamed == _whole(state, [str(fleet)])
    kept = streamed.count("<details>")
    assert 0 < kept < 150
    assert f"_Details of {150 - kept} accounts were cut" in streamed
    assert "more changed accounts are not listed" not in streamed


_WHOLE = """
import sys
from zplan.clock import Clock
from zplan.pipeline import workflow
from zplan.pipeline.guardrails import Extras
from zplan.pipeline.settings import Settings
from zplan.render.markdown import render_markdown

state, at, directory = sys.argv[1:]
config = Settings(state, None, Clock.from_setting(at), None, False, at)
with config.store() as store:
    document = workflow.make_plan([directory], config, store, extras=Extras(None, 12))
sys.stdout.write(render_markdown(document))
"""


def test_the_comment_of_a_big_directory_keeps_memory_flat(tmp_path: Path) -> None:
    """4,000 new accounts (every one with its details block): the parent keeps sizes and
    figures, not the accounts; its peak is that of a plan in text, well below the whole
    document's (what ``zplan plan --format markdown`` built before)."""
    fleet = tmp_path / "fleet"
    write_accounts(fleet, 4_000, 3)
    state = str(tmp_path / "store" / "state.db")
    made = subprocess.run(
        [sys.executable, "-m", "zplan", "--state", state, "state", "init", "--sandbox"],
        capture_output=True,
        check=False,
    )
    assert made.returncode == 0, made.stderr

    def peak(*command: str) -> tuple[int, str]:
        """The command's peak RSS (KB, its largest process) and its output."""
        script = (
            "import resource, subprocess, sys\n"
            "done = subprocess.run(sys.argv[1:], stdout=subprocess.PIPE, check=False)\n"
            "usage = resource.getrusage(resource.RUSAGE_CHILDREN)\n"
            "sys.stdout.write(str(usage.ru_maxrss) + '\\n' + done.stdout.decode())\n"
            "sys.exit(done.returncode)\n"
        )
        done = subprocess.run(
            [sys.executable, "-S", "-c", script, sys.executable, *command],
            capture_output=True,
            check=False,
            cwd=ROOT,
            env={"PATH": "/usr/bin:/bin", "ZPLAN_JOBS": "1"},
        )
        assert done.returncode == 0, done.stderr.decode()[-3000:]
        kb, _, out = done.stdout.decode().partition("\n")
        return int(kb), out

    plan = ["-m", "zplan", "--state", state, "--at", TODAY, "plan", str(fleet)]
    markdown, comment = peak(*plan, "--format", "markdown")
    text, _ = peak(*plan)
    whole, rendered = peak("-c", _WHOLE, state, TODAY, str(fleet))
    assert comment == rendered
    assert comment.startswith("<!-- zplan-plan -->") and len(comment) <= LIMIT
    # The whole document of 4,000 new accounts is tens of megabytes; the comment's parent
    # holds about what the text plan's does.
    assert markdown < text + 10_000, (markdown, text, whole)
    assert whole > markdown + 30_000, (markdown, text, whole)


def test_a_live_account_with_its_change_order(tmp_path: Path) -> None:
    """A live account: its details carry the banner and the owner's checklist."""
    from tests.apply.orders_support import live_account, subscription

    live = live_account(tmp_path)
    more = {"suite": {"edition": "professional", "agents": 12, "addons": {"copilot": 5}}}
    subscription(live.file, products=more)
    streamed = live.ok("plan", "--format", "markdown", str(live.file), at=TODAY).out
    assert streamed == _whole(live.state, [str(live.file)])
    assert "#### What the owner will do" in streamed and "Live account" in streamed
