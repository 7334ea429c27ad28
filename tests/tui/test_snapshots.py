"""Pictures of every screen at 80x24 and 120x40, from a fixed fleet and a frozen clock.

They assert pixels only; behaviour is proven against real instances elsewhere.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from textual.pilot import Pilot

from pglift_tui.tui.app import DashboardApp
from pglift_tui.tui.messages import ActionFailed

from .conftest import dashboard, loaded, until

SIZES = [(80, 24), (120, 40)]


@pytest.mark.parametrize("size", SIZES, ids=["80x24", "120x40"])
def test_main_screen(
    snap_compare: Any, fixed_app: Callable[..., DashboardApp], size: tuple[int, int]
) -> None:
    assert snap_compare(fixed_app(), terminal_size=size, run_before=loaded)


@pytest.mark.parametrize("size", SIZES, ids=["80x24", "120x40"])
def test_help(snap_compare: Any, fixed_app: Callable[..., DashboardApp], size: tuple[int, int]) -> None:
    async def before(pilot: Pilot[Any]) -> None:
        await loaded(pilot)
        await pilot.press("question_mark")

    assert snap_compare(fixed_app(), terminal_size=size, run_before=before)


@pytest.mark.parametrize("size", SIZES, ids=["80x24", "120x40"])
def test_stop_confirmation(
    snap_compare: Any, fixed_app: Callable[..., DashboardApp], size: tuple[int, int]
) -> None:
    async def before(pilot: Pilot[Any]) -> None:
        await loaded(pilot)
        await pilot.press("down", "down", "down", "t")  # main, running

    assert snap_compare(fixed_app(), terminal_size=size, run_before=before)


@pytest.mark.parametrize("size", SIZES, ids=["80x24", "120x40"])
def test_upgrade_dialog(
    snap_compare: Any, fixed_app: Callable[..., DashboardApp], size: tuple[int, int]
) -> None:
    async def before(pilot: Pilot[Any]) -> None:
        await loaded(pilot)
        await pilot.press("down", "down", "down", "u")  # main, which a standby follows
        await pilot.pause()

    assert snap_compare(fixed_app(), terminal_size=size, run_before=before)


@pytest.mark.parametrize("size", SIZES, ids=["80x24", "120x40"])
def test_failed_start(
    snap_compare: Any, fixed_app: Callable[..., DashboardApp], size: tuple[int, int]
) -> None:
    async def before(pilot: Pilot[Any]) -> None:
        await loaded(pilot)
        await pilot.press("down", "down")
        screen = dashboard(pilot.app)  # type: ignore[arg-type]
        screen.post_message(
            ActionFailed(
                "15/legacy",
                "start",
                "pg_ctl failed with exit code 1: pg_ctl: could not start server",
                "the server said: FATAL:  could not access file \"no_such_lib\": No such file or directory",
                ["2026-11-25 09:59:59 UTC [4811] LOG:  starting PostgreSQL 15.18",
                 "2026-11-25 09:59:59 UTC [4811] FATAL:  could not access file \"no_such_lib\""],
            )
        )  # fmt: skip
        await pilot.pause()

    assert snap_compare(fixed_app(), terminal_size=size, run_before=before)


@pytest.mark.parametrize("size", SIZES, ids=["80x24", "120x40"])
def test_events(snap_compare: Any, fixed_app: Callable[..., DashboardApp], size: tuple[int, int]) -> None:
    async def before(pilot: Pilot[Any]) -> None:
        await loaded(pilot)
        await pilot.press("e")
        await pilot.pause()

    assert snap_compare(fixed_app(), terminal_size=size, run_before=before)


def test_read_only_has_no_actions(snap_compare: Any, fixed_app: Callable[..., DashboardApp]) -> None:
    assert snap_compare(fixed_app(read_only=True), terminal_size=(80, 24), run_before=loaded)


def test_no_color(
    snap_compare: Any, fixed_app: Callable[..., DashboardApp], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("NO_COLOR", "1")
    assert snap_compare(fixed_app(), terminal_size=(80, 24), run_before=loaded)


def test_light_theme(snap_compare: Any, fixed_app: Callable[..., DashboardApp]) -> None:
    assert snap_compare(fixed_app(theme="textual-light"), terminal_size=(80, 24), run_before=loaded)


@pytest.mark.parametrize("size", SIZES, ids=["80x24", "120x40"])
@pytest.mark.parametrize("tab", ["1", "2", "3", "4", "5", "6", "7", "8", "9", "0"])
def test_detail_tabs(
    snap_compare: Any, fixed_app: Callable[..., DashboardApp], size: tuple[int, int], tab: str
) -> None:
    from pglift_tui.tui.screens.detail import DetailScreen

    async def before(pilot: Pilot[Any]) -> None:
        await loaded(pilot)
        await pilot.press("down", "down", "down", "enter")  # main
        screen = pilot.app.screen
        assert isinstance(screen, DetailScreen)
        await pilot.press(tab)
        done = screen.refreshes
        await until(pilot, lambda: screen.refreshes > done + 1, what="the tab drawn")
        await pilot.pause()

    assert snap_compare(fixed_app(), terminal_size=size, run_before=before)
