"""Two versions of zplan on the same files, in the same minutes: `zplan plan DIR` of the
checkout against an older commit, runs alternating, beside the floor.

    python bench/compare.py HEAD~5                     # 10,000 accounts, 3 rounds
    python bench/compare.py 7cfab3b --size 50000 --rounds 3

On a shared machine the floor itself moves by 20-40 % from one minute to the next (see
docs/performance.md), so two bench runs minutes apart cannot tell a 5 % change; here each
round runs the floor, then every command of both versions, one after the other. The older
version is exported with `git archive` into a temporary directory (no worktree, nothing
left behind) and both trees are compiled first, as an install would (`compileall`), so
that neither pays for compiling its modules on every start. Each version runs as
`python -m zplan` with its tree first on PYTHONPATH, with this Python and its packages.

Prints, per command and version, the median CPU (all processes) and its ratio to the
floor's median; returns the figures as JSON with --json.
"""

from __future__ import annotations

import argparse
import compileall
import io
import json
import os
import statistics
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.accounts import cached_tree
from bench.measure import run
from bench.run import PLAN_DATE, ROOT, apply_cmd, floor_command, init_store, zplan_cmd


def export(revision: str, into: Path) -> Path:
    """The tree of ``revision`` (its zplan package and schemas), written under ``into``."""
    archive = subprocess.run(
        ["git", "-C", str(ROOT), "archive", "--format=tar", revision, "zplan", "schemas"],
        capture_output=True,
        check=False,
    )
    if archive.returncode != 0:
        raise SystemExit(f"git archive {revision}: {archive.stderr.decode().strip()}")
    with tarfile.open(fileobj=io.BytesIO(archive.stdout)) as tar:
        tar.extractall(into, filter="data")
    return into


def zplan(tree: Path, *args: str) -> tuple[list[str], dict[str, str]]:
    env = {"PYTHONPATH": str(tree), "ZPLAN_NOW": PLAN_DATE}
    return [sys.executable, "-m", "zplan", *args], env


def compare(revision: str, size: int, rounds: int, seed: int, work: Path) -> dict[str, Any]:
    old = export(revision, work / "old")
    trees = {"checkout": ROOT, revision: old}
    for name, tree in trees.items():
        compileall.compile_dir(tree / "zplan", quiet=1)
        _, env = zplan(tree)
        found = run([sys.executable, "-c", "import zplan; print(zplan.__file__)"], env, work)
        if not found.out.strip().startswith(str(tree)):
            raise SystemExit(f"{name}: python imports {found.out.strip()}, not the tree {tree}")
    directory, _ = cached_tree(size, seed)
    made = run([*zplan_cmd(), "keygen", str(work / "apply.key")])  # signs the audit entries
    if made.code != 0:
        raise SystemExit(f"keygen failed:\n{made.out[-2000:]}")
    os.environ["ZPLAN_SIGNING_KEY"] = str(work / "apply.key")
    empty = init_store(str(work / "empty" / "state.db"))
    applied = init_store(str(work / "applied" / "state.db"))
    setup = run(apply_cmd(applied, directory), env={"ZPLAN_NOW": PLAN_DATE})
    if setup.code != 0:
        raise SystemExit(f"the apply that makes the no-change store failed:\n{setup.out[-2000:]}")
    commands = {
        "plan DIR, first purchases": ("--state", empty, "plan", str(directory)),
        "plan DIR, no changes": ("--state", applied, "plan", str(directory)),
    }
    cpu: dict[str, list[float]] = {"floor": []}
    for _ in range(rounds):
        cpu["floor"].append(run(floor_command(directory), cwd=work).cpu)
        for label, args in commands.items():
            for name, tree in trees.items():
                argv, env = zplan(tree, *args)
                # Run from the work directory: Python puts the current directory first on
                # sys.path, so run from the checkout, every version would be the checkout.
                result = run(argv, env=os.environ | env, cwd=work)
                if result.code not in (0, 2):
                    raise SystemExit(
                        f"{name}: {label} failed ({result.code}):\n{result.out[-2000:]}"
                    )
                cpu.setdefault(f"{label} | {name}", []).append(result.cpu)
    floor = statistics.median(cpu["floor"])
    return {
        "accounts": size,
        "rounds": rounds,
        "load_average": [round(x, 2) for x in os.getloadavg()],
        "figures": {
            key: {
                "cpu_s": round(statistics.median(values), 3),
                "x_floor": round(statistics.median(values) / floor, 2),
                "runs": [round(v, 3) for v in values],
            }
            for key, values in cpu.items()
        },
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("revision", help="the older commit (anything git names)")
    parser.add_argument("--size", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seed", type=int, default=20261127)
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="zplan-compare-") as work:
        result = compare(args.revision, args.size, args.rounds, args.seed, Path(work))
    if args.json:
        print(json.dumps(result, indent=2))
        return 0
    print(f"{result['accounts']:,} accounts, {result['rounds']} rounds, medians of CPU s")
    for key, figure in result["figures"].items():
        print(f"  {key:45s} {figure['cpu_s']:7.2f} s  {figure['x_floor']:5.2f}x floor")
    return 0


if __name__ == "__main__":
    sys.exit(main())
