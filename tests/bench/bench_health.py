"""Benchmark of the health checks with 20 running instances, against check_pgactivity in the same run.

    python tests/bench/bench_health.py [--running 20] [--rounds 5]

Run it as an unprivileged user, with Debian's `check-pgactivity` package installed
(benchmark-only). It prints figures and ratios, and asserts no time:

- `pglift-tui check` over every instance as one process, against check_pgactivity run
  the way a monitoring system runs it: one invocation per instance and service, for
  the services that match ours (backends, longest_query, oldest_idlexact,
  replication_slots, max_freeze_age, archiver). Target: at least 10x less wall time
  than those invocations together. The same invocations run concurrently (one per
  core, as a scheduler with workers would) are shown too.
- the checks' extra time per instance on an asyncio loop: the monitor's probe with
  the health column riding on it, against the probe alone, on kept connections; and
  the client-side work (parsing, judging, disk and log looks).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from psycopg.conninfo import conninfo_to_dict

from pglift_tui.health import HealthSettings, evaluate, parse, with_probe
from pglift_tui.health import disk as health_disk
from pglift_tui.health import logs as health_logs
from pglift_tui.health.runner import targets
from pglift_tui.probe import figures_sql
from tests.bench.fleet import Fleet

BASE_PORT = 36500
PROBE = figures_sql(150000)  # the dashboard's figures alone, on PostgreSQL 15
CHECK_PGACTIVITY = "/usr/lib/nagios/plugins/check_pgactivity"
#: The services of check_pgactivity that match our checks, with thresholds where it needs them.
SERVICES: dict[str, list[str]] = {
    "backends": ["-w", "80%", "-c", "90%"],
    "longest_query": ["-w", "5m", "-c", "30m"],
    "oldest_idlexact": ["-w", "5m", "-c", "30m"],
    "replication_slots": [],
    "max_freeze_age": [],
    "archiver": [],
}


def median_ms(samples: list[float]) -> float:
    return statistics.median(samples) * 1000


def timed(
    argv: list[str], env: dict[str, str] | None = None
) -> tuple[float, subprocess.CompletedProcess[str]]:
    start = time.perf_counter()
    done = subprocess.run(argv, env=env, capture_output=True, text=True, check=False)
    return time.perf_counter() - start, done


class Bench(Fleet):
    def __init__(self, root: Path, running: int, rounds: int) -> None:
        super().__init__(root, BASE_PORT)
        self.rounds = rounds
        self.grow(running + 1, running)  # the template, i000, stays stopped
        self.env = {**os.environ, "PGLIFT_TUI_SETTINGS": str(self.site)}
        self.status_file = root / "check_pgactivity.data"

    def running(self) -> list[Any]:
        found = asyncio.run(targets(self.settings))
        return [t for t in found if t.asked]

    # -- one process against one invocation per instance and service -------------------------
    def ours(self) -> tuple[float, int, str]:
        argv = [sys.executable, "-m", "pglift_tui", "check"]
        timed(argv, self.env)  # the first run makes the state files; a monitoring system's is not first
        samples = []
        for _ in range(self.rounds):
            took, done = timed(argv, self.env)
            samples.append(took)
        return median_ms(samples), done.returncode, done.stdout.split(" | ")[0]

    def peer_argv(self, target: Any, service: str) -> list[str]:
        where = conninfo_to_dict(target.conninfo())
        return [
            CHECK_PGACTIVITY, "-s", service, "-h", str(where["host"]),
            "-p", str(where["port"]), "-U", "postgres", "-d", "postgres",
            "--status-file", str(self.status_file), *SERVICES[service],
        ]  # fmt: skip

    def peer(self, workers: int = 1) -> tuple[float, dict[str, int]]:
        """Wall time of every invocation (median of rounds); the exit codes seen, by service."""
        argvs = [(s, self.peer_argv(t, s)) for t in self.running() for s in SERVICES]
        codes: dict[str, int] = {}

        def one(item: tuple[str, list[str]]) -> None:
            _, done = timed(item[1])
            codes[item[0]] = max(codes.get(item[0], 0), done.returncode)

        samples = []
        for _ in range(max(1, self.rounds // 2)):
            start = time.perf_counter()
            if workers == 1:
                for item in argvs:
                    one(item)
            else:
                with ThreadPoolExecutor(workers) as pool:
                    list(pool.map(one, argvs))
            samples.append(time.perf_counter() - start)
        return median_ms(samples), codes

    # -- the checks' extra time on an event loop -------------------------------------------
    def on_the_loop(self) -> dict[str, float]:
        found = self.running()
        health = HealthSettings()
        combined = with_probe(PROBE)

        async def go() -> dict[str, float]:
            import psycopg
            from psycopg.rows import dict_row

            cnxs = [
                await psycopg.AsyncConnection.connect(t.conninfo(), autocommit=True, row_factory=dict_row)
                for t in found
            ]
            try:

                async def each(sql: str) -> list[Any]:
                    async def one(cnx: Any) -> Any:
                        return await (await cnx.execute(sql)).fetchone()

                    return await asyncio.gather(*(one(c) for c in cnxs))

                plain, both, cpu_plain, cpu_both = [], [], [], []
                for _ in range(3):  # warm caches and plans
                    await each(PROBE)
                    await each(combined)
                for _ in range(self.rounds * 4):
                    for sql, walls, cpus in ((PROBE, plain, cpu_plain), (combined, both, cpu_both)):
                        c0, w0 = time.process_time(), time.perf_counter()
                        rows = await each(sql)
                        walls.append(time.perf_counter() - w0)
                        cpus.append(time.process_time() - c0)
                # Client-side judgement of one look at every instance.
                judge = []
                for _ in range(self.rounds * 4):
                    c0 = time.perf_counter()
                    for target, row in zip(found, rows, strict=True):
                        fs = health_disk.measure(target.disk_paths())
                        evaluate(target.item, parse(row), fs, None, health)
                    judge.append(time.perf_counter() - c0)
                sources = {t.key: t.log_files for t in found}
                health_logs.scan(self.settings, sources, window=300)
                scans = []
                for _ in range(self.rounds * 4):
                    c0 = time.perf_counter()
                    health_logs.scan(self.settings, sources, window=300)
                    scans.append(time.perf_counter() - c0)
            finally:
                for cnx in cnxs:
                    await cnx.close()
            n = len(found)
            return {
                "probe_wall": median_ms(plain),
                "both_wall": median_ms(both),
                "probe_cpu": median_ms(cpu_plain) / n,
                "both_cpu": median_ms(cpu_both) / n,
                "judge": median_ms(judge) / n,
                "logs": median_ms(scans) / n,
            }

        return asyncio.run(go())


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--running", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    if not os.path.exists(CHECK_PGACTIVITY):
        print(f"{CHECK_PGACTIVITY} is missing: apt-get install check-pgactivity (benchmark-only)")
        return 1
    root = Path(tempfile.mkdtemp(prefix="pgh", dir="/tmp"))
    try:
        bench = Bench(root, args.running, args.rounds)
        n = len(bench.running())
        cores = os.cpu_count() or 1
        print(f"pglift-tui health benchmark: {n} running instances, PostgreSQL 15, {cores} cores")
        ours, code, line = bench.ours()
        print(f"\npglift-tui check, one process: {ours:.0f} ms (exit {code}: {line})")
        peer, codes = bench.peer()
        calls = n * len(SERVICES)
        print(
            f"check_pgactivity, {calls} invocations ({len(SERVICES)} services x {n} instances), one after "
            f"the other: {peer:.0f} ms ({peer / calls:.0f} ms each); exit codes by service: {codes}"
        )
        ratio = peer / ours
        verdict = "meets" if ratio >= 10 else "MISSES"
        print(f"  ratio {ratio:.1f}x less wall time ({verdict} the 10x target)")
        parallel, _ = bench.peer(workers=cores)
        print(f"  the same on {cores} workers at once: {parallel:.0f} ms, still {parallel / ours:.1f}x ours")
        loop = bench.on_the_loop()
        extra = loop["both_wall"] - loop["probe_wall"]
        print(
            f"\non one asyncio loop, {n} kept connections, all asked at once (medians):"
            f"\n  monitor probe alone {loop['probe_wall']:.2f} ms,"
            f" with the health column {loop['both_wall']:.2f} ms:"
            f" {extra:.2f} ms more per refresh, {extra / n:.3f} ms per instance"
            f"\n  client CPU per instance: {loop['probe_cpu']:.3f} ms -> {loop['both_cpu']:.3f} ms"
            f" (+{loop['both_cpu'] - loop['probe_cpu']:.3f} ms: the JSON column decoded)"
            f"\n  parse + evaluate + disk per instance {loop['judge']:.3f} ms;"
            f" log look per instance {loop['logs']:.3f} ms (state file locked, read, nothing new)"
        )
    finally:
        if "bench" in locals():
            bench.stop_all()
        shutil.rmtree(root, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
