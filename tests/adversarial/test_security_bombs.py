"""Security against YAML bombs and deep nesting: refused quickly and within memory,
as subscription files and as price books.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.adversarial.security_support import TODAY
from tests.adversarial.support import EXAMPLE_FILES, MEMORY_LIMIT_MB, TIME_LIMIT, checked, measured

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
        result = checked(["--catalog", str(path), "plan", str(EXAMPLE_FILES[0]), "--state", state])
        assert result.code == 1  # checked() holds it to TIME_LIMIT of CPU
    else:
        assert checked(["--state", state, "--at", TODAY, "plan", str(path)]).code == 1
    run = measured(["validate", str(path)], tmp_path)
    assert run.code == 1 and "Traceback" not in run.output
    assert run.seconds < TIME_LIMIT and run.max_rss_mb < MEMORY_LIMIT_MB, (
        run.seconds,
        run.max_rss_mb,
    )
