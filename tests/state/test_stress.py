"""The contract's limits under stress (state.md): SIGKILL at random moments, many writers at
once, a client killed holding a lock, the server restarted.

The full runs are marked ``slow``; each has a quick variant in the default run.
"""

from __future__ import annotations

import datetime as dt
import itertools
import json
import os
import random
import re
import signal
import subprocess
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from zplan.state import open_store

from tests.conftest import TODAY, Zplan
from tests.state.conftest import (
    OWNER,
    PROMPT,
    Cli,
    PostgresServer,
    StoreFactory,
    check_store,
    finish,
    subscription_file,
)

LOCKED = re.compile(r"the state of (\S+) is locked by .*?lock id ([0-9a-f-]{36})", re.S)
SEED = int(os.environ.get("ZPLAN_STRESS_SEED", "0")) or random.randrange(1, 2**31)


def seeded(name: str) -> random.Random:
    """A generator per test; its seed shows in a failing test's output (to repeat the run:
    ZPLAN_STRESS_SEED=SEED)."""
    print(f"ZPLAN_STRESS_SEED={SEED}")
    return random.Random(f"{SEED}:{name}")


def agents_next(url: str) -> dict[str, int]:
    """Each account's agents from its next renewal on (what its file last asked for)."""
    found = {}
    with open_store(url) as store:
        for subdomain in store.subdomains():
            account = store.account(subdomain)
            assert account is not None and account.subscription is not None
            found[subdomain] = account.subscription.next.to_json()["products"]["suite"]["agents"]
    return found


def serials(url: str) -> dict[str, int]:
    with open_store(url) as store:
        return {s: a.serial for s in store.subdomains() if (a := store.account(s)) is not None}


def run_unlocking(cli: Cli, *args: str, at: str, lock_timeout: str) -> Any:
    """Run a command, removing locks of dead holders the way a user would (from the message)."""
    for _ in range(10):
        result = cli(*args, "--lock-timeout", lock_timeout, at=at)
        match = LOCKED.search(result.err)
        if result.code == 0 or not match:
            return result
        assert "(no longer running)" in result.err, result.err  # only dead holders here
        unlocked = cli("force-unlock", match.group(1), match.group(2))
        assert unlocked.code == 0, unlocked.output
    raise AssertionError(f"still locked after 10 force-unlocks: {result.output}")


# SIGKILL at random moments -----------------------------------------------------------

ACCOUNTS = ("acme", "beta", "gamma")


