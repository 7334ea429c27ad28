"""The detail screen against a real instance: each tab shows what the server says."""

from __future__ import annotations

from typing import Any

import psycopg

from pglift_tui import db, instances
from pglift_tui.tui.screens.dashboard import DashboardScreen
from pglift_tui.tui.screens.detail import DetailScreen
from pglift_tui.tui.widgets.detail_tabs import ActivityTab, ConfigTab, HistoryTab, LogTab, SettingsTab

from ..functional.pg import query
from .conftest import loaded, until
from .test_dashboard import goto, make_app


def detail_of(pilot: Any) -> DetailScreen:
    screen = pilot.app.screen
    assert isinstance(screen, DetailScreen)
    return screen


async def test_each_tab_shows_the_servers_answer(make_instance: Any, settings: Any) -> None:
    await make_instance("other")
    instance = await make_instance("main", settings={"work_mem": "12MB"})
    async with make_app(settings, refresh=0.3).run_test(size=(120, 36)) as pilot:
        await loaded(pilot)
        await goto(pilot, "15/main")
        await pilot.press("enter")
        screen = detail_of(pilot)
        overview = screen.query_one("#overview-text")
        await until(pilot, lambda: "version" in str(overview.render()), what="the overview")
        assert "15." in str(overview.render()) and "primary" in str(overview.render())

        await pilot.press("2")
        await until(
            pilot, lambda: bool(screen.query(SettingsTab)) and screen.query_one(SettingsTab).rows != []
        )
        settings_tab = screen.query_one(SettingsTab)
        work_mem = next(r for r in settings_tab.rows if r[0] == "work_mem")
        assert work_mem[1:3] == ("12288 kB", "configuration file")

        # A reload the server refuses shows in Config with pg_file_settings' own error.
        conf_file = instance.datadir / "postgresql.conf"
        conf_file.write_text(conf_file.read_text() + "work_mem = 'lots'\n")
        await query(instance, "SELECT pg_reload_conf()")
        await pilot.press("3")

        def config_error() -> bool:
            tabs = screen.query(ConfigTab)
            return bool(tabs) and any(r[0] == "work_mem" and r[2] for r in tabs.first().rows)

        await until(pilot, config_error, what="the reload's error in Config")
        error = next(r for r in screen.query_one(ConfigTab).rows if r[0] == "work_mem" and r[2])
        assert error[2] == "setting could not be applied"  # pg_file_settings says so itself

        # A session the test opens appears in Activity, and goes when terminated there.
        session = await psycopg.AsyncConnection.connect(db.conninfo(instance, application_name="the-test"))
        pid = session.info.backend_pid
        try:
            await pilot.press("4")

            def listed() -> bool:
                tabs = screen.query(ActivityTab)
                return bool(tabs) and any(r[0] == pid for r in tabs.first().rows)

            await until(pilot, listed, what="the test's session in Activity")
            activity = screen.query_one(ActivityTab)
            activity.table.move_cursor(row=[r[0] for r in activity.shown].index(pid))
            await pilot.press("K", "y")
            await until(pilot, lambda: not listed(), what="the session gone")
            assert not await query(instance, "SELECT 1 FROM pg_stat_activity WHERE pid = %s", pid)
        finally:
            await session.close()

        # A line the server writes shows in the log tab.
        await query(instance, "DO $$ BEGIN RAISE LOG 'written-by-the-detail-test'; END $$")
        await pilot.press("5")

        def logged() -> bool:
            tabs = screen.query(LogTab)
            return bool(tabs) and any("written-by-the-detail-test" in line for line in tabs.first().lines)

        await until(pilot, logged, what="the line in the log tab")

        await pilot.press("6")
        await until(pilot, lambda: bool(screen.query(HistoryTab)) and screen.query_one(HistoryTab).rows != [])
        # Its own events only, the session it ended among them (journaled for the audit).
        assert [r[2] for r in screen.query_one(HistoryTab).rows] == ["terminate", "create"]

        await pilot.press("escape")
        await until(pilot, lambda: isinstance(pilot.app.screen, DashboardScreen), what="back to the table")
        assert pilot.app.screen.table.cursor_key == "15/main"


