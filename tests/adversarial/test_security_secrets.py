"""Security of secrets and privacy: payment references and card numbers never appear
(output, logs, crash logs, the audit log), and the store is private to its owner.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import Any

import pytest

from tests.adversarial.security_support import (
    ADMIN,
    CARD,
    CARD_DASHED,
    CARD_DIGITS,
    OWNER,
    SECRET_REF,
    SECRET_REF2,
    SECRETS,
    STRANGER,
    TODAY,
    Account,
    subscription,
)
from tests.adversarial.support import EXAMPLE_FILES, checked, crash_logs
from tests.conftest import Result, invoke

# Secrets: payment references and card numbers --------------------------------------


def _assert_no_secret(where: str, text: str) -> None:
    for secret in (*SECRETS, CARD_DIGITS, CARD, CARD_DASHED):
        assert secret not in text, f"{secret!r} in {where}"


def test_payment_references_never_appear(acme: Account, tmp_path: Path, crash_dir: Path) -> None:
    """Not in any command's output, any plan file, any row of the store; only the last four."""
    outputs: list[tuple[str, str]] = []

    def run(*argv: str, actor: str | None = OWNER) -> Result:
        result = acme.run(*argv, actor=actor)
        outputs.append((" ".join(argv), result.output))
        return result

    changed = acme.write(
        subscription(payment_ref=SECRET_REF2, agents=30), tmp_path / "changed.yaml"
    )
    run("validate", str(changed))
    for fmt in ("text", "json", "github"):
        run("validate", str(changed), "--format", fmt)
    for fmt in ("text", "json", "markdown"):
        run("plan", str(changed), "--format", fmt)
    plan_path = tmp_path / "plan.json"
    run("plan", str(changed), "--out", str(plan_path))
    for fmt in ("text", "json", "markdown"):
        run("show", str(plan_path), "--format", fmt)
    run("apply", str(plan_path))
    removed = acme.write(
        subscription(payment_ref="null", payment="paypal"), tmp_path / "removed.yaml"
    )
    back = acme.write(subscription(payment_ref=SECRET_REF), tmp_path / "back.yaml")
    run("apply", str(removed), "--auto-approve")
    run("apply", str(back), "--auto-approve")
    run("history", "acme")
    run("history", "acme", "--format", "json")
    run("history", "acme", "--verify")
    run("state", "show", "acme")
    for serial in ("1", "2", "3", "4"):
        run("state", "show", "acme", "--serial", serial)
    run("export", "acme")
    run("export", "acme", "-o", str(tmp_path / "exported.yaml"))
    run("apply", str(back), "--auto-approve", actor=STRANGER)  # refused: says why
    run("apply", str(changed), "--auto-approve", actor=ADMIN)  # refused: payment is owner-only
    for what, output in outputs:
        _assert_no_secret(f"the output of zplan {what}", output)
    assert any("9876" in output for _, output in outputs)  # the last four are shown
    for saved in (plan_path, tmp_path / "exported.yaml"):
        _assert_no_secret(str(saved), saved.read_text())
    for table, rows in acme.snapshot().items():
        _assert_no_secret(f"the table {table}", repr(rows))
    for name in sorted(os.listdir(Path(acme.state).parent)):  # the database, its WAL
        _assert_no_secret(name, (Path(acme.state).parent / name).read_bytes().decode("latin-1"))
    assert not crash_logs(crash_dir)


