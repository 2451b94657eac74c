"""Shared fixtures: run zplan as a user would, on real stores in temporary directories.

The default state path (.zplan/state.db) is unreachable from tests: the
guard variable makes zplan refuse it, in this process and in every process
the tests start, so a test that forgets ``--state`` fails instead of writing
into the working tree.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import pytest
from click.testing import CliRunner
from zplan.cli import run

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"
TODAY = "2026-11-27"

_CLEARED = (
    "ZPLAN_STATE",
    "ZPLAN_SIGNING_KEY",
    "ZPLAN_PLAN_KEY",
    "ZPLAN_OPERATOR_KEY",
    "ZPLAN_NOW",
    "ZPLAN_ACTOR",
    "ZPLAN_CATALOG",
    "ZPLAN_POLICY",
    "ZPLAN_POLICY_DATA",
    "NO_COLOR",
    "GITHUB_ACTIONS",
    "GITHUB_SHA",
    "CI_COMMIT_SHA",
    "GITHUB_RUN_ID",
    "GITHUB_REPOSITORY",
    "GITHUB_SERVER_URL",
    "CI_PIPELINE_URL",
)

os.environ["ZPLAN_TEST_GUARD"] = "1"


@dataclass(frozen=True)
class Keys:
    """The session's keys: apply (ZPLAN_SIGNING_KEY), plan (ZPLAN_PLAN_KEY), operator."""

    apply: Path
    operator: Path
    plan: Path


@pytest.fixture(scope="session")
def keys(tmp_path_factory: pytest.TempPathFactory) -> Keys:
    """One apply key and one operator key for the whole run (made by zplan keygen)."""
    directory = tmp_path_factory.mktemp("keys")
    made = Keys(directory / "apply.key", directory / "operator.key", directory / "plan.key")
    for path in (made.apply, made.operator, made.plan):
        result = invoke(["keygen", str(path)])
        assert result.code == 0, result.output
    return made


def key_env(keys: Keys) -> dict[str, str]:
    """The key variables, for fixtures that run before the per-test environment is set."""
    return {
        "ZPLAN_SIGNING_KEY": str(keys.apply),
        "ZPLAN_OPERATOR_KEY": str(keys.operator),
        "ZPLAN_PLAN_KEY": str(keys.plan),
    }


@pytest.fixture(autouse=True)
def _isolated_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, keys: Keys) -> None:
    for name in _CLEARED:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("ZPLAN_TEST_GUARD", "1")
    # Every store a test makes trusts these keys (state init records their public parts), and
    # every write signs with them, as a CI apply job would.
    monkeypatch.setenv("ZPLAN_SIGNING_KEY", str(keys.apply))
    monkeypatch.setenv("ZPLAN_OPERATOR_KEY", str(keys.operator))
    monkeypatch.setenv("ZPLAN_PLAN_KEY", str(keys.plan))
    # git must not read the developer's configuration (user.email is the default actor).
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", str(tmp_path / "gitconfig-global"))
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    monkeypatch.chdir(tmp_path)


@dataclass
class Result:
    code: int
    out: str
    err: str

    @property
    def output(self) -> str:
        return self.out + self.err


def invoke(
    argv: Sequence[str], input: str | None = None, env: dict[str, str] | None = None
) -> Result:
    """Run the command line in this process (through the same boundary as the console script)."""
    runner = CliRunner()
    with runner.isolation(input=input, env=env) as (out, err, _):
        code = run(list(argv))
        return Result(code, out.getvalue().decode(), err.getvalue().decode())


class Zplan:
    """``zplan(...)`` runs in-process; ``zplan.sub(...)`` as a real ``python -m zplan`` process."""

    def __call__(
        self, *argv: str, input: str | None = None, env: dict[str, str] | None = None
    ) -> Result:
        return invoke(argv, input=input, env=env)

    @staticmethod
    def sub(
        *argv: str,
        input: str | None = None,
        env: dict[str, str] | None = None,
        cwd: Path | None = None,
        timeout: float = 60,
    ) -> Result:
        full_env = {**os.environ, **(env or {})}
        done = subprocess.run(
            [sys.executable, "-m", "zplan", *argv],
            input=input,
            text=True,
            capture_output=True,
            env=full_env,
            cwd=cwd,
            timeout=timeout,
            check=False,
        )
        return Result(done.returncode, done.stdout, done.stderr)


@pytest.fixture
def zplan() -> Zplan:
    return Zplan()


def init_store(url: str, *, sandbox: bool = True, env: dict[str, str] | None = None) -> str:
    """Create a store with ``zplan state init`` (a sandbox by default: tests write at TODAY)."""
    argv = ["--state", url, "state", "init", *(["--sandbox"] if sandbox else [])]
    result = invoke(argv, env=env)
    assert result.code == 0, result.output
    return url


@pytest.fixture
def state(tmp_path: Path) -> str:
    """A fresh SQLite sandbox store in the test's directory (made by zplan state init)."""
    return init_store(str(tmp_path / "state" / "state.db"))


@pytest.fixture
def example() -> Path:
    return EXAMPLES / "accounts" / "acme.yaml"


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--regen-golden",
        action="store_true",
        default=False,
        help="Rewrite the golden plans under tests/cases/ from what zplan prints now.",
    )
