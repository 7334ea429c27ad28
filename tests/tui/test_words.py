"""What an operator reads is never cut where it matters: notes, dialogs, full rows."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest

from pglift_tui.tui import format as fmt

from . import fleet
from .conftest import dashboard, loaded, until
from .test_dashboard import goto


def shown(widget: Any) -> str:
    """The words a widget draws on screen, its lines joined."""
    from textual.geometry import Region

    strips = widget.render_lines(Region(0, 0, widget.size.width, widget.size.height))
    return " ".join(" ".join(strip.text.split()) for strip in strips).strip()


@pytest.mark.parametrize("width", [80, 120])
async def test_a_long_reason_wraps_in_the_note(fixed_app: Any, width: int) -> None:
    app = fixed_app()
    async with app.run_test(size=(width, 24)) as pilot:
        await loaded(pilot)
        await goto(pilot, "15/legacy")  # crashed
        await pilot.pause()
        text = shown(dashboard(app).query_one("#note"))
        assert "crashed: a stale postmaster.pid is left; start recovers" in text
        assert "…" not in text


async def test_the_status_line_counts_everything_at_80_columns(fixed_app: Any) -> None:
    app = fixed_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await loaded(pilot)
        text = shown(dashboard(app).query_one("#status"))
        for words in (
            "4 running",
            "2 unreachable",
            "1 stopped",
            "1 crashed",
            "1 busy",
            "1 critical, 1 warning",
        ):
            assert words in text
        assert "…" not in text


async def test_upgrade_with_nothing_newer_says_so_and_opens_nothing(fixed_app: Any) -> None:
    from pglift_tui.tui.dialogs.upgrade import UpgradeDialog

    app = fixed_app()
    app.source.installed = ["15"]
    async with app.run_test(size=(80, 24), notifications=True) as pilot:
        await loaded(pilot)
        await goto(pilot, "15/main")
        await pilot.press("u")
        await until(pilot, lambda: bool(app._notifications), what="the notice")
        assert "no PostgreSQL newer than 15 is installed" in list(app._notifications)[-1].message
        assert not isinstance(app.screen, UpgradeDialog)
        assert app.screen is dashboard(app)


async def test_enter_shows_an_event_in_full(fixed_app: Any) -> None:
    from pglift_tui.tui.dialogs.row import RowDialog
    from pglift_tui.tui.screens.events import EventsScreen

    app = fixed_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await loaded(pilot)
        await pilot.press("e")
        await until(pilot, lambda: isinstance(app.screen, EventsScreen), what="events")
        await pilot.press("down", "down", "down", "enter")  # bob's failed start
        await until(pilot, lambda: isinstance(app.screen, RowDialog), what="the full row")
        fields = [str(w.render()) for w in app.screen.query(".row-field")]
        assert any("pg_ctl failed with exit code 1: pg_ctl: could not start server" in f for f in fields)
        await pilot.press("escape")
        await until(pilot, lambda: isinstance(app.screen, EventsScreen), what="back to events")


def test_one_scale_for_every_sparkline() -> None:
    views = fleet.views()
    busy = views[0]
    idle = replace(views[1], tps=(0.0, 0.0, 1.0, 0.5))
    top = fmt.tps_scale([busy, idle])
    assert top == 50.0  # 41 transactions/s at most, rounded up to a stable step
    # Against its own maximum, an idle row would draw as tall as the busiest one.
    assert fmt.sparkline(idle.tps, 12) == "▁▁█▅"
    assert fmt.sparkline(idle.tps, 12, top) == "▁▁▁▁"
    assert fmt.tps_scale([replace(busy, tps=(41.0,)), replace(busy, tps=(44.0,))]) == top