def test_a_crash_log_holds_no_secret(
    acme: Account, crash_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An unexpected error deep in the planner: one line, a private log, no payment reference."""
    import zplan.model

    def broken(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("an internal failure")

    # Writing the plan document: the desired subscription, payment reference hash and all,
    # is in hand when it fails.
    monkeypatch.setattr(zplan.model.Desired, "to_json", broken)
    changed = acme.write(
        subscription(payment_ref=SECRET_REF2, agents=30), acme.dir / "changed.yaml"
    )
    result = invoke(["--state", acme.state, "--at", TODAY, "--actor", OWNER, "plan", str(changed)])
    assert result.code == 1
    assert "unexpected error (RuntimeError)" in result.err
    assert "Traceback" not in result.output
    logs = crash_logs(crash_dir)
    assert len(logs) == 1 and str(logs[0]) in result.err
    assert stat.S_IMODE(logs[0].stat().st_mode) == 0o600
    text = logs[0].read_text()
    assert "RuntimeError: an internal failure" in text
    _assert_no_secret("the crash log", text)


def test_a_loader_crash_log_holds_no_secret(tmp_path: Path, crash_dir: Path) -> None:
    """What once crashed the loader (test_regression_merge_of_an_empty_list) leaks nothing."""
    path = tmp_path / "crash.yaml"
    path.write_text(subscription(payment_ref=SECRET_REF) + "<<: []\n", encoding="utf-8")
    result = invoke(["validate", str(path)])
    assert result.code == 0, result.output  # an empty merge merges nothing
    _assert_no_secret("the output", result.output)
    for log in crash_logs(crash_dir):
        _assert_no_secret(str(log), log.read_text())


CARD_PLACES = {
    "payment-ref": lambda text: text.replace(f"payment_ref: {SECRET_REF}", f"payment_ref: {CARD}"),
    "comment": lambda text: text.replace("status: active", f"status: active  # card {CARD}"),
    "billing-admin": lambda text: text.replace(ADMIN, f"{CARD_DIGITS}@acme.example"),
    "key": lambda text: text.replace("status: active", f'status: active\n"{CARD_DIGITS}": 1'),
    "dashed-in-a-value": lambda text: text.replace(SECRET_REF, CARD_DASHED),
}


@pytest.mark.parametrize("place", sorted(CARD_PLACES))
def test_card_numbers_are_refused_and_never_echoed(acme: Account, place: str) -> None:
    text = CARD_PLACES[place](subscription(agents=30))
    assert CARD_DIGITS in text.replace(" ", "").replace("-", "")
    acme.write(text)
    before = acme.snapshot()
    for argv in (
        ["validate", str(acme.file)],
        ["validate", str(acme.file), "--format", "json"],
        ["validate", str(acme.file), "--format", "github"],
        ["plan", str(acme.file)],
        ["plan", str(acme.file), "--format", "json"],
        ["plan", str(acme.file), "--format", "markdown"],
        ["plan", str(acme.file), "--out", str(acme.dir / "card.json")],
        ["apply", str(acme.file), "--auto-approve"],
    ):
        result = acme.run(*argv, actor=OWNER)
        assert result.code == 1, result.output
        assert "card number" in result.output and "1111" in result.output
        _assert_no_secret(" ".join(argv), result.output)
    assert not (acme.dir / "card.json").exists()
    assert acme.snapshot() == before


def test_regression_card_like_actor_in_the_audit_log(acme: Account) -> None:
    result = acme.run("admin", "account", "acme", "--type", "managed", actor=CARD)
    history = acme.run("history", "acme")
    _assert_no_secret("the admin output", result.output)
    _assert_no_secret("history", history.output)
    for table, rows in acme.snapshot().items():
        _assert_no_secret(f"the table {table}", repr(rows))


# The store is private ------------------------------------------------------------


def _modes(state: Path) -> dict[str, int]:
    found = {"dir": stat.S_IMODE(state.parent.stat().st_mode)}
    for suffix in ("", "-wal", "-shm"):
        path = Path(str(state) + suffix)
        if path.exists():
            found[path.name] = stat.S_IMODE(path.stat().st_mode)
    return found


@pytest.mark.parametrize("umask", [0o022, 0o000], ids=["umask-022", "umask-000"])
@pytest.mark.parametrize("form", ["path", "sqlite-url-relative", "sqlite-url-absolute", "env"])
@pytest.mark.parametrize("command", ["plan", "apply", "history", "admin", "plan-out"])
def test_the_store_and_its_directory_are_private(
    tmp_path: Path, umask: int, form: str, command: str
) -> None:
    state = tmp_path / "new" / "private" / "state.db"
    relative = os.path.relpath(state, Path.cwd())
    url = {
        "path": str(state),
        "sqlite-url-relative": f"sqlite:///{relative}",
        "sqlite-url-absolute": f"sqlite:///{state}",
        "env": "",
    }[form]
    env = {"ZPLAN_STATE": str(state)} if form == "env" else None
    options = (["--state", url] if url else []) + ["--at", TODAY, "--actor", OWNER]
    example = str(EXAMPLE_FILES[0])
    argv = {
        "plan": ["plan", example],
        "apply": ["apply", example, "--auto-approve"],
        "history": ["history", "acme"],
        "admin": ["admin", "account", "acme", "--type", "managed"],
        "plan-out": ["plan", example, "--out", str(tmp_path / "plan.json")],
    }[command]
    previous = os.umask(umask)
    try:
        # The store is made on purpose (issue 12), under the same umask; then the command.
        made = checked([*(["--state", url] if url else []), "state", "init", "--sandbox"], env=env)
        assert made.code == 0, made.output
        checked([*options, *argv], env=env)
    finally:
        os.umask(previous)
    modes = _modes(state)
    assert modes.pop("dir") == 0o700, oct(stat.S_IMODE(state.parent.stat().st_mode))
    assert modes and all(mode == 0o600 for mode in modes.values()), {
        k: oct(v) for k, v in modes.items()
    }
    if command == "plan-out":
        assert stat.S_IMODE((tmp_path / "plan.json").stat().st_mode) == 0o600
