"""Issue 12: every attack on the record, as a regression test, on SQLite and PostgreSQL.

The client's clock (``--at``) on writes, a rewritten or truncated audit chain, an
account's rows moved or deleted, a forged append, administration without
authority, a saved plan applied on both sides of a migration. Each attack is
made for real against a real store, then zplan must refuse it (nothing written)
or detect it (``history --verify``, with ``--head`` where only a published head
can tell).
"""

from __future__ import annotations

import datetime as dt
import json
import os
from pathlib import Path

import pytest
from zplan.state.base import chain_hash

from tests.conftest import TODAY
from tests.state.conftest import (
    Cli,
    RawStore,
    StoreFactory,
    subscription_file,
)

REAL_TODAY = dt.datetime.now(dt.UTC).date()
CLOCK_REFUSED = "a write uses the real clock"


@pytest.fixture
def ordinary(zplan: object, store_kind: str, store_factory: StoreFactory) -> Cli:
    """An ordinary store (real clock), as a team would have: zplan at today, no --at."""
    return Cli(zplan, store_factory.new(store_kind, sandbox=False))  # type: ignore[arg-type]


def serial(cli: Cli, subdomain: str = "acme") -> int | None:
    with RawStore(cli.url) as raw:
        rows = raw.rows("SELECT serial FROM accounts WHERE subdomain = ?", (subdomain,))
    return int(rows[0][0]) if rows else None


def applied(cli: Cli, path: Path, at: str | None = TODAY) -> str:
    result = cli("apply", "--auto-approve", str(path), at=at)
    assert result.code == 0, result.output
    (head,) = [line for line in result.out.splitlines() if line.startswith("audit head: ")]
    return head


def head_of(line: str) -> str:
    """``audit head: acme #2 sha256:…`` → ``2:sha256:…``."""
    _, _, _, number, digest = line.split()
    return f"{number.lstrip('#')}:{digest}"


# The clock ---------------------------------------------------------------------------


def test_backdated_cancel_is_refused_on_an_ordinary_store(ordinary: Cli, tmp_path: Path) -> None:
    applied(ordinary, subscription_file(tmp_path, cycle="annual"), at=None)
    cancel = subscription_file(tmp_path, cycle="annual", status="cancelled", name="cancel")
    yesterday = (REAL_TODAY - dt.timedelta(days=1)).isoformat()
    refused = ordinary("apply", "--auto-approve", "--allow-cancel", str(cancel), at=yesterday)
    assert refused.code == 1 and CLOCK_REFUSED in refused.err, refused.output
    assert serial(ordinary) == 1


def test_postdated_seat_increase_is_refused_on_an_ordinary_store(
    ordinary: Cli, tmp_path: Path
) -> None:
    applied(ordinary, subscription_file(tmp_path, cycle="annual", agents=5), at=None)
    more = subscription_file(tmp_path, cycle="annual", agents=105, name="more")
    later = (REAL_TODAY + dt.timedelta(days=363)).isoformat()
    refused = ordinary("apply", "--auto-approve", str(more), at=later)
    assert refused.code == 1 and CLOCK_REFUSED in refused.err, refused.output
    assert serial(ordinary) == 1
    # Naming the real date is harmless.
    assert ordinary("apply", "--auto-approve", str(more), at=REAL_TODAY.isoformat()).code == 0


def test_at_on_a_saved_plan_is_refused(ordinary: Cli, tmp_path: Path) -> None:
    applied(ordinary, subscription_file(tmp_path, agents=5), at=None)
    later = (REAL_TODAY + dt.timedelta(days=200)).isoformat()
    made = ordinary(
        "plan", "--out", "plan.json", str(subscription_file(tmp_path, agents=9, name="b")), at=later
    )
    assert made.code == 0, made.output  # plan --at stays free: what-ifs are the point of plans
    refused = ordinary("apply", "plan.json", at=later)
    assert refused.code == 1 and CLOCK_REFUSED in refused.err, refused.output
    stale = ordinary("apply", "plan.json", at=None)
    assert stale.code == 1 and f"priced on {later}" in stale.err, stale.output
    assert serial(ordinary) == 1


