"""An upgrade from the dashboard, on real PostgreSQL 15 and 18 servers."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from textual.message import Message

from pglift_tui import instances
from pglift_tui.models import system
from pglift_tui.tui.dialogs.upgrade import UpgradeDialog
from pglift_tui.tui.messages import ActionFailed, ActionProgress, ActionSucceeded

from ..conftest import make_settings
from ..functional.pg import query
from .conftest import cell, dashboard, loaded, unique, until
from .test_dashboard import goto, make_app


@pytest.fixture
def settings(short_tmp: Path) -> Any:
    return make_settings(short_tmp, pg18=True)


async def test_upgrade_from_the_dashboard_shows_each_step(make_instance: Any, settings: Any) -> None:
    old = await make_instance("app")
    await query(old, "CREATE TABLE t AS SELECT generate_series(1, 100) AS i")
    seen: list[Message] = []
    async with make_app(settings).run_test(size=(120, 36), message_hook=seen.append) as pilot:
        await loaded(pilot)
        await goto(pilot, "15/app")
        await pilot.press("u")
        await until(pilot, lambda: isinstance(pilot.app.screen, UpgradeDialog), what="the dialog")
        await pilot.press("ctrl+s")  # the defaults: 18, copy, then analyze
        table = dashboard(pilot.app).table
        succeeded = lambda: bool(unique(seen, ActionSucceeded) or unique(seen, ActionFailed))  # noqa: E731
        await until(pilot, succeeded, 120, "the upgrade to end")
        assert unique(seen, ActionFailed) == []
        await until(pilot, lambda: "18/app" in table.order, what="the new row")
        await until(
            pilot, lambda: cell(pilot.app, "15/app", "status") == "superseded", what="the old row superseded"
        )
        assert cell(pilot.app, "18/app", "status") == "running"
    assert unique(seen, ActionFailed) == []
    steps = [(m.step, m.state) for m in unique(seen, ActionProgress)]
    assert [s for s, state in steps if state == "done"] == ["init", "check", "copy", "start", "analyze"]
    [result] = unique(seen, ActionSucceeded)
    assert "upgraded to 18/app" in result.outcome.word
    new = system.Instance.system_lookup("app", "18", settings)
    assert (await query(new, "SELECT count(*) AS n FROM t")) == [{"n": 100}]
    assert old.status().status == "not running"
    assert instances.exists("app", "15", settings)
