"""The host-wide listing: our instances, Debian clusters and the process table, in one run.

    python tests/bench/bench_hosts.py [--ours 100] [--ours-running 10]
                                      [--debian 20] [--debian-running 2] [--rounds 7]

Run it as an unprivileged user. It prints medians and ratios with the targets of
issue 13; nothing here asserts a time. The Debian clusters are real ones made by
pg_createcluster under a PG_CLUSTER_CONF_ROOT of the run's own; `pg_lsclusters --json`
over the same root is the peer. "Before" is `instances.ls` from the commit this
branch started from, exported by git and timed in a process of its own on the
same fleet.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, ClassVar

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from pglift_tui import postmasters
from pglift_tui.host import Host
from pglift_tui.managers.debian import DebianManager
from pglift_tui.managers.unmanaged import UnmanagedManager
from pglift_tui.settings import DiscoverySettings, Settings
from tests.bench.fleet import Fleet

BASE_PORT = 33000
DEBIAN_PORT = 34000
#: The commit the Debian work started from: `instances.ls` as it was.
BEFORE = "88a45bf"


def median_ms(samples: list[float]) -> float:
    return statistics.median(samples) * 1000


def timed(fn: Callable[[], Any]) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def verdict(ok: bool) -> str:
    return "meets" if ok else "MISSES"


class Spawns:
    """Programs this interpreter starts, from its own audit events (nothing patched)."""

    EVENTS = ("subprocess.Popen", "os.posix_spawn", "os.fork", "os.exec", "os.system")

    def __init__(self) -> None:
        self.count = 0
        self.on = False
        sys.addaudithook(self._hook)

    def _hook(self, event: str, args: tuple[Any, ...]) -> None:
        if self.on and event in self.EVENTS:
            self.count += 1

    def during(self, fn: Callable[[], Any]) -> int:
        self.count, self.on = 0, True
        try:
            fn()
        finally:
            self.on = False
        return self.count


def forks_on_host() -> int:
    """Processes created on the whole host since boot (/proc/stat): an upper bound."""
    with open("/proc/stat") as f:
        for line in f:
            if line.startswith("processes "):
                return int(line.split()[1])
    return 0


class Bench(Fleet):
    def __init__(self, root: Path, rounds: int) -> None:
        super().__init__(root, BASE_PORT)
        self.rounds = rounds
        self.conf_root = root / "etc"
        self.conf_root.mkdir()
        self.settings = self.with_discovery(debian=True, unmanaged=True)
        self.clusters: list[str] = []

    def with_discovery(self, *, debian: bool, unmanaged: bool) -> Settings:
        discovery = DiscoverySettings(debian=debian, unmanaged=unmanaged, debian_conf_root=self.conf_root)
        return self.settings.model_copy(update={"discovery": discovery})

    @property
    def env(self) -> dict[str, str]:
        return {**os.environ, "PG_CLUSTER_CONF_ROOT": str(self.conf_root)}

    def grow_debian(self, n: int, running: int) -> None:
        for i in range(n):
            name = f"c{i:02d}"
            argv = ["pg_createcluster", "15", name, "-d", str(self.root / "dd" / name)]
            argv += [
                "-p",
                str(DEBIAN_PORT + i),
                "-s",
                str(self.root / "ds"),
                "-l",
                str(self.root / f"{name}.log"),
            ]
            subprocess.run(argv, env=self.env, check=True, capture_output=True)
            self.clusters.append(name)
        for name in self.clusters[:running]:
            subprocess.run(
                ["pg_ctlcluster", "15", name, "start"], env=self.env, check=True, capture_output=True
            )

    def stop_debian(self) -> None:
        for name in self.clusters:
            subprocess.run(
                ["pg_ctlcluster", "15", name, "stop"], env=self.env, check=False, capture_output=True
            )

    def warm(self, fn: Callable[[], Any]) -> float:
        fn()
        return median_ms([timed(fn) for _ in range(max(20, self.rounds * 4))])

    def pg_lsclusters(self) -> float:
        argv = ["pg_lsclusters", "--json"]
        run = lambda: subprocess.run(argv, env=self.env, check=True, capture_output=True)  # noqa: E731
        run()
        return median_ms([timed(run) for _ in range(self.rounds)])

    #: What each child process times, on one event loop: `instances.ls` as it was at
    #: BEFORE, and this tree's two ways to list our instances, with and without the scan.
    CALLS: ClassVar[dict[str, str]] = {
        "before": "len([i async for i in instances.ls(settings)])",
        "instances.ls": "len([i async for i in instances.ls(settings)])",
        "Host.ls": "len(Host(ours).ls())",
        "Host.ls + scan": "len(Host(scan).ls())",
    }

    def export_before(self) -> Path:
        tree = self.root / "before"
        tree.mkdir()
        repo = Path(__file__).resolve().parents[2]
        archive = subprocess.run(
            ["git", "-C", str(repo), "archive", BEFORE, "pglift_tui"], check=True, capture_output=True
        )
        subprocess.run(["tar", "-x", "-C", str(tree)], input=archive.stdout, check=True)
        return tree

    def child(self, tree: Path, what: str) -> float:
        """The median of one way to list our instances, in a fresh process on `tree`'s code."""
        layout = {
            "prefix": str(self.settings.prefix),
            "run_prefix": str(self.settings.run_prefix),
            "postgresql": {"versions": [{"version": "15", "bindir": "/usr/lib/postgresql/15/bin"}]},
        }
        lines = [
            "import asyncio, statistics, time",
            "from pglift_tui import instances",
            "from pglift_tui.settings import Settings",
            f"settings = Settings.model_validate({layout!r})",
        ]
        if what != "before":
            lines += [
                "from pglift_tui.host import Host",
                f"layout = {layout!r}",
                "off = {'debian': False, 'unmanaged': False}",
                "ours = Settings.model_validate({**layout, 'discovery': off})",
                "scan = Settings.model_validate({**layout, 'discovery': {**off, 'unmanaged': True}})",
            ]
        lines += [
            "async def once():",
            f"    return {self.CALLS[what]}",
            "loop = asyncio.new_event_loop()",
            "loop.run_until_complete(once())",
            "samples = []",
            f"for _ in range({max(40, self.rounds * 6)}):",
            "    t = time.perf_counter()",
            "    loop.run_until_complete(once())",
            "    samples.append(time.perf_counter() - t)",
            "print(statistics.median(samples) * 1000)",
        ]
        argv = [sys.executable, "-c", "\n".join(lines)]
        done = subprocess.run(argv, cwd=tree, check=True, capture_output=True, text=True)
        return float(done.stdout.strip().splitlines()[-1])

    def ours_alone(self) -> dict[str, float]:
        """Each way in turn, round after round, so that they share the machine's moods."""
        trees = {"before": self.export_before()}
        here = Path(__file__).resolve().parents[2]
        samples: dict[str, list[float]] = {what: [] for what in self.CALLS}
        for _ in range(self.rounds):
            for what in self.CALLS:
                samples[what].append(self.child(trees.get(what, here), what))
        return {what: statistics.median(values) for what, values in samples.items()}


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--ours", type=int, default=100)
    parser.add_argument("--ours-running", type=int, default=10)
    parser.add_argument("--debian", type=int, default=20)
    parser.add_argument("--debian-running", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=7)
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="pgbh", dir="/tmp"))
    bench = Bench(root, args.rounds)
    spawns = Spawns()
    try:
        print(
            f"building {args.ours} instances of ours ({args.ours_running} running) "
            f"and {args.debian} Debian clusters ({args.debian_running} running)...",
            file=sys.stderr,
        )
        bench.grow(args.ours, args.ours_running)
        bench.grow_debian(args.debian, args.debian_running)
        time.sleep(2.5)  # let the files age past the cache's freshness window (mtime granularity)

        full = Host(bench.settings)
        listed = full.ls()
        by_manager = {m: sum(1 for i in listed if i.manager == m) for m in ("pglift", "debian", "unmanaged")}
        running = sum(1 for i in listed if i.status == "running")
        debian = DebianManager(bench.settings)
        debian.clusters._cache.clear()
        debian_cold = timed(debian.discover) * 1000
        debian_warm = bench.warm(debian.discover)
        lsclusters = bench.pg_lsclusters()
        host_warm = bench.warm(full.ls)
        forks = forks_on_host()
        spawned = spawns.during(lambda: [full.ls() for _ in range(20)])
        forks = forks_on_host() - forks

        alone = bench.ours_alone()
        scan = bench.warm(postmasters.scan)
        unmanaged = bench.warm(UnmanagedManager(bench.settings).discover)
        processes = sum(1 for name in os.listdir("/proc") if name.isdigit())

        print(f"\nHost.ls(): {len(listed)} servers {by_manager}, {running} running")
        print(f"  ({processes} processes on the host)")
        print(f"  all managers, in process:            {host_warm:7.2f} ms")
        print(
            f"  Debian clusters ({by_manager['debian']}), in process: {debian_warm:7.2f} ms "
            f"(first call, parsing every file: {debian_cold:.2f} ms)"
        )
        print(f"  pg_lsclusters --json, same clusters:  {lsclusters:7.2f} ms")
        ratio = lsclusters / debian_warm
        print(
            f"  -> {ratio:.0f}x faster than pg_lsclusters (target >= 10x: {verdict(ratio >= 10)}); "
            f"first call {lsclusters / debian_cold:.0f}x"
        )
        print(f"  processes spawned by 20 Host.ls() calls: {spawned} (audit events of this interpreter)")
        print(
            f"  forks on the whole host meanwhile, anyone's: {forks} (target none: {verdict(spawned == 0)})"
        )
        before = alone["before"]
        print(
            f"\nls of our {args.ours} alone (medians over {args.rounds} fresh processes each, taken in turn)"
        )
        print(f"  instances.ls before ({BEFORE}):        {before:7.2f} ms")
        print(f"  instances.ls, this tree:              {alone['instances.ls']:7.2f} ms")
        print(f"  Host.ls(), discovery off:             {alone['Host.ls']:7.2f} ms")
        ratio = alone["Host.ls"] / before
        print(f"  -> Host.ls / before: {ratio:.2f} (target: no slower, within 10%: {verdict(ratio <= 1.1)})")
        with_scan = alone["Host.ls + scan"]
        print(
            f"  Host.ls(), with the unmanaged scan:   {with_scan:7.2f} ms ({with_scan / before:.2f}x before)"
        )
        print(f"\nthe unmanaged scan of the process table, apart ({processes} processes)")
        print(f"  postmasters.scan():                   {scan:7.2f} ms")
        print(f"  UnmanagedManager.discover(), no exclusion: {unmanaged:7.2f} ms")
        return 0
    finally:
        bench.stop_debian()
        bench.stop_all()
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