def kill_applies(
    zplan: Zplan, url: str, tmp_path: Path, kills: int, rng: random.Random
) -> Counter[str]:
    """Apply over and over (files and saved plans, three accounts, renewals falling due),
    SIGKILL each apply at a random moment, and check the store after every kill."""
    cli = Cli(zplan, url)
    postgres = url.startswith("postgresql://")
    lock_timeout = "10" if postgres else "0"  # a dead client's PostgreSQL lock goes with it
    folder = tmp_path / "accounts"
    desired = dict.fromkeys(ACCOUNTS, 5)
    for subdomain in ACCOUNTS:
        subscription_file(folder, subdomain, agents=5, owner=OWNER)
    day = dt.date.fromisoformat(TODAY)
    first = cli("apply", "--auto-approve", str(folder))
    assert first.code == 0, first.output
    started = time.monotonic()  # how long an apply lives, to aim the kills at its lifetime
    timed = finish(cli.spawn("apply", "--auto-approve", str(folder)))
    assert timed.code == 0, timed.output
    lifetime = time.monotonic() - started

    stats: Counter[str] = Counter()
    while stats["killed"] < kills:
        stats["rounds"] += 1
        assert stats["rounds"] < kills * 5 + 10, stats
        if rng.random() < 0.3:
            day += dt.timedelta(days=rng.randint(1, 20))  # monthly renewals fall due
        at = day.isoformat()
        for subdomain in ACCOUNTS:
            if rng.random() < 0.7:
                desired[subdomain] = rng.randint(1, 30)
                subscription_file(folder, subdomain, agents=desired[subdomain], owner=OWNER)
        saved = rng.random() < 0.5
        if saved:
            planned = cli("plan", "--out", "plan.json", str(folder), at=at)
            assert planned.code == 0, planned.output
            argv: tuple[str, ...] = ("apply", "plan.json")
        else:
            argv = ("apply", "--auto-approve", str(folder))
        before_serials, before_agents = serials(url), agents_next(url)

        spawned = time.monotonic()
        process = cli.spawn(*argv, "--lock-timeout", lock_timeout, at=at)
        time.sleep(rng.uniform(0.25, 1.05) * lifetime)
        killed = process.poll() is None
        if killed:
            process.send_signal(signal.SIGKILL)
            stats["killed"] += 1
        result = finish(process)
        if not killed:  # follow the machine's pace, so that most kills land in the apply
            lifetime = (lifetime + time.monotonic() - spawned) / 2
        if not killed and result.code != 0:
            match = LOCKED.search(result.err)
            assert match and "(no longer running)" in result.err, result.output
            assert cli("force-unlock", match.group(1), match.group(2)).code == 0
            stats["force-unlocked"] += 1

        # Each account holds the whole of its apply or none of it, and the store is whole.
        check_store(url)
        after_serials, after_agents = serials(url), agents_next(url)
        written = [s for s in ACCOUNTS if after_serials[s] != before_serials[s]]
        for subdomain in ACCOUNTS:
            wanted = desired[subdomain] if subdomain in written else before_agents[subdomain]
            assert after_agents[subdomain] == wanted, (subdomain, stats)
        if killed:
            share = "none" if not written else "all" if len(written) == len(ACCOUNTS) else "some"
            stats[f"killed, {share} written"] += 1
        if saved and killed:
            # A saved plan cut short is finished by applying it again, and charged once.
            again = run_unlocking(cli, "apply", "plan.json", at=at, lock_timeout=lock_timeout)
            assert again.code == 0, again.output
            for subdomain in written:
                assert f"{subdomain}: this plan was already applied at" in again.out
            check_store(url)
            assert agents_next(url) == desired, again.output
        if not killed and result.code == 0:
            assert agents_next(url) == desired

    # Afterwards a user clears the dead holders' locks and carries on as normal.
    at = day.isoformat()
    final = run_unlocking(
        cli, "apply", "--auto-approve", str(folder), at=at, lock_timeout=lock_timeout
    )
    assert final.code == 0, final.output
    planned = cli("plan", "--detailed-exitcode", str(folder), at=at)
    assert planned.code == 0, planned.output
    for subdomain in ACCOUNTS:
        assert f"The subscription of {subdomain} matches the configuration." in planned.out
        verified = cli("history", subdomain, "--verify")
        assert verified.code == 0, verified.output
    records = check_store(url)
    assert agents_next(url) == desired
    stats["renewals"] = sum(r.count("renewal") for r in records.values())
    return stats


KILLS = [
    pytest.param("sqlite", 3, id="sqlite-quick"),
    pytest.param("postgresql", 2, marks=pytest.mark.postgres, id="postgresql-quick"),
    pytest.param("sqlite", 200, marks=pytest.mark.slow, id="sqlite-200"),
    pytest.param(
        "postgresql", 50, marks=[pytest.mark.postgres, pytest.mark.slow], id="postgresql-50"
    ),
]


@pytest.mark.parametrize(("kind", "kills"), KILLS)
def test_sigkill_at_random_moments_leaves_a_whole_store(
    zplan: Zplan,
    tmp_path: Path,
    store_factory: StoreFactory,
    kind: str,
    kills: int,
    request: pytest.FixtureRequest,
) -> None:
    rng = seeded(request.node.name)
    stats = kill_applies(zplan, store_factory.new(kind), tmp_path, kills, rng)
    print(dict(stats))
    assert stats["killed"] >= kills


# Concurrent writers -------------------------------------------------------------------

