"""The command line as a user meets it: help, options on either side, exit codes, the boundary."""

from __future__ import annotations

import os
import pty
import select
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from zplan import cli

from tests.conftest import EXAMPLES, ROOT, TODAY, Zplan

COMMANDS = [
    ["validate"],
    ["plan"],
    ["apply"],
    ["show"],
    ["export"],
    ["history"],
    ["state", "show"],
    ["state", "migrate"],
    ["catalog"],
    ["catalog", "compare"],
    ["force-unlock"],
    ["admin", "account"],
]


@pytest.mark.parametrize("command", COMMANDS, ids=[" ".join(c) for c in COMMANDS])
def test_every_command_has_help_with_examples(zplan: Zplan, command: list[str]) -> None:
    result = zplan(*command, "--help")
    assert result.code == 0
    assert "Examples:" in result.out
    assert "zplan " + command[0] in result.out.split("Examples:")[1]


def test_version_and_python_dash_m(zplan: Zplan) -> None:
    result = zplan.sub("--version")
    assert result.code == 0
    assert result.out.strip() == "zplan, version 0.1.0"


def test_global_options_before_or_after_the_command(zplan: Zplan, state: str) -> None:
    file = str(EXAMPLES / "accounts" / "acme.yaml")
    before = zplan("--state", state, "--at", TODAY, "plan", "--format", "json", file)
    after = zplan("plan", "--format", "json", file, "--state", state, "--at", TODAY)
    assert before.code == after.code == 0
    assert '"priced_on": "2026-11-27"' in before.out and '"priced_on": "2026-11-27"' in after.out


def test_the_command_line_wins_over_the_environment(zplan: Zplan, state: str) -> None:
    file = str(EXAMPLES / "accounts" / "acme.yaml")
    env = {"ZPLAN_NOW": "2026-12-15", "ZPLAN_STATE": state}
    from_env = zplan("plan", "--format", "json", file, env=env)
    assert '"priced_on": "2026-12-15"' in from_env.out
    given = zplan("--at", TODAY, "plan", "--format", "json", file, env=env)
    assert '"priced_on": "2026-11-27"' in given.out


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["plan"], "Missing argument"),
        (["nonsense"], "No such command"),
        (["plan", "--format", "yaml", "x.yaml"], "Invalid value"),
        (["--at", "27/11/2026", "validate", "x.yaml"], "is not a date"),
        (["validate", "does-not-exist.yaml"], "no such file or directory"),
        (["--state", "mysql://db/x", "plan", "x.yaml"], "unknown kind of state store"),
    ],
)
def test_usage_errors_exit_1_not_2(zplan: Zplan, argv: list[str], message: str) -> None:
    Path("x.yaml").write_text((EXAMPLES / "accounts" / "acme.yaml").read_text())
    result = zplan(*argv)
    assert result.code == 1, result.output
    assert message in result.output
    assert "Traceback" not in result.output


def test_an_unexpected_error_is_one_line_and_a_log(
    zplan: Zplan, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    # Fault injection at the boundary: a bug anywhere below must not print a traceback.
    def broken(*_args: object, **_kwargs: object) -> None:
        raise RuntimeError("a bug")

    monkeypatch.setattr("zplan.pipeline.workflow.validate", broken)
    monkeypatch.setenv("TMPDIR", str(tmp_path))
    import tempfile

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    result = zplan("validate", str(EXAMPLES))
    assert result.code == 1
    assert result.out == ""
    lines = result.err.strip().splitlines()
    assert len(lines) == 1 and "unexpected error (RuntimeError)" in lines[0]
    log = next(tmp_path.glob("zplan-crash-*.log"))
    assert "RuntimeError: a bug" in log.read_text()


def test_colour_only_on_a_terminal_and_never_with_no_color(state: str) -> None:
    file = str(EXAMPLES / "accounts" / "acme.yaml")
    argv = [sys.executable, "-m", "zplan", "--state", state, "--at", TODAY, "plan", file]
    piped = subprocess.run(argv, capture_output=True, text=True, check=False)
    assert "\033[" not in piped.stdout
    _, on_tty = _run_in_pty(argv)
    assert "\033[" in on_tty
    _, no_color = _run_in_pty(argv, env={"NO_COLOR": "1"})
    assert "\033[" not in no_color


def _run_in_pty(
    argv: list[str],
    env: dict[str, str] | None = None,
    answer: bytes | None = None,
    interrupt: bool = False,
) -> tuple[int, str]:
    pid, fd = pty.fork()
    if pid == 0:  # the child: the zplan process, on the terminal
        os.environ.update(env or {})
        os.execv(argv[0], argv)
    output = b""
    deadline = time.monotonic() + 60
    sent = False
    while time.monotonic() < deadline:
        ready, _, _ = select.select([fd], [], [], 0.2)
        if ready:
            try:
                chunk = os.read(fd, 65536)
            except OSError:
                break
            if not chunk:
                break
            output += chunk
        if not sent and b"Only 'yes' will be accepted" in output:
            sent = True
            if interrupt:
                os.kill(pid, signal.SIGINT)
            elif answer is not None:
                os.write(fd, answer)
    _, status = os.waitpid(pid, 0)
    return os.waitstatus_to_exitcode(status), output.decode("utf-8", "replace")


def test_ctrl_c_at_the_prompt_exits_130_and_applies_nothing(state: str) -> None:
    file = str(EXAMPLES / "accounts" / "acme.yaml")
    base = [
        sys.executable,
        "-m",
        "zplan",
        "--state",
        state,
        "--at",
        TODAY,
        "--actor",
        "owner@acme.example",
    ]
    code, output = _run_in_pty([*base, "apply", file], interrupt=True)
    assert code == 130, output
    assert "Traceback" not in output
    history = subprocess.run(
        [*base, "history", "acme"], capture_output=True, text=True, check=False
    )
    assert history.returncode == 1 and "no account acme" in history.stderr


def test_main_module_is_the_console_script() -> None:
    assert (ROOT / "zplan" / "__main__.py").read_text().strip().endswith("main()")
    assert cli.main.__module__ == "zplan.cli"


def test_progress_bar_on_a_terminal_for_more_than_one_file(state: str) -> None:
    argv = [sys.executable, "-m", "zplan", "--state", state, "--at", TODAY, "--no-color"]
    _, many = _run_in_pty([*argv, "plan", str(EXAMPLES / "accounts-20")])
    assert "Planning" in many and "100%" in many
    _, one = _run_in_pty([*argv, "plan", str(EXAMPLES / "accounts" / "acme.yaml")])
    assert "Planning" not in one and "Reading" not in one
    piped = subprocess.run(
        [*argv, "plan", str(EXAMPLES / "accounts-20")], capture_output=True, text=True, check=False
    )
    assert "Planning" not in piped.stderr


def test_postgresql_without_psycopg_names_the_extra_to_install(tmp_path: Path) -> None:
    # psycopg is an optional dependency: a process where it cannot be imported.
    probe = (
        "import sys; sys.modules['psycopg'] = None\n"
        "from zplan.cli import run\n"
        "sys.exit(run(sys.argv[1:]))\n"
    )
    done = subprocess.run(
        [
            sys.executable,
            "-c",
            probe,
            "--state",
            "postgresql://zplan@db.invalid/zplan",
            "plan",
            str(EXAMPLES / "accounts" / "acme.yaml"),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 1
    assert "pip install 'zplan[postgres]'" in done.stderr
    assert "Traceback" not in done.stderr
