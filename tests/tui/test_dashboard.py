"""The dashboard driven by keys against real instances; the server's state is the verdict."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from textual.message import Message
from textual.pilot import Pilot

from pglift_tui import journal
from pglift_tui.tui.app import DashboardApp
from pglift_tui.tui.messages import ActionFailed, ActionStarted, ActionSucceeded
from pglift_tui.tui.source import LiveSource

from .conftest import cell, dashboard, loaded, unique, until


def make_app(settings: Any, **kwargs: Any) -> DashboardApp:
    kwargs.setdefault("refresh", 0.2)
    return DashboardApp(LiveSource(settings), hostname="test", **kwargs)


async def goto(pilot: Pilot[Any], key: str) -> None:
    """Put the cursor on the instance `key` ("15/main")."""
    table = dashboard(pilot.app).table  # type: ignore[arg-type]
    await until(pilot, lambda: key in table.order, what=f"{key} listed")
    while table.cursor_key != key:
        await pilot.press("down" if table.order.index(key) > table.cursor_row else "up")


async def settled(pilot: Pilot[Any]) -> None:
    """Wait until no action is asked for or running in the dashboard's workers."""
    app: DashboardApp = pilot.app  # type: ignore[assignment]
    await pilot.pause()
    await until(pilot, lambda: not app.dispatcher.running, what="actions to end")


def status_of(pilot: Pilot[Any], key: str) -> str:
    return cell(pilot.app, key, "status")


async def test_live_table_shows_what_the_core_sees(make_instance: Any, settings: Any) -> None:
    up = await make_instance("up")
    await make_instance("down", state="stopped")
    async with make_app(settings).run_test(size=(120, 36)) as pilot:
        await loaded(pilot)
        screen = dashboard(pilot.app)
        assert screen.table.order == ["15/down", "15/up"]
        assert status_of(pilot, "15/up") == "running"
        assert status_of(pilot, "15/down") == "stopped"
        await until(pilot, lambda: screen.table.views["15/up"].connections is not None, what="a probe")
        assert cell(pilot.app, "15/up", "pid") == str(up.status().pid)
        assert cell(pilot.app, "15/up", "conn").endswith("/100")


async def test_start_stop_restart_reload_by_keys(make_instance: Any, settings: Any) -> None:
    instance = await make_instance(state="stopped")
    async with make_app(settings).run_test(size=(120, 36)) as pilot:
        await loaded(pilot)
        await goto(pilot, "15/main")
        await pilot.press("s")
        await settled(pilot)
        assert instance.status().status == "running"
        await until(pilot, lambda: status_of(pilot, "15/main") == "running", what="row running")

        pid = instance.status().pid
        await pilot.press("r")
        await until(pilot, lambda: pilot.app.screen is not dashboard(pilot.app), what="the confirmation")
        await pilot.press("y")
        await settled(pilot)
        assert instance.status().pid not in (None, pid)
        # Reload is offered for a server the table has seen running again.
        await until(pilot, lambda: dashboard(pilot.app).table.views["15/main"].item.pid not in (None, pid))

        await pilot.press("R")
        await settled(pilot)
        assert journal.read(settings, limit=1)[0].action == "reload"

        await pilot.press("t")
        await until(pilot, lambda: pilot.app.screen is not dashboard(pilot.app), what="the confirmation")
        await pilot.press("y")
        await settled(pilot)
        assert instance.status().status == "not running"
    events = journal.read(settings, datadir=instance.datadir)
    assert [e.action for e in events[:4]] == ["stop", "reload", "restart", "start"]
    assert all(e.result == "ok" for e in events[:4])
    assert events[0].details["mode"] == "fast"


async def test_stop_mode_is_chosen_in_the_confirmation(make_instance: Any, settings: Any) -> None:
    from textual.widgets import RadioButton

    from pglift_tui.tui.dialogs.stop import StopDialog

    instance = await make_instance()
    async with make_app(settings).run_test(size=(120, 36)) as pilot:
        await loaded(pilot)
        await pilot.press("t")
        await until(pilot, lambda: isinstance(pilot.app.screen, StopDialog), what="the stop dialog")
        immediate = next(b for b in pilot.app.screen.query(RadioButton) if b.name == "immediate")
        immediate.value = True
        await pilot.press("y")
        await until(pilot, lambda: instance.status().status == "not running", what="stop")
    assert journal.read(settings, limit=1)[0].details["mode"] == "immediate"


