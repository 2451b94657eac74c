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

import statistics

from bench.run import PLAN_DATE, ROOT, build_state, run, zplan_cmd


def once(argv: list[str], env: dict[str, str]) -> float:
    """Wall time of one run; a plan a guardrail denies (exit 1) counts, when it says so."""
    result = run(argv, env=env)
    if result.code not in (0, 2) and "guardrail" not in result.out:
        raise SystemExit(f"failed ({result.code}): {' '.join(argv)}\n{result.out[-2000:]}")
    return result.wall


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
        # Interleaved, so that a machine busy with something else slows both alike.
        without, with_policies = [], []
        for _ in range(args.repeat):
            without.append(once(base, env))
            with_policies.append(once([*base, *policies], env))
    result = {
        "accounts": args.size,
        "without_s": round(statistics.median(without), 3),
        "with_policies_s": round(statistics.median(with_policies), 3),
        "ratio": round(statistics.median(with_policies) / statistics.median(without), 2),
        "ratio_of_fastest": round(min(with_policies) / min(without), 2),
        "target": 1.5,
    }
    print(json.dumps(result, indent=2))
    return 0 if result["ratio"] <= 1.5 else 1


if __name__ == "__main__":
    raise SystemExit(main())
