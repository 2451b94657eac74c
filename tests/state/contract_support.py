"""What the state-store contract tests share: the messages they expect and helpers
that plan, apply and save plans through the ``cli`` fixture.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from zplan.state import open_store

from tests.conftest import TODAY
from tests.state.conftest import (
    OWNER,
    Cli,
)

NO_CHANGES = "No changes. The subscription of acme matches the configuration."
STALE = (
    "Saved plan is stale: the subscription of acme changed after the plan was made. "
    "Run zplan plan again."
)
LOCK_ID = re.compile(r"lock id ([0-9a-f-]{36})")


def plan_json(cli: Cli, path: Path, at: str = TODAY) -> dict:
    result = cli("plan", "--format", "json", str(path), at=at)
    assert result.code == 0, result.output
    return json.loads(result.out)


def apply_file(cli: Cli, path: Path, *extra: str, at: str = TODAY) -> None:
    result = cli("apply", "--auto-approve", *extra, str(path), at=at)
    assert result.code == 0, result.output
    assert "Apply complete" in result.out, result.output


def save_plan(cli: Cli, path: Path, out: str, at: str = TODAY, actor: str | None = OWNER) -> dict:
    result = cli("plan", "--out", out, str(path), at=at, actor=actor)
    assert result.code == 0, result.output
    return json.loads(Path(out).read_text())


def serial_of(url: str, subdomain: str = "acme") -> int | None:
    with open_store(url) as store:
        account = store.account(subdomain)
    return None if account is None else account.serial
