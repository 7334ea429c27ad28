"""Faults: pid files that lie, and postmasters that die, on real servers.

Each case is what an operator meets after a crash, a full disk or a slip of the
hand: status must never call such a server running, nothing may be signalled that
is not provably the postmaster, and `start` must really start it.
"""

from __future__ import annotations

import os
import signal
import subprocess
from pathlib import Path
from typing import Any

import psutil

from pglift_tui import ctl, instances
from pglift_tui.status import status

from .pg import query, wait_for

#: Contents of postmaster.pid that name no process this instance could have.
BAD_PIDFILES = {
    "empty": "",
    "garbage": "\x00\x01 not a pid file\n",
    "pid-beyond-pid_t": "2147483648\n{datadir}\n1700000000\n{port}\n/tmp\nlocalhost\n 1 2\nready\n",
    "negative-pid": "-42\n{datadir}\n1700000000\n{port}\n/tmp\nlocalhost\n 1 2\nready\n",
    "huge-pid": "9" * 40 + "\n{datadir}\n1700000000\n{port}\n/tmp\nlocalhost\n 1 2\nready\n",
    "truncated": "12",
}


async def _answers(instance: Any) -> bool:
    return (await query(instance, "SELECT 1 AS one")) == [{"one": 1}]


async def _listed(instance: Any) -> tuple[str, int | None]:
    [item] = [i async for i in instances.ls(instance.settings)]
    return item.status, item.pid


async def test_pid_files_that_name_no_process_are_stale_and_start_recovers(make_instance: Any) -> None:
    instance = await make_instance()
    pidfile = instance.datadir / "postmaster.pid"
    for case, text in BAD_PIDFILES.items():
        await instances.stop(instance)
        pidfile.write_text(text.format(datadir=instance.datadir, port=instance.port))
        st = status(instance.datadir)
        assert (case, st.status) == (case, "crashed"), st.reason
        assert await _listed(instance) == ("crashed", None), case
        await instances.stop(instance)  # nothing to stop, and no OverflowError on the way
        await instances.start(instance)
        assert (case, instance.status().status) == (case, "running")
        assert await _answers(instance), case
    # The last one again, for drop: it removes the instance whatever the file says.
    await instances.stop(instance)
    pidfile.write_text(BAD_PIDFILES["pid-beyond-pid_t"].format(datadir=instance.datadir, port=instance.port))
    await instances.drop(instance)
    assert not instances.exists("main", "15", instance.settings)


async def test_an_unreadable_pid_file_is_crashed_and_start_recovers(make_instance: Any) -> None:
    instance = await make_instance()
    await instances.stop(instance)
    pidfile = instance.datadir / "postmaster.pid"
    pidfile.write_text(f"{os.getpid()}\n{instance.datadir}\n1\n")
    pidfile.chmod(0)
    assert status(instance.datadir).status == "crashed"
    await instances.start(instance)
    assert await _answers(instance)


async def test_a_running_server_whose_pid_file_was_clobbered_is_not_called_stopped(
    make_instance: Any,
) -> None:
    """The file is garbage but the postmaster works: running, and never deleted under it."""
    instance = await make_instance()
    pid = instance.status().pid
    (instance.datadir / "postmaster.pid").write_text("")
    st = status(instance.datadir)
    assert st.status == "running" and str(pid) in (st.reason or "")
    await instances.start(instance)  # nothing to start: the server runs
    assert psutil.pid_exists(pid) and await _answers(instance)


async def test_a_pid_file_naming_a_live_stranger(
    make_instance: Any, stranger: subprocess.Popen[bytes]
) -> None:
    instance = await make_instance()
    await ctl.kill(instance)
    path = instance.datadir / "postmaster.pid"
    lines = path.read_text().split("\n")
    lines[0] = str(stranger.pid)
    path.write_text("\n".join(lines))
    assert status(instance.datadir).status == "crashed"
    await instances.stop(instance)
    await instances.start(instance)
    assert await _answers(instance)
    assert stranger.poll() is None  # never signalled


async def test_sigkill_of_the_postmaster_reads_crashed_at_once_and_start_recovers(
    make_instance: Any,
) -> None:
    instance = await make_instance()
    pid = instance.status().pid
    assert pid is not None
    os.kill(pid, signal.SIGKILL)
    await wait_for(lambda: _gone(pid), what="the postmaster to exit")
    assert status(instance.datadir).status == "crashed"
    assert await _listed(instance) == ("crashed", None)
    await instances.start(instance)
    assert await _answers(instance)


async def _gone(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True


async def test_a_killed_postmaster_is_crashed_while_still_a_zombie(make_instance: Any) -> None:
    """The postmaster is our child here, so it stays a zombie until we reap it."""
    instance = await make_instance(state="stopped")
    proc = subprocess.Popen(
        [str(instance.bindir / "postgres"), "-D", str(instance.datadir)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        await wait_for(lambda: _phase_is(instance, "ready"), what="the server to be ready")
        proc.send_signal(signal.SIGKILL)
        await wait_for(lambda: _gone(proc.pid), what="the postmaster to die")
        assert psutil.Process(proc.pid).status() == psutil.STATUS_ZOMBIE  # not reaped yet
        st = status(instance.datadir)
        assert st.status == "crashed" and "zombie" in (st.reason or "")
    finally:
        proc.wait()
    await instances.start(instance)
    assert await _answers(instance)


async def _phase_is(instance: Any, phase: str) -> bool:
    return instance.status().phase == phase


def test_parse_pidfile_refuses_impossible_pids(tmp_path: Path) -> None:
    from pglift_tui.status import parse_pidfile

    assert parse_pidfile("2147483647\n/d\n1\n") is not None
    for pid in ("2147483648", "0", "-1", "9" * 30):
        assert parse_pidfile(f"{pid}\n/d\n1\n") is None, pid


async def test_stop_waits_for_a_pid_file_being_written_then_stops_the_server(make_instance: Any) -> None:
    """The window of a starting server: its postmaster runs, its pid file is still empty.

    A rollback stops a server whose start it interrupted; the stop must wait for the
    file to prove the postmaster and stop it, not give up and leave it running.
    """
    import asyncio

    instance = await make_instance()
    pid = instance.status().pid
    pidfile = instance.datadir / "postmaster.pid"
    written = pidfile.read_text()
    pidfile.write_text("")
    stopping = asyncio.create_task(ctl.stop(instance, "fast"))
    await asyncio.sleep(0)  # a turn of the loop: the stop is waiting on the processes now
    assert not stopping.done()
    pidfile.write_text(written)  # as the postmaster does a moment after creating it
    assert await stopping is True
    assert not psutil.pid_exists(pid) or psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    assert instance.status().status == "not running"
