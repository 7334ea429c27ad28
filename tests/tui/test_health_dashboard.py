"""Health in the table: a real trouble shows on its row, the jump key finds it, `a` mutes it."""

from __future__ import annotations

from typing import Any

import psycopg
from textual.message import Message

from pglift_tui import db, journal
from pglift_tui.health import HealthSettings
from pglift_tui.tui.dialogs.confirm import ConfirmDialog
from pglift_tui.tui.messages import ActionStarted, ActionSucceeded

from .conftest import cell, dashboard, loaded, unique, until
from .test_dashboard import goto, make_app


async def test_a_session_idle_in_transaction_shows_is_found_and_acknowledged(
    make_instance: Any, settings: Any
) -> None:
    await make_instance("calm")
    troubled = await make_instance("troubled")
    await make_instance("zen", state="stopped")
    health = HealthSettings.model_validate({"idle_in_transaction": {"warning": 0.5, "critical": 3600}})
    settings = settings.model_copy(update={"health": health})
    session = await psycopg.AsyncConnection.connect(db.conninfo(troubled, application_name="forgotten"))
    await session.execute("BEGIN")
    await session.execute("SELECT 1")
    seen: list[Message] = []
    try:
        app = make_app(settings)
        async with app.run_test(size=(120, 36), message_hook=seen.append) as pilot:
            await loaded(pilot)
            table = dashboard(app).table
            await until(
                pilot, lambda: cell(app, "15/troubled", "health").startswith("! idle xact"), what="it"
            )
            assert cell(app, "15/calm", "health") == ""
            status = str(dashboard(app).query_one("#status").render())
            assert "health: 1 warning" in status
            note_before = str(dashboard(app).query_one("#note").render())
            assert "idle in an open transaction" not in note_before  # the cursor is on another row

            # The jump key goes to it from wherever the cursor is, and round again.
            await goto(pilot, "15/zen")
            await pilot.press("n")
            assert table.cursor_key == "15/troubled"
            await pilot.press("n")
            assert table.cursor_key == "15/troubled"  # the only one: it stays
            note = str(dashboard(app).query_one("#note").render())
            assert f"pid {session.info.backend_pid}" in note and "idle in an open transaction" in note

            # On a row without a finding, `a` is dimmed and says why.
            await goto(pilot, "15/calm")
            assert dashboard(app).check_action("act", ("acknowledge",)) is None
            await pilot.press("a")
            await pilot.pause()
            assert unique(seen, ActionStarted) == []

            await goto(pilot, "15/troubled")
            await pilot.press("a")
            await until(pilot, lambda: isinstance(app.screen, ConfirmDialog), what="the confirmation")
            await pilot.press("y")
            await until(pilot, lambda: bool(unique(seen, ActionSucceeded)), what="the acknowledgement")
            await until(pilot, lambda: cell(app, "15/troubled", "health") == "· 1 ack'd", what="muted")
            assert "health: " not in str(dashboard(app).query_one("#status").render())
            await pilot.press("n")
            await pilot.pause()
            assert table.cursor_key == "15/troubled"  # nothing else in trouble: it stays

            # It clears when the session ends, and comes back unmuted.
            await session.rollback()
            await until(pilot, lambda: cell(app, "15/troubled", "health") == "", what="the finding cleared")
            await session.execute("BEGIN")
            await session.execute("SELECT 2")
            await until(
                pilot, lambda: cell(app, "15/troubled", "health").startswith("! idle xact"), what="back"
            )
    finally:
        await session.close()
    [done] = unique(seen, ActionSucceeded)
    assert done.outcome.word == "acknowledged: idle_in_transaction"
    actions = [
        e.action for e in journal.read(settings) if e.instance == "15/troubled" and "health" in e.action
    ]
    assert actions[:4] == ["health raised", "health cleared", "health acknowledged", "health raised"]
