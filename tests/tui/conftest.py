"""Dashboard tests: fixed fleets for pictures, real instances for behaviour."""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from typing import Any

import pytest
from textual.pilot import Pilot

from pglift_tui.tui.app import DashboardApp
from pglift_tui.tui.screens.dashboard import DashboardScreen

from . import fleet
from .fixed import FixedSource

os.environ["TZ"] = "UTC"
time.tzset()


def cell(app: Any, key: str, column: str) -> str:
    """The text a row shows in a column, looked up by the column's name."""
    from pglift_tui.tui import format as fmt

    index = next(i for i, c in enumerate(fmt.COLUMNS) if c.key == column)
    return str(dashboard(app).table.cells[key][index].text)


def unique(seen: list[Any], kind: type) -> list[Any]:
    """Messages of `kind` a message_hook saw, each once (it sees them at every pump)."""
    return [m for m in {id(m): m for m in seen}.values() if isinstance(m, kind)]


def dashboard(app: DashboardApp) -> DashboardScreen:
    for screen in app.screen_stack:
        if isinstance(screen, DashboardScreen):
            return screen
    raise AssertionError("no dashboard screen")


async def until(
    pilot: Pilot[Any], condition: Callable[[], bool], timeout: float = 30.0, what: str = ""
) -> None:
    """Let the app run until `condition` holds; fail at the deadline."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what or condition}")
        await pilot.pause(0.02)


async def loaded(pilot: Pilot[Any]) -> None:
    """Wait for the first refresh to be drawn."""
    app = pilot.app
    assert isinstance(app, DashboardApp)
    await until(
        pilot, lambda: any(isinstance(s, DashboardScreen) for s in app.screen_stack), what="dashboard"
    )
    await until(pilot, lambda: dashboard(app).refreshes > 0, what="first refresh")
    await pilot.pause()


@pytest.fixture
def fixed_app() -> Callable[..., DashboardApp]:
    def make(**kwargs: Any) -> DashboardApp:
        source = FixedSource(fleet.views(), fleet.events(), versions=("15", "18"))
        source.details = fleet.details()
        return DashboardApp(source, paused=True, clock=lambda: fleet.NOW, hostname=fleet.HOST, **kwargs)

    return make
