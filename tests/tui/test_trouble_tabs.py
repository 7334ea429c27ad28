"""The troubleshooting tabs against real trouble: a lock queue, a slot, a COPY, statements."""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

import psycopg
from textual.message import Message

from pglift_tui import db
from pglift_tui.tui.dialogs.confirm import ConfirmDialog
from pglift_tui.tui.messages import ActionSucceeded
from pglift_tui.tui.screens.detail import DetailScreen
from pglift_tui.tui.widgets.trouble_tabs import LocksTab, ProgressTab, ReplicationTab, StatementsTab

from ..functional.pg import query
from .conftest import loaded, unique, until
from .test_dashboard import make_app


async def session(instance: Any, name: str) -> psycopg.AsyncConnection[Any]:
    return await psycopg.AsyncConnection.connect(
        db.conninfo(instance, application_name=name), autocommit=True
    )


async def test_locks_tab_ends_the_root_blocker_and_the_queue_moves(make_instance: Any, settings: Any) -> None:
    instance = await make_instance()
    await query(instance, "CREATE TABLE t (i int); INSERT INTO t VALUES (1)")
    blocker = await session(instance, "blocker")
    waiter = await session(instance, "waiter")
    second = await session(instance, "second")
    await blocker.execute("BEGIN")
    await blocker.execute("UPDATE t SET i = 2")
    blocker_pid = blocker.info.backend_pid
    # Two sessions queue behind the blocker's row lock.
    waiting = asyncio.ensure_future(waiter.execute("UPDATE t SET i = 3"))
    behind = asyncio.ensure_future(second.execute("UPDATE t SET i = 4"))
    seen: list[Message] = []
    try:
        async with make_app(settings, refresh=0.3).run_test(
            size=(120, 36), message_hook=seen.append
        ) as pilot:
            await loaded(pilot)
            await pilot.press("enter")
            await until(pilot, lambda: isinstance(pilot.app.screen, DetailScreen), what="the detail screen")
            screen = pilot.app.screen
            await pilot.press("7")

            def queued() -> bool:
                tabs = screen.query(LocksTab)
                return bool(tabs) and len(tabs.first().rows) == 3

            await until(pilot, queued, what="the lock queue")
            tab = screen.query_one(LocksTab)
            root = tab.rows[0]
            assert root[0] == blocker_pid and root[2] == 2  # the root first, two behind it
            assert "UPDATE t SET i = 2" in root[8]
            # Each waiter says what it waits for (mode, object) and since when.
            assert all(row[3] and row[4] and row[5] for row in tab.rows[1:])
            assert all(row[1].lstrip().startswith("└ ") for row in tab.rows[1:])
            summary = str(screen.query_one("#locks-summary").render())
            assert f"root blocker(s): {blocker_pid} (2 behind it)" in summary
            await pilot.press("K")
            await until(pilot, lambda: isinstance(pilot.app.screen, ConfirmDialog), what="the confirmation")
            await pilot.press("y")
            await until(pilot, lambda: bool(unique(seen, ActionSucceeded)), what="the termination")
            await asyncio.wait_for(waiting, 10)  # the waiter runs now
            await until(pilot, lambda: len(screen.query_one(LocksTab).rows) <= 2, what="the queue shorter")
    finally:
        for task in (waiting, behind):
            task.cancel()
        for cnx in (blocker, waiter, second):
            with contextlib.suppress(Exception):
                await cnx.close()
    [done] = unique(seen, ActionSucceeded)
    assert done.outcome.word == f"backend {blocker_pid} terminated"
    assert not await query(instance, "SELECT 1 FROM pg_stat_activity WHERE pid = %s", blocker_pid)


async def test_replication_progress_and_statements_tabs(make_instance: Any, settings: Any) -> None:
    instance = await make_instance(settings={"shared_preload_libraries": "pg_stat_statements"})
    await query(instance, "SELECT pg_create_physical_replication_slot('forgotten', true)")
    await query(instance, "CREATE TABLE t (i int)")
    copying = await session(instance, "copy")
    # A COPY that takes its time, fed by a program: the progress view shows it meanwhile.
    copy = asyncio.ensure_future(copying.execute("COPY t FROM PROGRAM 'sleep 30; echo 1'"))
    try:
        async with make_app(settings, refresh=0.3).run_test(size=(120, 36)) as pilot:
            await loaded(pilot)
            await pilot.press("enter")
            await until(pilot, lambda: isinstance(pilot.app.screen, DetailScreen), what="the detail screen")
            screen = pilot.app.screen
            await pilot.press("8")

            def slot_shown() -> bool:
                tabs = screen.query(ReplicationTab)
                return bool(tabs) and "forgotten (physical, INACTIVE" in str(
                    tabs.first().query_one("Static").render()
                )

            await until(pilot, slot_shown, what="the inactive slot")
            await pilot.press("9")

            def copy_shown() -> bool:
                tabs = screen.query(ProgressTab)
                return bool(tabs) and any(r[1] == "COPY FROM" and r[2] == "t" for r in tabs.first().rows)

            await until(pilot, copy_shown, what="the COPY in progress")
            await pilot.press("0")

            def advice() -> bool:
                tabs = screen.query(StatementsTab)
                return bool(tabs) and "CREATE EXTENSION" in str(
                    tabs.first().query_one("#statements-summary").render()
                )

            await until(pilot, advice, what="how to enable pg_stat_statements")
            await query(instance, "CREATE EXTENSION pg_stat_statements")
            await query(instance, "SELECT count(*) FROM t WHERE i > 41")

            def listed() -> bool:
                tab = screen.query_one(StatementsTab)
                return any("FROM t WHERE i >" in str(r[4]) for r in tab.rows)

            await until(pilot, listed, what="the statement listed")
    finally:
        copy.cancel()
        with contextlib.suppress(Exception):
            await copying.cancel_safe()
        with contextlib.suppress(Exception):
            await copying.close()
