"""The import direction: lower stages never import higher ones (docs/architecture.md).

A small AST walk over every module of ``zplan/``, imports inside functions
included (that is where the heavy ones are). Each module belongs to a stage,
named by its folder; the table below says what a stage may never import.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator

import pytest

from tests.conftest import ROOT

PACKAGE = ROOT / "zplan"

# The values at the top of the package: every stage may import them, they import no stage.
VALUES = {"model", "money", "errors", "clock", "diagnostics", "redact"}
STAGES = {
    "load",
    "plan",
    "apply",
    "pipeline",
    "state",
    "render",
    "cli",
    "trust",
    "zendesk",
    "policy",
}

# stage -> the stages it must never import (docs/architecture.md, "Import rules").
NEVER: dict[str, set[str]] = {
    "values": STAGES,
    "load": STAGES - {"load"},
    "plan": STAGES - {"plan", "load"},
    "policy": STAGES - {"policy", "load", "plan"},
    "state": STAGES - {"state", "trust"},
    "trust": STAGES - {"trust", "state"},
    "zendesk": STAGES - {"zendesk"},
    "apply": {"render", "pipeline", "cli"},
    "render": {"apply", "pipeline", "cli", "zendesk", "policy", "trust"},
    "pipeline": {"render", "cli"},
    "cli": set(),
}

# Third-party or standard modules only some stages may import.
ONLY: dict[str, set[str]] = {
    "click": {"cli"},
    "httpx": {"zendesk"},
    "http.client": {"zendesk"},
    "urllib.request": {"zendesk"},
}


def stage_of(module: str) -> str | None:
    """``zplan.plan.diff`` -> ``plan``; a value module -> ``values``; outside zplan -> None."""
    parts = module.split(".")
    if parts[0] != "zplan" or len(parts) == 1:
        return None
    if parts[1] in STAGES:
        return parts[1]
    if parts[1] in VALUES:
        return "values"
    return None  # __main__, catalogs, schemas: data and the entry point


def imports_of(module: str, source: str) -> Iterator[tuple[int, str]]:
    """Every module ``source`` imports, as (line, dotted name); ``from zplan import x`` names x."""
    package = module if module.endswith("__init__") else module.rsplit(".", 1)[0]
    package = package.removesuffix(".__init__")
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parent = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*parent, base] if base else parent)
            yield node.lineno, base
            for alias in node.names:
                yield node.lineno, f"{base}.{alias.name}"


def violations(module: str, source: str) -> list[str]:
    """What ``module`` imports against the rules, one line each."""
    stage = stage_of(module)
    if stage is None:
        return []
    found: dict[tuple[int, str], str] = {}  # one line per import statement and rule
    for line, name in imports_of(module, source):
        target = stage_of(name)
        if target is not None and target != "values" and target in NEVER[stage]:
            found.setdefault((line, target), f"{module}:{line}: {stage} imports {name} ({target})")
        for restricted, allowed in ONLY.items():
            if (name == restricted or name.startswith(restricted + ".")) and stage not in allowed:
                found.setdefault(
                    (line, restricted),
                    f"{module}:{line}: {stage} imports {name} (only {sorted(allowed)})",
                )
    return sorted(found.values())


def modules() -> Iterator[tuple[str, str]]:
    for path in sorted(PACKAGE.rglob("*.py")):
        relative = path.relative_to(ROOT).with_suffix("")
        yield ".".join(relative.parts), path.read_text(encoding="utf-8")


def test_no_module_imports_against_the_direction() -> None:
    found = [v for module, source in modules() for v in violations(module, source)]
    assert found == []


def test_every_module_belongs_to_a_stage_or_is_a_value() -> None:
    loose = [
        module
        for module, _ in modules()
        if stage_of(module) is None
        and module not in {"zplan.__init__", "zplan.__main__"}
        and not module.startswith(("zplan.catalogs", "zplan.schemas"))
    ]
    assert loose == []


def test_every_stage_says_what_it_owns_and_must_never_import() -> None:
    for stage in STAGES:
        init = PACKAGE / stage / "__init__.py"
        doc = ast.get_docstring(ast.parse(init.read_text(encoding="utf-8")))
        assert doc, f"{init} has no docstring"
        assert "never" in doc.lower(), f"{init}: the docstring does not say what it never imports"


@pytest.mark.parametrize(
    ("module", "source", "expected"),
    [
        ("zplan.plan.diff", "from zplan.state.base import Account\n", "plan imports"),
        ("zplan.load.files", "def f():\n    from zplan.plan import planner\n", "load imports"),
        ("zplan.plan.pricing", "from zplan import apply\n", "plan imports zplan.apply"),
        ("zplan.load.document", "from ..render import text\n", "load imports zplan.render"),
        ("zplan.render.text", "import click\n", "only ['cli']"),
        ("zplan.model", "from zplan.load.catalog import Catalog\n", "values imports"),
        ("zplan.state.sqlite", "from zplan.plan.pricing import price\n", "state imports"),
        ("zplan.plan.planner", "import httpx\n", "only ['zendesk']"),
    ],
)
def test_the_check_catches_a_wrong_import(module: str, source: str, expected: str) -> None:
    found = violations(module, source)
    assert len(found) == 1 and expected in found[0], found


@pytest.mark.parametrize(
    ("module", "source"),
    [
        (
            "zplan.plan.diff",
            "from zplan.load.catalog import Catalog\nfrom zplan.model import Change\n",
        ),
        ("zplan.cli.plan", "import click\nfrom zplan.pipeline import workflow\n"),
        ("zplan.apply.session", "from zplan.state.base import Account\nfrom . import planfile\n"),
        ("zplan.zendesk.client", "import httpx\n"),
    ],
)
def test_the_check_allows_the_right_direction(module: str, source: str) -> None:
    assert violations(module, source) == []
