"""What guardrails cost: ``zplan plan DIR`` with the example policies against without (issue 17).

    python bench/guardrails.py               # 1,000 accounts, median of 5 runs each
    python bench/guardrails.py --size 200 --repeat 3

The accounts and their store are the benchmark's (bench/run.py: bought on four
dates, one file in ten with more seats). The target: at most 1.5 times the time
of the same plan without policies.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import statistics  # noqa: E402

from bench.run import PLAN_DATE, ROOT, build_state, run, zplan_cmd  # noqa: E402


def timed(argv: list[str], repeat: int, env: dict[str, str]) -> dict[str, float]:
    """Median wall time; a plan a guardrail denies (exit 1) counts, when it says so."""
    walls = []
    for _ in range(repeat):
        result = run(argv, env=env)
        if result.code not in (0, 2) and "guardrail" not in result.out:
            raise SystemExit(f"failed ({result.code}): {' '.join(argv)}\n{result.out[-2000:]}")
        walls.append(result.wall)
    return {"median_s": round(statistics.median(walls), 4)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--size", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--seed", type=int, default=17)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="zplan-guard-") as tmp:
        work = Path(tmp)
        state = str(work / "state.db")
        directory = build_state(work, args.size, args.seed, state)
        labels = work / "labels.json"
        labels.write_text('{"pr": {"labels": ["finance-approved"]}}', encoding="utf-8")
        env = {"ZPLAN_NOW": PLAN_DATE}
        base = [*zplan_cmd(), "--state", state, "plan", str(directory)]
        policies = ["--policy", str(ROOT / "examples" / "policies"), "--policy-data", str(labels)]
        without = timed(base, args.repeat, env=env)
        with_policies = timed([*base, *policies], args.repeat, env=env)
    result = {
        "accounts": args.size,
        "without_s": without["median_s"],
        "with_policies_s": with_policies["median_s"],
        "ratio": round(with_policies["median_s"] / without["median_s"], 2),
        "target": 1.5,
    }
    print(json.dumps(result, indent=2))
    return 0 if result["ratio"] <= 1.5 else 1


if __name__ == "__main__":
    raise SystemExit(main())
