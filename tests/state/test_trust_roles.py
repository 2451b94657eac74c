"""Issue 12 with real PostgreSQL roles: the append-only role docs/state.md recommends cannot
forge an entry unseen, and the read-only role of the pull-request job cannot write."""

from __future__ import annotations

import json
from pathlib import Path

import psycopg
import pytest
from psycopg import sql
from zplan.state.base import canonical, chain_hash, sha256_text
from zplan.state.postgres import split_url

from tests.conftest import Zplan
from tests.state.conftest import PostgresServer, StoreFactory, subscription_file, zplan_argv
from tests.state.test_postgres_roles import _make_role, _role_url, roles  # noqa: F401

pytestmark = pytest.mark.postgres


def test_a_forged_append_by_the_append_only_role_is_caught(
    zplan: Zplan,
    tmp_path: Path,
    postgres_server: PostgresServer,
    store_factory: StoreFactory,
    roles: list[str],  # noqa: F811
) -> None:
    url = store_factory.new("postgresql", postgres_server)
    schema = url.rsplit("schema=", 1)[1]
    assert (
        zplan(*zplan_argv(url, "apply", "--auto-approve", str(subscription_file(tmp_path)))).code
        == 0
    )
    role = _make_role(postgres_server, roles, schema, "SELECT, INSERT")
    with postgres_server.connect() as admin:
        admin.execute(
            sql.SQL("GRANT UPDATE ON {}.accounts TO {}").format(
                sql.Identifier(schema), sql.Identifier(role)
            )
        )
    conninfo, _ = split_url(_role_url(postgres_server, url, role))
    with psycopg.connect(conninfo, autocommit=True) as conn:
        conn.execute(sql.SQL("SET search_path TO {}").format(sql.Identifier(schema)))
        text, digest = conn.execute(
            "SELECT entry, hash FROM audit WHERE subdomain = 'acme' AND serial = 1"
        ).fetchone()
        (state,) = conn.execute(
            "SELECT state FROM versions WHERE subdomain = 'acme' AND serial = 1"
        ).fetchone()
        account = json.loads(state)
        account.update(serial=2, type="self_service")
        entry = json.loads(text)
        entry.update(
            serial=2,
            kind="admin",
            actor="mallory@evil.example",
            previous_hash=digest,
            state_sha256=sha256_text(canonical(account)),
            invoice_sha256=None,
        )
        conn.execute(
            "INSERT INTO versions (subdomain, serial, kind, created_at, state) "
            "VALUES ('acme', 2, 'admin', %s, %s)",
            (entry["time"], canonical(account)),
        )
        conn.execute(
            "INSERT INTO audit (subdomain, serial, entry, hash) VALUES ('acme', 2, %s, %s)",
            (canonical(entry), chain_hash(digest, entry)),
        )
        conn.execute(
            "UPDATE accounts SET serial = 2, state = %s WHERE subdomain = 'acme'",
            (canonical(account),),
        )
    caught = zplan(*zplan_argv(url, "history", "acme", "--verify"))
    assert caught.code == 1 and "entry 2 is not signed" in caught.out, caught.output
    more = subscription_file(tmp_path / "more", agents=9)
    refused = zplan(*zplan_argv(url, "apply", "--auto-approve", str(more)))
    assert refused.code == 1 and "does not verify" in refused.err, refused.output


def test_the_read_only_role_plans_and_saves_but_cannot_write(
    zplan: Zplan,
    tmp_path: Path,
    postgres_server: PostgresServer,
    store_factory: StoreFactory,
    roles: list[str],  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    url = store_factory.new("postgresql", postgres_server)
    schema = url.rsplit("schema=", 1)[1]
    assert (
        zplan(*zplan_argv(url, "apply", "--auto-approve", str(subscription_file(tmp_path)))).code
        == 0
    )
    reader = _role_url(postgres_server, url, _make_role(postgres_server, roles, schema, "SELECT"))
    monkeypatch.delenv("ZPLAN_SIGNING_KEY")  # the plan job holds the plan key only
    more = subscription_file(tmp_path / "more", agents=9)
    saved = zplan(*zplan_argv(reader, "plan", "--out", str(tmp_path / "plan.json"), str(more)))
    assert saved.code == 0, saved.output
    refused = zplan(*zplan_argv(reader, "apply", str(tmp_path / "plan.json")))
    assert refused.code == 1 and "must be signed" in refused.err, refused.output
    assert zplan(*zplan_argv(reader, "history", "acme", "--verify")).code == 0
