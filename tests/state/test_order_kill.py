"""SIGKILL during confirm: afterwards the account holds either the open order or the
confirmed version, never both, and its history verifies (SQLite and PostgreSQL).

A real ``python -m zplan confirm`` process kills itself with SIGKILL at a chosen point
inside the confirm transaction (after the order's row is closed; while the audit entry
is being made), or is killed from outside at a random moment.
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.apply.orders_support import BOUGHT, OWNER, Live, subscription
from tests.conftest import ROOT, TODAY
from tests.state.conftest import RawStore, StoreFactory

MORE = {"suite": {"edition": "professional", "agents": 12, "addons": {"copilot": 5}}}

# Runs zplan's console entry point after arming a SIGKILL at one point of the confirm write.
KILLER = """
import os, signal, sys
from zplan.state import base

point = os.environ["KILL_AT"]
real_order, real_audit = base.SqlStore._write_order, base.audit_row

def write_order(self, cur, subdomain, serial, version):
    real_order(self, cur, subdomain, serial, version)
    if point == "order_row" and version.order["status"] == "confirmed":
        os.kill(os.getpid(), signal.SIGKILL)

def audit_row(previous, write, serial, *rest):
    if point == "audit_entry" and (write.order or {}).get("status") == "confirmed":
        os.kill(os.getpid(), signal.SIGKILL)
    return real_audit(previous, write, serial, *rest)

base.SqlStore._write_order = write_order
base.audit_row = audit_row
from zplan.cli import main
sys.argv = ["zplan", *sys.argv[1:]]
main()
"""


def opened(url: str, tmp_path: Path) -> tuple[Live, str]:
    path = subscription(tmp_path / "acme.yaml")
    live = Live(url, path, init=False)
    live.ok("apply", "--auto-approve", str(path), at=BOUGHT)
    live.ok("admin", "account", "acme", "--live", at=BOUGHT)
    subscription(path, products=MORE)
    due = live.plan_json()["accounts"][0]["invoice"]["due_now"]
    live.ok("apply", "--auto-approve", str(path))
    return live, str(due)


def confirm_argv(url: str, due: str) -> list[str]:
    return [
        "--state", url, "--at", TODAY, "--actor", OWNER,
        "confirm", "acme", "--invoice-total", due, "--unverified", "kill test",
    ]  # fmt: skip


def outcome(live: Live, url: str) -> str:
    """``open`` or ``confirmed``; fails if the store holds both, neither, or a broken chain."""
    history = live.history()
    assert history["verify"]["ok"] is True, history["verify"]
    last = history["versions"][-1]
    with RawStore(url) as raw:
        rows = raw.rows("SELECT status, closed_serial FROM change_orders WHERE subdomain = 'acme'")
        current = raw.rows("SELECT serial, state FROM accounts WHERE subdomain = 'acme'")
    assert len(rows) == 1
    status, closed = rows[0]
    serial, state = current[0]
    state = json.loads(state)
    agents = state["subscription"]["now"]["products"]["suite"]["agents"]
    if status == "open":
        assert (last["order"]["status"], serial, agents, closed) == ("open", 3, 10, None)
        assert state["open_order"]["number"] == 3
        return "open"
    assert status == "confirmed"
    assert (last["order"]["status"], serial, agents, closed) == ("confirmed", 4, 12, 4)
    assert "open_order" not in state
    return "confirmed"


@pytest.mark.parametrize("point", ["order_row", "audit_entry"])
def test_sigkill_inside_the_confirm_transaction_leaves_the_open_order(
    point: str, store_url: str, tmp_path: Path
) -> None:
    live, due = opened(store_url, tmp_path)
    killed = subprocess.run(
        [sys.executable, "-c", KILLER, *confirm_argv(store_url, due)],
        env={**os.environ, "KILL_AT": point, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    assert outcome(live, store_url) == "open"
    if not store_url.startswith("postgres"):  # the dead process's lock row stays until force-unlock
        locked = live("confirm", "acme", "--invoice-total", due, "--unverified", "after kill")
        if locked.code:
            lock_id = locked.err.split("lock id ")[-1].split()[0].strip(",;:)")
            live.ok("force-unlock", "acme", lock_id, at=None)
    done = live("confirm", "acme", "--invoice-total", due, "--unverified", "after kill")
    assert done.code == 0, done.output
    assert outcome(live, store_url) == "confirmed"


@pytest.mark.slow
def test_sigkill_at_random_moments_never_leaves_both(
    store_kind: str, store_factory: StoreFactory, tmp_path: Path
) -> None:
    rng = random.Random(16)
    seen: dict[str, int] = {"open": 0, "confirmed": 0}
    for round_ in range(8):
        folder = tmp_path / f"round{round_}"
        folder.mkdir()
        url = store_factory.new(store_kind)
        live, due = opened(url, folder)
        started = time.monotonic()
        process = subprocess.Popen(
            [sys.executable, "-m", "zplan", *confirm_argv(url, due)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        time.sleep(rng.uniform(0.2, 1.2))
        if process.poll() is None:
            process.send_signal(signal.SIGKILL)
        process.wait(timeout=60)
        seen[outcome(live, url)] += 1
        assert time.monotonic() - started < 120
    assert sum(seen.values()) == 8
