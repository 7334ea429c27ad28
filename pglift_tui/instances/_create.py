"""init and creation: a new instance, or nothing at all.

Every directory and file made is recorded as it is made (fs.Created), so a failure
at any step (initdb, configuration, first start, cancellation) stops the server if
it came up and removes exactly what this creation made, never what was there.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path

from .. import cmd, conf, creating, ctl, hba, locks, names, passwords, ports
from ..exceptions import InstanceAlreadyExists, PortInUse
from ..fs import Created, ensure_private_dir
from ..models import interface, system
from ..replication import PrimaryCheck
from ..settings import Settings
from . import _replication
from ._action import action, action_sync
from ._configure import configure
from ._lifecycle import start

INITDB_TIMEOUT = 600


@contextmanager
def _password_file(
    instance: system.BaseInstance, manifest: interface.Instance, created: Created
) -> Iterator[str | None]:
    """initdb's --pwfile: the superuser's SCRAM verifier, never the password, in a 0600 file.

    It lives in our private run directory (not /tmp) and is recorded as made, so a
    creation cut off even by SIGKILL leaves it where the next apply removes it.
    """
    if manifest.surole_password is None:
        yield None
        return
    settings = instance.settings
    secret = passwords.verifier(manifest.surole_password.get_secret_value(), settings.postgresql.surole.name)
    ensure_private_dir(settings.run_prefix)
    path = settings.run_prefix / f"initdb-{instance.qualname}.pw"
    path.unlink(missing_ok=True)  # a killed run's, in a directory only we can write
    fd = created.create_file(path)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(secret + "\n")
        yield str(path)
    finally:
        path.unlink(missing_ok=True)
        created.forget(path)


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


def refuse_existing(instance: system.BaseInstance) -> None:
    """Refuse to create over a cluster, a non-empty directory or a file: checked under the lock."""
    if instance.exists():
        raise InstanceAlreadyExists(f"instance {instance} already exists in {instance.datadir}")
    for path in (instance.datadir, instance.waldir):
        if path == instance.datadir / "pg_wal":
            continue
        if path.exists() and not path.is_dir():
            raise InstanceAlreadyExists(
                f"{path} exists and is not a directory", hint="move it away or pick another name"
            )
        if path.is_dir() and any(path.iterdir()):
            raise InstanceAlreadyExists(
                f"{path} is not empty but holds no cluster", hint="move its content away or pick another name"
            )


def _make_dirs(instance: system.BaseInstance, created: Created) -> dict[Path, set[str]]:
    """The data and WAL directories; those that were there already (empty), with their listing.

    A directory that was there (a mount point, say) is never recorded as ours: only
    what initdb or pg_basebackup put in it is, once they have run (`_entries_made`).
    """
    settings = instance.settings
    existing: dict[Path, set[str]] = {}
    for template, path in (
        (settings.postgresql.datadir, instance.datadir),
        (settings.postgresql.waldir, instance.waldir),
    ):
        if path == instance.datadir / "pg_wal":
            continue  # WAL inside the data directory: initdb makes it
        created.mkdir(own_root(instance, template).parent, shared=True)
        if path.is_dir():
            existing[path] = set(os.listdir(path))
        else:
            created.mkdir(path)
    return existing


def _entries_made(created: Created, existing: dict[Path, set[str]]) -> None:
    """After initdb or pg_basebackup succeeded: what they put in directories that were there.

    Before that, a failing initdb or pg_basebackup removes what it wrote itself; and
    should one find the directory filled meanwhile, it refuses and writes nothing.
    """
    for path, before in existing.items():
        created.entries_made_in(path, before)


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
    so that the event loop keeps turning and a cancellation stops initdb. Whether the
    instance exists is asked under its lock: of two init() at once, one makes it and
    the other finds it made.
    """
    pg = system.PostgreSQLInstance(instance.name, instance.version, instance.settings)
    with action_sync(instance, "init") as record:
        creating.refuse(instance.settings, instance.qualname, "init")
        if instance.exists():
            record.unchanged()
            return pg, False
        refuse_existing(instance)
        marker = _marker(instance, standby=False)
        try:
            created = marker.created()
            try:
                existing = _make_dirs(instance, created)
                with _password_file(instance, manifest, created) as pwfile:
                    cmd.run_sync(initdb_argv(instance, manifest, pwfile), timeout=INITDB_TIMEOUT)
                _entries_made(created, existing)
                _write_auth_files(instance)
            except BaseException:
                created.undo()
                raise
            marker.remove()
        finally:
            marker.release()
    return pg, True


def _marker(instance: system.BaseInstance, *, standby: bool) -> creating.Marker:
    mark = creating.Mark(
        qualname=instance.qualname,
        datadir=str(instance.datadir),
        logs_before=[str(path) for path in instance.log_files()],
        standby=standby,
    )
    return creating.Marker(instance.settings, mark)


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


async def recover(instance: system.BaseInstance, mark: creating.Mark) -> None:
    """Undo a creation that was cut off, from what its mark recorded; call it under the lock.

    Its server is stopped if it came up (only a proven postmaster is signalled), its
    logs, files and directories removed (each only if it is still the very one that
    was made), a standby's slot dropped if it made it.
    """
    created = Created.from_json(mark.made)
    await _rollback(instance, created, True, {Path(p) for p in mark.logs_before})
    if mark.standby:
        await _replication.forget_standby(system.Instance(instance.name, instance.version, instance.settings))
    creating.mark_path(instance.settings, instance.qualname).unlink(missing_ok=True)


async def create(instance: system.BaseInstance, manifest: interface.Instance) -> system.Instance:
    """initdb (or pg_basebackup of a primary), configure, start, or leave nothing.

    Called with the instance's lock held (apply takes it), so that the check that
    the instance does not exist still holds when initdb runs. A primary gets the
    replication role; a standby is checked against its primary before any copy. A
    mark under the state directory lists what is made as it is made, so that a
    creation killed outright can be undone later (`recover`).
    """
    settings = instance.settings
    port = manifest.port or names.DEFAULT_PORT
    async with action(instance, "create") as record, port_lock(settings, port):
        refuse_existing(instance)
        record.details["port"] = port
        standby = manifest.standby
        marker = _marker(instance, standby=standby is not None)
        try:
            created = marker.created()
            logs_before = set(instance.log_files())
            ours = False
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
                existing = _make_dirs(instance, created)
                ours = True
                if standby is not None and checked is not None:
                    await _replication.clone(instance, standby, checked)
                else:
                    with _password_file(instance, manifest, created) as pwfile:
                        await cmd.run(initdb_argv(instance, manifest, pwfile), timeout=INITDB_TIMEOUT)
                _entries_made(created, existing)
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
                marker.remove()
                raise
            marker.remove()
        finally:
            marker.release()
    return new


@asynccontextmanager
async def port_lock(settings: Settings, port: int) -> AsyncIterator[None]:
    """Changes of port (creations, apply, upgrades) one at a time per port: the check then holds."""
    async with locks.instance_lock(settings, f"port-{port}", "create", remove=True):
        yield
