"""PostgreSQL URLs: every libpq form works, and no password is ever shown.

The URL zplan shows is rebuilt from the parsed connection parameters, so a
password in the userinfo, in ``?password=``, percent-encoded or holding an
``@`` never reaches a message.
"""

from __future__ import annotations

from urllib.parse import quote, urlsplit

import pytest
from zplan.redact import redact_secrets

from tests.conftest import invoke
from tests.state.conftest import PostgresServer

pytest.importorskip("psycopg")

from zplan.state.postgres import display_url, split_url

SECRET = "hunter2"


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("postgresql://u:hunter2@db:5432/billing", "postgresql://u:***@db:5432/billing"),
        ("postgresql://u@db/billing?password=hunter2", "postgresql://u:***@db/billing"),
        ("postgresql://u:hunter2@db/billing?password=hunter2", "postgresql://u:***@db/billing"),
        ("postgresql://u:hun%40ter2@db/billing", "postgresql://u:***@db/billing"),
        ("postgresql://u:hunter2@x@db/billing", "postgresql://u:***@db/billing"),
        (
            "postgresql:///billing?host=/run/postgresql",
            "postgresql:///billing?host=/run/postgresql",
        ),
        (
            "postgresql://%2Frun%2Fpostgresql/billing?schema=team_a",
            "postgresql:///billing?host=/run/postgresql&schema=team_a",
        ),
        (
            "postgres://u@h1:5432,h2:5433/billing?target_session_attrs=read-write&sslpassword=hunter2",
            "postgresql://u@h1,h2:5432,5433/billing?sslpassword=***&target_session_attrs=read-write",
        ),
    ],
)
def test_urls_are_shown_rebuilt_without_secrets(url: str, shown: str) -> None:
    assert display_url(url) == shown
    assert SECRET not in display_url(url)
    assert SECRET not in redact_secrets(url)


def test_the_socket_form_is_understood() -> None:
    conninfo, schema = split_url("postgresql:///billing?host=/run/postgresql&schema=team_a")
    assert "host=/run/postgresql" in conninfo and "dbname=billing" in conninfo
    assert schema == "team_a"


@pytest.mark.parametrize(
    "url",
    [
        "postgresql://u@127.0.0.1:1/db?password=hunter2&connect_timeout=2",
        "postgresql://u:hunter2@127.0.0.1:1/db?connect_timeout=2",
        "postgresql://u:hun@ter2@127.0.0.1:1/db?connect_timeout=2",
        "postgresql://u:hunter2@bad host/db",
    ],
)
def test_cannot_connect_names_no_password(url: str) -> None:
    result = invoke(["--state", url, "history", "acme"])
    assert result.code == 1
    assert "hunter" not in result.output and "ter2" not in result.output, result.output
    assert "unexpected error" not in result.output


@pytest.mark.postgres
def test_no_account_in_the_store_names_no_password(postgres_server: PostgresServer) -> None:
    parts = urlsplit(postgres_server.url)
    url = postgres_server.url
    if parts.password:
        url = url.replace(f":{parts.password}@", "@", 1)
        url += ("&" if "?" in url else "?") + f"password={quote(parts.password)}"
    result = invoke(["--state", url, "history", "nosuch"])
    assert result.code == 1, result.output
    assert "no account" in result.err
    if parts.password:
        assert f"password={parts.password}" not in result.err
        assert f":{parts.password}@" not in result.err


@pytest.mark.postgres
def test_the_unix_socket_url_form_works(postgres_server: PostgresServer) -> None:
    with postgres_server.connect() as conn:
        directories = conn.execute("SHOW unix_socket_directories").fetchone()[0]
        port = conn.execute("SHOW port").fetchone()[0]
        user = conn.execute("SELECT current_user").fetchone()[0]
    directory = next((d.strip() for d in directories.split(",") if d.strip()), "")
    if not directory:
        pytest.skip("the server listens on no Unix socket")
    password = urlsplit(postgres_server.url).password
    url = f"postgresql:///{urlsplit(postgres_server.url).path.lstrip('/') or 'postgres'}"
    url += f"?host={directory}&port={port}&user={user}&schema=t_socket_form"
    if password:
        url += f"&password={quote(password)}"
    result = invoke(["--state", url, "history", "nosuch"])
    assert result.code == 1
    assert "no account" in result.err, result.err  # connected: the store answered
    assert "postgresql://" in result.err and f"host={directory}" in result.err
    with postgres_server.connect() as conn:
        conn.execute("DROP SCHEMA IF EXISTS t_socket_form CASCADE")
