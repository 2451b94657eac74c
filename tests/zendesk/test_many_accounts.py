"""plan --refresh over 200 accounts: the reads run concurrently, each account's in turn."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from tests.conftest import EXAMPLES, Zplan
from tests.zendesk.fake import FakeZendesk, Fault, team

ACCOUNTS = 200
AGENTS = 150  # two pages each
LATENCY = 0.05  # seconds the server takes per answer: 400 answers, 20 s if read one by one


@pytest.mark.slow
def test_plan_refresh_over_200_accounts(
    zplan: Zplan, state: str, zendesk: FakeZendesk, tmp_path: Path
) -> None:
    example = (EXAMPLES / "accounts" / "acme.yaml").read_text().replace("agents: 25", "agents: 200")
    accounts = tmp_path / "accounts"
    accounts.mkdir()
    credentials = []
    for index in range(ACCOUNTS):
        name = f"acct{index:03d}"
        (accounts / f"{name}.yaml").write_text(
            example.replace("subdomain: acme", f"subdomain: {name}")
        )
        account = zendesk.add(name, team(AGENTS))
        account.faults.extend(Fault(delay=LATENCY) for _ in range(2))
        credentials.append(f"{name}:\n  email: {account.email}\n  api_token: {account.token}\n")
    secrets = tmp_path / "zendesk.yaml"
    secrets.write_text("".join(credentials))
    secrets.chmod(0o600)
    base = ("--state", state, "--at", "2026-11-27", "--actor", "owner@acme.example")
    done = zplan(*base, "import", str(accounts), "--term-start", "2026-06-15", "--promo-uses", "1")
    assert done.code == 0, done.output

    started = time.perf_counter()
    plain = zplan(*base, "plan", str(accounts), "--format", "json")
    assert plain.code == 0, plain.output[-2000:]
    plain_seconds = time.perf_counter() - started
    started = time.perf_counter()
    live = zplan(
        *base, "plan", str(accounts), "--format", "json", "--refresh",
        "--zendesk-url", zendesk.url, "--zendesk-credentials", str(secrets),
        "--detailed-exitcode",
    )  # fmt: skip
    live_seconds = time.perf_counter() - started
    assert live.code == 0, live.output[-2000:]
    document = json.loads(live.out)
    assert len(document["accounts"]) == ACCOUNTS
    assert all(a["observed"]["seats_in_use"] == AGENTS for a in document["accounts"])
    assert len(zendesk.requests) == ACCOUNTS * 2
    # Each account's pages in turn: its second request starts after its first answered.
    firsts: dict[str, float] = {}
    for subdomain, path, moment in zendesk.requests:
        if "page%5Bafter%5D" in path:
            assert moment >= firsts[subdomain] + LATENCY * 0.9
        else:
            firsts[subdomain] = moment
    serial = ACCOUNTS * 2 * LATENCY
    print(
        f"\nplan of {ACCOUNTS} accounts: {plain_seconds:.2f} s without --refresh, "
        f"{live_seconds:.2f} s with --refresh ({ACCOUNTS * 2} requests of {LATENCY * 1000:.0f} ms; "
        f"{serial:.0f} s if read one at a time)"
    )
    # Concurrent: many requests were in flight at once (each is answered LATENCY after it
    # arrives). Counted at the server, so a loaded machine cannot make it pass or fail.
    starts = sorted(moment for _, _, moment in zendesk.requests)
    in_flight = max(
        sum(1 for other in starts if start <= other < start + LATENCY) for start in starts
    )
    print(f"at most {in_flight} requests in flight at once")
    assert in_flight >= 4
