"""Benchmarks of the detail screen on a real instance, with the targets of issue 5.

    python tests/bench/bench_detail.py [--opens 10] [--seconds 20]

Run it as an unprivileged user. It prints:
- opening the detail screen: Enter to the first tab painted with the server's data
  (target <= 150 ms);
- the settings tab's refresh of all pg_settings rows when nothing changed: event-loop
  time per refresh and table updates (target <= 20 ms, no update);
- the log tab following a log that grows by 1,000 lines a second: CPU of the
  dashboard's process in a real terminal (tmux), from /proc (target < 10% of a core);
  the same dashboard on its table, idle, as the floor.
Nothing asserts a time.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from textual.pilot import Pilot

from pglift_tui.models import system
from pglift_tui.tui.app import DashboardApp
from pglift_tui.tui.screens.dashboard import DashboardScreen
from pglift_tui.tui.screens.detail import DetailScreen
from pglift_tui.tui.source import LiveSource
from pglift_tui.tui.widgets.detail_tabs import SettingsTab
from tests.bench.bench_dashboard import LoopMeter, cpu_seconds, open_dashboard
from tests.bench.fleet import Fleet


def in_process(fleet: Fleet, opens: int, ticks: int) -> dict[str, Any]:
    result: dict[str, Any] = {}

    async def steps(pilot: Pilot[Any]) -> None:
        try:
            await measure(pilot)
        finally:
            pilot.app.exit()

    async def measure(pilot: Pilot[Any]) -> None:
        app = pilot.app
        while not any(isinstance(s, DashboardScreen) and s.refreshes > 2 for s in app.screen_stack):
            await pilot.pause(0.05)
        await pilot.press("down")  # i001, running
        samples: list[float] = []
        inner: list[float] = []
        for _ in range(opens):
            start = time.perf_counter()
            await pilot.press("enter")
            while not isinstance(app.screen, DetailScreen) or app.screen.first_paint is None:
                await asyncio.sleep(0.001)
            await pilot.pause()  # the frame that shows it
            samples.append(time.perf_counter() - start)
            inner.append(app.screen.first_paint or 0.0)
            await pilot.press("escape")
            await pilot.pause(0.2)
        result["open_ms"] = statistics.median(samples) * 1000
        result["mount_to_data_ms"] = statistics.median(inner) * 1000

        await pilot.press("enter")
        while not isinstance(app.screen, DetailScreen):
            await pilot.pause(0.01)
        screen = app.screen
        await pilot.press("2")
        while not screen.query(SettingsTab) or not screen.query_one(SettingsTab).rows:
            await pilot.pause(0.05)
        tab = screen.query_one(SettingsTab)
        result["settings_rows"] = len(tab.rows)
        await pilot.pause(1)
        meter = LoopMeter()
        meter.install(asyncio.get_running_loop())
        updates, first = tab.updates, screen.refreshes
        meter.reset()
        while screen.refreshes < first + ticks:
            await asyncio.sleep(0.05)
        count = screen.refreshes - first
        result["settings_busy_ms"] = meter.busy() / count * 1000
        result["settings_updates"] = tab.updates - updates
        result["ticks"] = count

    app = DashboardApp(LiveSource(fleet.settings), refresh=0.25, hostname="bench")
    app.run(headless=True, size=(120, 36), auto_pilot=steps)
    return result


terminal_open = [0.0]
terminal_floor = [0.0]


def log_follow_cpu(fleet: Fleet, seconds: float) -> tuple[float, float]:
    """(% of a core following a log growing 1,000 lines/s, % idle on the table), in tmux."""
    instance = system.Instance.system_lookup(fleet.names[1], "15", fleet.settings)
    log = max(p for p in instance.log_files() if not p.name.endswith("-start.log"))
    tmux, pid = open_dashboard(fleet)
    try:
        time.sleep(3)
        before, start = cpu_seconds(pid), time.monotonic()
        time.sleep(seconds)
        idle = (cpu_seconds(pid) - before) / (time.monotonic() - start) * 100

        tmux.run("send-keys", "Down")  # i001, running
        floors = []
        for _ in range(5):
            # The floor: the help screen, which reads nothing, shown the same way.
            start = time.perf_counter()
            tmux.run("send-keys", "?")
            while "Keys" not in tmux.run("capture-pane", "-p"):
                time.sleep(0.002)
            floors.append(time.perf_counter() - start)
            tmux.run("send-keys", "Escape")
            while "instances ·" not in tmux.run("capture-pane", "-p") or "Keys" in tmux.run(
                "capture-pane", "-p"
            ):
                time.sleep(0.01)
            time.sleep(0.5)
        terminal_floor[0] = statistics.median(floors)
        opens = []
        for _ in range(5):
            # As an operator sees it: Enter, then the overview's data on the terminal.
            start = time.perf_counter()
            tmux.run("send-keys", "Enter")
            while "checksums" not in tmux.run("capture-pane", "-p"):
                if time.perf_counter() - start > 10:
                    raise TimeoutError("the detail screen did not show")
                time.sleep(0.002)  # polling a terminal from outside
            opens.append(time.perf_counter() - start)
            tmux.run("send-keys", "Escape")
            while "instances ·" not in tmux.run("capture-pane", "-p"):
                time.sleep(0.01)
            time.sleep(0.5)
        terminal_open[0] = statistics.median(opens)
        tmux.run("send-keys", "Enter")
        time.sleep(1)
        tmux.run("send-keys", "5")
        stop = threading.Event()

        def write() -> None:
            n = 0
            with open(log, "a") as f:
                while not stop.is_set():
                    for _ in range(100):
                        n += 1
                        f.write(f"2026-11-25 10:00:00.000 UTC [1] LOG:  bench line {n} of a growing log\n")
                    f.flush()
                    time.sleep(0.1)  # 100 lines every 0.1 s: 1,000 a second

        writer = threading.Thread(target=write, daemon=True)
        writer.start()
        time.sleep(3)
        if "bench line" not in tmux.run("capture-pane", "-p"):
            raise RuntimeError("the log tab does not show the growing log")
        before, start = cpu_seconds(pid), time.monotonic()
        time.sleep(seconds)
        following = (cpu_seconds(pid) - before) / (time.monotonic() - start) * 100
        stop.set()
        writer.join()
        return following, idle
    finally:
        tmux.kill()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--opens", type=int, default=10)
    parser.add_argument("--ticks", type=int, default=20)
    parser.add_argument("--seconds", type=float, default=20)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="pgtbd", dir="/tmp") as tmp:
        fleet = Fleet(Path(tmp), 34000)
        try:
            fleet.grow(3, running=2)
            figures = in_process(fleet, args.opens, args.ticks)
            following, idle = log_follow_cpu(fleet, args.seconds)
        finally:
            fleet.stop_all()
    print(
        f"open the detail screen, headless: {figures['open_ms']:.0f} ms from Pilot's Enter to the first tab "
        "painted, Pilot's own waits included; "
        f"{figures['mount_to_data_ms']:.0f} ms from the key's handling to the data in the tab"
    )
    print(
        f"settings tab, {figures['settings_rows']} rows unchanged: {figures['settings_busy_ms']:.1f} ms of "
        f"event-loop time per refresh, {figures['settings_updates']} table updates in {figures['ticks']} "
        "refreshes (target 20 ms, none)"
    )
    print(
        "open the detail screen in a terminal (tmux), Enter to the overview on screen: "
        f"{terminal_open[0] * 1000:.0f} ms (target 150 ms); the help screen, which queries nothing, "
        f"{terminal_floor[0] * 1000:.0f} ms the same way"
    )
    print(
        f"log tab following 1,000 lines/s: {following:.1f}% of a core (target < 10%); idle table {idle:.1f}%"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
