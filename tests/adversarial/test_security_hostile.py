"""Security against hostile strings: through every command, in stored values, lock ids
and output (markdown, terminals); SQL is parameterised in the source.
"""

from __future__ import annotations

import ast
import json
import re
from pathlib import Path
from typing import Any

import pytest

from tests.adversarial.security_support import ADMIN, OWNER, TODAY, Account, snapshot, subscription
from tests.adversarial.support import EXAMPLE_FILES, ROOT, assert_clean, checked
from tests.conftest import invoke

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
