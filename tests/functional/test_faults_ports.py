"""Faults: ports taken by others, and two operations claiming one port at once."""

from __future__ import annotations

import asyncio
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from pglift_tui import instances
from pglift_tui.exceptions import CommandError, PortInUse
from pglift_tui.models import interface

from ..conftest import MakeInstance, free_port
from .pg import query, wait_for


async def test_a_port_change_waits_for_a_creation_on_that_port(
    settings: Any, make_instance: MakeInstance
) -> None:
    settings = settings.model_copy(update={"lock_timeout": 60})
    other = await make_instance("other")
    port = free_port()
    creating = asyncio.create_task(instances.apply(settings, interface.Instance(name="new", port=port)))
    datadir = Path(settings.prefix) / "srv/pgsql/15/new/data"
    # The creation checked the port and is in initdb: its own port is not written yet.
    await wait_for(lambda: _is_dir(datadir / "base"), what="initdb to run")
    with pytest.raises(PortInUse, match=f"port {port} is already used by instance 15/new"):
        await instances.apply(settings, interface.Instance(name="other", port=port))
    await creating
    listed = {i.name: i.port async for i in instances.ls(settings)}
    assert listed["new"] == port and listed["other"] == other.port != port


async def _is_dir(path: Path) -> bool:
    return path.is_dir()


async def test_two_port_changes_to_one_port_at_once(settings: Any, make_instance: MakeInstance) -> None:
    settings = settings.model_copy(update={"lock_timeout": 60})
    first, second = await make_instance("first"), await make_instance("second")
    port = free_port()
    results = await asyncio.gather(
        instances.apply(settings, interface.Instance(name="first", port=port)),
        instances.apply(settings, interface.Instance(name="second", port=port)),
        return_exceptions=True,
    )
    assert sorted(type(r).__name__ for r in results) == ["InstanceApplyResult", "PortInUse"]
    ports = sorted([first.port, second.port])
    assert ports[0] != ports[1] and port in ports


async def test_a_tcp_listener_on_the_port_at_start(make_instance: MakeInstance) -> None:
    instance = await make_instance(state="stopped")
    with socket.socket() as listener:
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", instance.port))
        listener.listen()
        with pytest.raises(
            CommandError, match="could not start: could not create any TCP/IP sockets"
        ) as info:
            await instances.start(instance)
        assert any("Address already in use" in line for line in info.value.log_lines)
        assert instance.status().status == "not running"
    await instances.start(instance)
    assert (await query(instance, "SELECT 1 AS one")) == [{"one": 1}]


async def test_a_live_strangers_socket_lock_at_start(make_instance: MakeInstance) -> None:
    """Another server's socket lock file for this port (a server we did not make, say)."""
    instance = await make_instance(state="stopped")
    stranger = subprocess.Popen([sys.executable, "-c", "import sys; sys.stdin.read()"], stdin=subprocess.PIPE)
    lock = instance.live_socket_directory() / f".s.PGSQL.{instance.port}.lock"
    try:
        lock.write_text(f"{stranger.pid}\n/elsewhere/data\n{int(time.time())}\n{instance.port}\n")
        with pytest.raises(CommandError, match="could not start") as info:
            await instances.start(instance)
        assert any(str(lock) in line for line in info.value.log_lines)
        assert instance.status().status == "not running"
        assert stranger.poll() is None and lock.exists()  # not ours: left alone
    finally:
        stranger.kill()
        stranger.wait()
    await instances.start(instance)  # the stranger is gone: the server clears its lock itself
    assert (await query(instance, "SELECT 1 AS one")) == [{"one": 1}]
