"""The dashboard driven by keys against real instances; the server's state is the verdict."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from textual.message import Message
from textual.pilot import Pilot

from pglift_tui import journal
from pglift_tui.tui.app import DashboardApp
from pglift_tui.tui.messages import ActionFailed, ActionSucceeded
from pglift_tui.tui.source import LiveSource

from .conftest import dashboard, loaded, until


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
    """Wait until no action is running in the dashboard's workers."""
    screen = dashboard(pilot.app)  # type: ignore[arg-type]
    await until(pilot, lambda: not screen.dispatcher.running, what="actions to end")


def status_of(pilot: Pilot[Any], key: str) -> str:
    table = dashboard(pilot.app).table  # type: ignore[arg-type]
    cells = table.cells[key]
    return cells[4].text


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
        cells = screen.table.cells["15/up"]
        assert cells[6].text == str(up.status().pid)
        assert cells[8].text.endswith("/100")


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
        await pilot.press("r", "y")
        await settled(pilot)
        assert instance.status().pid not in (None, pid)
        # Reload is offered for a server the table has seen running again.
        await until(pilot, lambda: dashboard(pilot.app).table.views["15/main"].item.pid not in (None, pid))

        await pilot.press("R")
        await settled(pilot)
        assert journal.read(settings, limit=1)[0].action == "reload"

        await pilot.press("t", "y")
        await settled(pilot)
        assert instance.status().status == "not running"
    events = journal.read(settings, datadir=instance.datadir)
    assert [e.action for e in events[:4]] == ["stop", "reload", "restart", "start"]
    assert all(e.result == "ok" for e in events[:4])
    assert events[0].details["mode"] == "fast"


async def test_stop_mode_is_chosen_in_the_confirmation(make_instance: Any, settings: Any) -> None:
    instance = await make_instance()
    async with make_app(settings).run_test(size=(120, 36)) as pilot:
        await loaded(pilot)
        await pilot.press("t")
        dialog = pilot.app.screen
        from textual.widgets import RadioButton

        immediate = next(b for b in dialog.query(RadioButton) if b.name == "immediate")
        immediate.value = True
        await pilot.press("y")
        await until(pilot, lambda: instance.status().status == "not running", what="stop")
    assert journal.read(settings, limit=1)[0].details["mode"] == "immediate"


async def test_confirmations_default_to_no(make_instance: Any, settings: Any) -> None:
    instance = await make_instance()
    pid = instance.status().pid
    async with make_app(settings).run_test(size=(120, 36)) as pilot:
        await loaded(pilot)
        await pilot.press("r", "enter")  # Enter on the focused, safe button
        await pilot.press("t", "n")
        await pilot.press("t", "escape")
        await pilot.pause()
        assert pilot.app.screen is dashboard(pilot.app)
    assert instance.status().pid == pid


async def test_drop_needs_the_name_typed(make_instance: Any, settings: Any) -> None:
    from pglift_tui import instances

    await make_instance("keep")
    await make_instance("gone")
    async with make_app(settings).run_test(size=(120, 36)) as pilot:
        await loaded(pilot)
        await goto(pilot, "15/gone")
        await pilot.press("d", *"keep", "enter")
        await pilot.pause()
        assert instances.exists("gone", "15", settings)
        await pilot.press("escape")
        await pilot.press("d", *"gone", "enter")
        await until(pilot, lambda: not instances.exists("gone", "15", settings), what="drop")
        await until(pilot, lambda: dashboard(pilot.app).table.order == ["15/keep"], what="row gone")
    assert instances.exists("keep", "15", settings)


async def test_create_form_validates_with_the_core_model(settings: Any) -> None:
    from pglift_tui import instances

    from ..conftest import free_port

    async with make_app(settings).run_test(size=(120, 40)) as pilot:
        await loaded(pilot)
        await pilot.press("c")
        form = pilot.app.screen
        form.query_one("#name").value = "../bad"  # type: ignore[attr-defined]
        await pilot.press("ctrl+s")
        await pilot.pause()
        error = str(form.query_one("#name-error").content)  # type: ignore[attr-defined]
        assert "invalid instance name" in error
        form.query_one("#name").value = "fresh"  # type: ignore[attr-defined]
        form.query_one("#port").value = str(free_port())  # type: ignore[attr-defined]
        form.query_one("#settings").value = "work_mem=12MB"  # type: ignore[attr-defined]
        await pilot.press("ctrl+s")
        await until(pilot, lambda: instances.exists("fresh", "15", settings), what="creation")
        await until(pilot, lambda: "15/fresh" in dashboard(pilot.app).table.order, what="row")
    assert not instances.exists("bad", None, settings)