async def test_confirmations_default_to_no(make_instance: Any, settings: Any) -> None:
    from pglift_tui.tui.dialogs.confirm import ConfirmDialog
    from pglift_tui.tui.dialogs.stop import StopDialog

    instance = await make_instance()
    pid = instance.status().pid
    seen: list[Message] = []
    async with make_app(settings).run_test(size=(120, 36), message_hook=seen.append) as pilot:
        await loaded(pilot)
        screen = dashboard(pilot.app)
        cases = ((("r", "enter"), ConfirmDialog), (("t", "n"), StopDialog), (("t", "escape"), StopDialog))
        for keys, dialog in cases:
            await pilot.press(keys[0])
            await until(pilot, lambda d=dialog: isinstance(pilot.app.screen, d), what="the confirmation")
            await pilot.press(keys[1])  # Enter lands on the focused, safe button
            await until(pilot, lambda: pilot.app.screen is screen, what="back to the table")
        await pilot.pause()
    assert unique(seen, ActionStarted) == []
    assert instance.status().pid == pid


async def test_drop_needs_the_name_typed_and_keeps_the_cursor_near(make_instance: Any, settings: Any) -> None:
    from pglift_tui import instances
    from pglift_tui.tui.dialogs.drop import DropDialog

    for name in ("a", "b", "gone", "keep"):
        await make_instance(name, state="stopped")
    seen: list[Message] = []
    app = make_app(settings)
    async with app.run_test(size=(120, 36), message_hook=seen.append, notifications=True) as pilot:
        await loaded(pilot)
        await goto(pilot, "15/gone")
        await pilot.press("d")
        await until(pilot, lambda: isinstance(pilot.app.screen, DropDialog), what="the drop dialog")
        await pilot.press(*"keep", "enter")
        await pilot.pause()
        assert isinstance(pilot.app.screen, DropDialog)  # the wrong name does nothing
        await pilot.press("escape")
        await pilot.pause()
        assert unique(seen, ActionStarted) == []
        assert instances.exists("gone", "15", settings)
        await pilot.press("d")
        await until(pilot, lambda: isinstance(pilot.app.screen, DropDialog), what="the drop dialog again")
        await pilot.press(*"gone", "enter")
        await until(pilot, lambda: not instances.exists("gone", "15", settings), what="drop")
        table = dashboard(pilot.app).table
        await until(pilot, lambda: "15/gone" not in table.order, what="row gone")
        assert table.cursor_key == "15/keep"  # the row that took its place, not the top
        # Our own drop is not told as something that happened under the table.
        assert not [n for n in pilot.app._notifications if "is gone" in n.message]
    assert instances.exists("keep", "15", settings)


async def test_create_form_validates_with_the_core_model(settings: Any) -> None:
    from pglift_tui import instances
    from pglift_tui.tui.dialogs.create import CreateDialog

    from ..conftest import free_port

    async with make_app(settings).run_test(size=(120, 40)) as pilot:
        await loaded(pilot)
        await pilot.press("c")
        await until(pilot, lambda: isinstance(pilot.app.screen, CreateDialog), what="the form")
        form = pilot.app.screen
        form.query_one("#name").value = "../bad"  # type: ignore[attr-defined]
        await pilot.press("ctrl+s")
        await pilot.pause()
        error = str(form.query_one("#name-error").content)  # type: ignore[attr-defined]
        assert "invalid instance name" in error
        port = free_port()
        form.query_one("#name").value = "fresh"  # type: ignore[attr-defined]
        form.query_one("#port").value = str(port)  # type: ignore[attr-defined]
        form.query_one("#settings").value = "work_mem=12MB"  # type: ignore[attr-defined]
        await pilot.press("ctrl+s")
        table = dashboard(pilot.app).table
        # While it is being made, the row says so with the form's port, not a default.
        await until(pilot, lambda: "15/fresh" in table.order, what="the row")
        assert cell(pilot.app, "15/fresh", "port") == str(port)
        await until(pilot, lambda: instances.exists("fresh", "15", settings), what="creation")
        await settled(pilot)
    assert not instances.exists("bad", None, settings)