def test_a_sandbox_store_moves_business_dates_only_forward(cli: Cli, tmp_path: Path) -> None:
    applied(cli, subscription_file(tmp_path, cycle="annual"), at="2026-11-27")
    applied(cli, subscription_file(tmp_path, cycle="annual", agents=8, name="b"), at="2026-12-10")
    cancel = subscription_file(
        tmp_path, cycle="annual", agents=8, status="cancelled", name="cancel"
    )
    refused = cli("apply", "--auto-approve", "--allow-cancel", str(cancel), at="2026-12-01")
    assert refused.code == 1 and "only move forward" in refused.err, refused.output
    assert serial(cli) == 2
    shown = cli("plan", str(cancel))
    assert "sandbox store: dates are simulated" in shown.out.splitlines()[0]


def test_entries_record_wall_time_and_business_date(cli: Cli, tmp_path: Path) -> None:
    applied(cli, subscription_file(tmp_path), at="2027-01-15")
    with RawStore(cli.url) as raw:
        ((text,),) = raw.rows("SELECT entry FROM audit WHERE subdomain = 'acme'")
    entry = json.loads(text)
    assert entry["priced_on"] == "2027-01-15"
    assert entry["time"][:10] in {
        REAL_TODAY.isoformat(),
        (REAL_TODAY + dt.timedelta(1)).isoformat(),
    }
    assert entry["sandbox"] is True and entry["key"].startswith("ed25519:")


# The audit chain ---------------------------------------------------------------------


def _two_versions(cli: Cli, tmp_path: Path) -> tuple[str, str]:
    first = applied(cli, subscription_file(tmp_path, agents=5))
    second = applied(cli, subscription_file(tmp_path, agents=9, name="more"))
    return first, second


def test_tail_truncation_with_a_consistent_rollback_is_caught_by_the_head(
    cli: Cli, tmp_path: Path
) -> None:
    _, published = _two_versions(cli, tmp_path)
    with RawStore(cli.url) as raw:
        for table in ("audit", "invoices", "applied_plans", "versions"):
            raw.execute(f"DELETE FROM {table} WHERE subdomain = 'acme' AND serial = 2")
        ((state,),) = raw.rows("SELECT state FROM versions WHERE subdomain = 'acme' AND serial = 1")
        raw.execute("UPDATE accounts SET serial = 1, state = ? WHERE subdomain = 'acme'", (state,))
    # The chain alone is consistent: this is what only a published head can show.
    assert cli("history", "acme", "--verify").code == 0
    caught = cli("history", "acme", "--verify", "--head", head_of(published))
    assert caught.code == 1 and "before the published head #2" in caught.out, caught.output
    heads = tmp_path / "heads.json"
    heads.write_text(
        json.dumps([{"subdomain": "acme", "serial": 2, "hash": published.split()[-1]}])
    )
    assert cli("history", "acme", "--verify", "--heads", str(heads)).code == 1


def test_a_mid_chain_rewrite_with_recomputed_hashes_is_caught(cli: Cli, tmp_path: Path) -> None:
    _two_versions(cli, tmp_path)
    applied(cli, subscription_file(tmp_path, agents=12, name="most"))
    with RawStore(cli.url) as raw:
        rows = raw.rows("SELECT serial, entry FROM audit WHERE subdomain = 'acme' ORDER BY serial")
        previous = ""
        for number, text in rows:
            entry = json.loads(text)
            if number == 2:
                entry["actor"] = "mallory@evil.example"
                entry["amounts"]["due_now"] = "0.00"
            entry["previous_hash"] = previous
            digest = chain_hash(previous, entry)
            raw.execute(
                "UPDATE audit SET entry = ?, hash = ? WHERE subdomain = 'acme' AND serial = ?",
                (json.dumps(entry, sort_keys=True, separators=(",", ":")), digest, number),
            )
            previous = digest
    caught = cli("history", "acme", "--verify")
    assert caught.code == 1 and "entry 2 has a signature that does not match" in caught.out, (
        caught.output
    )
    # And nothing is written on top of a chain that does not verify.
    refused = cli("apply", "--auto-approve", str(subscription_file(tmp_path, agents=3, name="x")))
    assert refused.code == 1 and "does not verify" in refused.err, refused.output
    assert serial(cli) == 3


