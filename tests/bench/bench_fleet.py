"""Many hosts over SSH: an sshd per loopback address, 20 instances each, 10% running.

    python tests/bench/bench_fleet.py [--hosts 50] [--per-host 20] [--running 2]
                                      [--prefixes 5] [--idle-seconds 30] [--delay-ms 25]

Run it as an unprivileged user. It prints figures and ratios with the targets of
issue 15; nothing here asserts a time. Hosts share prefixes (`--prefixes` distinct
ones, hosts cycling over them): 1,000 distinct instances would take 40 GB. Every
host is a real `sshd -D` on 127.0.0.N running `pglift-tui serve --stdio` of this
checkout for the real `ssh`; the dashboard is a headless `DashboardApp` on a
`RemoteSource` in this process. The delayed run puts the same hosts behind a relay
that holds every byte `--delay-ms` each way (tests/bench/delay_proxy.py: this
machine's kernel has no netem). The peer, in the same run: `ssh HOST pglift-tui ls
--json` to every host in parallel, a fresh connection and process each time.

All of it runs on one machine: the 50 far ends share its cores (a real fleet gives
each its own), so their start-up is paid 50 times over here; `--hosts 1` shows one.
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
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import psutil
import yaml
from textual.pilot import Pilot

from pglift_tui.remote import inventory, transport
from pglift_tui.settings import Settings
from pglift_tui.tui.app import DashboardApp
from pglift_tui.tui.remote_source import RemoteSource
from pglift_tui.tui.screens.dashboard import DashboardScreen
from pglift_tui.tui.source import LiveSource
from tests.bench.bench_dashboard import LoopMeter
from tests.bench.fleet import Fleet
from tests.sshd import Hosts, make_hosts

PORT = 22022
REFRESH = 2.0


def prefixes(root: Path, count: int, per_host: int, running: int) -> list[tuple[Any, Path]]:
    """`count` prefixes of `per_host` instances, `running` of them started; discovery off,
    so each host lists exactly its prefix."""
    made = []
    for k in range(count):
        (root / f"p{k}").mkdir()
        fleet = Fleet(root / f"p{k}", 36000 + k * 100)
        fleet.grow(per_host, running)
        layout = yaml.safe_load(fleet.site.read_text())
        layout["discovery"] = {"debian": False, "unmanaged": False}
        fleet.site.write_text(yaml.safe_dump(layout))
        made.append((fleet, fleet.site))
    return made


def serve_processes() -> list[psutil.Process]:
    me = os.getuid()
    found = []
    for p in psutil.process_iter(["uids", "cmdline"]):
        cmd = " ".join(p.info["cmdline"] or [])
        if p.info["uids"] and p.info["uids"].real == me and "serve --stdio" in cmd and "sh -c" not in cmd:
            found.append(p)
    return found


def cpu(processes: list[psutil.Process]) -> dict[int, float]:
    times = {}
    for p in processes:
        try:
            t = p.cpu_times()
            times[p.pid] = t.user + t.system
        except psutil.NoSuchProcess:
            continue
    return times


def dashboard_run(
    inventory_path: Path | None, expected: int, control: Path, idle: float | None, local: Any = None
) -> dict[str, Any]:
    """One headless dashboard over the inventory (or this host's `local` settings): seconds
    to the full table; with `idle`, then the steady state: loop time per refresh, rows
    redrawn, CPU, bytes."""
    result: dict[str, Any] = {}
    source: Any
    if inventory_path is None:
        source = LiveSource(local)
    else:
        hosts = inventory.load([inventory_path], use_ansible=False).hosts
        source = RemoteSource(hosts, refresh=REFRESH, control=control)
    at_start = os.times()
    cpu_at_start = at_start.user + at_start.system
    started = time.perf_counter()

    async def steps(pilot: Pilot[Any]) -> None:
        app = pilot.app
        screen: DashboardScreen | None = None
        while screen is None or len(screen.table.views) < expected:
            screen = next((s for s in app.screen_stack if isinstance(s, DashboardScreen)), None)
            if time.perf_counter() - started > 120:
                result["error"] = f"{len(screen.table.views) if screen else 0} rows after 120 s"
                app.exit()
                return
            await asyncio.sleep(0.005)
        result["first"] = time.perf_counter() - started
        times = os.times()
        result["near_cpu"] = times.user + times.system - cpu_at_start
        result["far_cpu"] = sum(cpu(serve_processes()).values())
        if idle is None:
            app.exit()
            return
        first = screen.refreshes
        while screen.refreshes < first + 3:  # warm up
            await asyncio.sleep(0.05)
        meter = LoopMeter()
        meter.install(asyncio.get_running_loop())
        per_tick: list[int] = []
        table = screen.table
        update_views = table.update_views

        in_table = [0.0]

        def counted(views: Any, now: float, began: float = 0.0) -> int:
            start = time.perf_counter()
            changed = update_views(views, now, began)
            in_table[0] += time.perf_counter() - start
            per_tick.append(changed)
            return changed

        table.update_views = counted  # type: ignore[method-assign]
        serving = serve_processes()
        clients = [p for p in psutil.Process().children(recursive=True) if p.name() == "ssh"]
        ssh_before = cpu(clients)
        before_serve = cpu(serving)
        before = os.times()
        channels = source.channels() if isinstance(source, RemoteSource) else []
        received = sum(c.received for c in channels)
        pushed = sum(c.pushed for c in channels)
        ticks = screen.refreshes
        meter.reset()
        wall = time.perf_counter()
        await asyncio.sleep(idle)
        wall = time.perf_counter() - wall
        count = screen.refreshes - ticks
        after = os.times()
        after_serve = cpu(serving)
        ssh_after = cpu(clients)
        busy = meter.busy()
        used = [(after_serve[p] - before_serve[p]) / wall * 100 for p in after_serve if p in before_serve]
        # The same time with the refresh paused: what Textual costs anyway, taken off.
        screen.paused = True
        await asyncio.sleep(REFRESH)
        meter.reset()
        quiet = time.perf_counter()
        await asyncio.sleep(idle / 2)
        baseline = meter.busy() / (time.perf_counter() - quiet) * wall
        n = max(len(channels), 1)
        result.update(
            busy=(busy - baseline) / max(count, 1) * 1000,
            gross=busy / max(count, 1) * 1000,
            table=in_table[0] / max(len(per_tick), 1) * 1000,
            ssh=sum(ssh_after.get(p, 0) - ssh_before.get(p, 0) for p in ssh_after) / wall * 100,
            count=count,
            idle_ticks=sum(1 for c in per_tick if c == 0),
            redrawn=sum(per_tick),
            cpu=((after.user - before.user) + (after.system - before.system)) / wall * 100,
            serve_mean=statistics.mean(used) if used else float("nan"),
            serve_max=max(used) if used else float("nan"),
            serves=len(used),
            bytes_all=(sum(c.received for c in channels) - received) / n / (wall / REFRESH),
            bytes_pushed=(sum(c.pushed for c in channels) - pushed) / n / (wall / REFRESH),
            latency=statistics.median([c.latency_ms for c in channels if c.latency_ms is not None] or [0]),
        )
        app.exit()

    DashboardApp(source, refresh=REFRESH, hostname="bench").run(
        headless=True, size=(160, 50), auto_pilot=steps
    )
    return result


def first_tables(inventory_path: Path, expected: int, root: Path, rounds: int) -> list[dict[str, Any]]:
    """Cold starts (no shared ssh connection left): seconds to the full table, CPU spent."""
    samples = []
    for _ in range(rounds):
        control = Path(tempfile.mkdtemp(prefix="c", dir=root))
        control.chmod(0o700)
        got = dashboard_run(inventory_path, expected, control, None)
        if "error" in got:
            raise RuntimeError(got["error"])
        samples.append(got)
        time.sleep(1)  # let the far ends of the round before end (their channels closed)
    return samples


def peer(inventory_path: Path, expected: int, rounds: int) -> list[float]:
    """`ssh HOST pglift-tui ls --json` to every host at once, fresh connections."""
    import json

    hosts = inventory.load([inventory_path], use_ansible=False).hosts
    samples = []
    for _ in range(rounds):
        began = time.perf_counter()
        procs = [
            subprocess.Popen(
                transport.ssh_argv(h, None, command=transport.remote_command(h, "ls --json")),
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                stdin=subprocess.DEVNULL,
            )
            for h in hosts
        ]
        rows = sum(len(json.loads(p.communicate()[0])) for p in procs)
        samples.append(time.perf_counter() - began)
        if rows != expected:
            raise RuntimeError(f"the peer listed {rows} rows, not {expected}")
    return samples


def cli_ls(inventory_path: Path, root: Path, rounds: int) -> tuple[float, float]:
    """`pglift-tui ls --inventory --json`: cold (no shared connection), then warm (reused)."""
    runtime = Path(tempfile.mkdtemp(prefix="x", dir=root))
    runtime.chmod(0o700)
    env = {**os.environ, "XDG_RUNTIME_DIR": str(runtime)}
    argv = [sys.executable, "-m", "pglift_tui", "ls", "--inventory", str(inventory_path), "--json"]
    times = []
    for _ in range(rounds + 1):
        began = time.perf_counter()
        subprocess.run(argv, env=env, check=True, capture_output=True)
        times.append(time.perf_counter() - began)
    return times[0], statistics.median(times[1:])


def delayed(group: Hosts, delay_ms: float) -> tuple[subprocess.Popen[str], Path]:
    """The same hosts behind the delaying relay, at 127.0.1.N; their inventory."""
    routes, known = [], []
    data = yaml.safe_load(group.inventory.read_text())
    lines = (group.root / "known_hosts").read_text().splitlines()
    for host in group.hosts.values():
        relay = host.address.replace("127.0.0.", "127.0.1.")
        routes.append(f"{relay}:{host.port}={host.address}:{host.port}")
        data["all"]["hosts"][host.name]["ansible_host"] = relay
        known += [
            line.replace(f"[{host.address}]", f"[{relay}]") for line in lines if f"[{host.address}]" in line
        ]
    (group.root / "known_hosts").write_text("\n".join(lines + known) + "\n")
    path = group.root / "delayed.yaml"
    path.write_text(yaml.safe_dump(data))
    proxy = subprocess.Popen(
        [sys.executable, str(Path(__file__).parent / "delay_proxy.py"), str(delay_ms), *routes],
        stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    assert proxy.stdout is not None and proxy.stdout.readline().strip() == "ready"
    return proxy, path


def report(
    label: str,
    runs: list[dict[str, Any]],
    steady: dict[str, Any],
    peers: list[float],
    cli: tuple[float, float],
    hosts: int,
    expected: int,
) -> None:
    firsts = [r["first"] for r in runs]
    first, other = statistics.median(firsts), statistics.median(peers)
    said = ", ".join(f"{t:.2f}" for t in firsts)
    near = statistics.median(r["near_cpu"] for r in runs)
    far = statistics.median(r["far_cpu"] for r in runs)
    rows = f"{hosts} hosts x {expected // hosts} instances ({expected} rows)"
    cores = os.cpu_count() or 1
    serve = f"mean {steady['serve_mean']:.2f}%, max {steady['serve_max']:.2f}%"
    lines = [
        f"{label}: {rows}, refresh {REFRESH:g} s",
        f"  first full table, cold ssh: {first:.2f} s (median of {len(firsts)}: {said}; target <= 3 s)",
        f"    CPU meanwhile: this process {near:.2f} s, the {hosts} serve processes {far:.2f} s together",
        f"    (their CPU alone over this machine's {cores} cores: {far / cores:.2f} s"
        " at the least; a real fleet gives each far end its own: see `--hosts 1`)",
        f"  peer, `ssh HOST pglift-tui ls --json` x {hosts} in parallel: {other:.2f} s",
        f"    (median of {len(peers)}); ratio peer / ours: {other / first:.2f}x",
        f"  `pglift-tui ls --inventory --json`: cold {cli[0]:.2f} s, warm {cli[1]:.2f} s",
        f"    (warm: ssh's shared connections reused); ratio peer / warm: {other / cli[1]:.2f}x",
        f"  event-loop time per refresh: {steady['busy']:.1f} ms (target <= 30 ms; {steady['gross']:.1f} ms"
        " before taking off the loop's time with the refresh paused), over",
        f"    {steady['count']} refreshes, {steady['idle_ticks']} of which redrew no row"
        f" ({steady['redrawn']} rows redrawn in all)",
        f"    of it in the table's update_views: {steady['table']:.1f} ms a refresh",
        f"  dashboard idle CPU: {steady['cpu']:.2f}% of a core (target <= 3%);"
        f" its {hosts} ssh clients together {steady['ssh']:.2f}%",
        f"  each serve process: {serve} of a core ({steady['serves']} processes)",
        f"  bytes per host per idle refresh: {steady['bytes_all']:.0f} B in all (target <= 1024 B),",
        f"    of which pushed changes {steady['bytes_pushed']:.0f} B, the rest pings",
        f"  ping round trip: {steady['latency']:.1f} ms (median of the hosts)",
    ]
    print("\n" + "\n".join(lines))


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--hosts", type=int, default=50)
    parser.add_argument("--per-host", type=int, default=20)
    parser.add_argument("--running", type=int, default=2)
    parser.add_argument("--prefixes", type=int, default=5)
    parser.add_argument("--idle-seconds", type=float, default=30)
    parser.add_argument("--delay-ms", type=float, default=25)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="pgf", dir="/tmp"))
    made: list[tuple[Any, Path]] = []
    group: Hosts | None = None
    proxy: subprocess.Popen[str] | None = None
    try:
        print(
            f"pglift-tui fleet benchmark: {os.cpu_count()} cores, PostgreSQL 15, {args.prefixes} distinct"
            f" prefixes of {args.per_host} instances ({args.running} running), shared by {args.hosts} hosts"
        )
        made = prefixes(root, args.prefixes, args.per_host, args.running)
        sites = iter(range(10**6))

        def site_for(where: Path) -> tuple[Any, Path]:
            fleet, site = made[next(sites) % len(made)]
            return fleet.settings, site

        (root / "h").mkdir()
        group = make_hosts(root / "h", args.hosts, free_port=lambda: PORT, site_for=site_for, timeout=10)
        expected = args.hosts * args.per_host
        control = Path(tempfile.mkdtemp(prefix="c", dir=root))
        here = Settings.load(made[0][1])
        local = dashboard_run(None, args.per_host, control, args.idle_seconds / 2, local=here)
        print(
            f"\nreference, this host's dashboard (LiveSource) on one prefix of {args.per_host} instances:"
            f" event-loop time per refresh {local['busy']:.1f} ms, update_views {local['table']:.1f} ms;"
            f" idle CPU {local['cpu']:.2f}% of a core"
        )
        phases: list[tuple[str, Path | None]] = [("loopback", group.inventory), ("delayed", None)]
        for label, path in phases:
            if path is None:
                proxy, path = delayed(group, args.delay_ms)
                label = f"{2 * args.delay_ms:g} ms round trip (a relay delays each way {args.delay_ms:g} ms)"
            runs = first_tables(path, expected, root, args.rounds)
            control = Path(tempfile.mkdtemp(prefix="c", dir=root))
            control.chmod(0o700)
            steady = dashboard_run(path, expected, control, args.idle_seconds)
            time.sleep(1)
            peers = peer(path, expected, args.rounds)
            cli = cli_ls(path, root, args.rounds)
            report(label, runs, steady, peers, cli, args.hosts, expected)
    finally:
        if proxy is not None:
            proxy.kill()
        if group is not None:
            group.stop()
        for fleet, _ in made:
            fleet.stop_all()
        shutil.rmtree(root, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