async def test_bulk_start_says_what_each_row_did(make_instance: Any, settings: Any) -> None:
    a = await make_instance("a", state="stopped")
    await make_instance("b")
    await make_instance("c", state="stopped")
    seen: list[Message] = []
    async with make_app(settings).run_test(size=(120, 36), message_hook=seen.append) as pilot:
        await loaded(pilot)
        await goto(pilot, "15/a")
        await pilot.press("space", "space")  # marks a and b, the cursor on c
        await pilot.press("s")
        await settled(pilot)
        words = {m.key: m.outcome.word for m in unique(seen, ActionSucceeded)}
        assert words == {"15/a": "started", "15/b": "already running"}
        await pilot.pause()
        # Acting again on a marked set after the first: the marks were cleared.
        assert dashboard(pilot.app).table.marks == set()
    assert a.status().status == "running"
    assert [e.result for e in journal.read(settings, limit=1)] == ["ok"]


async def test_bulk_stop_of_marked_rows(make_instance: Any, settings: Any) -> None:
    from pglift_tui.tui.dialogs.stop import StopDialog

    a = await make_instance("a")
    b = await make_instance("b")
    c = await make_instance("c")
    seen: list[Message] = []
    async with make_app(settings).run_test(size=(120, 36), message_hook=seen.append) as pilot:
        await loaded(pilot)
        await goto(pilot, "15/a")
        await pilot.press("space", "space")
        await pilot.press("t")
        await until(pilot, lambda: isinstance(pilot.app.screen, StopDialog), what="the stop dialog")
        await pilot.press("y")
        await settled(pilot)
    assert {a.status().status, b.status().status} == {"not running"}
    assert c.status().status == "running"
    done = {m.key for m in unique(seen, ActionSucceeded) if m.action == "stop"}
    assert done == {"15/a", "15/b"}


async def test_a_lock_held_elsewhere_is_reported(make_instance: Any, settings: Any, hold_lock: Any) -> None:
    instance = await make_instance(state="stopped")
    holder = hold_lock("15-main", "upgrade")
    seen: list[Message] = []
    async with make_app(settings).run_test(size=(120, 36), message_hook=seen.append) as pilot:
        await loaded(pilot)
        await until(pilot, lambda: status_of(pilot, "15/main") == "upgrade…", what="the row naming it")
        await pilot.press("s")
        await until(pilot, lambda: bool(unique(seen, ActionFailed)), what="failure")
    failed = unique(seen, ActionFailed)
    assert f"busy: upgrade by pid {holder}" in failed[0].message
    assert instance.status().status == "not running"


async def test_failed_start_reports_the_server_log(make_instance: Any, settings: Any) -> None:
    instance = await make_instance(state="stopped")
    conf = instance.datadir / "postgresql.conf"
    conf.write_text(conf.read_text() + "shared_preload_libraries = 'missing_lib'\n")
    seen: list[Message] = []
    async with make_app(settings).run_test(size=(120, 36), message_hook=seen.append) as pilot:
        await loaded(pilot)
        await pilot.press("s")
        await until(pilot, lambda: bool(unique(seen, ActionFailed)), what="failure")
        # After an error, the next action goes through as the first did.
        conf.write_text(conf.read_text().replace("shared_preload_libraries = 'missing_lib'\n", ""))
        await pilot.press("s")
        await until(pilot, lambda: bool(unique(seen, ActionSucceeded)), what="the retry")
    failed = unique(seen, ActionFailed)[0]
    assert any("missing_lib" in line for line in failed.log_lines)
    assert instance.status().status == "running"


async def test_read_only_offers_no_action(make_instance: Any, settings: Any) -> None:
    instance = await make_instance(state="stopped")
    seen: list[Message] = []
    app = make_app(settings, read_only=True)
    async with app.run_test(size=(120, 36), message_hook=seen.append) as pilot:
        await loaded(pilot)
        screen = dashboard(pilot.app)
        for name in ("start", "stop", "restart", "reload", "create", "drop", "promote", "upgrade"):
            assert screen.check_action("act", (name,)) is False
        assert screen.check_action("mark", ()) is False
        await pilot.press("s", "d", "c", "space")
        await pilot.pause()
        assert pilot.app.screen is screen
        assert screen.table.marks == set()
        assert app.dispatcher.running == {}
    assert unique(seen, ActionStarted) == []
    assert instance.status().status == "not running"


