"""A few real instances in a prefix of their own, so a newcomer sees the tool at work.

`pglift-tui --demo` makes them if missing (two running primaries, a streaming
standby of the first, one stopped, one crashed) and opens the dashboard on them;
`--demo --reset` removes all the demo made. The crashed one is a real crash: its
postmaster is killed, leaving a stale pid file.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import math
import os
import shutil
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import platformdirs

from . import binaries, ctl, db, instances, ports
from .fs import ensure_private_dir
from .models import interface, system
from .settings import APP, DiscoverySettings, Settings, default_run_prefix

FIRST_PORT = 5440


@dataclass(frozen=True)
class DemoInstance:
    name: str
    state: str
    settings: dict[str, object]


DEMO = (
    DemoInstance("main", "started", {"work_mem": "16MB", "log_min_duration_statement": "250ms"}),
    DemoInstance("reporting", "started", {"max_connections": 40, "shared_buffers": "64MB"}),
    DemoInstance("replica", "standby of main", {}),
    DemoInstance("archive", "stopped", {}),
    DemoInstance("legacy", "crashed", {}),
)


def settings() -> Settings:
    """Demo settings: everything under the user's data dir, apart from real instances."""
    prefix = platformdirs.user_data_path(APP) / "demo"
    # The demo shows its own instances only: the host's other servers are for the real dashboard.
    return Settings(
        prefix=prefix,
        run_prefix=default_run_prefix() / "demo",
        state_dir=prefix / "state",
        discovery=DiscoverySettings(debian=False, unmanaged=False),
    )


def _free_port(taken: set[int], settings: Settings) -> int:
    port = FIRST_PORT
    while port in taken or ports.holder(port, settings) is not None:
        port += 1
    taken.add(port)
    return port


async def _crash(instance: system.Instance) -> None:
    """Kill the postmaster outright, as a crash would: the pid file stays behind."""
    await instances.start(instance)
    await ctl.kill(instance)


async def ensure(settings: Settings) -> list[str]:
    """Create the demo instances that are missing; the names created."""
    made = []
    taken: set[int] = set()
    for demo in DEMO:
        if instances.exists(demo.name, None, settings):
            continue
        state = "stopped" if demo.state == "stopped" else "started"
        fields: dict[str, object] = {
            "name": demo.name,
            "port": _free_port(taken, settings),
            "state": state,
            "settings": demo.settings,
        }
        if demo.state.startswith("standby of "):
            primary = system.Instance.system_lookup(demo.state.split()[-1], None, settings)
            await instances.start(primary)
            fields["standby"] = {
                "primary_conninfo": f"host={primary.live_socket_directory()} port={primary.port} "
                f"user={settings.postgresql.replrole}",
                "slot": demo.name,
            }
        manifest = interface.Instance.model_validate(fields)
        await instances.apply(settings, manifest)
        if demo.state == "crashed":
            await _crash(system.Instance.system_lookup(demo.name, None, settings))
        made.append(demo.name)
    return made


#: Transactions per second the demo's workload aims at, per instance: (low, high).
WORKLOAD = {"main": (5.0, 40.0), "reporting": (1.0, 8.0)}
#: Seconds for the workload to go from low to high and back.
WORKLOAD_PERIOD = 90.0


async def workload(settings: Settings) -> None:
    """Small transactions on the demo's running instances, at a rate that rises and falls.

    Runs until cancelled, so the dashboard's transaction-rate lines have something
    to draw. An instance that is stopped meanwhile is simply skipped.
    """
    import psycopg

    async def drive(name: str, low: float, high: float) -> None:
        instance = system.PostgreSQLInstance(name, binaries.default_version(settings), settings)
        started = time.monotonic()
        while True:
            phase = (time.monotonic() - started) / WORKLOAD_PERIOD * 2 * math.pi
            rate = low + (high - low) * (1 - math.cos(phase)) / 2
            try:
                # One short session a second: PostgreSQL 15 flushes a busy session's
                # counters to pg_stat_database late, but always when it ends.
                async with db.connect(instance) as cnx:
                    for _ in range(round(rate)):
                        await cnx.execute("SELECT 1")
                        await asyncio.sleep(1 / rate)
            except (psycopg.Error, OSError):
                await asyncio.sleep(5)  # stopped or restarting: try again later

    await asyncio.gather(*(drive(name, low, high) for name, (low, high) in WORKLOAD.items()))


def workload_lock(settings: Settings) -> Path:
    return settings.run_prefix / "workload.lock"


def start_workload(settings: Settings) -> threading.Thread | None:
    """Run `workload` in a daemon thread, unless a dashboard of this demo already runs one.

    One workload per demo, whoever opens it: the first dashboard holds a lock for as
    long as its process lives, and the others leave the load to it (None).
    """
    ensure_private_dir(settings.run_prefix)
    fd = os.open(workload_lock(settings), os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        return None

    def run() -> None:
        try:
            with contextlib.suppress(Exception):
                asyncio.run(workload(settings))
        finally:
            os.close(fd)

    thread = threading.Thread(target=run, name="pglift-tui-demo-workload", daemon=True)
    thread.start()
    return thread


async def reset(settings: Settings) -> list[str]:
    """Drop every instance under the demo prefix, then the prefix itself."""
    dropped = []
    # Standbys first: their slots on the primaries go with them.
    items = sorted([item async for item in instances.ls(settings)], key=lambda item: item.role != "standby")
    for item in items:
        await instances.drop(system.Instance.system_lookup(item.name, item.version, settings), force=True)
        dropped.append(f"{item.version}/{item.name}")
    for path in (settings.prefix, settings.run_prefix):
        if path.exists():
            shutil.rmtree(path)
        # The directories made to hold the demo's (~/.local/share/pglift-tui,
        # /tmp/pglift-tui-UID) go too when nothing else is in them.
        with contextlib.suppress(OSError):
            path.parent.rmdir()
    return dropped
