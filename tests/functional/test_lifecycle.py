"""start, stop, restart, stopped and the status behind them, on real servers."""

from __future__ import annotations

import asyncio
import contextvars
import logging
import subprocess
from pathlib import Path
from typing import Any

import psycopg
import pytest

from pglift_tui import ctl, db, instances
from pglift_tui.exceptions import InstanceBusy, InstanceStateError
from pglift_tui.status import status

from .pg import query, wait_for


def _point_pidfile_at(instance: Any, pid: int) -> None:
    path = instance.datadir / "postmaster.pid"
    lines = path.read_text().split("\n")
    lines[0] = str(pid)
    path.write_text("\n".join(lines))


async def test_stop_start_restart_against_the_server(make_instance: Any) -> None:
    instance = await make_instance()
    first_pid = instance.status().pid
    await instances.restart(instance)
    second_pid = instance.status().pid
    assert second_pid not in (None, first_pid)
    assert (await query(instance, "SELECT pg_backend_pid() > 0 AS ok"))[0]["ok"]
    await instances.stop(instance)
    assert instance.status().status == "not running"
    assert not (instance.datadir / "postmaster.pid").exists()
    with pytest.raises(psycopg.OperationalError):
        await query(instance, "SELECT 1")
    await instances.start(instance)
    st = instance.status()
    assert (st.status, st.phase) == ("running", "ready")


async def test_start_and_stop_are_no_ops_in_the_state_asked(make_instance: Any, settings: Any) -> None:
    instance = await make_instance()
    pid = instance.status().pid
    await instances.start(instance)
    assert instance.status().pid == pid
    await instances.stop(instance)
    await instances.stop(instance)
    from pglift_tui import journal

    assert [e.result for e in journal.read(settings, limit=4)] == ["unchanged", "ok", "unchanged", "ok"]


@pytest.mark.parametrize("mode", ["smart", "fast", "immediate"])
async def test_stop_modes(make_instance: Any, mode: str) -> None:
    instance = await make_instance()
    await instances.stop(instance, mode=mode)
    assert instance.status().status == "not running"


async def test_smart_stop_that_times_out_is_not_reported_stopped(make_instance: Any) -> None:
    instance = await make_instance()
    async with db.connect(instance) as session:  # a smart stop waits for this session
        with pytest.raises(InstanceStateError, match=r"still running .* smart stop"):
            await instances.stop(instance, mode="smart", timeout=1)
        assert instance.status().status == "running"
        await session.execute("SELECT 1")
    await instances.stop(instance, mode="fast")
    assert instance.status().status == "not running"


async def test_stale_pidfile_naming_a_stranger_is_crashed_and_never_signalled(
    make_instance: Any, stranger: subprocess.Popen[bytes]
) -> None:
    instance = await make_instance()
    await ctl.kill(instance)  # a crash: the pid file stays
    _point_pidfile_at(instance, stranger.pid)
    st = status(instance.datadir)
    assert st.status == "crashed"
    assert "started at another time" in (st.reason or "") or "runs in" in (st.reason or "")
    items = [item async for item in instances.ls(instance.settings)]
    assert [(i.status, i.pid) for i in items] == [("crashed", None)]
    await instances.stop(instance)  # nothing to stop: the stranger must survive
    assert stranger.poll() is None
    await instances.start(instance)  # recovers: the stale file is removed, not the stranger
    assert instance.status().status == "running"
    assert stranger.poll() is None


async def test_start_after_a_crash_with_a_dead_pid(make_instance: Any) -> None:
    instance = await make_instance()
    await ctl.kill(instance)
    assert instance.status().status == "crashed"
    await instances.start(instance)
    assert instance.status().status == "running"
    assert (await query(instance, "SELECT 1 AS one")) == [{"one": 1}]


async def test_stopped_restores_the_prior_state(make_instance: Any) -> None:
    running = await make_instance("up")
    async with instances.stopped(running):
        assert running.status().status == "not running"
    assert running.status().status == "running"
    down = await make_instance("down", state="stopped")
    async with instances.stopped(down):
        assert down.status().status == "not running"
    assert down.status().status == "not running"


