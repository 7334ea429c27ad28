"""A Debian cluster in the dashboard: its row, its actions through pg_ctlcluster, its detail screen."""

from __future__ import annotations

from typing import Any

from textual.message import Message

from pglift_tui.tui.messages import ActionSucceeded
from pglift_tui.tui.screens.dashboard import DashboardScreen
from pglift_tui.tui.screens.detail import DetailScreen
from pglift_tui.tui.widgets.detail_tabs import LogTab, SettingsTab

from ..clusters import MakeCluster
from .conftest import cell, dashboard, loaded, unique, until
from .test_dashboard import goto, make_app


async def test_a_debian_clusters_row_actions_and_detail_screen(
    dsettings: Any, make_cluster: MakeCluster, make_instance: Any
) -> None:
    ours = await make_instance("ours", state="stopped")
    # pg_createcluster sees only Debian clusters and listeners: our stopped one's port is taken.
    cluster = make_cluster("warehouse", port=ours.port, start=True)
    seen: list[Message] = []
    app = make_app(dsettings)
    async with app.run_test(size=(120, 36), message_hook=seen.append) as pilot:
        await loaded(pilot)
        key = cluster.key
        await until(pilot, lambda: key in dashboard(app).table.order, what="the cluster's row")
        assert cell(app, key, "manager") == "debian"
        assert cell(app, key, "status") == "running"
        status = str(dashboard(app).query_one("#status").render())
        assert f"port {cluster.port}: Debian cluster 15/warehouse and instance 15/ours" in status
        await goto(pilot, key)
        note = str(dashboard(app).query_one("#note").render())
        assert "a Debian cluster: pg_ctlcluster operates it" in note
        assert dashboard(app).check_action("act", ("drop",)) is None  # pg_dropcluster's job

        # Reload through pg_ctlcluster, as its users expect; pg_lsclusters agrees it runs.
        await pilot.press("R")
        await until(pilot, lambda: bool(unique(seen, ActionSucceeded)), what="the reload")
        assert cluster.running()

        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, DetailScreen), what="the detail screen")
        screen = app.screen
        overview = screen.query_one("#overview-text")
        await until(pilot, lambda: "version" in str(overview.render()), what="the overview")
        text = str(overview.render())
        assert str(cluster.configdir / "postgresql.conf") in text  # its config under the conf root
        assert "e writes conf.d/pglift-tui.conf" in text
        await pilot.press("2")

        def port_setting() -> bool:
            tabs = screen.query(SettingsTab)
            return bool(tabs) and any(r[0] == "port" and r[1] == str(cluster.port) for r in tabs.first().rows)

        await until(pilot, port_setting, what="its settings from the server")
        cluster.psql("DO $$ BEGIN RAISE LOG 'seen-in-the-debian-log'; END $$")
        await pilot.press("5")

        def logged() -> bool:
            tabs = screen.query(LogTab)
            return bool(tabs) and any("seen-in-the-debian-log" in line for line in tabs.first().lines)

        await until(pilot, logged, what="its own log file followed")
        await pilot.press("escape")
        await until(pilot, lambda: isinstance(app.screen, DashboardScreen), what="back")

        # Stop from the table: pg_ctlcluster stops it, and pg_lsclusters says so.
        await pilot.press("t")
        await until(pilot, lambda: app.screen is not dashboard(app), what="the stop dialog")
        await pilot.press("y")
        await until(pilot, lambda: not cluster.running(), what="the cluster stopped")
        await until(pilot, lambda: cell(app, key, "status") == "stopped", what="the row stopped")
