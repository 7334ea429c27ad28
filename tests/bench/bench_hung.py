"""A hung server under the monitor: how long each snapshot takes, and how fresh the others are.

    python tests/bench/bench_hung.py [--healthy 4] [--ticks 6]

Run it as an unprivileged user. One instance's postmaster and backends are stopped
with SIGSTOP (a stalled disk or a frozen VM looks the same from outside), the others
run; the monitor takes a snapshot every refresh (2 s) as the dashboard does. Printed:
the time of each snapshot, how many healthy rows came back fresh, and what the hung
row says. The target (issue 11): every snapshot within the probe timeout, every
healthy row fresh, the hung row "no answer for N s", no warning printed.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import signal
import sys
import tempfile
import time
import warnings
from pathlib import Path

import psutil

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from pglift_tui import monitor
from pglift_tui.models import system
from tests.bench.fleet import Fleet

REFRESH = 2.0


def _freeze(instance: system.Instance, sig: signal.Signals) -> list[int]:
    """Send `sig` to the postmaster and every child; the PIDs signalled."""
    pid = instance.status().pid
    assert pid is not None
    procs = [psutil.Process(pid), *psutil.Process(pid).children(recursive=True)]
    for proc in procs:
        proc.send_signal(sig)
    return [proc.pid for proc in procs]


async def run(fleet: Fleet, hung: str, ticks: int) -> list[tuple[float, int, int, str]]:
    mon = monitor.Monitor(fleet.settings)
    rows: list[tuple[float, int, int, str]] = []
    try:
        await mon.snapshot()  # connections opened while all are healthy
        instance = system.Instance.system_lookup(hung, "15", fleet.settings)
        _freeze(instance, signal.SIGSTOP)
        try:
            for _ in range(ticks):
                began = time.monotonic()
                views = await mon.snapshot()
                took = time.monotonic() - began
                healthy = [v for v in views if v.item.name != hung and v.item.status == "running"]
                fresh = sum(1 for v in healthy if v.error is None and v.connections is not None)
                hung_view = next(v for v in views if v.item.name == hung)
                rows.append((took, fresh, len(healthy), hung_view.error or "(no error shown)"))
                await asyncio.sleep(max(0.0, REFRESH - took))
        finally:
            _freeze(instance, signal.SIGCONT)
        for _ in range(2):
            began = time.monotonic()
            views = await mon.snapshot()
            took = time.monotonic() - began
            after = next(v for v in views if v.item.name == hung)
            rows.append((took, -1, -1, f"after SIGCONT: {after.error or 'answers again'}"))
            await asyncio.sleep(max(0.0, REFRESH - took))
    finally:
        await mon.close()
    return rows


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--healthy", type=int, default=4)
    parser.add_argument("--ticks", type=int, default=6)
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="pgtbh", dir="/tmp"))
    fleet = Fleet(root, 30000 + os.getpid() % 1000 * 10)
    caught: list[str] = []
    try:
        fleet.grow(args.healthy + 2, args.healthy + 1)
        hung = fleet.names[-1]
        with warnings.catch_warnings(record=True) as seen:
            warnings.simplefilter("always")
            rows = asyncio.run(run(fleet, hung, args.ticks))
            caught = [str(w.message) for w in seen]
        print(f"{args.healthy} healthy instances and one hung ({hung}), refresh {REFRESH:g} s")
        print(f"{'tick':>4}  {'snapshot':>9}  {'fresh':>7}  hung row")
        for i, (took, fresh, total, text) in enumerate(rows, 1):
            label = f"{fresh}/{total}" if fresh >= 0 else ""
            print(f"{i:>4}  {took * 1000:>7.0f} ms  {label:>7}  {text}")
        worst = max(took for took, fresh, *_ in rows if fresh >= 0)
        target = monitor.PROBE_TIMEOUT * 1000
        print(f"worst snapshot while hung: {worst * 1000:.0f} ms (target <= {target:.0f} ms)")
        print(f"warnings raised: {len(caught)}" + (f": {caught[:3]}" if caught else ""))
    finally:
        fleet.stop_all()
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