async def test_filter_matches_the_words_shown(make_instance: Any, settings: Any) -> None:
    await make_instance("alpha")
    await make_instance("beta", state="stopped")
    await make_instance("gamma")
    async with make_app(settings).run_test(size=(120, 36)) as pilot:
        await loaded(pilot)
        screen = dashboard(pilot.app)
        table = screen.table
        await goto(pilot, "15/beta")
        first = screen.refreshes
        await until(pilot, lambda: screen.refreshes >= first + 3, what="refreshes")
        assert table.cursor_key == "15/beta"

        await pilot.press("3")  # sort by port
        assert table.sort_key == "port"
        ports = [table.views[k].item.port for k in table.order]
        assert ports == sorted(ports)
        await pilot.press("3")
        ports = [table.views[k].item.port for k in table.order]
        assert ports == sorted(ports, reverse=True)
        assert table.cursor_key == "15/beta"

        for text, expected in (
            ("running", ["15/alpha", "15/gamma"]),  # never the stopped row
            ("stopped", ["15/beta"]),
            ("status:stopped", ["15/beta"]),
            ("role:primary gam", ["15/gamma"]),
            ("name:running", []),
            ("version:15 status:running", ["15/alpha", "15/gamma"]),
        ):
            await pilot.press("slash", *text, "enter")
            assert sorted(table.order) == expected, text
            await pilot.press("slash", "escape")
            assert len(table.order) == 3
        # Escape gave the keys back to the table: a digit sorts again.
        await pilot.press("1")
        assert table.sort_key == "name"


async def test_an_idle_refresh_redraws_nothing(make_instance: Any, settings: Any) -> None:
    await make_instance("a", state="stopped")
    await make_instance("b", state="stopped")
    async with make_app(settings).run_test(size=(120, 36)) as pilot:
        await loaded(pilot)
        screen = dashboard(pilot.app)
        before = screen.table.line_updates
        first = screen.refreshes
        await until(pilot, lambda: screen.refreshes >= first + 3, what="refreshes")
        assert screen.table.line_updates == before


async def test_an_unreachable_server_shows_why(make_instance: Any, settings: Any) -> None:
    from pglift_tui import instances

    instance = await make_instance()
    hba = instance.datadir / "pg_hba.conf"
    hba.write_text("local all all reject\n")
    await instances.reload(instance)
    async with make_app(settings).run_test(size=(120, 36)) as pilot:
        await loaded(pilot)
        table = dashboard(pilot.app).table
        await until(pilot, lambda: table.views["15/main"].error is not None, what="probe error")
        assert status_of(pilot, "15/main") == "unreachable"
        assert "pg_hba.conf rejects connection" in (table.views["15/main"].error or "")


@pytest.mark.parametrize("key", ["q"])
async def test_quit(key: str, settings: Any) -> None:
    app = make_app(settings)
    async with app.run_test(size=(80, 24)) as pilot:
        await loaded(pilot)
        await pilot.press(key)
        await until(pilot, lambda: not app.is_running, what="exit")


async def test_a_busy_row_names_its_action_and_clears_when_it_ends(fixed_app: Any) -> None:
    from pglift_tui.managers import Outcome
    from pglift_tui.tui import actions

    app = fixed_app()
    release = asyncio.Event()
    calls: list[str] = []

    async def slow(action: str, key: str, **options: Any) -> Outcome:
        calls.append(f"{action} {key}")
        await release.wait()
        return Outcome("restarted")

    app.source.run = slow
    async with app.run_test(size=(80, 24)) as pilot:
        await loaded(pilot)
        screen = dashboard(app)
        spec = actions.BY_NAME["restart"]
        assert app.dispatcher.submit(screen, spec, [("15/main", {})]) == {}
        busy = {"15/main": "busy: restarting in progress"}
        assert app.dispatcher.submit(screen, spec, [("15/main", {})]) == busy
        await until(pilot, lambda: calls == ["restart 15/main"], what="the first action")
        assert screen.check_action("act", ("restart",)) is True  # the cursor is on another row
        await goto(pilot, "15/main")
        assert screen.check_action("act", ("restart",)) is None  # dimmed while busy
        assert cell(app, "15/main", "status").startswith("restarting ")
        release.set()
        await until(pilot, lambda: not app.dispatcher.running, what="the action to end")
        # The next snapshot, taken after the end, says how the row is now.
        await until(pilot, lambda: cell(app, "15/main", "status") == "running", what="the row cleared")
        assert app.dispatcher.submit(screen, spec, [("15/main", {})]) == {}
        await until(pilot, lambda: not app.dispatcher.running, what="the second action to end")
    assert calls == ["restart 15/main", "restart 15/main"]


