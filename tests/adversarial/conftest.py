"""Fixtures of the adversarial tests.

Crash logs go to the test's own directory, never to /tmp (``crash_dir``); ``plan``
runs against a seeded store (``store``, one seeding per test module); the security
tests start from an ``acme`` account with its own store.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import pytest

from tests.adversarial.fuzzinputs import EXAMPLES
from tests.adversarial.security_support import Account
from tests.adversarial.support import EXAMPLE_FILES
from tests.conftest import Keys, init_store, invoke, key_env


@pytest.fixture(autouse=True)
def crash_dir(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """TMPDIR (and Python's cached temporary directory) under the test's directory.

    zplan writes a crash log there (``zplan-crash-*.log``) when it hits an
    unexpected error; tests read it from here.
    """
    directory = tmp_path / "tmpdir"
    directory.mkdir()
    monkeypatch.setenv("TMPDIR", str(directory))
    monkeypatch.setattr(tempfile, "tempdir", str(directory))
    return directory


@pytest.fixture
def acme(tmp_path: Path) -> Account:
    return Account(tmp_path)


# The store plan runs against ------------------------------------------------------


@pytest.fixture(scope="module")
def seeded_store(tmp_path_factory: pytest.TempPathFactory, keys: Keys) -> Path:
    """A sandbox store holding an account for every example, a few of them not self-service.

    Read-only for the tests: each copies it before anything that writes.
    """
    directory = tmp_path_factory.mktemp("seeded")
    env = key_env(keys)
    state = init_store(str(directory / "state.db"), env=env)
    for path in EXAMPLE_FILES:
        data = EXAMPLES[path.name]
        owner = data["account"]["owner"]
        invoke(
            [
                "--state",
                state,
                "--at",
                "2026-06-01",
                "--actor",
                owner,
                "apply",
                str(path),
                "--auto-approve",
                "--allow-cancel",
            ],
            env=env,
        )
    for subdomain, kind in (
        ("acme", "add_agents_only"),
        ("initech", "managed"),
        ("northwind", "online_assisted"),
    ):
        done = invoke(
            [
                *("--state", state, "--at", "2026-07-01", "--actor", "operator@zplan.example"),
                *("admin", "account", subdomain, "--type", kind),
            ],
            env=env,
        )
        assert done.code == 0, done.output
    found = invoke(["--state", state, "history", "acme"])
    assert found.code == 0, found.output
    return directory / "state.db"


@pytest.fixture
def store(seeded_store: Path, tmp_path: Path) -> str:
    """A private copy of the seeded store."""
    target = tmp_path / "store"
    target.mkdir(mode=0o700)
    shutil.copy(seeded_store, target / "state.db")
    return str(target / "state.db")
