"""What the live-account commands load, and the URLs they accept."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from tests.conftest import EXAMPLES, TODAY, Zplan

PROBE = """
import sys, json
from zplan.cli import run
code = run(sys.argv[1:])
print(json.dumps({"code": code, "httpx": "httpx" in sys.modules}))
"""


def loads_httpx(*argv: str) -> tuple[int, bool]:
    done = subprocess.run(
        [sys.executable, "-c", PROBE, *argv], capture_output=True, text=True, check=False
    )
    last = json.loads(done.stdout.strip().splitlines()[-1])
    return last["code"], last["httpx"]


def test_plan_without_refresh_never_loads_httpx(state: str) -> None:
    assert loads_httpx("--state", state, "--at", TODAY, "plan", str(EXAMPLES / "accounts")) == (
        0,
        False,
    )
    assert loads_httpx("import", "--help") == (0, False)


@pytest.mark.parametrize(
    "url",
    ["http://acme.zendesk.com", "ftp://127.0.0.1/x", "https://", "{subdomain}.zendesk.com"],
)
def test_a_url_that_would_send_tokens_in_the_clear_is_refused(
    zplan: Zplan, state: str, url: str
) -> None:
    done = zplan(
        "--state", state, "--at", TODAY, "plan", str(EXAMPLES / "accounts" / "acme.yaml"),
        "--refresh", "--zendesk-url", url,
        env={"ZENDESK_OAUTH_TOKEN": "t0ken"},
    )  # fmt: skip
    assert done.code == 1
    assert "is not an https URL" in done.err and "t0ken" not in done.output
