"""Security checks: tampered plans, actors who may not apply, secrets, privacy, hostile input.

docs/security.md states the threat model and names, for each guarantee, the
test here (or in test_fuzz.py / test_model.py) that shows it.
"""

from __future__ import annotations

import ast
import contextlib
import copy
import json
import os
import re
import sqlite3
import stat
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.adversarial.support import (
    EXAMPLE_FILES,
    MEMORY_LIMIT_MB,
    ROOT,
    TIME_LIMIT,
    assert_clean,
    checked,
    crash_logs,
    measured,
)
from tests.conftest import Result, invoke

TODAY = "2026-11-27"
OWNER = "owner@acme.example"
ADMIN = "finance@acme.example"
STRANGER = "mallory@evil.example"
SECRET_REF = "pm_S3cretTok3nZ9876"  # only its last four characters, 9876, may be shown
SECRET_REF2 = "pm_An0therSecr3tQ5555"
SECRETS = ("S3cretTok3n", "An0therSecr3t")  # the parts that must never appear anywhere
CARD = "4111 1111 1111 1111"
CARD_DIGITS = "4111111111111111"
CARD_DASHED = "4111-1111-1111-1111"


def subscription(
    *,
    subdomain: str = "acme",
    owner: str = OWNER,
    admins: tuple[str, ...] = (ADMIN,),
    agents: int = 25,
    edition: str = "professional",
    cycle: str = "annual",
    payment: str = "card",
    payment_ref: str | None = SECRET_REF,
    promo: str | None = None,
    status: str = "active",
    extra_billing: str = "",
) -> str:
    lines = ["zplan: 1", "account:", f"  subdomain: {subdomain}", f"  owner: {owner}"]
    if admins:
        lines += ["  billing_admins:", *(f"    - {json.dumps(a)}" for a in admins)]
    lines += ["billing:", f"  cycle: {cycle}", f"  payment: {payment}"]
    if payment_ref is not None:
        lines.append(f"  payment_ref: {payment_ref}")
    if promo is not None:
        lines.append(f"  promo_code: {promo}")
    if extra_billing:
        lines.append(extra_billing)
    lines += [
        "agreements:",
        "  master_subscription_agreement: accepted",
        "  privacy_policy: accepted",
        "products:",
        "  suite:",
        f"    edition: {edition}",
        f"    agents: {agents}",
        f"status: {status}",
    ]
    return "\n".join(lines) + "\n"


class Account:
    """A store with acme bought by its owner on TODAY, and its file."""

    def __init__(self, directory: Path) -> None:
        self.dir = directory
        self.state = str(directory / "store" / "state.db")
        self.file = directory / "acme.yaml"
        self.write()
        bought = self.run("apply", str(self.file), "--auto-approve", actor=OWNER)
        assert bought.code == 0, bought.output

    def write(self, text: str | None = None, path: Path | None = None) -> Path:
        target = path or self.file
        target.write_text(text if text is not None else subscription(), encoding="utf-8")
        return target

    def run(
        self, *argv: str, actor: str | None = None, at: str = TODAY, codes: tuple[int, ...] = (0, 1)
    ) -> Result:
        options = ["--state", self.state, "--at", at]
        if actor is not None:
            options += ["--actor", actor]
        return checked([*options, *argv], codes=codes)

    def save(self, text: str, name: str = "plan.json", actor: str | None = None) -> Path:
        """The plan of ``text``, saved; the plan must be savable."""
        source = self.write(text, self.dir / f"{name}.yaml")
        out = self.dir / name
        result = self.run("plan", str(source), "--out", str(out), actor=actor)
        assert result.code == 0 and out.exists(), result.output
        return out

    def snapshot(self) -> dict[str, list[tuple[Any, ...]]]:
        return snapshot(self.state)

    def verify(self) -> None:
        self.run("history", "acme", "--verify", codes=(0,))


