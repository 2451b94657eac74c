"""The privileges docs/state.md promises: DDL once, then rows only; read-only roles can plan."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import Zplan
from tests.state.conftest import PostgresServer, StoreFactory, subscription_file, zplan_argv

pytestmark = pytest.mark.postgres


@pytest.fixture
def roles(postgres_server: PostgresServer) -> Iterator[list[str]]:
    made: list[str] = []
    yield made
    with postgres_server.connect() as conn:
        for role in made:
            conn.execute(f'DROP OWNED BY "{role}"')
            conn.execute(f'DROP ROLE IF EXISTS "{role}"')


def _role_url(server: PostgresServer, url: str, role: str) -> str:
    # The server's URL is postgresql://postgres:@/postgres?host=...: swap in the role.
    assert url.startswith("postgresql://postgres:@")
    return url.replace("postgresql://postgres:@", f"postgresql://{role}@", 1)


def _make_role(server: PostgresServer, roles: list[str], schema: str, grants: str) -> str:
    role = f"r_{uuid.uuid4().hex[:12]}"
    roles.append(role)
    with server.connect() as conn:
        conn.execute(f'CREATE ROLE "{role}" LOGIN')
        conn.execute(f'GRANT USAGE ON SCHEMA "{schema}" TO "{role}"')
        conn.execute(f'GRANT {grants} ON ALL TABLES IN SCHEMA "{schema}" TO "{role}"')
    return role


def test_roles_without_create_use_a_migrated_store(
    zplan: Zplan,
    tmp_path: Path,
    postgres_server: PostgresServer,
    store_factory: StoreFactory,
    roles: list[str],
) -> None:
    url = store_factory.new("postgresql", postgres_server)
    schema = url.rsplit("schema=", 1)[1]
    first = subscription_file(tmp_path, agents=10)
    owner = zplan(*zplan_argv(url, "apply", "--auto-approve", str(first)))
    assert owner.code == 0, owner.output

    more = subscription_file(tmp_path / "more", agents=12)
    reader = _role_url(postgres_server, url, _make_role(postgres_server, roles, schema, "SELECT"))
    planned = zplan(*zplan_argv(reader, "plan", str(more)))
    assert planned.code == 0, planned.output
    assert "10 → 12" in planned.out
    assert zplan(*zplan_argv(reader, "history", "acme", "--verify")).code == 0
    refused = zplan(*zplan_argv(reader, "apply", "--auto-approve", str(more)))
    assert refused.code == 1
    assert "permission denied" in refused.err and "Traceback" not in refused.output

    writer_role = _make_role(postgres_server, roles, schema, "SELECT, INSERT, UPDATE, DELETE")
    writer = _role_url(postgres_server, url, writer_role)
    applied = zplan(*zplan_argv(writer, "apply", "--auto-approve", str(more)))
    assert applied.code == 0, applied.output
    assert zplan(*zplan_argv(writer, "history", "acme", "--verify")).code == 0