async def test_a_dimmed_key_says_why(fixed_app: Any) -> None:
    app = fixed_app()
    seen: list[Message] = []
    async with app.run_test(size=(80, 24), message_hook=seen.append, notifications=True) as pilot:
        await loaded(pilot)
        await goto(pilot, "15/main")  # a running primary
        screen = dashboard(app)
        assert screen.check_action("act", ("start",)) is None
        await pilot.press("s")
        await pilot.pause()
        assert [n.message for n in app._notifications] == ["Start: 15/main is already running"]
        await pilot.press("p")
        await pilot.pause()
        assert "nothing to promote" in list(app._notifications)[-1].message
    assert unique(seen, ActionStarted) == []


async def _palettes(app: Any, read_only: bool) -> None:
    from textual.command import CommandPalette

    from pglift_tui.tui.commands import ScreenCommands
    from pglift_tui.tui.dialogs.stop import StopDialog
    from pglift_tui.tui.screens.detail import DetailScreen
    from pglift_tui.tui.screens.events import EventsScreen

    async def offered() -> list[str]:
        return [str(hit.text) async for hit in ScreenCommands(app.screen).discover()]

    async with app.run_test(size=(100, 30)) as pilot:
        await loaded(pilot)
        await goto(pilot, "15/main")
        table_rows = await offered()
        assert ("Stop" in table_rows) is not read_only
        assert ("Drop" in table_rows) is not read_only
        assert "Promote" not in table_rows  # a primary: refused, so not offered
        assert "Filter" in table_rows
        await pilot.press("e")
        await until(pilot, lambda: isinstance(app.screen, EventsScreen), what="events")
        assert await offered() == []
        assert set() == EventsScreen.COMMANDS
        await pilot.press("escape", "enter")
        await until(pilot, lambda: isinstance(app.screen, DetailScreen), what="the detail screen")
        detail_rows = await offered()
        assert not {"Stop", "Drop", "Promote", "Upgrade", "Start"} & set(detail_rows)
        assert ("Edit setting" in detail_rows) is not read_only
        await pilot.press("escape")
        if not read_only:
            await pilot.press("ctrl+p", *"Stop", "enter")
            await until(pilot, lambda: isinstance(app.screen, StopDialog), what="the stop dialog")
            await pilot.press("n")
            await until(pilot, lambda: app.screen is dashboard(app), what="back to the table")
        else:
            await pilot.press("ctrl+p")
            await until(pilot, lambda: isinstance(app.screen, CommandPalette), what="the palette")
            await pilot.press("escape")


@pytest.mark.parametrize("read_only", [False, True], ids=["read-write", "read-only"])
async def test_each_screen_palette_offers_its_own_rows(fixed_app: Any, read_only: bool) -> None:
    await _palettes(fixed_app(read_only=read_only), read_only)


async def test_promote_from_the_dashboard(make_instance: Any, settings: Any) -> None:
    from pglift_tui.tui.dialogs.confirm import ConfirmDialog
    from pglift_tui.tui.dialogs.drop import DropDialog

    from ..functional.pg import query

    primary = await make_instance("prim")
    conninfo = f"host={primary.live_socket_directory()} port={primary.port} user=replication"
    standby = await make_instance("stby", standby={"primary_conninfo": conninfo})
    async with make_app(settings).run_test(size=(120, 36)) as pilot:
        await loaded(pilot)
        screen = dashboard(pilot.app)
        table = screen.table
        await until(pilot, lambda: table.views["15/prim"].standbys == 1, what="the standby streaming")
        assert cell(pilot.app, "15/stby", "role") == "standby"
        await goto(pilot, "15/prim")
        assert screen.check_action("act", ("promote",)) is None  # a primary has nothing to promote
        await pilot.press("d")
        await until(pilot, lambda: isinstance(pilot.app.screen, DropDialog), what="the drop dialog")
        warning = pilot.app.screen.query_one("#standbys-warning")
        assert "1 standby(s) stream from it now" in str(warning.render())
        await pilot.press("escape")

        await goto(pilot, "15/stby")
        assert screen.check_action("act", ("promote",)) is True
        await pilot.press("p")
        await until(pilot, lambda: isinstance(pilot.app.screen, ConfirmDialog), what="the confirmation")
        await pilot.press("y")
        await until(pilot, lambda: cell(pilot.app, "15/stby", "role") == "primary", what="stby a primary")
        await until(pilot, lambda: cell(pilot.app, "15/prim", "role") == "diverged", what="prim diverged")
    assert await query(standby, "SELECT pg_is_in_recovery() AS r") == [{"r": False}]
    assert primary.exists()