def snapshot(state: str) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table, as stored."""
    connection = sqlite3.connect(f"file:{state}?mode=ro", uri=True)
    try:
        tables = [
            r[0]
            for r in connection.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name"
            )
        ]
        return {
            t: sorted(connection.execute(f'SELECT * FROM "{t}"').fetchall(), key=repr)
            for t in tables
        }
    finally:
        connection.close()


@pytest.fixture
def acme(tmp_path: Path) -> Account:
    return Account(tmp_path)


# Saved plans: integrity ------------------------------------------------------------


def _leaf_paths(value: Any, path: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    if isinstance(value, dict) and value:
        for key, item in value.items():
            yield from _leaf_paths(item, (*path, key))
    elif isinstance(value, list) and value:
        for index, item in enumerate(value):
            yield from _leaf_paths(item, (*path, index))
    else:
        yield path


def _containers(value: Any, path: tuple[Any, ...] = ()) -> Iterator[tuple[tuple[Any, ...], Any]]:
    if isinstance(value, dict):
        yield path, value
        for key, item in value.items():
            yield from _containers(item, (*path, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _containers(item, (*path, index))


def _get(document: Any, path: tuple[Any, ...]) -> Any:
    for step in path:
        document = document[step]
    return document


def _changed(value: Any) -> Any:
    """Another value of the same kind (the smallest edit a person or a tool would make)."""
    if isinstance(value, bool):
        return not value
    if isinstance(value, int):
        return value + 1
    if isinstance(value, float):
        return value + 0.5
    if isinstance(value, str):
        return value[:-1] + ("1" if value[-1:] != "1" else "2") if value else "x"
    if value is None:
        return "x"
    if isinstance(value, list):
        return [1]
    return {"x": 1}


def _edits(plan: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    """The plan edited one field at a time: each leaf changed, each key removed, a key added."""
    for path in _leaf_paths(plan):
        edited = copy.deepcopy(plan)
        _get(edited, path[:-1])[path[-1]] = _changed(_get(plan, path))
        yield "change " + ".".join(map(str, path)), edited
    for path, mapping in _containers(plan):
        for key in mapping:
            edited = copy.deepcopy(plan)
            del _get(edited, path)[key]
            yield "remove " + ".".join(map(str, (*path, key))), edited
        edited = copy.deepcopy(plan)
        _get(edited, path)["approved_by"] = OWNER
        yield "add " + ".".join(map(str, (*path, "approved_by"))), edited


def test_every_field_of_a_saved_plan_edited_is_refused(acme: Account) -> None:
    """Each leaf changed, each key removed, a key added, one at a time: refused, nothing written."""
    text = subscription(
        agents=30, admins=(ADMIN, "ops@acme.example"), promo="LOYALTY5", payment_ref=SECRET_REF2
    )
    plan_path = acme.save(text, actor=OWNER)
    plan = json.loads(plan_path.read_text())
    assert len(plan["accounts"][0]["changes"]) >= 4
    before = acme.snapshot()
    edits = 0
    for what, edited in _edits(plan):
        edited_path = acme.dir / "edited.json"
        edited_path.write_text(json.dumps(edited, indent=2, ensure_ascii=False), encoding="utf-8")
        result = acme.run("apply", str(edited_path), actor=OWNER)
        assert result.code == 1, f"{what}: {result.output}"
        assert "Apply complete" not in result.output, what
        assert acme.snapshot() == before, f"{what}: the store changed"
        edits += 1
    assert edits > 200
    # The plan as saved still applies: the refusals were about the edits.
    assert acme.run("apply", str(plan_path), actor=OWNER).code == 0
    acme.verify()


def test_reformatting_a_saved_plan_is_not_an_edit(acme: Account) -> None:
    """Key order and whitespace do not count; the content is what is signed."""
    plan_path = acme.save(subscription(agents=30), actor=OWNER)
    plan = json.loads(plan_path.read_text())
    plan_path.write_text(json.dumps(plan, sort_keys=True, separators=(",", ":")), encoding="utf-8")
    assert acme.run("apply", str(plan_path), actor=OWNER).code == 0


@pytest.mark.parametrize("other", ["another-secret", "never-signed"])
def test_a_plan_signed_by_another_store_is_refused(
    acme: Account, other: str, tmp_path: Path
) -> None:
    """The same account history in another store (another secret), or a store that never signed."""
    plan_path = acme.save(subscription(agents=30), actor=OWNER)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir(mode=0o700)
    state = elsewhere / "state.db"
    connection = sqlite3.connect(acme.state)
    with contextlib.closing(connection):
        connection.execute(f"VACUUM INTO '{state}'")  # a copy: same lineage, serial, history
    copy_of = sqlite3.connect(state)
    with contextlib.closing(copy_of), copy_of:
        if other == "another-secret":
            copy_of.execute(
                "UPDATE meta SET value = ? WHERE key = 'signing_secret'", (os.urandom(32).hex(),)
            )
        else:
            copy_of.execute("DELETE FROM meta WHERE key = 'signing_secret'")
    before = snapshot(str(state))
    result = checked(
        ["--state", str(state), "--at", TODAY, "--actor", OWNER, "apply", str(plan_path)]
    )
    assert result.code == 1, result.output
    assert "signature does not match" in result.output or "never signed a plan" in result.output
    assert snapshot(str(state)) == before
    # The store that made it accepts it.
    assert acme.run("apply", str(plan_path), actor=OWNER).code == 0


# Who may apply -------------------------------------------------------------------

STRANGERS = [
    STRANGER,
    "MALLORY@EVIL.EXAMPLE",
    " mallory@evil.example ",
    "owner@acme.example.evil.example",
    "owner@acme.exampl",
]


@pytest.mark.parametrize("stranger", STRANGERS)
@pytest.mark.parametrize("adds_self", [False, True], ids=["as-is", "adds-self-to-billing-admins"])
@pytest.mark.parametrize("way", ["file", "saved-plan"])
def test_a_stranger_cannot_apply(acme: Account, stranger: str, adds_self: bool, way: str) -> None:
    """Roles come from the stored account, never from the file being applied."""
    admins = (ADMIN, stranger.strip()) if adds_self else (ADMIN,)
    text = subscription(agents=40, admins=admins)
    if way == "file":
        acme.write(text)
        before = acme.snapshot()
        result = acme.run("apply", str(acme.file), "--auto-approve", actor=stranger)
    else:
        plan_path = acme.save(text)  # saved with no actor: anyone may plan
        before = acme.snapshot()
        result = acme.run("apply", str(plan_path), actor=stranger)
    assert result.code == 1, result.output
    assert "neither the owner nor a billing admin" in result.output, result.output
    assert acme.snapshot() == before


@pytest.mark.parametrize("way", ["file", "saved-plan"])
def test_a_stranger_cannot_make_themselves_owner(acme: Account, way: str) -> None:
    text = subscription(owner=STRANGER, admins=(STRANGER,))
    acme.save(subscription(agents=26))  # the store has its signing secret from here on
    before = acme.snapshot()
    if way == "file":
        acme.write(text)
        result = acme.run("apply", str(acme.file), "--auto-approve", actor=STRANGER)
        assert result.code == 1
    else:
        source = acme.write(text, acme.dir / "takeover.yaml")
        out = acme.dir / "takeover.json"
        result = acme.run("plan", str(source), "--out", str(out))
        assert result.code == 1 and not out.exists(), result.output  # owner-change: not savable
    assert "owner" in result.output
    assert acme.snapshot() == before


def test_a_stranger_cannot_buy_an_ended_subscription_back(acme: Account) -> None:
    """After a cancellation ends, a new purchase is still checked against the owner on record."""
    acme.write(subscription(status="cancelled"))
    assert (
        acme.run("apply", str(acme.file), "--auto-approve", "--allow-cancel", actor=OWNER).code == 0
    )
    later = "2028-01-15"
    acme.write(subscription())  # the owner's own file, active again
    result = acme.run("apply", str(acme.file), "--auto-approve", actor=STRANGER, at=later)
    assert result.code == 1, result.output
    acme.write(subscription(owner=STRANGER, admins=()))
    result = acme.run("apply", str(acme.file), "--auto-approve", actor=STRANGER, at=later)
    assert result.code == 1, result.output
    versions = json.loads(acme.run("history", "acme", "--format", "json", at=later).out)["versions"]
    assert [v["actor"] for v in versions] == [OWNER, OWNER]


OWNER_ONLY_EDITS = {
    "cancel": {"status": "cancelled"},
    "payment-method": {"payment": "paypal"},
    "payment-ref": {"payment_ref": SECRET_REF2},
    "payment-ref-removed": {"payment_ref": "null"},
    "billing-admins-added": {"admins": (ADMIN, "friend@acme.example")},
    "billing-admins-removed": {"admins": ()},
}


@pytest.mark.parametrize("edit", sorted(OWNER_ONLY_EDITS))
@pytest.mark.parametrize("way", ["file", "saved-plan"])
def test_a_billing_admin_cannot_do_what_only_the_owner_may(
    acme: Account, edit: str, way: str
) -> None:
    text = subscription(**OWNER_ONLY_EDITS[edit])  # type: ignore[arg-type]
    cancel = ["--allow-cancel"]
    if way == "file":
        acme.write(text)
        before = acme.snapshot()
        result = acme.run("apply", str(acme.file), "--auto-approve", *cancel, actor=ADMIN)
    else:
        plan_path = acme.save(text)
        before = acme.snapshot()
        result = acme.run("apply", str(plan_path), *cancel, actor=ADMIN)
    assert result.code == 1, result.output
    assert "billing admin" in result.output and "owner" in result.output, result.output
    assert acme.snapshot() == before
    # The owner may.
    owner = acme.run(
        "apply",
        str(acme.file if way == "file" else plan_path),
        *(["--auto-approve"] if way == "file" else []),
        *cancel,
        actor=OWNER,
    )
    assert owner.code == 0, owner.output


def test_a_billing_admin_may_add_agents(acme: Account) -> None:
    acme.write(subscription(agents=26))
    assert acme.run("apply", str(acme.file), "--auto-approve", actor=ADMIN).code == 0
    versions = json.loads(acme.run("history", "acme", "--format", "json").out)["versions"]
    assert versions[-1]["actor"] == ADMIN


def test_apply_needs_an_actor(acme: Account) -> None:
    acme.write(subscription(agents=26))
    before = acme.snapshot()
    result = acme.run("apply", str(acme.file), "--auto-approve")
    assert result.code == 1 and "who is acting" in result.output, result.output
    assert acme.snapshot() == before


def test_a_plan_with_a_role_error_is_not_saved(acme: Account) -> None:
    source = acme.write(subscription(agents=30), acme.dir / "more.yaml")
    out = acme.dir / "plan.json"
    result = acme.run("plan", str(source), "--out", str(out), actor=STRANGER)
    assert result.code == 1 and not out.exists(), result.output


def test_the_role_is_checked_again_at_apply(acme: Account) -> None:
    """Saved by the owner, applied by a stranger: refused, whoever saved it."""
    plan_path = acme.save(subscription(agents=30), actor=OWNER)
    before = acme.snapshot()
    assert acme.run("apply", str(plan_path), actor=STRANGER).code == 1
    assert acme.snapshot() == before


@pytest.mark.parametrize("way", ["file", "saved-plan"])
def test_regression_stranger_apply_writes_renewals(acme: Account, way: str) -> None:
    """pricing.md: anyone else may plan but not apply. A renewal pending is no exception."""
    later = "2028-01-15"  # acme's annual renewal of 2027-11-27 is pending
    acme.save(subscription(agents=26))  # the store has its signing secret from here on
    before = acme.snapshot()
    if way == "file":
        result = acme.run("apply", str(acme.file), "--auto-approve", actor=STRANGER, at=later)
    else:
        source = acme.write(subscription(), acme.dir / "same.yaml")
        out = acme.dir / "renewal.json"
        assert acme.run("plan", str(source), "--out", str(out), at=later).code == 0
        result = acme.run("apply", str(out), actor=STRANGER, at=later)
    assert result.code == 1, result.output
    assert acme.snapshot() == before


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
        checked([*options, *argv], env=env)
    finally:
        os.umask(previous)
    if command in ("plan", "history") and not state.parent.exists():
        return  # a read-only command that did not create the store: nothing to check
    modes = _modes(state)
    assert modes.pop("dir") == 0o700, oct(stat.S_IMODE(state.parent.stat().st_mode))
    assert modes and all(mode == 0o600 for mode in modes.values()), {
        k: oct(v) for k, v in modes.items()
    }
    if command == "plan-out":
        assert stat.S_IMODE((tmp_path / "plan.json").stat().st_mode) == 0o600


# Hostile strings through every command ----------------------------------------------

HOSTILE = [
    "'; DROP TABLE accounts; --",
    '" OR 1=1 --',
    "acme' --",
    "acme'; DELETE FROM audit WHERE '1'='1",
    "%",
    "_",
    "acme%",
    "*",
    "../../etc/passwd",
    "$(touch pwned)",
    "`id`",
    "acme;",
    "😀",
    "ａｃｍｅ",
    "\u202eemca",
    "acme\nevil",
    "acme\x00evil",
    "",
    " ",
    "a" * 20_000,
    "--verify",
    "-x",
]


def _commands(h: str, file: Path) -> list[list[str]]:
    return [
        ["history", h],
        ["history", h, "--verify"],
        ["history", h, "--format", "json"],
        ["state", "show", h],
        ["state", "show", h, "--serial", "1"],
        ["export", h],
        ["force-unlock", h, h],
        ["force-unlock", "acme", h],
        ["admin", "account", h, "--type", "managed"],
        ["catalog", "compare", h],
        ["catalog", "compare", "suite", "--currency", h],
        ["--actor", h, "plan", str(file)],
        ["--actor", h, "apply", str(file), "--auto-approve"],
        ["--actor", h, "history", "acme", "--verify"],
        ["validate", str(file)],
        ["plan", str(file), "--format", "json"],
    ]


def _hostile_file(h: str) -> list[str]:
    """Subscription files with ``h`` in each field that takes text."""
    q = json.dumps(h)
    return [
        subscription(subdomain=q),
        subscription(owner=q),
        subscription(owner=json.dumps(f"{h}@acme.example")),
        subscription(admins=(h,)),
        subscription(admins=(f"{h}@acme.example",)),
        subscription(promo=q),
        subscription(payment_ref=q),
        subscription(edition=q),
        subscription()
        .replace("  currency: USD\n", "")
        .replace("billing:", f"  currency: {q}\nbilling:"),
        subscription().replace("  suite:", f"  {q}:"),
    ]


def _tables_intact(acme: Account, tables: dict[str, list[Any]]) -> None:
    """No table dropped, no row of the append-only tables lost, the account still verifies."""
    now = acme.snapshot()
    assert sorted(now) == sorted(tables), "a table was dropped or added"
    for table in ("versions", "invoices", "audit", "applied_plans", "meta"):
        assert set(tables[table]) <= set(now[table]), f"rows of {table} were lost"
    assert [r[0] for r in now["accounts"]] == ["acme"]  # updated by legitimate applies, never lost
    assert not now["locks"]
    acme.verify()


@pytest.mark.parametrize("hostile", HOSTILE, ids=lambda h: repr(h[:24]))
def test_hostile_strings_through_every_command(acme: Account, hostile: str) -> None:
    """As arguments, as the actor, and in every text field of a file: a clean exit, tables whole."""
    before = acme.snapshot()
    target = acme.dir / "hostile.yaml"
    acme.write(subscription(), target)
    for argv in _commands(hostile, target):
        acme.run(*argv)
    for text in _hostile_file(hostile):
        acme.write(text, target)
        for argv in (
            ["validate", str(target)],
            ["plan", str(target)],
            ["apply", str(target), "--auto-approve"],
        ):
            acme.run(*argv, actor=OWNER)
    _tables_intact(acme, before)


def test_hostile_but_valid_e_mails_are_stored_as_written(acme: Account) -> None:
    """Quotes, semicolons and comment markers in an e-mail: kept verbatim, matched as a role."""
    hostile_admin = "o'brien;DROP/**/TABLE/**/accounts;--@acme.example"
    hostile_owner = "x');DELETE/**/FROM/**/audit;--@evil.example"
    before = acme.snapshot()
    acme.write(subscription(admins=(ADMIN, hostile_admin)))
    assert acme.run("apply", str(acme.file), "--auto-approve", actor=OWNER).code == 0
    acme.write(subscription(admins=(ADMIN, hostile_admin), agents=27))
    assert acme.run("apply", str(acme.file), "--auto-approve", actor=hostile_admin).code == 0
    other = acme.write(
        subscription(subdomain="hostile", owner=hostile_owner, admins=()), acme.dir / "hostile.yaml"
    )
    assert acme.run("apply", str(other), "--auto-approve", actor=hostile_owner).code == 0
    history = json.loads(acme.run("history", "acme", "--format", "json").out)["versions"]
    assert history[-1]["actor"] == hostile_admin
    shown = acme.run("state", "show", "hostile").out
    assert hostile_owner in shown
    now = acme.snapshot()
    assert set(before["audit"]) <= set(now["audit"]) and len(now["accounts"]) == 2
    acme.verify()
    acme.run("history", "hostile", "--verify", codes=(0,))


def test_a_hostile_lock_id_does_not_remove_a_lock(acme: Account) -> None:
    from zplan.state import open_store
    from zplan.state.base import LockInfo

    store = open_store(acme.state)
    try:
        info = LockInfo.mine("someone@acme.example", "apply", "2026-11-27T10:00:00Z")
        with store.locked(["acme"], info, 0):
            for hostile in ("' OR '1'='1", "%", "*", info.id + "' --", info.id[:8]):
                result = acme.run("force-unlock", "acme", hostile)
                assert result.code == 1 and "not" in result.output, result.output
            rows = snapshot(acme.state)["locks"]
            assert [r[1] for r in rows] == [info.id]
    finally:
        store.close()


def test_sql_is_parameterised_in_the_source() -> None:
    """Every statement the stores run is fixed text with placeholders for the values.

    Accepted as the SQL argument of ``execute``, ``executemany`` and ``_rows``: string
    literals; psycopg compositions (``sql.SQL(…).format(…)``, which quote what they
    insert), also through a name bound to one; a pass-through (a parameter of the
    function, or a loop variable over the migrations' constants, checked where they
    come from); an f-string of upper-case constants. SQL text built any other way must
    be marked ``noqa: S608`` (ruff's check for SQL built from strings): reviewed, it
    inserts names from constants in the code, never a value.
    """
    unmarked = []
    for path in sorted((ROOT / "zplan" / "state").glob("*.py")):
        source = path.read_text(encoding="utf-8")
        lines = source.splitlines()
        tree = ast.parse(source)
        composed = {
            target.id
            for node in ast.walk(tree)
            if isinstance(node, ast.Assign) and _is_composed(node.value)
            for target in node.targets
            if isinstance(target, ast.Name)
        }
        for function in ast.walk(tree):
            if not isinstance(function, (ast.FunctionDef, ast.AsyncFunctionDef)):
                continue
            passing = {a.arg for a in function.args.args} | {
                n.target.id
                for n in ast.walk(function)
                if isinstance(n, ast.For) and isinstance(n.target, ast.Name)
            }
            for node in ast.walk(function):
                sql = _sql_argument(node)
                if sql is None or _is_literal(sql) or _is_composed(sql) or _constants_only(sql):
                    continue
                if isinstance(sql, ast.Name) and (sql.id in passing or sql.id in composed):
                    continue
                span = range(sql.lineno - 1, (sql.end_lineno or sql.lineno))
                if not any("noqa: S608" in lines[i] for i in span):
                    unmarked.append(f"{path.name}:{sql.lineno}: {ast.unparse(sql)}")
    assert not unmarked, "SQL built at run time, not reviewed:\n" + "\n".join(unmarked)


def _sql_argument(node: ast.AST) -> ast.expr | None:
    if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)):
        return None
    if node.func.attr in ("execute", "executemany") and node.args:
        sql = node.args[0]
    elif node.func.attr == "_rows" and len(node.args) > 1:
        sql = node.args[1]
    else:
        return None
    if isinstance(sql, ast.Call) and isinstance(sql.func, ast.Attribute) and sql.func.attr == "_q":
        return sql.args[0]
    return sql


def _is_literal(node: ast.AST) -> bool:
    if isinstance(node, ast.Constant):
        return isinstance(node.value, str)
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
        return _is_literal(node.left) and _is_literal(node.right)
    return False


def _constant(node: ast.AST) -> bool:
    return isinstance(node, ast.Name) and re.fullmatch(r"_?[A-Z][A-Z0-9_]*", node.id) is not None


def _constants_only(node: ast.AST) -> bool:
    """Text made of literals and UPPER_CASE names (constants of the module) only."""
    if isinstance(node, ast.JoinedStr):
        values = [v.value for v in node.values if isinstance(v, ast.FormattedValue)]
        return all(_constant(v) for v in values)
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
        return all(
            _is_literal(side) or _constant(side) or _constants_only(side)
            for side in (node.left, node.right)
        )
    return _constant(node)


def _is_composed(node: ast.AST) -> bool:
    """psycopg's ``sql.SQL("… {}").format(…)``: what it inserts is quoted by the driver."""
    return (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr == "format"
        and isinstance(node.func.value, ast.Call)
        and ast.unparse(node.func.value.func).split(".")[-1] == "SQL"
    )


# YAML bombs and deep nesting -----------------------------------------------------


def billion_laughs(levels: int = 9) -> str:
    lines = [
        "zplan: 1",
        'a0: &a0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]',
    ]
    for i in range(1, levels):
        lines.append(f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 10) + "]")
    return "\n".join(lines) + "\n"