async def test_a_detail_screen_says_its_server_went_away_and_follows_it_back(
    make_instance: Any, settings: Any
) -> None:
    """The server stops under an open Activity tab (someone in a shell) and comes back:
    the status line says why the tab cannot refresh, and once the server is back the tab
    shows its sessions again. Twice: the second loss must be told as the first was."""
    instance = await make_instance("main")
    async with make_app(settings, refresh=0.3).run_test(size=(120, 36)) as pilot:
        await loaded(pilot)
        await pilot.press("enter", "4")
        screen = detail_of(pilot)
        conninfo = db.conninfo(instance, application_name="the-test")
        session = await psycopg.AsyncConnection.connect(conninfo)

        def status() -> str:
            return str(screen.query_one("#status").render())

        def listed() -> bool:
            tabs = screen.query(ActivityTab)
            pid = session.info.backend_pid
            return bool(tabs) and any(r[0] == pid for r in tabs.first().rows)

        await until(pilot, listed, what="the test's session in Activity")
        for _ in range(2):
            await session.close()
            await instances.stop(instance)
            await until(pilot, lambda: "·" in status(), what="the status telling why")
            await instances.start(instance)
            session = await psycopg.AsyncConnection.connect(conninfo)
            await until(pilot, listed, what="the session after the restart")
            assert status().strip() == "15/main"
        await session.close()


async def test_read_only_offers_no_signal(make_instance: Any, settings: Any) -> None:
    await make_instance("main")
    async with make_app(settings, read_only=True).run_test(size=(80, 24)) as pilot:
        await loaded(pilot)
        await pilot.press("enter", "4")
        screen = detail_of(pilot)
        await pilot.pause()
        for name in ("terminate", "cancel", "configure", "restart_detail"):
            assert screen.check_action("act", (name,)) is False


async def test_a_setting_changed_in_the_form_is_live_or_pending(make_instance: Any, settings: Any) -> None:
    from pglift_tui.tui.dialogs.confirm import ConfirmDialog
    from pglift_tui.tui.dialogs.edit_setting import EditSettingDialog

    from ..functional.pg import show

    instance = await make_instance("main")
    async with make_app(settings, refresh=0.3).run_test(size=(80, 24)) as pilot:
        await loaded(pilot)
        await pilot.press("enter", "e")
        await until(pilot, lambda: isinstance(pilot.app.screen, EditSettingDialog), what="the form")
        dialog = pilot.app.screen
        await pilot.press(*"work_mem", "tab", *"64 parsecs")
        assert "unit 'parsecs' is not valid here" in str(dialog.query_one("#preview").render())
        await pilot.press(*["backspace"] * 8, "M", "B")  # "64MB"
        assert "applied by a reload" in str(dialog.query_one("#preview").render())
        await pilot.press("ctrl+s")
        screen = detail_of(pilot)
        await until(pilot, lambda: bool(screen.changes), what="the change applied")
        assert await show(instance, "work_mem") == "64MB"  # live, after the reload

        await pilot.press("e")
        await until(pilot, lambda: isinstance(pilot.app.screen, EditSettingDialog), what="the form again")
        await pilot.press(*"shared_buffers", "tab", *"48MB", "ctrl+s")
        await until(pilot, lambda: isinstance(pilot.app.screen, ConfirmDialog), what="the restart offer")
        rows = await query(instance, "SELECT pending_restart FROM pg_settings WHERE name = 'shared_buffers'")
        assert rows == [{"pending_restart": True}]
        await pilot.press("n")  # not now: it stays pending, and the Config tab says so
        await pilot.press("3")
        await until(
            pilot,
            lambda: (
                bool(screen.query("#config-summary"))
                and "pending restart: shared_buffers" in str(screen.query_one("#config-summary").render())
            ),
            what="the pending restart in Config",
        )
        assert "changed here: work_mem" in str(screen.query_one("#config-summary").render())


