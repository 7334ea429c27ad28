"""Benchmarks of the core against floors and pglift 3.3, measured in the same run.

    python tests/bench/bench_core.py [--sizes 1,10,50,100] [--rounds 5]

Run it as an unprivileged user (PostgreSQL refuses root). It prints medians and
ratios with the targets of issue 3; nothing here asserts a time. The peer, pglift
3.3 from PyPI, lives in a virtualenv of its own (tests/peer.py).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from pglift_tui import conf, instances
from pglift_tui.models import interface, system
from tests.bench.fleet import PG15, Fleet
from tests.peer import ensure_pglift

BASE_PORT = 31000


def median_ms(samples: list[float]) -> float:
    return statistics.median(samples) * 1000


def timed(fn: Callable[[], Any]) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def verdict(ratio: float, target: float, higher_is_better: bool) -> str:
    ok = ratio >= target if higher_is_better else ratio <= target
    return "meets" if ok else "MISSES"


class Bench(Fleet):
    def __init__(self, root: Path, rounds: int) -> None:
        super().__init__(root, BASE_PORT)
        self.rounds = rounds
        self.peer = ensure_pglift()
        self.peer_config = root / "pglift"
        self.peer_config.mkdir()
        (self.peer_config / "settings.yaml").write_text(
            yaml.safe_dump(
                {
                    "prefix": str(root / "p"),
                    "run_prefix": str(root / "r"),
                    "postgresql": {"versions": [{"version": "15", "bindir": str(PG15)}]},
                }
            )
        )
        self.peer_env = {**os.environ, "PGLIFT_CONFIG_DIR": str(self.peer_config)}
        subprocess.run(
            [str(self.peer / "pglift"), "--non-interactive", "site-configure", "install"],
            env=self.peer_env,
            check=True,
            capture_output=True,
        )

    # -- ls --------------------------------------------------------------------------------
    def ours_ls(self) -> tuple[float, float]:
        async def once() -> int:
            return len([item async for item in instances.ls(self.settings)])

        conf._cached_port.cache_clear()
        cold = timed(lambda: asyncio.run(once()))
        loop = asyncio.new_event_loop()
        try:
            warm = [timed(lambda: loop.run_until_complete(once())) for _ in range(max(20, self.rounds * 4))]
        finally:
            loop.close()
        return cold * 1000, median_ms(warm)

    def pg_ctl_loop(self) -> float:
        datadirs = [str(system.BaseInstance(n, "15", self.settings).datadir) for n in self.names]

        def loop() -> None:
            for d in datadirs:
                subprocess.run([str(PG15 / "pg_ctl"), "status", "-D", d], capture_output=True, check=False)

        return median_ms([timed(loop) for _ in range(self.rounds)])

    def peer_script(self, body: str) -> dict[str, Any]:
        code = textwrap.dedent(
            """
            import asyncio, json, statistics, time
            from pglift import instances, manager
            from pglift.settings import SiteSettings
            from pglift.models import interface
            settings = SiteSettings()
            """
        ) + textwrap.dedent(body)
        done = subprocess.run(
            [str(self.peer / "python"), "-c", code],
            env=self.peer_env,
            capture_output=True,
            text=True,
            check=False,
        )
        if done.returncode != 0:
            raise RuntimeError(f"pglift script failed: {done.stderr[-2000:]}")
        return dict(json.loads(done.stdout.strip().splitlines()[-1]))

    def peer_ls(self) -> tuple[float, float, int]:
        result = self.peer_script(
            f"""
            async def once():
                return len([i async for i in instances.ls(settings)])
            t = time.perf_counter(); n = asyncio.run(once()); cold = time.perf_counter() - t
            warm = []
            for _ in range({self.rounds}):
                t = time.perf_counter(); asyncio.run(once()); warm.append(time.perf_counter() - t)
            print(json.dumps({{"cold": cold * 1000, "warm": statistics.median(warm) * 1000, "n": n}}))
            """
        )
        return result["cold"], result["warm"], result["n"]

    def cli(self) -> tuple[float, float]:
        ours_env = {**os.environ, "PGLIFT_TUI_SETTINGS": str(self.site)}
        ours_cmd = [str(Path(sys.executable).parent / "pglift-tui"), "ls", "--json"]
        peer_cmd = [str(self.peer / "pglift"), "instance", "list", "-o", "json"]

        def run(cmd: list[str], env: dict[str, str]) -> None:
            done = subprocess.run(cmd, env=env, capture_output=True, text=True, check=False)
            if done.returncode != 0:
                raise RuntimeError(done.stderr)
            assert len(json.loads(done.stdout)) == len(self.names)

        ours, peer = [], []
        for _ in range(self.rounds):
            ours.append(timed(lambda: run(ours_cmd, ours_env)))
            peer.append(timed(lambda: run(peer_cmd, self.peer_env)))
        return median_ms(ours), median_ms(peer)

    # -- create + start -----------------------------------------------------------------------
    def create(self) -> tuple[float, float, float]:
        raw, ours, peer = [], [], []
        sockdir = self.root / "rawsock"
        sockdir.mkdir(mode=0o700, exist_ok=True)
        for i in range(self.rounds):
            # Floor: initdb (fsync on) with the same options, then pg_ctl start -w.
            d, w = self.root / f"raw{i}" / "data", self.root / f"raw{i}" / "wal"
            port = self.port()
            start = time.perf_counter()
            subprocess.run(
                [
                    str(PG15 / "initdb"),
                    "-D",
                    str(d),
                    f"--waldir={w}",
                    "--auth-local=peer",
                    "--auth-host=scram-sha-256",
                    "--username=postgres",
                    "--locale=C",
                    "--encoding=UTF8",
                ],
                check=True,
                capture_output=True,
            )
            subprocess.run(
                [
                    str(PG15 / "pg_ctl"),
                    "start",
                    "-D",
                    str(d),
                    "-w",
                    "-s",
                    "-l",
                    str(d.parent / "log"),
                    "-o",
                    f"-p {port} -k {sockdir} -c listen_addresses=localhost",
                ],
                check=True,
                capture_output=True,
            )
            raw.append(time.perf_counter() - start)
            subprocess.run(
                [str(PG15 / "pg_ctl"), "stop", "-D", str(d), "-m", "immediate", "-w"], capture_output=True
            )
            shutil.rmtree(d.parent)

            manifest = interface.Instance(name=f"c{i}", port=self.port())
            ours.append(timed(lambda m=manifest: asyncio.run(instances.apply(self.settings, m))))
            asyncio.run(instances.apply(self.settings, manifest.model_copy(update={"state": "absent"})))

            result = self.peer_script(
                f"""
                m = interface.Instance.model_validate(
                    {{"name": "pl{i}", "port": {self.port()}, "version": "15"}}
                )
                async def go():
                    with manager.from_manifest(m, settings=settings):
                        t = time.perf_counter(); await instances.apply(settings, m)
                        return time.perf_counter() - t
                elapsed = asyncio.run(go())
                print(json.dumps({{"t": elapsed}}))
                """
            )
            peer.append(result["t"])
            subprocess.run(
                [str(self.peer / "pglift"), "--non-interactive", "instance", "drop", f"pl{i}"],
                env=self.peer_env,
                capture_output=True,
                check=True,
            )
        return median_ms(raw), median_ms(ours), median_ms(peer)

    # -- start / stop / restart -----------------------------------------------------------------
    def lifecycle(self) -> dict[str, tuple[float, float]]:
        manifest = interface.Instance(name="lc", port=self.port())
        asyncio.run(instances.apply(self.settings, manifest))
        instance = system.Instance.system_lookup("lc", "15", self.settings)
        pg_ctl = [str(PG15 / "pg_ctl"), "-D", str(instance.datadir), "-s", "-w"]
        log = ["-l", str(instance.startup_log)]
        samples: dict[str, tuple[list[float], list[float]]] = {
            k: ([], []) for k in ("stop", "start", "restart")
        }
        for _ in range(self.rounds * 2):
            samples["stop"][0].append(timed(lambda: asyncio.run(instances.stop(instance))))
            samples["start"][0].append(timed(lambda: asyncio.run(instances.start(instance))))
            samples["restart"][0].append(timed(lambda: asyncio.run(instances.restart(instance))))
            samples["stop"][1].append(
                timed(lambda: subprocess.run([*pg_ctl, "stop", "-m", "fast"], check=True))
            )
            samples["start"][1].append(timed(lambda: subprocess.run([*pg_ctl, "start", *log], check=True)))
            samples["restart"][1].append(
                timed(lambda: subprocess.run([*pg_ctl, "restart", "-m", "fast", *log], check=True))
            )
        asyncio.run(instances.drop(instance))
        return {k: (median_ms(o), median_ms(r)) for k, (o, r) in samples.items()}


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sizes", default="1,10,50,100")
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    root = Path(tempfile.mkdtemp(prefix="pgb", dir="/tmp"))
    bench = Bench(root, args.rounds)
    try:
        print(f"pglift-tui core benchmark: medians of {args.rounds}+ rounds, 2 cores, PostgreSQL 15")
        print(
            "\nls, in-process (ms)         cold   warm | pg_ctl loop | pglift cold  warm |"
            " ours/pg_ctl ours/pglift"
        )
        for n in sizes:
            bench.grow(n, n // 10)
            loop = bench.pg_ctl_loop()  # first: lets freshly started servers settle
            cold, warm = bench.ours_ls()
            p_cold, p_warm, p_n = bench.peer_ls()
            assert p_n == n, f"pglift saw {p_n} instances, not {n}"
            print(
                f"  N={n:<3} ({n // 10:>2} running)   {cold:6.2f} {warm:6.2f} |   {loop:7.1f}   |"
                f"   {p_cold:6.1f} {p_warm:6.1f} |   {loop / warm:6.0f}x   {p_warm / warm:6.0f}x"
            )
        print("  targets at N=100: >= 10x faster than the pg_ctl loop, >= 40x faster than pglift")
        ours, peer = bench.cli()
        print(
            f"\nwhole process at N={sizes[-1]}: pglift-tui ls --json {ours:.0f} ms,"
            f" pglift instance list -o json {peer:.0f} ms:"
            f" {peer / ours:.1f}x ({verdict(peer / ours, 4, True)} the 4x target)"
        )
        bench.stop_all()
        raw, ours_c, peer_c = bench.create()
        print(
            f"\ncreate + start: raw initdb + pg_ctl start {raw:.0f} ms, pglift-tui {ours_c:.0f} ms"
            f" ({ours_c / raw:.2f}x, {verdict(ours_c / raw, 1.2, False)} the 1.2x target),"
            f" pglift {peer_c:.0f} ms ({peer_c / raw:.2f}x)"
        )
        print("\nlifecycle (ms)   pglift-tui   raw pg_ctl   ratio (target <= 1.10)")
        for action, (o, r) in bench.lifecycle().items():
            print(f"  {action:<8}      {o:8.1f}     {r:8.1f}     {o / r:5.2f} {verdict(o / r, 1.1, False)}")
    finally:
        bench.stop_all()
        shutil.rmtree(root, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