def alias_depth_chain(levels: int = 100) -> str:
    lines = ["zplan: 1", "d0: &d0 [x]"]
    for i in range(1, levels):
        lines.append(f"d{i}: &d{i} [*d{i - 1}]")
    return "\n".join(lines) + "\n"


BOMBS = {
    "billion-laughs": (billion_laughs(), "too-many-nodes"),
    "quadratic-blowup": (
        "zplan: 1\na: &a ["
        + ", ".join(["x"] * 1000)
        + "]\nb: ["
        + ", ".join(["*a"] * 1000)
        + "]\n",
        "too-many-nodes",
    ),
    "deep-flow-10000": ("zplan: 1\nx: " + "[" * 10_000 + "]" * 10_000 + "\n", "too-deep"),
    "deep-mappings-10000": (
        "zplan: 1\nx: " + "{a: " * 10_000 + "1" + "}" * 10_000 + "\n",
        "too-deep",
    ),
    "deep-block-500": (
        "zplan: 1\nx:\n" + "".join("  " * i + f"k{i}:\n" for i in range(1, 500)),
        "too-deep",
    ),
    "deep-through-aliases": (alias_depth_chain(), "too-deep"),
}


@pytest.mark.parametrize("bomb", sorted(BOMBS))
@pytest.mark.parametrize("as_what", ["subscription", "catalog"])
def test_bombs_and_deep_nesting_are_refused_quickly(
    bomb: str, as_what: str, tmp_path: Path
) -> None:
    text, code = BOMBS[bomb]
    path = tmp_path / "bomb.yaml"
    if as_what == "catalog":
        text = text.replace("zplan: 1", "catalog: bomb", 1)
    path.write_text(text, encoding="utf-8")
    state = str(tmp_path / "state.db")
    report = checked(["validate", str(path), "--format", "json"])
    assert report.code == 1
    assert code in {d["code"] for d in json.loads(report.out)["diagnostics"]}, report.out[:2000]
    if as_what == "catalog":
        started = time.perf_counter()
        result = checked(["--catalog", str(path), "plan", str(EXAMPLE_FILES[0]), "--state", state])
        assert result.code == 1 and time.perf_counter() - started < TIME_LIMIT
    else:
        assert checked(["--state", state, "--at", TODAY, "plan", str(path)]).code == 1
    run = measured(["validate", str(path)], tmp_path)
    assert run.code == 1 and "Traceback" not in run.output
    assert run.seconds < TIME_LIMIT and run.max_rss_mb < MEMORY_LIMIT_MB, (
        run.seconds,
        run.max_rss_mb,
    )


