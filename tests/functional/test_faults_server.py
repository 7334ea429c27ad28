"""Faults: servers that will not start, configurations that will not load, stops that hang.

Each failure must carry the server's own words (its log lines), leave a running
server running, and never report a state that did not happen.
"""

from __future__ import annotations

import asyncio
import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from pglift_tui import db, instances, journal
from pglift_tui.exceptions import CommandError, ConfigurationError, InstanceNotFound, InstanceStateError

from ..conftest import MakeInstance
from .faults import cli, cli_env
from .pg import query, show


async def _answers(instance: Any) -> bool:
    return (await query(instance, "SELECT 1 AS one")) == [{"one": 1}]


def _append(path: Path, text: str) -> str:
    before = path.read_text()
    path.write_text(before + text)
    return before


async def test_servers_that_fail_to_start_say_why_in_their_own_words(make_instance: MakeInstance) -> None:
    instance = await make_instance(state="stopped")
    hba = instance.datadir / "pg_hba.conf"
    good_hba = _append(hba, "hostt all all 0.0.0.0/0 scram-sha-256\n")
    with pytest.raises(CommandError, match=r"could not start: could not load .*pg_hba\.conf") as info:
        await instances.start(instance)
    assert any('invalid connection type "hostt"' in line for line in info.value.log_lines)
    assert instance.status().status == "not running"
    hba.write_text(good_hba)

    moved = instance.logdir.with_name("old-logs")
    shutil.move(instance.logdir, moved)  # no file of its own left to append to
    instance.logdir.mkdir(mode=0o700)
    instance.logdir.chmod(0o500)  # and the log directory cannot be written
    try:
        with pytest.raises(CommandError, match="could not start") as info:
            await instances.start(instance)
        assert "Permission denied" in str(info.value) + " ".join(info.value.log_lines)
        assert instance.status().status == "not running"
    finally:
        instance.logdir.chmod(0o700)
        instance.logdir.rmdir()
        shutil.move(moved, instance.logdir)

    shutil.move(instance.waldir, instance.waldir.with_name("wal.moved"))  # WAL gone from under it
    try:
        with pytest.raises(CommandError, match="could not start") as info:
            await instances.start(instance)
        assert any("pg_wal" in line for line in info.value.log_lines)
        assert instance.status().status == "not running"
    finally:
        shutil.move(instance.waldir.with_name("wal.moved"), instance.waldir)
    await instances.start(instance)  # each cause removed: it starts
    assert await _answers(instance)


async def test_a_missing_data_directory(settings: Any, make_instance: MakeInstance) -> None:
    instance = await make_instance(state="stopped")
    shutil.rmtree(instance.datadir)
    with pytest.raises(InstanceNotFound, match="no cluster in"):
        await instances.start(instance)  # an object made before it went
    done = cli(settings, "start", "main")
    assert done.returncode == 3 and "not found" in done.stderr and "Traceback" not in done.stderr


async def test_reload_of_a_bad_value_or_a_syntax_error_keeps_the_old_values(
    make_instance: MakeInstance,
) -> None:
    instance = await make_instance(settings={"work_mem": "8MB"})
    path = instance.datadir / "postgresql.conf"
    for broken, words in (("work_mem = 'lots'\n", "work_mem"), ("work_mem = = 4MB\n", "syntax error")):
        good = _append(path, broken)
        with pytest.raises(ConfigurationError, match=words):
            await instances.reload(instance)
        assert await show(instance, "work_mem") == "8MB"
        path.write_text(good)
    await instances.reload(instance)
    assert await show(instance, "work_mem") == "8MB"


async def test_restart_with_a_broken_configuration_is_refused_before_stopping(
    make_instance: MakeInstance,
) -> None:
    instance = await make_instance()
    pid = instance.status().pid
    path = instance.datadir / "postgresql.conf"
    for broken in ("shared_buffers = 'lots'\n", "max_connections = = 3\n", "no_such_parameter = 1\n"):
        good = _append(path, broken)
        with pytest.raises(ConfigurationError, match="the configuration has errors"):
            await instances.restart(instance)
        assert instance.status().pid == pid  # never stopped
        path.write_text(good)
    assert await _answers(instance)


async def test_a_smart_stop_that_times_out_from_the_command_line(
    settings: Any, make_instance: MakeInstance
) -> None:
    instance = await make_instance()
    async with db.connect(instance) as session:  # a smart stop waits for every session
        done = await asyncio.to_thread(cli, settings, "stop", "main", "--mode", "smart", "--timeout", "1")
        assert done.returncode == 1, done.stderr
        assert "still running" in done.stderr and "hint:" in done.stderr
        listed = json.loads(cli(settings, "ls", "--json").stdout)
        assert [i["status"] for i in listed] == ["running"]
        await session.execute("SELECT 1")
    [event] = [e for e in journal.read(settings, limit=3) if e.action == "stop"]
    assert event.result == "failed"


async def test_a_script_and_the_api_acting_at_once(settings: Any, make_instance: MakeInstance) -> None:
    """A CLI restart in another process and an API restart here: one after the other, both real."""
    instance = await make_instance()
    first_pid = instance.status().pid
    script = subprocess.Popen(
        [sys.executable, "-m", "pglift_tui", "restart", "main"],
        env=cli_env(settings, lock_timeout=60),
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        await instances.restart(instance)
        _, err = await asyncio.to_thread(script.communicate, timeout=120)
    finally:
        script.kill()
    assert script.returncode == 0, err
    assert instance.status().status == "running" and instance.status().pid != first_pid
    restarts = [e for e in journal.read(settings, limit=4) if e.action == "restart"]
    assert (
        len(restarts) == 2 and len({e.pid for e in restarts}) == 2 and {e.result for e in restarts} == {"ok"}
    )
    later, earlier = restarts
    assert later.time - later.duration >= earlier.time - 0.001, "the two restarts overlapped"
    assert await _answers(instance)


async def test_a_stopped_instance_started_twice_and_stopped_twice(make_instance: MakeInstance) -> None:
    """What operators do repeatedly: no-ops report no change, each real action is one journal line."""
    instance = await make_instance(state="stopped")
    for _ in range(2):
        await instances.start(instance)
        await instances.start(instance)
        assert await _answers(instance)
        await instances.stop(instance)
        await instances.stop(instance)
        assert instance.status().status == "not running"
    with pytest.raises(InstanceStateError, match="not running"):
        await instances.reload(instance)