async def test_stopped_restarts_even_when_the_block_fails(make_instance: Any) -> None:
    instance = await make_instance()
    with pytest.raises(RuntimeError):
        async with instances.stopped(instance):
            raise RuntimeError("boom")
    assert instance.status().status == "running"


async def test_an_action_held_by_another_process_is_busy(make_instance: Any, hold_lock: Any) -> None:
    instance = await make_instance()
    holder = hold_lock("15-main", "upgrade")
    with pytest.raises(InstanceBusy, match=rf"busy: upgrade by pid {holder} \(.*\) since"):
        await instances.stop(instance)
    assert instance.status().status == "running"


async def test_concurrent_actions_in_one_process_run_one_at_a_time(
    make_instance: Any, settings: Any, caplog: pytest.LogCaptureFixture
) -> None:
    from pglift_tui import journal, locks

    instance = await make_instance()
    pids = [instance.status().pid]
    # Held here, the lock makes a restart wait: nothing happens to the server meanwhile.
    caplog.set_level(logging.INFO, logger="pglift_tui.locks")
    async with locks.instance_lock(settings, instance.qualname, "test"):
        # A task of its own context: tasks made here would inherit this one's held lock.
        waiting = asyncio.create_task(instances.restart(instance), context=contextvars.Context())
        await wait_for(
            lambda: _logged(caplog, "waiting for 15/main: test by pid"), what="the restart to wait"
        )
        assert instance.status().pid == pids[0] and not waiting.done()
    await waiting
    pids.append(instance.status().pid)
    # Two at once: one after the other, never overlapping, each a real restart.
    await asyncio.gather(instances.restart(instance), instances.restart(instance))
    pids.append(instance.status().pid)
    assert len(set(pids)) == 3 and instance.status().status == "running"
    second, first = [e for e in journal.read(settings, limit=2) if e.action == "restart"]
    assert second.time - second.duration >= first.time - 0.001, "the two restarts overlapped"


async def _logged(caplog: pytest.LogCaptureFixture, text: str) -> bool:
    return any(text in record.getMessage() for record in caplog.records)


async def test_failed_start_raises_with_log_lines(make_instance: Any) -> None:
    instance = await make_instance(state="stopped")
    conf = instance.datadir / "postgresql.conf"
    conf.write_text(conf.read_text() + "shared_preload_libraries = 'missing_lib'\n")
    with pytest.raises(instances_errors().CommandError) as excinfo:
        await instances.start(instance)
    assert any("missing_lib" in line for line in excinfo.value.log_lines)
    assert instance.status().status == "not running"


def instances_errors() -> Any:
    from pglift_tui import exceptions

    return exceptions


async def test_restart_refuses_a_broken_configuration_and_keeps_running(make_instance: Any) -> None:
    instance = await make_instance()
    pid = instance.status().pid
    conf = instance.datadir / "postgresql.conf"
    conf.write_text(conf.read_text() + "shared_buffers = 'lots'\n")
    with pytest.raises(instances_errors().ConfigurationError, match="shared_buffers"):
        await instances.restart(instance)
    assert instance.status().pid == pid
    await wait_for(lambda: _answers(instance), what="the server to answer")


async def _answers(instance: Any) -> bool:
    return (await query(instance, "SELECT 1 AS one")) == [{"one": 1}]


def test_pidfile_lines(tmp_path: Path) -> None:
    from pglift_tui.status import parse_pidfile

    text = "123\n/data\n1700000000\n5432\n/run/pg\nlocalhost\n  5432001  1\nstopping\n"
    parsed = parse_pidfile(text)
    assert parsed is not None
    assert (parsed.pid, parsed.port, parsed.socket_dir, parsed.phase) == (123, 5432, "/run/pg", "stopping")
    assert parse_pidfile("123\n") is None
