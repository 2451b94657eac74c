"""The state-store contract for saved plans: applied once, without a prompt; refused
when stale, from another day, tampered with, or signed by another store.

Every test that takes ``cli`` or ``store_url`` runs on SQLite and on PostgreSQL
(fixtures in tests/state/conftest.py). zplan runs in this process (``cli(...)``)
where that is enough, and as real processes (``cli.spawn``, ``cli.terminal``)
where the contract is about processes: concurrency, signals, terminals.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from zplan.apply.planfile import verify
from zplan.state import open_store
from zplan.state.base import LockInfo

from tests.state.conftest import OWNER, Cli, StoreFactory, finish, subscription_file
from tests.state.contract_support import STALE, apply_file, save_plan, serial_of

# Saved plans ---------------------------------------------------------------------


def test_saved_plan_applies_without_a_prompt(cli: Cli, tmp_path: Path) -> None:
    path = subscription_file(tmp_path)
    save_plan(cli, path, "plan.json")
    assert serial_of(cli.url) is None  # planning wrote nothing but the signing secret

    applied = cli("apply", "plan.json")  # stdin is not a terminal, and no --auto-approve
    assert applied.code == 0, applied.output
    assert "Apply complete: 1 account changed (acme)." in applied.out
    assert "Do you want" not in applied.output
    assert cli.check()["acme"].kinds == ["apply"]


def test_saved_plan_applied_twice_applies_once_and_says_when(cli: Cli, tmp_path: Path) -> None:
    path = subscription_file(tmp_path)
    save_plan(cli, path, "plan.json")
    first = cli("apply", "plan.json")
    assert first.code == 0, first.output
    with open_store(cli.url) as store:
        (version,) = store.versions("acme")

    second = cli("apply", "plan.json")
    assert second.code == 0, second.output
    assert (
        f"acme: this plan was already applied at {version.created_at}; nothing to do." in second.out
    )
    assert "Apply complete" not in second.out
    record = cli.check()["acme"]
    assert record.serial == 1 and len(record.invoices) == 1


def test_same_plan_applied_by_two_processes_at_once_is_charged_once(
    cli: Cli, tmp_path: Path
) -> None:
    path = subscription_file(tmp_path)
    apply_file(cli, path)
    bigger = subscription_file(tmp_path, agents=9, name="bigger")
    save_plan(cli, bigger, "plan.json")

    # Both processes are past their "already applied?" check and waiting for the lock
    # when it is released, so they really race for the one write.
    with (
        open_store(cli.url) as store,
        store.locked(
            ["acme"], LockInfo.mine("tester@acme.example", "test", "2026-11-27T00:00:00Z"), 0
        ),
    ):
        runs = [cli.spawn("apply", "plan.json", "--lock-timeout", "60") for _ in range(2)]
        time.sleep(1.5)
        assert all(r.poll() is None for r in runs), [finish(r).output for r in runs]
    results = [finish(r) for r in runs]

    applied = [r for r in results if "Apply complete: 1 account changed (acme)." in r.out]
    assert len(applied) == 1, [r.output for r in results]
    for result in results:
        if result is applied[0]:
            assert result.code == 0
        elif result.code == 0:
            assert "this plan was already applied at" in result.out, result.output
        else:
            assert "Saved plan is stale" in result.err or "is locked by" in result.err, (
                result.output
            )
    record = cli.check()["acme"]
    assert record.kinds == ["apply", "apply"]
    assert len(record.invoices) == 2  # the first purchase, and this plan once


def test_stale_saved_plan_is_refused(cli: Cli, tmp_path: Path) -> None:
    path = subscription_file(tmp_path)
    apply_file(cli, path)
    save_plan(cli, subscription_file(tmp_path, agents=7, name="seven"), "plan.json")
    apply_file(cli, subscription_file(tmp_path, agents=9, name="nine"))

    refused = cli("apply", "plan.json")
    assert refused.code == 1, refused.output
    assert STALE in refused.err
    record = cli.check()["acme"]
    assert record.serial == 2 and len(record.invoices) == 2
    with open_store(cli.url) as store:
        account = store.account("acme")
    assert account is not None and account.subscription is not None
    assert account.subscription.now.to_json()["products"]["suite"]["agents"] == 9


def test_saved_plan_from_another_day_is_refused(cli: Cli, tmp_path: Path) -> None:
    path = subscription_file(tmp_path)
    save_plan(cli, path, "plan.json")
    refused = cli("apply", "plan.json", at="2026-11-28")
    assert refused.code == 1, refused.output
    assert "the plan was priced on 2026-11-27, and today is 2026-11-28" in refused.err
    assert serial_of(cli.url) is None


def _edit_money(document: dict) -> None:
    account = document["accounts"][0]
    account["invoice"]["due_now"] = "1.00"
    account["totals"]["due_now"] = "1.00"
    account["invoice"]["lines"][0]["amount"] = "1.00"


def _edit_other(document: dict) -> None:
    document["accounts"][0]["desired"]["config"]["products"]["suite"]["agents"] = 50


def _edit_and_recompute_plan_id(document: dict) -> None:
    from zplan.apply.planfile import plan_id_of

    document["created_at"] = "2026-11-27T00:00:01Z"
    document["plan_id"] = plan_id_of(document)  # the id is no secret; the signature is


def _strip_signature(document: dict) -> None:
    del document["signature"]


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (_edit_money, "signature does not match"),
        (_edit_other, "signature does not match"),
        (_edit_and_recompute_plan_id, "signature does not match"),
        (_strip_signature, "the plan file has no signature"),
    ],
    ids=["money", "desired-agents", "recomputed-plan-id", "no-signature"],
)
def test_tampered_plan_file_is_refused(
    cli: Cli, tmp_path: Path, edit: object, message: str
) -> None:
    path = subscription_file(tmp_path)
    document = save_plan(cli, path, "plan.json")
    edit(document)  # type: ignore[operator]
    Path("plan.json").write_text(json.dumps(document, indent=2))

    refused = cli("apply", "plan.json")
    assert refused.code == 1, refused.output
    assert message in refused.err
    assert serial_of(cli.url) is None


def test_plan_signed_by_another_store_is_refused(
    cli: Cli, tmp_path: Path, store_kind: str, store_factory: StoreFactory
) -> None:
    path = subscription_file(tmp_path)
    save_plan(cli, path, "plan.json")

    never_signed = Cli(cli.zplan, store_factory.new(store_kind))
    refused = never_signed("apply", "plan.json")
    assert refused.code == 1, refused.output
    assert "saved against another state store" in refused.err

    other = Cli(cli.zplan, store_factory.new(store_kind))
    save_plan(other, subscription_file(tmp_path, "beta", owner=OWNER), "other.json")
    refused = other("apply", "plan.json")
    assert refused.code == 1, refused.output
    assert "signature does not match" in refused.err
    assert serial_of(other.url) is None
    assert serial_of(cli.url) is None


def test_concurrent_saved_plans_all_verify_with_the_public_keys(cli: Cli, tmp_path: Path) -> None:
    """Several processes plan --out at once; each plan verifies with the store's public keys
    alone (issue 12: no secret in the store)."""
    path = subscription_file(tmp_path)
    runs = [cli.spawn("plan", "--out", f"plan-{n}.json", str(path)) for n in range(4)]
    results = [finish(r) for r in runs]
    assert [r.code for r in results] == [0] * 4, [r.output for r in results]
    with open_store(cli.url) as store:
        trust = store.trust()
    assert trust is not None
    for n in range(4):
        verify(json.loads(Path(f"plan-{n}.json").read_text()), trust)