# Regressions: plan files -----------------------------------------------------------


def test_regression_non_ascii_signature(acme: Account) -> None:
    plan_path = acme.save(subscription(agents=30), actor=OWNER)
    plan = json.loads(plan_path.read_text())
    plan["signature"] = "hmac-sha256:" + "é" * 64
    plan_path.write_text(json.dumps(plan), encoding="utf-8")
    before = acme.snapshot()
    result = invoke(
        ["--state", acme.state, "--at", TODAY, "--actor", OWNER, "apply", str(plan_path)]
    )
    assert_clean(result, ["apply", "plan.json"])
    assert result.code == 1 and "signature" in result.output
    assert acme.snapshot() == before


@pytest.mark.parametrize("command", ["apply", "show"])
def test_regression_deeply_nested_plan_file(acme: Account, command: str) -> None:
    path = acme.dir / "deep.json"
    path.write_text(
        '{"plan_id": "x", "a": ' + "[" * 100_000 + "]" * 100_000 + "}", encoding="utf-8"
    )
    argv = ["--state", acme.state, "--actor", OWNER, command, str(path)]
    result = invoke(argv)
    assert_clean(result, argv)
    assert result.code == 1


@pytest.mark.parametrize(
    ("field", "value"),
    [
        (("accounts",), [1]),
        (("accounts", 0, "totals"), "x"),
        (("accounts", 0, "invoice", "due_now"), "a lot"),
        (("accounts", 0, "invoice", "lines", 0, "description"), None),
    ],
    ids=["accounts", "totals", "due-now", "line-description"],
)
@pytest.mark.parametrize("fmt", ["text", "markdown"])
def test_regression_show_of_an_edited_plan_file(
    acme: Account, field: tuple[Any, ...], value: Any, fmt: str
) -> None:
    plan_path = acme.save(subscription(agents=30), actor=OWNER)
    plan = json.loads(plan_path.read_text())
    _get(plan, field[:-1])[field[-1]] = value
    plan_path.write_text(json.dumps(plan), encoding="utf-8")
    result = invoke(["show", str(plan_path), "--format", fmt])
    assert_clean(result, ["show", "plan.json"])