async def test_bulk_stop_of_marked_rows(make_instance: Any, settings: Any) -> None:
    a = await make_instance("a")
    b = await make_instance("b")
    c = await make_instance("c")
    seen: list[Message] = []
    async with make_app(settings).run_test(size=(120, 36), message_hook=seen.append) as pilot:
        await loaded(pilot)
        await goto(pilot, "15/a")
        await pilot.press("space")  # marks a, moves to b
        await pilot.press("space")  # marks b
        await pilot.press("t", "y")
        await settled(pilot)
    assert {a.status().status, b.status().status} == {"not running"}
    assert c.status().status == "running"
    done = {m.key for m in seen if isinstance(m, ActionSucceeded) and m.action == "stop"}
    assert done == {"15/a", "15/b"}


async def test_a_lock_held_elsewhere_is_reported(make_instance: Any, settings: Any, hold_lock: Any) -> None:
    instance = await make_instance(state="stopped")
    holder = hold_lock("15-main", "upgrade")
    seen: list[Message] = []
    async with make_app(settings).run_test(size=(120, 36), message_hook=seen.append) as pilot:
        await loaded(pilot)
        await until(pilot, lambda: status_of(pilot, "15/main") == "busy", what="busy row")
        await pilot.press("s")
        await until(pilot, lambda: any(isinstance(m, ActionFailed) for m in seen), what="failure")
    failed = [m for m in seen if isinstance(m, ActionFailed)]
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
        await until(pilot, lambda: any(isinstance(m, ActionFailed) for m in seen), what="failure")
    failed = next(m for m in seen if isinstance(m, ActionFailed))
    assert any("missing_lib" in line for line in failed.log_lines)


async def test_read_only_offers_no_action(make_instance: Any, settings: Any) -> None:
    instance = await make_instance(state="stopped")
    async with make_app(settings, read_only=True).run_test(size=(120, 36)) as pilot:
        await loaded(pilot)
        screen = dashboard(pilot.app)
        for name in ("start", "stop", "restart", "reload", "create", "drop"):
            assert screen.check_action(name, ()) is False
        await pilot.press("s", "d", "c")
        await pilot.pause()
        assert pilot.app.screen is screen
        assert screen.dispatcher.running == {}
    assert instance.status().status == "not running"


async def test_filter_sort_and_cursor_survive_refreshes(make_instance: Any, settings: Any) -> None:
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

        await pilot.press("slash", *"stopped", "enter")
        assert table.order == ["15/beta"]
        await pilot.press("slash", "escape")
        assert len(table.order) == 3


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


async def test_a_second_action_on_a_busy_instance_is_refused(fixed_app: Any) -> None:
    from pglift_tui.tui import actions

    app = fixed_app()
    release = asyncio.Event()
    calls: list[str] = []

    async def slow() -> str:
        calls.append("run")
        await release.wait()
        return "done"

    async with app.run_test(size=(80, 24)) as pilot:
        await loaded(pilot)
        screen = dashboard(app)
        spec = actions.BY_NAME["restart"]
        assert screen.dispatcher.submit("15/main", spec, slow) is True
        assert screen.dispatcher.submit("15/main", spec, slow) is False
        await until(pilot, lambda: calls == ["run"], what="the first action")
        assert screen.check_action("restart", ()) is True  # the cursor is on another row
        await goto(pilot, "15/main")
        assert screen.check_action("restart", ()) is None  # dimmed while busy
        assert screen.table.cells["15/main"][4].text == "restarting…"
        release.set()
        await until(pilot, lambda: not screen.dispatcher.running, what="the action to end")
        assert screen.dispatcher.submit("15/main", spec, slow) is True
    assert calls == ["run", "run"]


async def test_command_palette_offers_the_actions(fixed_app: Any) -> None:
    from pglift_tui.tui.dialogs.stop import StopDialog

    app = fixed_app()
    async with app.run_test(size=(100, 30)) as pilot:
        await loaded(pilot)
        await goto(pilot, "15/main")
        await pilot.press("ctrl+p", *"Stop", "enter")
        await until(pilot, lambda: isinstance(app.screen, StopDialog), what="the stop confirmation")
        await pilot.press("n")
        await until(pilot, lambda: app.screen is dashboard(app), what="back to the table")


async def test_promote_from_the_dashboard(make_instance: Any, settings: Any) -> None:
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
        assert table.cells["15/stby"][5].text == "standby"
        await goto(pilot, "15/prim")
        assert screen.check_action("promote", ()) is None  # a primary has nothing to promote
        await pilot.press("d")
        assert isinstance(pilot.app.screen, DropDialog)
        warning = pilot.app.screen.query_one("#standbys-warning")
        assert "1 standby(s) stream from it now" in str(warning.render())
        await pilot.press("escape")

        await goto(pilot, "15/stby")
        assert screen.check_action("promote", ()) is True
        await pilot.press("p", "y")
        await until(pilot, lambda: table.cells["15/stby"][5].text == "primary", what="stby a primary")
        await until(pilot, lambda: table.cells["15/prim"][5].text == "diverged", what="prim diverged")
    assert await query(standby, "SELECT pg_is_in_recovery() AS r") == [{"r": False}]
    assert primary.exists()
