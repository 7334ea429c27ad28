"""Make screenshots/*.svg from the real demo instances (run as a regular user).

    python tests/screenshots.py

The demo is created if missing; an extra instance with a broken configuration is
made for the picture of a failed start, then dropped.
"""

from __future__ import annotations

import asyncio
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from textual.pilot import Pilot

from pglift_tui import demo, instances
from pglift_tui.models import interface, system
from pglift_tui.tui.app import DashboardApp
from pglift_tui.tui.screens.dashboard import DashboardScreen
from pglift_tui.tui.source import LiveSource

OUT = Path(__file__).resolve().parents[1] / "screenshots"
SIZE = (120, 36)


def dashboard(app: Any) -> DashboardScreen:
    return next(s for s in app.screen_stack if isinstance(s, DashboardScreen))


async def until(pilot: Pilot[Any], condition: Callable[[], bool], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError("the demo did not reach the expected state")
        await pilot.pause(0.05)


async def ready(pilot: Pilot[Any]) -> None:
    await until(pilot, lambda: any(isinstance(s, DashboardScreen) for s in pilot.app.screen_stack))
    screen = dashboard(pilot.app)
    await until(pilot, lambda: screen.refreshes > 0 and len(screen.table.order) >= len(demo.DEMO))
    await until(pilot, lambda: all(len(v.tps) >= 12 for v in screen.views() if v.item.status == "running"))


async def goto(pilot: Pilot[Any], key: str) -> None:
    table = dashboard(pilot.app).table
    while table.cursor_key != key:
        await pilot.press("down")


def shot(name: str, steps: Callable[[Pilot[Any]], Awaitable[None]]) -> None:
    settings = demo.settings()

    async def pilot_steps(pilot: Pilot[Any]) -> None:
        await ready(pilot)
        await steps(pilot)
        await pilot.pause(0.3)
        pilot.app.save_screenshot(str(OUT / f"{name}.svg"))
        pilot.app.exit()

    # A fast refresh fills the transaction-rate history in seconds rather than minutes.
    app = DashboardApp(LiveSource(settings), hostname="demo-host", refresh=0.5)
    app.run(headless=True, size=SIZE, auto_pilot=pilot_steps)
    print(f"screenshots/{name}.svg")


async def nothing(pilot: Pilot[Any]) -> None:
    return None


async def help_screen(pilot: Pilot[Any]) -> None:
    await pilot.press("question_mark")


async def stop_confirmation(pilot: Pilot[Any]) -> None:
    await goto(pilot, "15/main")
    await pilot.press("t")
    await pilot.pause(0.3)


async def events(pilot: Pilot[Any]) -> None:
    await pilot.press("e")
    await pilot.pause(0.5)


def detail(tab: str) -> Callable[[Pilot[Any]], Awaitable[None]]:
    async def steps(pilot: Pilot[Any]) -> None:
        await goto(pilot, "15/main")
        await pilot.press("enter", tab)
        screen = pilot.app.screen
        await until(pilot, lambda: getattr(screen, "refreshes", 0) > 2)
        await pilot.pause(1.0)

    return steps


async def failed_start(pilot: Pilot[Any]) -> None:
    screen = dashboard(pilot.app)
    await until(pilot, lambda: "15/broken" in screen.table.order)
    await goto(pilot, "15/broken")
    await pilot.press("s")
    await pilot.pause(0.2)
    await until(pilot, lambda: not pilot.app.dispatcher.running)


def main() -> None:
    settings = demo.settings()
    asyncio.run(demo.ensure(settings))
    demo.start_workload(settings)
    OUT.mkdir(exist_ok=True)
    for name, steps in (
        ("dashboard", nothing),
        ("help", help_screen),
        ("stop", stop_confirmation),
        ("detail-overview", detail("1")),
        ("detail-settings", detail("2")),
        ("detail-log", detail("5")),
    ):
        shot(name, steps)
    broken = interface.Instance(
        name="broken", port=5499, state="stopped", settings={"listen_addresses": "192.0.2.1"}
    )
    asyncio.run(instances.apply(settings, broken))
    try:
        shot("failed-start", failed_start)
        shot("events", events)
    finally:
        asyncio.run(instances.drop(system.Instance.system_lookup("broken", None, settings)))


if __name__ == "__main__":
    main()
