"""start, stop, restart, reload and stopped: the server's life, waited on with deadlines."""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from .. import cmd, creating, ctl, db, superseded
from ..exceptions import CommandError, ConfigurationError, InstanceNotFound, InstanceStateError
from ..models import system
from ._action import action, refuse_root

RELOAD_TIMEOUT = 10.0
#: What the server's parser says of a file it cannot read through at all.
_UNREADABLE = ("syntax error", "could not open configuration", "nested too deeply", "could not read")
#: How often a wait on the server's state (reloaded, promoted) asks again.
POLL = 0.02


async def poll_until(condition: Callable[[], Awaitable[bool]], timeout: float, error: Exception) -> None:
    """Ask `condition` until it holds; raise `error` at the deadline."""
    deadline = time.monotonic() + timeout
    while not await condition():
        if time.monotonic() > deadline:
            raise error
        await asyncio.sleep(POLL)


async def check_configuration(instance: system.PostgreSQLInstance, config_file: str | None = None) -> None:
    """Refuse a configuration the server would not start with (`postgres -C`, ~10 ms).

    Run before a restart so a broken file never takes a running server down.
    """
    await check_server_configuration(instance.bindir, instance.datadir, f"instance {instance}", config_file)


async def check_server_configuration(
    bindir: Path, datadir: Path, what: str, config_file: str | None = None
) -> None:
    """`check_configuration` for any server: its programs, its data directory, its main file.

    The server parses every parameter but loads no library: the preloaded ones are
    looked for here.
    """
    argv = [str(bindir / "postgres"), "-D", str(datadir), "-C", "shared_preload_libraries"]
    if config_file is not None:
        argv.insert(1, f"--config-file={config_file}")
    try:
        result = await cmd.run(argv, timeout=30)
    except CommandError as exc:
        reasons = [line.split("LOG:", 1)[1].strip() for line in exc.stderr.splitlines() if "LOG:" in line]
        raise ConfigurationError(
            f"{what}: the configuration has errors: " + ("; ".join(reasons) or exc.stderr.strip()),
            hint="fix postgresql.conf (or the settings asked for) and retry",
        ) from None
    libraries = _libraries(result.stdout)
    if not libraries:
        return
    libdir = await _pkglibdir(bindir)
    missing = [lib for lib in libraries if not _library_exists(libdir, lib)]
    if missing:
        raise ConfigurationError(
            f"{what}: shared_preload_libraries names {', '.join(map(repr, missing))}, not found in {libdir}",
            hint="install the extension's package, or remove it from shared_preload_libraries",
        )


def _libraries(value: str) -> list[str]:
    return [part.strip().strip('"') for part in value.strip().split(",") if part.strip()]


#: $libdir of each bin directory, asked of pg_config once.
_libdirs: dict[str, str] = {}


async def _pkglibdir(bin_path: Path) -> str:
    bindir = str(bin_path)
    if bindir not in _libdirs:
        try:
            found = (
                await cmd.run([os.path.join(bindir, "pg_config"), "--pkglibdir"], timeout=30)
            ).stdout.strip()
        except CommandError:
            found = os.path.join(os.path.dirname(bindir), "lib")
        _libdirs[bindir] = found
    return _libdirs[bindir]


def _library_exists(libdir: str, name: str) -> bool:
    """Where the server would look: $libdir, with or without the .so suffix."""
    path = name.replace("$libdir", libdir)
    if "/" not in path:
        path = os.path.join(libdir, path)
    return os.path.exists(path) or os.path.exists(path + ".so")


async def start(
    instance: system.Instance,
    *,
    foreground: bool = False,
    wait: bool = True,
    _check: bool = True,
    force: bool = False,
) -> None:
    """Start the server; recover from a stale pid file; a no-op when already running.

    An instance an upgrade superseded is refused unless `force`: after `--link` it
    must never start again, and after a copy it would be a second, stale server.
    """
    mark = superseded.read(instance.datadir)
    if mark is not None and not force:
        when = time.strftime("%Y-%m-%d %H:%M", time.localtime(mark.get("at", 0)))
        raise InstanceStateError(
            f"instance {instance} was superseded by {mark.get('by')} "
            f"(upgrade with --{mark.get('mode')}, {when})",
            hint="start the new instance; to start this one anyway, use force"
            + (" (never after --link once the new one has run)" if mark.get("mode") == "link" else ""),
        )
    if foreground:
        refuse_root()
        postgres = str(instance.bindir / "postgres")
        os.execv(postgres, [postgres, "-D", str(instance.datadir)])  # noqa: S606
    async with action(instance, "start") as record:
        creating.refuse(instance.settings, instance.qualname, "start")
        if not instance.exists():
            raise InstanceNotFound(
                f"instance {instance}: no cluster in {instance.datadir} (it was removed?)",
                hint="restore the data directory, or drop the instance",
            )
        st = instance.status()
        if st.status == "running":
            record.unchanged()
            return
        if st.status == "crashed":
            await ctl.wait_orphans(instance)
            record.details["stale_pidfile"] = ctl.clear_stale_pidfile(instance) or st.reason
        socket_dir = instance.live_socket_directory()
        ctl.clear_stale_socket(instance, socket_dir, instance.port)
        await ctl.start(instance, wait=wait)