async def test_settings_sort_and_a_stopped_instances_files(make_instance: Any, settings: Any) -> None:
    await make_instance("down", state="stopped", settings={"work_mem": "7MB"})
    async with make_app(settings).run_test(size=(120, 36)) as pilot:
        await loaded(pilot)
        await pilot.press("enter")
        screen = detail_of(pilot)
        overview = screen.query_one("#overview-text")
        await until(pilot, lambda: "Not running" in str(overview.render()), what="the offline overview")
        await pilot.press("2")
        await until(
            pilot, lambda: bool(screen.query(SettingsTab)) and screen.query_one(SettingsTab).rows != []
        )
        tab = screen.query_one(SettingsTab)
        # What postgresql.conf says, the server being down.
        assert ("work_mem", "7MB", "postgresql.conf", "", None) in tab.rows
        await pilot.press("o", "o")  # by name, then by setting
        assert tab.sort_column == 1
        values = [str(row[1]).lower() for row in tab.shown]
        assert values == sorted(values)
        await pilot.press("O")
        assert [str(row[1]).lower() for row in tab.shown] == sorted(values, reverse=True)


async def _every_tab_has_content(pilot: Any, screen: DetailScreen) -> None:
    """Each tab, shown in turn, fills most of the screen's height with its rows or text."""
    for digit, pane in zip(
        "123456", ("overview", "settings", "config", "activity", "log", "history"), strict=True
    ):
        await pilot.press(digit)

        def drawn(pane: str = pane) -> bool:
            tab = screen.current()
            return (
                tab is not None and tab.parent is not None and tab.parent.id == pane and tab.size.height > 5
            )

        await until(pilot, drawn, what=f"the {pane} tab at full height")
    await until(pilot, lambda: bool(screen.query_one(SettingsTab).rows), what="settings rows")


async def test_detail_screens_opened_again_and_again_keep_their_tabs(
    make_instance: Any, settings: Any
) -> None:
    """Enter, Escape, Enter on another row, many times: every tab of every screen is whole."""
    await make_instance("one")
    await make_instance("two")
    async with make_app(settings, refresh=0.3).run_test(size=(80, 24)) as pilot:
        await loaded(pilot)
        for key in ("15/one", "15/two", "15/one", "15/two"):
            await goto(pilot, key)
            await pilot.press("enter")
            await until(pilot, lambda: isinstance(pilot.app.screen, DetailScreen), what="the detail screen")
            screen = detail_of(pilot)
            assert screen.detail.key == key
            await _every_tab_has_content(pilot, screen)
            await pilot.press("escape")
            await until(pilot, lambda: isinstance(pilot.app.screen, DashboardScreen), what="back")


async def test_escape_leaves_a_tab_filter_and_gives_the_digits_back(
    make_instance: Any, settings: Any
) -> None:
    await make_instance("main")
    async with make_app(settings, refresh=0.3).run_test(size=(120, 36)) as pilot:
        await loaded(pilot)
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(pilot.app.screen, DetailScreen), what="the detail screen")
        screen = detail_of(pilot)

        def filtered() -> bool:
            shown = screen.query_one(SettingsTab).shown
            return 0 < len(shown) < 10 and all("work_mem" in r[0] for r in shown)

        for time in range(2):  # the second time too
            await pilot.press("2")
            await until(
                pilot, lambda: bool(screen.query(SettingsTab)) and bool(screen.query_one(SettingsTab).rows)
            )
            await pilot.press("slash", *("work_mem" if time == 0 else ""))
            await until(pilot, filtered, what="the filter applied")
            await pilot.press("escape")
            assert isinstance(pilot.app.screen, DetailScreen)  # it left the box, not the screen
            await pilot.press("3")
            assert screen.query_one("TabbedContent").active == "config"  # type: ignore[attr-defined]
            box = screen.query_one(SettingsTab).query_one("Input")
            assert box.value == "work_mem"  # type: ignore[attr-defined]
        await pilot.press("escape")
        await until(pilot, lambda: isinstance(pilot.app.screen, DashboardScreen), what="back to the table")
