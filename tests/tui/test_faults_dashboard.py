"""The dashboard while servers appear, crash, recover and vanish under it, done by others."""

from __future__ import annotations

from typing import Any

from pglift_tui import ctl, instances
from pglift_tui.models import system

from .conftest import cell, dashboard, loaded, until
from .test_dashboard import make_app


async def test_changes_made_elsewhere_are_shown_and_said(make_instance: Any, settings: Any) -> None:
    instance = await make_instance("steady")
    app = make_app(settings, refresh=0.2)
    async with app.run_test(size=(120, 36), notifications=True) as pilot:
        await loaded(pilot)
        table = dashboard(app).table
        said = lambda: "\n".join(n.message for n in app._notifications)  # noqa: E731

        newcomer = await make_instance("newcomer")  # a script made it
        await until(pilot, lambda: "15/newcomer" in table.order, what="the new row")
        await until(pilot, lambda: "15/newcomer appeared" in said(), what="the appearance said")

        await ctl.kill(newcomer)  # it crashed
        await until(pilot, lambda: cell(app, "15/newcomer", "status") == "crashed", what="the crash shown")
        await until(pilot, lambda: "15/newcomer crashed" in said(), what="the crash said")

        await instances.start(newcomer)  # someone recovered it
        await until(pilot, lambda: cell(app, "15/newcomer", "status") == "running", what="the recovery")

        await instances.drop(system.Instance.system_lookup("newcomer", "15", settings))
        await until(pilot, lambda: "15/newcomer" not in table.order, what="the row gone")
        await until(pilot, lambda: "15/newcomer is gone" in said(), what="the drop said")
        # Nothing of it touched the other row, or the app.
        assert cell(app, "15/steady", "status") == "running"
        assert app.is_running
    assert instance.status().status == "running"


async def test_a_hung_server_leaves_the_other_rows_fresh(make_instance: Any, settings: Any) -> None:
    from ..functional.test_faults_hung import frozen

    await make_instance("healthy")
    hung = await make_instance("hung")
    app = make_app(settings, refresh=0.2)
    async with app.run_test(size=(120, 36)) as pilot:
        await loaded(pilot)
        table = dashboard(app).table
        await until(pilot, lambda: table.views["15/hung"].connections is not None, what="a first probe")
        with frozen(hung):
            await until(
                pilot, lambda: "no answer for" in (table.views["15/hung"].error or ""), what="silence"
            )
            assert cell(app, "15/hung", "status") == "unreachable"
            assert cell(app, "15/hung", "health").startswith("‼ no answer")
            # Meanwhile the healthy row goes on being probed, refresh after refresh.
            done = dashboard(app).refreshes
            await until(pilot, lambda: dashboard(app).refreshes >= done + 3, what="three more refreshes")
            assert table.views["15/healthy"].error is None
            assert table.views["15/healthy"].connections is not None
        await until(pilot, lambda: table.views["15/hung"].error is None, what="it answers again")
