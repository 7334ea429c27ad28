"""Health checks of sessions, made for real: idle transactions, lock queues, long queries.

Each trouble is seen by `pglift-tui check` run as a monitoring system runs it and by
the core's own look. Thresholds of 0 s make a trouble count at once, so nothing waits
for a clock: only for the server to show the state asked for.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from pglift_tui import db, journal
from pglift_tui.exceptions import InstanceStateError
from pglift_tui.health import state

from ..conftest import MakeInstance
from .healthcheck import check, check_json, look, only, with_health
from .pg import query, wait_for

NOW = {"warning": 0, "critical": "1h"}


async def session_state(instance: Any, pid: int) -> dict[str, Any]:
    rows = await query(instance, "SELECT state, wait_event_type FROM pg_stat_activity WHERE pid = %s", pid)
    return rows[0] if rows else {}


async def test_a_session_idle_in_transaction_and_thresholds_deciding(
    make_instance: MakeInstance, settings: Any
) -> None:
    instance = await make_instance("main")
    async with db.connect(instance) as cnx:
        await cnx.execute("BEGIN")
        await cnx.execute("SELECT 1 AS forgotten\n  , 2 AS not_shown")
        pid = cnx.info.backend_pid

        async def idle() -> bool:
            return (await session_state(instance, pid)).get("state") == "idle in transaction"

        await wait_for(idle, what="the session idle in its transaction")

        # The defaults (5 min) say nothing of a session idle for a moment.
        assert check_json(settings) == (0, [])
        assert [f.check for f in await look(settings)] == []

        code, findings = check_json(settings, health={"idle_in_transaction": NOW})
        assert code == 1
        found = only(findings, "idle_in_transaction")
        assert set(found) == {
            "instance",
            "manager",
            "check",
            "severity",
            "message",
            "value",
            "threshold",
            "unit",
        }
        assert (found["instance"], found["manager"], found["severity"]) == ("15/main", "pglift", "warning")
        assert f"pid {pid} " in found["message"] and "SELECT 1 AS forgotten" in found["message"]
        assert "not_shown" not in found["message"]
        assert found["threshold"] == 0 and found["unit"] == "s" and found["value"] >= 0

        core = only(await look(settings, {"idle_in_transaction": NOW}), "idle_in_transaction")
        assert core.severity == "warning" and f"pid {pid} " in core.message

        code, findings = check_json(settings, health={"idle_in_transaction": {"warning": 0, "critical": 0}})
        assert code == 2 and only(findings, "idle_in_transaction")["severity"] == "critical"

        text = check(settings, health={"idle_in_transaction": NOW})
        assert text.returncode == 1
        line = text.stdout.splitlines()[0]
        assert line.startswith(
            "PGLIFT_TUI WARNING: 1 warning on 1 of 1 instance: 15/main idle_in_transaction: pid"
        )
        assert " 15/main.idle_in_transaction=" in line and ";0;3600" in line
        await cnx.execute("COMMIT")
    assert check_json(settings, health={"idle_in_transaction": NOW}) == (0, [])


async def test_a_lock_queue_names_the_waiter_and_its_blocker(
    make_instance: MakeInstance, settings: Any
) -> None:
    instance = await make_instance("main")
    await query(instance, "CREATE TABLE queue_t (id int)")
    async with db.connect(instance) as holder, db.connect(instance) as w1, db.connect(instance) as w2:
        await holder.execute("BEGIN")
        await holder.execute("LOCK TABLE queue_t IN ACCESS EXCLUSIVE MODE")
        first = asyncio.create_task(w1.execute("SELECT count(*) FROM queue_t"))

        def waiting(pid: int) -> Any:
            async def condition() -> bool:
                return (await session_state(instance, pid)).get("wait_event_type") == "Lock"

            return condition

        await wait_for(waiting(w1.info.backend_pid), what="the first session waiting for the lock")
        second = asyncio.create_task(w2.execute("SELECT * FROM queue_t"))
        await wait_for(waiting(w2.info.backend_pid), what="the second session waiting for the lock")

        code, findings = check_json(settings, health={"blocked": NOW})
        assert code == 1
        message = only(findings, "blocked")["message"]
        # The oldest waiter is named, with the session that holds the lock and its query.
        assert message.startswith(f"pid {w1.info.backend_pid} has waited ")
        assert "SELECT count(*) FROM queue_t" in message
        assert f"blocked by pid {holder.info.backend_pid} (idle in transaction: LOCK TABLE queue_t" in message
        assert "2 sessions wait for locks" in message
        core = only(await look(settings, {"blocked": NOW}), "blocked")
        assert f"blocked by pid {holder.info.backend_pid} " in core.message

        await holder.execute("COMMIT")
        await asyncio.gather(first, second)
    assert check_json(settings, health={"blocked": NOW}) == (0, [])


async def test_a_long_query_names_its_pid_and_first_line(make_instance: MakeInstance, settings: Any) -> None:
    instance = await make_instance("main")
    async with db.connect(instance) as worker:
        pid = worker.info.backend_pid
        running = asyncio.create_task(worker.execute("SELECT pg_sleep(60)\n  AS the_second_line"))

        async def active() -> bool:
            return (await session_state(instance, pid)).get("state") == "active"

        await wait_for(active, what="the query running")
        code, findings = check_json(settings, health={"long_query": NOW})
        assert code == 1
        message = only(findings, "long_query")["message"]
        assert message.startswith(f"pid {pid} has run one query for ")
        assert "in database postgres as postgres: SELECT pg_sleep(60)" in message
        assert "the_second_line" not in message
        await query(instance, "SELECT pg_cancel_backend(%s)", pid)
        with pytest.raises(Exception, match="canceling statement"):
            await running


async def test_connections_against_what_ordinary_roles_may_use(
    make_instance: MakeInstance, settings: Any
) -> None:
    instance = await make_instance("main", settings={"max_connections": 20})
    async with db.connect(instance), db.connect(instance):
        server = (
            await query(
                instance,
                "SELECT count(*) FILTER (WHERE backend_type = 'client backend') AS used,"
                " current_setting('superuser_reserved_connections')::int AS reserved FROM pg_stat_activity",
            )
        )[0]
        code, findings = check_json(settings, health={"connections": {"warning": "5%", "critical": "95%"}})
        assert code == 1
        found = only(findings, "connections")
        # The probe's own connection is one of those counted.
        left = 20 - server["reserved"]
        assert f" of the {left} connections left to ordinary roles are in use" in found["message"]
        assert found["value"] == pytest.approx(100 * server["used"] / left, abs=0.01)


async def test_transitions_and_acknowledgements_are_journaled_once(
    make_instance: MakeInstance, settings: Any
) -> None:
    instance = await make_instance("main")
    warn = with_health(settings, {"idle_in_transaction": NOW})
    crit = with_health(settings, {"idle_in_transaction": {"warning": 0, "critical": 0}})
    from pglift_tui.health import runner

    async def look_and_record(s: Any) -> list[state.Transition]:
        return await asyncio.to_thread(state.record, s, await runner.run(s), complete=True)

    async with db.connect(instance) as cnx:
        await cnx.execute("BEGIN")
        await cnx.execute("SELECT 1")
        assert await look_and_record(warn) != []
        raised = state.history(settings)
        assert [e.action for e in raised] == ["health raised"]
        event = raised[0]
        assert (event.instance, event.datadir) == ("15/main", str(instance.datadir))
        assert event.details["check"] == "idle_in_transaction" and event.details["severity"] == "warning"
        assert event.message and f"pid {cnx.info.backend_pid} " in event.message

        # Seen again, by this process and by a monitoring system's: no second line.
        assert await look_and_record(warn) == []
        assert check(settings, health={"idle_in_transaction": NOW}).returncode == 1
        assert [e.action for e in state.history(settings)] == ["health raised"]

        assert state.acknowledge(settings, "15/main", "idle_in_transaction", "warning") is True
        assert state.acknowledge(settings, "15/main", "idle_in_transaction", "warning") is False
        muted = ("pglift", "15/main", "idle_in_transaction", "warning")
        assert state.acknowledged(settings) == {muted}
        with pytest.raises(InstanceStateError, match="no critical idle_in_transaction finding"):
            state.acknowledge(settings, "15/main", "idle_in_transaction", "critical")

        # Worse: news again, no longer muted.
        [changed] = await look_and_record(crit)
        assert (changed.change, changed.previous, changed.severity) == ("changed", "warning", "critical")
        assert state.acknowledged(settings) == frozenset()
        await cnx.execute("COMMIT")
        [cleared] = await look_and_record(crit)
        assert (cleared.change, cleared.previous, cleared.severity) == ("cleared", "critical", None)

        await cnx.execute("BEGIN")
        await cnx.execute("SELECT 2")
        [back] = await look_and_record(warn)
        assert back.change == "raised" and state.acknowledged(settings) == frozenset()
        await cnx.execute("COMMIT")

    actions = [e.action for e in state.history(settings, instance="15/main")]
    assert actions == [
        "health raised",
        "health cleared",
        "health changed",
        "health acknowledged",
        "health raised",
    ]
    # They are journal lines like any other: the events log and History read them.
    assert [e.action for e in journal.read(settings, datadir=instance.datadir)][:5] == actions
