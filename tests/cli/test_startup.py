"""What a command loads: start-up is part of the user's wait (STYLE habit 10)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tests.conftest import EXAMPLES, TODAY, Zplan

PROBE = """
import sys, json
from zplan.cli import run
code = run(sys.argv[1:])
heavy = ["deepdiff", "jsonschema", "psycopg"]
# What later features bring (signatures, policies, the Zendesk client, renderers) must
# stay off the path of a plain plan or validate: any of them shows up as loaded.
never = ("cryptography", "regopy", "httpx", "zenpy", "cmarkgfm", "markdown_it")
heavy += sorted({m.split(".")[0] for m in sys.modules if m.startswith(never)})
heavy += sorted(m for m in sys.modules if m.startswith(("zplan.zendesk.", "zplan.policy.")))
print(json.dumps({"code": code, "loaded": [m for m in heavy if m in sys.modules]}))
"""


def loaded(*argv: str) -> tuple[int, list[str]]:
    done = subprocess.run(
        [sys.executable, "-c", PROBE, *argv], capture_output=True, text=True, check=False
    )
    last = json.loads(done.stdout.strip().splitlines()[-1])
    return last["code"], last["loaded"]


def test_validating_valid_files_loads_neither_jsonschema_nor_deepdiff() -> None:
    code, modules = loaded("--at", TODAY, "validate", str(EXAMPLES / "accounts"))
    assert code == 0
    assert modules == []


def test_an_invalid_file_brings_jsonschema_in_for_its_diagnostics(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        (EXAMPLES / "accounts" / "acme.yaml").read_text().replace("cycle: annual", "cycle: yearly")
    )
    code, modules = loaded("--at", TODAY, "validate", str(bad))
    assert code == 1
    assert modules == ["jsonschema"]


def test_a_first_purchase_plan_does_not_load_deepdiff(state: str) -> None:
    code, modules = loaded("--state", state, "--at", TODAY, "plan", str(EXAMPLES / "accounts"))
    assert code == 0
    assert modules == []


def test_deepdiff_comes_in_only_when_the_products_differ(
    zplan: Zplan, state: str, tmp_path: Path
) -> None:
    file = tmp_path / "acme.yaml"
    file.write_text((EXAMPLES / "accounts" / "acme.yaml").read_text())
    applied = zplan(
        "--state",
        state,
        "--at",
        TODAY,
        "--actor",
        "owner@acme.example",
        "apply",
        "--auto-approve",
        str(file),
    )
    assert applied.code == 0, applied.output
    code, modules = loaded("--state", state, "--at", TODAY, "plan", str(file))
    assert (code, modules) == (0, [])  # unchanged: nothing to compare
    file.write_text(file.read_text().replace("agents: 25", "agents: 30"))
    code, modules = loaded("--state", state, "--at", TODAY, "plan", str(file))
    assert (code, modules) == (0, [])  # the same products: none added or removed to find
    file.write_text(file.read_text().replace("  suite:", "  support:"))
    code, modules = loaded("--state", state, "--at", TODAY, "plan", str(file))
    assert (code, modules) == (0, ["deepdiff"])  # which products come and go: deepdiff says


def test_every_command_is_found_by_its_module() -> None:
    """The root group loads a command's module on demand: the table must name them all."""
    probe = (
        "import json\n"
        "from zplan.cli.options import COMMAND_MODULES, cli, load_commands\n"
        "load_commands()\n"
        "print(json.dumps([sorted(cli.commands), sorted(COMMAND_MODULES)]))\n"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    registered, listed = json.loads(done.stdout)
    assert registered == listed


def test_a_command_loads_its_own_module_only() -> None:
    probe = (
        "import sys, json\n"
        "from zplan.cli import run\n"
        "run(sys.argv[1:])\n"
        "print(json.dumps(sorted(m for m in sys.modules if m.startswith('zplan.cli.'))))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe, "--at", TODAY, "validate", str(EXAMPLES / "accounts")],
        capture_output=True,
        text=True,
        check=False,
    )
    modules = json.loads(done.stdout.strip().splitlines()[-1])
    assert "zplan.cli.admin" not in modules and "zplan.cli.history" not in modules
    assert "zplan.cli.plan" in modules