def test_a_re_keyed_account_is_caught(cli: Cli, tmp_path: Path) -> None:
    _two_versions(cli, tmp_path)
    with RawStore(cli.url) as raw:
        for table in ("audit", "invoices", "applied_plans", "versions", "accounts"):
            raw.execute(f"UPDATE {table} SET subdomain = 'other' WHERE subdomain = 'acme'")
    caught = cli("history", "other", "--verify")
    assert caught.code == 1 and "was written for 'acme', not other" in caught.out, caught.output


def test_a_forged_append_is_caught_and_blocks_writes(cli: Cli, tmp_path: Path) -> None:
    """What the append-only role can do: insert rows, with a correct hash, but no key."""
    _two_versions(cli, tmp_path)
    with RawStore(cli.url) as raw:
        ((text, digest),) = raw.rows(
            "SELECT entry, hash FROM audit WHERE subdomain = 'acme' AND serial = 2"
        )
        ((state,),) = raw.rows("SELECT state FROM versions WHERE subdomain = 'acme' AND serial = 2")
        entry = json.loads(text)
        forged = json.loads(state)
        forged["serial"] = 3
        forged["type"] = "self_service"
        forged_state = json.dumps(forged, sort_keys=True, separators=(",", ":"))
        from zplan.state.base import canonical, sha256_text

        entry.update(
            serial=3,
            kind="admin",
            actor="mallory@evil.example",
            previous_hash=digest,
            state_sha256=sha256_text(canonical(forged)),
            invoice_sha256=None,
        )
        raw.execute(
            "INSERT INTO versions (subdomain, serial, kind, created_at, state) "
            "VALUES ('acme', 3, 'admin', ?, ?)",
            (entry["time"], forged_state),
        )
        raw.execute(
            "INSERT INTO audit (subdomain, serial, entry, hash) VALUES ('acme', 3, ?, ?)",
            (canonical(entry), chain_hash(digest, entry)),
        )
        raw.execute(
            "UPDATE accounts SET serial = 3, state = ? WHERE subdomain = 'acme'", (forged_state,)
        )
    caught = cli("history", "acme", "--verify")
    assert caught.code == 1 and "entry 3 is not signed" in caught.out, caught.output
    refused = cli("apply", "--auto-approve", str(subscription_file(tmp_path, agents=2, name="y")))
    assert refused.code == 1 and "does not verify" in refused.err


def test_a_deleted_account_is_caught_against_the_published_heads(cli: Cli, tmp_path: Path) -> None:
    _two_versions(cli, tmp_path)
    heads = cli("state", "heads", "--format", "json")
    assert heads.code == 0
    (tmp_path / "heads.json").write_text(heads.out)
    assert json.loads(heads.out)[0]["hash"].startswith("sha256:")
    with RawStore(cli.url) as raw:
        for table in ("audit", "invoices", "applied_plans", "versions", "accounts"):
            raw.execute(f"DELETE FROM {table} WHERE subdomain = 'acme'")
    caught = cli("history", "acme", "--verify", "--heads", str(tmp_path / "heads.json"))
    assert caught.code == 1 and "no account acme" in caught.err, caught.output


def test_the_sandbox_flag_cannot_be_switched(ordinary: Cli, tmp_path: Path) -> None:
    applied(ordinary, subscription_file(tmp_path), at=None)
    with RawStore(ordinary.url) as raw:
        ((text,),) = raw.rows("SELECT entry FROM trust WHERE serial = 1")
        entry = json.loads(text)
        entry["sandbox"] = True
        raw.execute(
            "UPDATE trust SET entry = ?, hash = ? WHERE serial = 1",
            (json.dumps(entry, sort_keys=True, separators=(",", ":")), chain_hash("", entry)),
        )
    assert ordinary("history", "acme", "--verify").code == 1
    later = (REAL_TODAY + dt.timedelta(days=30)).isoformat()
    more = subscription_file(tmp_path, agents=30, name="more")
    refused = ordinary("apply", "--auto-approve", str(more), at=later)
    assert refused.code == 1, refused.output
    assert serial(ordinary) == 1
    again = ordinary("state", "init", "--sandbox", at=None)
    assert again.code == 1, again.output


