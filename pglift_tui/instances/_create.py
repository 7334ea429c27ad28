"""init and creation: a new instance, or nothing at all.

Every directory and file made is recorded as it is made (fs.Created), so a failure
at any step (initdb, configuration, first start, cancellation) stops the server if
it came up and removes exactly what this creation made, never what was there.
"""

from __future__ import annotations

import asyncio
import os
import tempfile
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path

from .. import cmd, conf, ctl, hba, locks, names, ports
from ..exceptions import InstanceAlreadyExists, PortInUse
from ..fs import Created
from ..models import interface, system
from ..replication import PrimaryCheck
from ..settings import Settings
from . import _replication
from ._action import action, action_sync
from ._configure import configure
from ._lifecycle import start

INITDB_TIMEOUT = 600


@contextmanager
def _password_file(password: str | None) -> Iterator[str | None]:
    """A 0600 file holding `password`, removed on exit: initdb reads it, argv never shows it."""
    if password is None:
        yield None
        return
    fd, path = tempfile.mkstemp(prefix="pglift-tui-pw-")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(password + "\n")
        yield path
    finally:
        os.unlink(path)


def own_root(instance: system.BaseInstance, template: str) -> Path:
    """The shallowest directory of `template` that belongs to this instance alone."""
    parts = Path(template).parts
    depth = next(i for i, part in enumerate(parts) if "{name}" in part)
    own = Path(*parts[: depth + 1])
    return system.template_path(instance.settings, str(own), instance.version, instance.name)


def initdb_argv(instance: system.BaseInstance, manifest: interface.Instance, pwfile: str | None) -> list[str]:
    pg = instance.settings.postgresql
    argv = [
        str(instance.bindir / "initdb"),
        "-D",
        str(instance.datadir),
        f"--auth-local={pg.auth.local}",
        f"--auth-host={pg.auth.host}",
        f"--username={pg.surole.name}",
        f"--locale={manifest.locale or pg.initdb.locale or 'C'}",
        f"--encoding={manifest.encoding or pg.initdb.encoding or 'UTF8'}",
    ]
    if instance.waldir != instance.datadir / "pg_wal":
        argv.append(f"--waldir={instance.waldir}")
    checksums = manifest.data_checksums if manifest.data_checksums is not None else pg.initdb.data_checksums
    if checksums:
        argv.append("--data-checksums")
    elif checksums is False and int(instance.version) >= 18:
        argv.append("--no-data-checksums")
    if pwfile is not None:
        argv.append(f"--pwfile={pwfile}")
    return argv


def _make_dirs(instance: system.BaseInstance, created: Created) -> None:
    settings = instance.settings
    for template, path in (
        (settings.postgresql.datadir, instance.datadir),
        (settings.postgresql.waldir, instance.waldir),
    ):
        if path == instance.datadir / "pg_wal":
            continue  # WAL inside the data directory: initdb makes it
        created.mkdir(own_root(instance, template).parent, shared=True)
        if path.is_dir():
            created.claim(path)  # there before, and empty (checked): emptied again on failure
        else:
            created.mkdir(path)


def _write_auth_files(instance: system.BaseInstance) -> None:
    settings = instance.settings
    conf.write_atomic(instance.datadir / "pg_hba.conf", hba.pg_hba(settings))
    conf.write_atomic(instance.datadir / "pg_ident.conf", hba.pg_ident(settings, locks.os_user()))


def _secret(manifest: interface.Instance) -> str | None:
    return manifest.surole_password.get_secret_value() if manifest.surole_password else None


def init(
    instance: system.BaseInstance, manifest: interface.Instance
) -> tuple[system.PostgreSQLInstance, bool]:
    """Initialize the cluster with initdb; (instance, False) if it already existed.

    A plain function, as the spec has it; `apply` runs initdb asynchronously instead
    so that the event loop keeps turning and a cancellation kills initdb.
    """
    pg = system.PostgreSQLInstance(instance.name, instance.version, instance.settings)
    if instance.exists():
        return pg, False
    with action_sync(instance, "init"):
        created = Created()
        try:
            _make_dirs(instance, created)
            with _password_file(_secret(manifest)) as pwfile:
                cmd.run_sync(initdb_argv(instance, manifest, pwfile), timeout=INITDB_TIMEOUT)
            _write_auth_files(instance)
        except BaseException:
            created.undo()
            raise
    return pg, True


async def _rollback(
    instance: system.BaseInstance, created: Created, ours: bool, logs_before: set[Path]
) -> None:
    """Undo a creation: its server (only if this creation made the cluster), files, directories."""
    pg = system.PostgreSQLInstance(instance.name, instance.version, instance.settings)
    if ours:
        await ctl.stop(pg, "immediate", timeout=30)
    for path in set(instance.log_files()) - logs_before:
        path.unlink(missing_ok=True)
    await asyncio.to_thread(created.undo)


async def create(instance: system.BaseInstance, manifest: interface.Instance) -> system.Instance:
    """initdb (or pg_basebackup of a primary), configure, start, or leave nothing.

    Called with the instance's lock held (apply takes it), so that the check that
    the instance does not exist still holds when initdb runs. A primary gets the
    replication role; a standby is checked against its primary before any copy.
    """
    settings = instance.settings
    if instance.exists():
        raise InstanceAlreadyExists(f"instance {instance} already exists in {instance.datadir}")
    for path in (instance.datadir, instance.waldir):
        if path.is_dir() and any(path.iterdir()):
            raise InstanceAlreadyExists(
                f"{path} is not empty but holds no cluster", hint="move its content away or pick another name"
            )
    port = manifest.port or names.DEFAULT_PORT
    async with action(instance, "create") as record, port_lock(settings, port):
        record.details["port"] = port
        created = Created()
        logs_before = set(instance.log_files())
        ours = False
        standby = manifest.standby
        checked: PrimaryCheck | None = None
        try:
            held = ports.holder(port, settings)
            if held is not None:
                raise PortInUse(f"port {port} is already used by {held}", hint="choose another port")
            if standby is not None:
                record.details["primary"] = standby.primary_conninfo
                checked = await _replication.check_primary(instance, standby)
            created.mkdir(instance.logdir, shared=True)
            if not settings.socket_directory.exists():
                created.mkdir(settings.socket_directory, shared=True)
            _make_dirs(instance, created)
            ours = True
            if standby is not None and checked is not None:
                await _replication.clone(instance, standby, checked)
            else:
                with _password_file(_secret(manifest)) as pwfile:
                    await cmd.run(initdb_argv(instance, manifest, pwfile), timeout=INITDB_TIMEOUT)
            _write_auth_files(instance)
            await configure(instance, manifest, _creating=True, _is_running=False)
            if standby is not None:
                _replication.configure_standby(instance, standby)
            else:
                await _replication.create_replrole(instance, manifest)
            new = system.Instance(instance.name, instance.version, settings)
            if manifest.state in ("started", "restarted"):
                await start(new)
        except BaseException:
            await asyncio.shield(_rollback(instance, created, ours, logs_before))
            if standby is not None:
                await asyncio.shield(_replication.undo_clone(instance, standby, checked))
            raise
    return new


@asynccontextmanager
async def port_lock(settings: Settings, port: int) -> AsyncIterator[None]:
    """Creations of different instances on one port, one at a time: the check then holds."""
    async with locks.instance_lock(settings, f"port-{port}", "create", remove=True):
        yield