# Regressions: hostile values ---------------------------------------------------------


def test_regression_markdown_comment_escapes_values_from_the_file(acme: Account) -> None:
    acme.write(subscription(agents=500, admins=("<!--@evil.example", "<img/src=x>@evil.example")))
    comment = acme.run("plan", str(acme.file), "--format", "markdown").out
    assert comment.count("<!--") == 1, comment  # the bot's marker, and nothing else
    assert "<img" not in comment


@pytest.mark.parametrize("option", ["--state", "--catalog"])
def test_regression_nul_in_a_path_option(option: str) -> None:
    if option == "--state":
        argv = [
            option,
            "x\x00y",
            "--at",
            TODAY,
            "--actor",
            OWNER,
            "apply",
            str(EXAMPLE_FILES[0]),
            "--auto-approve",
        ]
    else:
        argv = [option, "x\x00y", "catalog"]
    result = invoke(argv)
    assert_clean(result, ["apply", option])
    assert result.code == 1


def test_regression_diagnostics_print_control_characters_raw(tmp_path: Path) -> None:
    path = tmp_path / "cr.yaml"
    forged = '"\\rOK: 1 file checked: valid.\\e[8m@x.y"'
    path.write_text(subscription().replace(f'    - "{ADMIN}"', f"    - {forged}"), encoding="utf-8")
    assert forged in path.read_text()
    result = checked(["validate", str(path)])
    assert result.code == 1
    assert "\r" not in result.output and "\x1b" not in result.output, repr(result.output)