def test_verify_needs_no_secret(cli: Cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _two_versions(cli, tmp_path)
    for name in ("ZPLAN_SIGNING_KEY", "ZPLAN_PLAN_KEY", "ZPLAN_OPERATOR_KEY"):
        monkeypatch.delenv(name)
    shown = cli("history", "acme", "--verify")
    assert shown.code == 0 and "Audit chain verified: 2 entries" in shown.out, shown.output


# Keys and administration -------------------------------------------------------------


def test_admin_needs_an_actor_and_an_operator_key(
    cli: Cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    applied(cli, subscription_file(tmp_path))
    nobody = cli("admin", "account", "acme", "--type", "managed", actor=None)
    assert nobody.code == 1 and "who is acting" in nobody.err
    # The apply key is no operator key.
    monkeypatch.setenv("ZPLAN_OPERATOR_KEY", os.environ["ZPLAN_SIGNING_KEY"])
    wrong = cli("admin", "account", "acme", "--type", "managed", actor="ops@zplan.example")
    assert wrong.code == 1 and "not a registered operator key" in wrong.err, wrong.output
    monkeypatch.delenv("ZPLAN_OPERATOR_KEY")
    keyless = cli("admin", "account", "acme", "--type", "managed", actor="ops@zplan.example")
    assert keyless.code == 1 and "ZPLAN_OPERATOR_KEY" in keyless.err
    assert serial(cli) == 1


def test_admin_with_the_operator_key_names_actor_and_key(cli: Cli, tmp_path: Path) -> None:
    applied(cli, subscription_file(tmp_path))
    done = cli("admin", "account", "acme", "--type", "managed", actor="ops@zplan.example")
    assert done.code == 0 and "audit head: acme #2 sha256:" in done.out, done.output
    with RawStore(cli.url) as raw:
        ((text,),) = raw.rows("SELECT entry FROM audit WHERE subdomain = 'acme' AND serial = 2")
    entry = json.loads(text)
    assert entry["actor"] == "ops@zplan.example" and entry["key"].startswith("ed25519:")
    assert cli("history", "acme", "--verify").code == 0


def test_only_an_operator_key_registers_keys(
    cli: Cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert cli("keygen", str(tmp_path / "new.key")).code == 0
    public = str(tmp_path / "new.key.pub")
    monkeypatch.setenv("ZPLAN_OPERATOR_KEY", os.environ["ZPLAN_SIGNING_KEY"])
    refused = cli("state", "trust-key", public, "--role", "apply", actor="ops@zplan.example")
    assert refused.code == 1 and "not a registered operator key" in refused.err, refused.output
    monkeypatch.undo()
    monkeypatch.setenv("ZPLAN_SIGNING_KEY", str(tmp_path / "new.key"))
    unknown = cli("apply", "--auto-approve", str(subscription_file(tmp_path)))
    assert unknown.code == 1 and "not a registered apply key" in unknown.err, unknown.output


def test_a_rotated_key_signs_new_entries_and_old_ones_still_verify(
    cli: Cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    applied(cli, subscription_file(tmp_path))
    assert cli("keygen", str(tmp_path / "new.key")).code == 0
    with RawStore(cli.url) as raw:
        ((text,),) = raw.rows("SELECT entry FROM audit WHERE subdomain = 'acme'")
    retired = json.loads(text)["key"]
    done = cli(
        "state",
        "trust-key",
        str(tmp_path / "new.key.pub"),
        "--role",
        "apply",
        "--retire",
        retired,
        actor="ops@zplan.example",
    )
    assert done.code == 0, done.output
    refused = cli("apply", "--auto-approve", str(subscription_file(tmp_path, agents=6, name="b")))
    assert refused.code == 1 and "not a registered apply key" in refused.err
    monkeypatch.setenv("ZPLAN_SIGNING_KEY", str(tmp_path / "new.key"))
    applied(cli, subscription_file(tmp_path, agents=6, name="b"))
    assert cli("history", "acme", "--verify").code == 0


# Migration -------------------------------------------------------------------------


def test_a_saved_plan_applies_to_at_most_one_side_of_a_migration(
    cli: Cli, tmp_path: Path, store_kind: str, store_factory: StoreFactory
) -> None:
    applied(cli, subscription_file(tmp_path, agents=5))
    made = cli("plan", "--out", "plan.json", str(subscription_file(tmp_path, agents=9, name="b")))
    assert made.code == 0, made.output
    target = store_factory.new(store_kind)
    moved = cli("state", "migrate", "--from", cli.url, "--to", target)
    assert moved.code == 0, moved.output
    on_target = Cli(cli.zplan, target)("apply", "plan.json")
    assert on_target.code == 0 and "Apply complete" in on_target.out, on_target.output
    on_source = cli("apply", "plan.json")
    assert on_source.code == 1 and "was moved to" in on_source.err, on_source.output
    assert serial(cli) == 1
    assert Cli(cli.zplan, target)("history", "acme", "--verify").code == 0


def test_migration_between_a_sandbox_and_an_ordinary_store_is_refused(
    cli: Cli, tmp_path: Path, store_kind: str, store_factory: StoreFactory
) -> None:
    applied(cli, subscription_file(tmp_path))
    ordinary = store_factory.new(store_kind, sandbox=False)
    refused = cli("state", "migrate", "--from", cli.url, "--to", ordinary, at=None)
    assert refused.code == 1 and "kind is fixed" in refused.err, refused.output
    assert cli("apply", "--auto-approve", str(subscription_file(tmp_path, agents=7))).code == 0


# The store named, and never made by accident -----------------------------------------


def test_plans_and_applies_name_the_store(cli: Cli, tmp_path: Path) -> None:
    path = subscription_file(tmp_path)
    document = json.loads(cli("plan", "--format", "json", str(path)).out)
    assert document["state"]["sandbox"] is True and document["state"]["store_id"]
    shown = cli("apply", "--auto-approve", str(path))
    assert shown.out.startswith("State: ") and "(sandbox store: dates are simulated)" in shown.out
    heads = cli("state", "heads")
    assert heads.out.strip() in shown.out, shown.output


def test_a_writing_command_never_creates_a_store(
    zplan: object, store_kind: str, store_factory: StoreFactory, tmp_path: Path
) -> None:
    url = store_factory.new(store_kind, init=False)
    cli = Cli(zplan, url)  # type: ignore[arg-type]
    path = subscription_file(tmp_path)
    for argv in (
        ("apply", "--auto-approve", str(path)),
        ("admin", "account", "acme", "--type", "managed"),
        ("force-unlock", "acme", "x"),
    ):
        refused = cli(*argv)
        assert refused.code == 1 and "no state store at " in refused.err, refused.output
        assert "zplan state init" in refused.err
    # Reading commands read a missing store as an empty one.
    assert cli("plan", str(path)).code == 0
    assert cli("state", "heads").out == ""
    if store_kind == "sqlite":
        assert not Path(url).parent.exists()
    assert cli("plan", "--out", "p.json", str(path)).code == 1


@pytest.mark.parametrize(
    "argv",
    [
        ("admin", "account", "acme", "--type", "managed"),
        ("force-unlock", "acme", "0000"),
        ("state", "trust-key", "KEY", "--role", "plan"),
        ("state", "migrate", "--from", "SOURCE", "--to", "TARGET"),
    ],
    ids=["admin", "force-unlock", "trust-key", "migrate"],
)
def test_every_writing_command_refuses_the_clients_date(
    ordinary: Cli,
    tmp_path: Path,
    argv: tuple[str, ...],
    store_kind: str,
    store_factory: StoreFactory,
) -> None:
    applied(ordinary, subscription_file(tmp_path), at=None)
    assert ordinary("keygen", str(tmp_path / "k.key")).code == 0
    target = store_factory.new(store_kind, sandbox=False)
    filled = [
        {"KEY": str(tmp_path / "k.key.pub"), "SOURCE": ordinary.url, "TARGET": target}.get(a, a)
        for a in argv
    ]
    later = (REAL_TODAY + dt.timedelta(days=3)).isoformat()
    refused = ordinary(*filled, at=later, actor="ops@zplan.example")
    assert refused.code == 1 and CLOCK_REFUSED in refused.err, refused.output
    assert serial(ordinary) == 1
    assert ordinary("history", "acme", "--verify").code == 0