async def stop(
    instance: system.Instance,
    *,
    mode: ctl.StopMode = "fast",
    wait: bool = True,
    deleting: bool = False,
    timeout: float = ctl.STOP_TIMEOUT,
) -> None:
    """Stop the proven postmaster; a no-op when it is not running."""
    async with action(instance, "stop") as record:
        record.details["mode"] = mode
        if not await ctl.stop(instance, mode, wait=wait, timeout=timeout):
            record.unchanged()


async def restart(instance: system.Instance, *, mode: ctl.StopMode = "fast", wait: bool = True) -> None:
    """Stop and start again, after checking the configuration would start."""
    async with action(instance, "restart") as record:
        record.details["mode"] = mode
        await check_configuration(instance)
        await ctl.stop(instance, mode)
        await start(instance, wait=wait)


async def _rejected(cnx: Any) -> list[str]:
    """Lines of the files the server could not apply, other than pending restarts."""
    cur = await cnx.execute(
        "SELECT f.name, f.setting, f.sourcefile, f.sourceline, f.error"
        " FROM pg_file_settings f LEFT JOIN pg_settings s ON s.name = f.name"
        " WHERE f.error IS NOT NULL AND NOT coalesce(s.pending_restart, false)"
        " ORDER BY f.seqno"
    )
    return [
        f"{row['name'] or '(syntax)'}"
        + (f" = {row['setting']!r}" if row["setting"] is not None else "")
        + f" in {row['sourcefile']}:{row['sourceline']}: {row['error']}"
        for row in await cur.fetchall()
    ]


async def reload(instance: system.PostgreSQLInstance) -> None:
    """Make the server read its files again, wait until it has, and check it could.

    `pg_ctl reload` exits 0 even for garbage; here the server's own pg_file_settings
    view is read after the reload and a rejected line raises ConfigurationError.
    """
    async with action(instance, "reload"):
        if instance.status().status != "running":
            raise InstanceStateError(f"instance {instance} is not running", hint="start it first")
        # The server's own parser first: a file it cannot read through (a syntax error, a
        # missing include) is refused whole on reload and pg_conf_load_time stays as it
        # was, so no reload would ever be seen. Bad values are reported after the reload,
        # from pg_file_settings, with their file and line.
        try:
            await check_configuration(instance)
        except ConfigurationError as exc:
            if any(words in exc.message for words in _UNREADABLE):
                raise ConfigurationError(
                    exc.message.replace("the configuration has errors", "the configuration was not reloaded"),
                    hint="it keeps running with its previous values; fix the file and reload again",
                ) from None
        async with db.connect(instance) as cnx:
            cur = await cnx.execute("SELECT pg_conf_load_time() AS t")
            before = (await cur.fetchone() or {})["t"]
            await cnx.execute("SELECT pg_reload_conf()")

            async def reloaded() -> bool:
                cur = await cnx.execute("SELECT pg_conf_load_time() AS t")
                return bool((await cur.fetchone() or {})["t"] != before)

            await poll_until(
                reloaded,
                RELOAD_TIMEOUT,
                InstanceStateError(
                    f"instance {instance} did not reload within {RELOAD_TIMEOUT:g} s",
                    hint="check the server log",
                ),
            )
            rejected = await _rejected(cnx)
        if rejected:
            # pg_file_settings only says "could not be applied"; the server's parser says why.
            try:
                await check_configuration(instance)
            except ConfigurationError as exc:
                rejected.append(exc.message.split(": ", 1)[-1])
            raise ConfigurationError(
                f"instance {instance}: the server rejected its configuration: " + "; ".join(rejected),
                hint="it keeps running with its previous values; fix the file and reload again",
            )


@asynccontextmanager
async def stopped(instance: system.Instance, *, timeout: int = 10) -> AsyncIterator[None]:
    """Hold the instance stopped for the block, then bring back the state it had."""
    async with action(instance, "stopped"):
        was_running = instance.status().status == "running"
        if was_running:
            await stop(instance, timeout=timeout)
        try:
            yield
        finally:
            if was_running:
                await start(instance)