WORKER = r'''
import json, random, sys, time
from pathlib import Path
from click.testing import CliRunner
from zplan.cli import run

url, folder, seed, seconds, accounts, report = sys.argv[1:7]
accounts = accounts.split(",")
rng = random.Random(seed)
folder = Path(folder)
folder.mkdir(parents=True, exist_ok=True)
OWNER = "owner@acme.example"
TEMPLATE = """zplan: 1
account:
  subdomain: {s}
  owner: owner@acme.example
billing:
  cycle: monthly
  payment: card
  payment_ref: pm_1QxY4242
agreements:
  master_subscription_agreement: accepted
  privacy_policy: accepted
products:
  suite:
    edition: professional
    agents: {a}
status: active
"""

def zplan(*argv):
    runner = CliRunner()
    with runner.isolation() as (stdout, stderr, _):
        code = run(["--state", url, "--at", "2026-11-27", "--actor", OWNER, *argv])
        return code, stdout.getvalue().decode(), stderr.getvalue().decode()

records = []
deadline = time.monotonic() + float(seconds)
n = 0
while time.monotonic() < deadline:
    n += 1
    mode = rng.choice(["file", "file", "saved", "several"])
    chosen = rng.sample(accounts, 2 if mode == "several" else 1)
    want = {s: rng.randint(1, 40) for s in chosen}
    where = folder / f"run{n}"
    where.mkdir()
    for s, a in want.items():
        (where / f"{s}.yaml").write_text(TEMPLATE.format(s=s, a=a))
    plan_id = None
    if mode == "saved":
        code, out, err = zplan("plan", "--out", str(where / "plan.json"), str(where))
        if code != 0:
            records.append({"mode": mode, "want": want, "code": code, "out": out, "err": err})
            continue
        plan_id = json.loads((where / "plan.json").read_text())["plan_id"]
        code, out, err = zplan("apply", "--lock-timeout", "5", str(where / "plan.json"))
    else:
        code, out, err = zplan("apply", "--auto-approve", "--lock-timeout", "5", str(where))
    records.append({"mode": mode, "want": want, "code": code, "out": out[-2000:],
                    "err": err, "plan_id": plan_id})
Path(report).write_text(json.dumps(records))
'''

VERIFIER = r"""
import sys, time
from zplan.state import open_store
url, seconds, accounts = sys.argv[1], float(sys.argv[2]), sys.argv[3].split(",")
deadline = time.monotonic() + seconds
checked = 0
with open_store(url) as store:
    while time.monotonic() < deadline:
        for s in accounts:
            result = store.verify(s)
            if not result.ok:
                print(f"{s}: {result.problem}")
                sys.exit(1)
            checked += 1
print(checked)
"""

APPLIED = re.compile(r"Apply complete: \d+ accounts? changed \(([^)]*)\)\.")
EXPECTED_ERRORS = ("is locked by", "Saved plan is stale")
# What a lost server may say (PostgreSQL restarted under an apply): clear, never a crash.
SERVER_ERRORS = (
    "failed during a write",
    "failed while locking",
    "failed while opening",
    "cannot connect to the state store",
    "; the transaction was rolled back",
    "hint: run the command again",
)


