"""The fuzz corpus, extended with issue 13's hostile inputs (kept apart from test_fuzz.py).

Random directories mixing good files, hostile file names, symlinks (to
devices, out of the tree, in loops), FIFOs and card numbers in any spelling,
with markdown payloads in values and keys: validate and plan finish quickly
with exit 0 or 1, never echo a card number, never print an invisible
character raw, and the pull-request comment stays inert through cmark-gfm.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.adversarial.support import EXAMPLES
from tests.adversarial.test_hostile_cards import _leaks, cards, spellings
from tests.conftest import TODAY, init_store
from tests.render.test_markdown_injection import ALLOWED_TAGS, HOSTILE, _github_html

ACME = (EXAMPLES / "accounts" / "acme.yaml").read_text()
INVISIBLE = "\u202e\u200b\u2066\ufeff"

payloads = st.one_of(
    st.sampled_from(HOSTILE),
    st.text(
        st.sampled_from(list("<>&`[]()!@#*_~|\\:/.- \n\"'=aZ09" + INVISIBLE)),
        min_size=1,
        max_size=24,
    ),
)
file_names = payloads.map(lambda s: s.replace("/", "_").replace("\0", "_")[:80] or "x")


@st.composite
def hostile_directories(draw: st.DrawFn) -> list[tuple[str, str, str]]:
    """(kind, name, content) entries for one directory."""
    entries: list[tuple[str, str, str]] = []
    for index in range(draw(st.integers(1, 6))):
        kind = draw(
            st.sampled_from(
                ["good", "named", "value", "key", "card", "zero", "fifo", "loop", "outside"]
            )
        )
        name = f"f{index}-{draw(file_names)}.yaml" if kind == "named" else f"f{index}.yaml"
        content = ACME.replace("subdomain: acme", f"subdomain: acme{index}")
        payload = draw(payloads)
        if kind == "value":
            content = content.replace("WELCOME10", json.dumps(payload))
        elif kind == "key":
            content = content.replace("promo_code:", f"{json.dumps(payload)}:")
        elif kind == "card":
            digits = draw(cards())
            written = draw(spellings(digits))
            where = draw(st.sampled_from(["payment_ref", "promo", "comment"]))
            if where == "payment_ref":
                content = content.replace("pm_1QxY4242", json.dumps(written))
            elif where == "promo":
                content = content.replace("WELCOME10", json.dumps(written))
            else:
                content = content.replace("status: active", f"status: active  # {written}")
            entries.append(("card-digits", digits, ""))
        entries.append((kind, name, content))
    return entries


def _build(directory: Path, entries: list[tuple[str, str, str]]) -> list[str]:
    accounts = directory / "accounts"
    accounts.mkdir()
    cards_written = []
    for kind, name, content in entries:
        path = accounts / name
        if kind == "card-digits":
            cards_written.append(name)
        elif kind == "zero":
            path.symlink_to("/dev/zero")
        elif kind == "fifo":
            os.mkfifo(path)
        elif kind == "loop":
            path.symlink_to(path.name)
        elif kind == "outside":
            path.symlink_to("/proc/self/environ")
        else:
            path.write_text(content, encoding="utf-8")
    return cards_written


def _run(directory: Path, *argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "zplan", "--state", "s.db", "--at", TODAY, *argv],
        cwd=directory,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def _check(directory: Path, entries: list[tuple[str, str, str]]) -> None:
    card_digits = _build(directory, entries)
    init_store(str(directory / "s.db"))
    outputs = []
    started = time.monotonic()
    for argv in (
        ("validate", "accounts"),
        ("validate", "accounts", "--format", "json"),
        ("validate", "accounts", "--format", "github"),
        ("plan", "accounts"),
        ("plan", "accounts", "--format", "markdown"),
    ):
        done = _run(directory, *argv)
        assert done.returncode in (0, 1), (argv, done.stderr)
        assert "unexpected error" not in done.stderr and "Traceback" not in done.stderr
        outputs.append(done.stdout + done.stderr)
    assert time.monotonic() - started < 60
    for text in outputs:
        for digits in card_digits:
            assert _leaks(text, digits) == [], text
        assert not re.search(f"[{INVISIBLE}]", text), text
    markdown = _run(directory, "plan", "accounts", "--format", "markdown").stdout
    page = _github_html(markdown)
    assert set(page.tags) <= ALLOWED_TAGS, markdown
    assert page.tags.count("a") == page.tags.count("img") == 0
    assert page.mentions == [] and page.comments == [" zplan-plan "], markdown


@given(entries=hostile_directories())
@settings(
    max_examples=5,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
def test_hostile_directories(tmp_path_factory: pytest.TempPathFactory, entries: list) -> None:
    directory = tmp_path_factory.mktemp("hostile")
    try:
        _check(directory, entries)
    finally:
        shutil.rmtree(directory, ignore_errors=True)


@pytest.mark.slow
@given(entries=hostile_directories())
@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
def test_hostile_directories_slow(tmp_path_factory: pytest.TempPathFactory, entries: list) -> None:
    directory = tmp_path_factory.mktemp("hostile")
    try:
        _check(directory, entries)
    finally:
        shutil.rmtree(directory, ignore_errors=True)