def start_writers(
    url: str, tmp_path: Path, workers: int, names: list[str], seconds: float, rng: random.Random
) -> list[subprocess.Popen[str]]:
    """``workers`` processes applying random agent counts to ``names`` for ``seconds``."""
    return [
        subprocess.Popen(
            [
                sys.executable,
                "-c",
                WORKER,
                url,
                str(tmp_path / f"w{n}"),
                str(rng.random()),
                str(seconds),
                ",".join(names),
                str(tmp_path / f"w{n}.json"),
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for n in range(workers)
    ]


@dataclass
class Writes:
    """What the writers said they did: per account, the agents of each successful apply."""

    stats: Counter[str] = field(default_factory=Counter)
    succeeded: dict[str, list[int]] = field(default_factory=dict)
    plan_ids: Counter[str] = field(default_factory=Counter)


def collect_writes(
    tmp_path: Path, workers: int, names: list[str], allowed: tuple[str, ...]
) -> Writes:
    writes = Writes(succeeded={name: [] for name in names})
    for n in range(workers):
        for record in json.loads((tmp_path / f"w{n}.json").read_text()):
            writes.stats[f"{record['mode']} exit {record['code']}"] += 1
            if record["code"] != 0:
                assert "unexpected error" not in record["err"], record
                assert any(e in record["err"] for e in allowed), record["err"]
                continue
            match = APPLIED.search(record["out"])
            changed = match.group(1).split(", ") if match else []
            assert set(changed) <= set(record["want"]), record
            for name in changed:
                writes.succeeded[name].append(record["want"][name])
            if record["plan_id"] and changed:
                writes.plan_ids[record["plan_id"]] += 1
    return writes


def check_writes(url: str, writes: Writes, *, exact: bool) -> int:
    """The store's history against what the writers saw: no lost update, no double charge.

    Each version was planned from the one before it (its change's ``before`` is the
    previous version's value); every apply that said so is in the store once; with
    ``exact``, nothing else is (a commit whose answer was lost may add one more).
    """
    records = check_store(url)
    plan_ids = Counter(writes.plan_ids)
    with open_store(url) as store:
        for name, succeeded in writes.succeeded.items():
            versions = store.versions(name)
            assert records[name].kinds == ["apply"] * len(versions)
            wrote = []
            for previous, version in itertools.pairwise(versions):
                assert version.audit is not None
                (change,) = [
                    c for c in version.audit["changes"] if c["address"] == "products.suite.agents"
                ]
                before = previous.account.subscription.next.to_json()  # type: ignore[union-attr]
                after = version.account.subscription.next.to_json()  # type: ignore[union-attr]
                assert change["before"] == before["products"]["suite"]["agents"], (
                    name,
                    version.serial,
                )
                assert change["after"] == after["products"]["suite"]["agents"]
                wrote.append(change["after"])
                if version.audit["plan_id"] in plan_ids:
                    plan_ids[version.audit["plan_id"]] -= 1
            if exact:
                assert sorted(wrote) == sorted(succeeded), name
            else:
                assert not Counter(succeeded) - Counter(wrote), name
    # Each saved plan that reported success wrote exactly one version.
    assert set(plan_ids.values()) <= {0}, plan_ids
    return sum(r.serial for r in records.values())


def concurrent_writers(
    zplan: Zplan,
    url: str,
    tmp_path: Path,
    workers: int,
    accounts: int,
    seconds: float,
    rng: random.Random,
) -> Counter[str]:
    """``workers`` processes apply to ``accounts`` accounts at once for ``seconds``; then: no
    lost update, no double charge, serials without gaps, and a chain that verified throughout."""
    cli = Cli(zplan, url)
    names = [f"acct{n:02d}" for n in range(accounts)]
    start = tmp_path / "start"
    for name in names:  # as the workers write them: no billing admins
        subscription_file(start, name, agents=5, owner=OWNER, billing_admins=[])
    first = cli("apply", "--auto-approve", str(start))
    assert first.code == 0, first.output

    runs = start_writers(url, tmp_path, workers, names, seconds, rng)
    verifier = subprocess.Popen(
        [sys.executable, "-c", VERIFIER, url, str(seconds), ",".join(names)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    for process in [*runs, verifier]:
        out, err = process.communicate(timeout=seconds + 120)
        assert process.returncode == 0, out + err

    writes = collect_writes(tmp_path, workers, names, EXPECTED_ERRORS)
    assert sum(len(v) for v in writes.succeeded.values()) > workers, writes.stats
    writes.stats["versions"] = check_writes(url, writes, exact=True)
    return writes.stats


WRITERS = [
    pytest.param("sqlite", 3, 6, 3, id="sqlite-quick"),
    pytest.param("postgresql", 3, 6, 3, marks=pytest.mark.postgres, id="postgresql-quick"),
    pytest.param("sqlite", 8, 50, 30, marks=pytest.mark.slow, id="sqlite-8x50-30s"),
    pytest.param(
        "postgresql",
        8,
        50,
        30,
        marks=[pytest.mark.postgres, pytest.mark.slow],
        id="postgresql-8x50-30s",
    ),
]


@pytest.mark.parametrize(("kind", "workers", "accounts", "seconds"), WRITERS)
def test_concurrent_writers_lose_no_update_and_charge_once(
    zplan: Zplan,
    tmp_path: Path,
    store_factory: StoreFactory,
    kind: str,
    workers: int,
    accounts: int,
    seconds: float,
    request: pytest.FixtureRequest,
) -> None:
    stats = concurrent_writers(
        zplan,
        store_factory.new(kind),
        tmp_path,
        workers,
        accounts,
        seconds,
        seeded(request.node.name),
    )
    print(dict(stats))


@pytest.mark.slow
def test_concurrent_different_plans_one_wins_every_time(cli: Cli, tmp_path: Path) -> None:
    """The contract's quick test (test_contract_locks.py), twelve times over."""
    rounds = 12
    apply = cli("apply", "--auto-approve", str(subscription_file(tmp_path, agents=5)))
    assert apply.code == 0, apply.output
    for round_ in range(rounds):
        serial = serials(cli.url)["acme"]
        plans = []
        for n, agents in enumerate((6 + 2 * round_, 7 + 2 * round_)):
            path = subscription_file(tmp_path, agents=agents, name=f"p{n}")
            assert cli("plan", "--out", f"p{n}.json", str(path)).code == 0
            plans.append(f"p{n}.json")
        results = [finish(p) for p in [cli.spawn("apply", plan) for plan in plans]]
        assert sorted(r.code for r in results) == [0, 1], [r.output for r in results]
        loser = next(r for r in results if r.code == 1)
        assert any(e in loser.err for e in EXPECTED_ERRORS), loser.output
        record = check_store(cli.url)["acme"]
        assert record.serial == serial + 1 and len(record.invoices) == serial + 1


@pytest.mark.slow
def test_first_plans_at_once_on_a_fresh_store(
    zplan: Zplan, tmp_path: Path, store_kind: str, store_factory: StoreFactory
) -> None:
    """Creating the store (its schema, its signing secret) is safe when several start at once
    (test_contract_plans.py has the quick variant); ten fresh stores, six processes each."""
    rounds = 10
    path = subscription_file(tmp_path)
    for round_ in range(rounds):
        cli = Cli(zplan, store_factory.new(store_kind))
        runs = [cli.spawn("plan", "--out", f"r{round_}-{n}.json", str(path)) for n in range(6)]
        results = [finish(r) for r in runs]
        assert [r.code for r in results] == [0] * 6, [r.output for r in results if r.code]
        applied = cli("apply", f"r{round_}-3.json")
        assert applied.code == 0, applied.output


# PostgreSQL: dead clients, restarted servers ---------------------------------------------


@pytest.mark.postgres
@pytest.mark.parametrize(
    "rounds", [pytest.param(1, id="quick"), pytest.param(15, marks=pytest.mark.slow, id="15")]
)
def test_postgres_client_killed_holding_a_lock_does_not_block(
    zplan: Zplan, tmp_path: Path, store_factory: StoreFactory, rounds: int
) -> None:
    cli = Cli(zplan, store_factory.new("postgresql"))
    assert cli("apply", "--auto-approve", str(subscription_file(tmp_path, agents=5))).code == 0
    for round_ in range(rounds):
        holder = cli.terminal(
            "apply", str(subscription_file(tmp_path, agents=50 + round_, name="held"))
        )
        try:
            holder.expect(PROMPT)
            blocked = cli("apply", "--auto-approve", str(subscription_file(tmp_path, agents=6)))
            assert blocked.code == 1 and "is locked by" in blocked.err, blocked.output
            match = LOCKED.search(blocked.err)
            assert match, blocked.err
            live = cli("force-unlock", "acme", match.group(2))
            assert live.code == 1 and "held by a live server session" in live.err, live.output
        finally:
            holder.kill()
        started = time.monotonic()
        agents = 10 + round_
        applied = cli(
            "apply",
            "--auto-approve",
            "--lock-timeout",
            "10",
            str(subscription_file(tmp_path, agents=agents, name="next")),
        )
        assert applied.code == 0, applied.output
        assert time.monotonic() - started < 10
        assert agents_next(cli.url)["acme"] == agents
    record = check_store(cli.url)["acme"]
    assert record.serial == 1 + rounds


@pytest.mark.postgres
def test_postgres_server_restarted_between_and_during_applies(
    zplan: Zplan, tmp_path: Path, store_factory: StoreFactory, private_postgres: PostgresServer
) -> None:
    cli = Cli(zplan, store_factory.new("postgresql", server=private_postgres))
    assert cli("apply", "--auto-approve", str(subscription_file(tmp_path, agents=5))).code == 0
    saved = cli("plan", "--out", "plan.json", str(subscription_file(tmp_path, agents=7)))
    assert saved.code == 0, saved.output

    # Between two applies: the next one simply works (the saved plan and its secret survive).
    private_postgres.restart()
    applied = cli("apply", "plan.json")
    assert applied.code == 0, applied.output
    assert check_store(cli.url)["acme"].serial == 2

    # During an apply, at its prompt: a clear error, nothing written; then it works again.
    terminal = cli.terminal("apply", str(subscription_file(tmp_path, agents=9)))
    try:
        terminal.expect(PROMPT)
        private_postgres.restart()
        terminal.send("yes")
        code, output = terminal.finish()
    except BaseException:
        terminal.kill()
        raise
    assert code == 1, output
    # The apply reads its accounts again before it writes them (a fleet's apply keeps none
    # whole): the lost connection shows at that read or at the write, said either way.
    assert ("failed during a write" in output and "the transaction was rolled back" in output) or (
        "failed while reading" in output and "nothing was written" in output
    ), output
    assert "unexpected error" not in output
    assert check_store(cli.url)["acme"].serial == 2

    # While an apply waits for another's lock: a clear error, not a crash.
    holder = cli.terminal("apply", str(subscription_file(tmp_path, agents=11, name="held")))
    try:
        holder.expect(PROMPT)
        waiting = cli.spawn(
            "apply",
            "--auto-approve",
            "--lock-timeout",
            "60",
            str(subscription_file(tmp_path, agents=9)),
        )
        time.sleep(2)
        private_postgres.restart()
        waited = finish(waiting)
    finally:
        holder.kill()
    assert waited.code == 1, waited.output
    assert "failed while locking acme" in waited.err and "unexpected error" not in waited.err

    # While the server is down: a clear error.
    private_postgres.stop()
    try:
        down = cli("apply", "--auto-approve", str(subscription_file(tmp_path, agents=9)))
    finally:
        private_postgres.start()
    assert down.code == 1 and "cannot connect to the state store" in down.err, down.output

    again = cli("apply", "--auto-approve", str(subscription_file(tmp_path, agents=9)))
    assert again.code == 0, again.output
    record = check_store(cli.url)["acme"]
    assert record.kinds == ["apply", "apply", "apply"]


@pytest.mark.slow
@pytest.mark.postgres
def test_postgres_server_restarted_under_load(
    zplan: Zplan,
    tmp_path: Path,
    store_factory: StoreFactory,
    private_postgres: PostgresServer,
    request: pytest.FixtureRequest,
) -> None:
    """Writers keep applying while the server restarts five times: every apply either
    succeeds whole or fails with a clear error, and the store is whole afterwards."""
    url = store_factory.new("postgresql", server=private_postgres)
    cli = Cli(zplan, url)
    names = [f"acct{n}" for n in range(6)]
    start = tmp_path / "start"
    for name in names:
        subscription_file(start, name, agents=5, owner=OWNER, billing_admins=[])
    assert cli("apply", "--auto-approve", str(start)).code == 0
    seconds = 20
    runs = start_writers(url, tmp_path, 3, names, seconds, seeded(request.node.name))
    for _ in range(5):
        time.sleep(seconds / 6)
        private_postgres.restart()
    for process in runs:
        out, err = process.communicate(timeout=seconds + 120)
        assert process.returncode == 0, out + err
    writes = collect_writes(tmp_path, 3, names, EXPECTED_ERRORS + SERVER_ERRORS)
    check_writes(url, writes, exact=False)
    print(dict(writes.stats))
