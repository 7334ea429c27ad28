"""init and creation: a new instance, or nothing at all.

Every directory and file made is recorded as it is made (fs.Created), so a failure
at any step (initdb, configuration, first start, cancellation) stops the server if
it came up and removes exactly what this creation made, never what was there.
"""

from __future__ import annotations

import asyncio
import getpass
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from .. import cmd, conf, ctl, hba, names, ports
from ..exceptions import InstanceAlreadyExists, PortInUse
from ..fs import Created, ensure_private_dir
from ..locks import lock_path
from ..models import interface, system
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
    created.mkdir(own_root(instance, settings.postgresql.datadir).parent, shared=True)
    created.mkdir(instance.datadir)
    if instance.waldir != instance.datadir / "pg_wal":
        created.mkdir(own_root(instance, settings.postgresql.waldir).parent, shared=True)
        created.mkdir(instance.waldir)


def _write_auth_files(instance: system.BaseInstance) -> None:
    settings = instance.settings
    conf.write_atomic(instance.datadir / "pg_hba.conf", hba.pg_hba(settings))
    conf.write_atomic(instance.datadir / "pg_ident.conf", hba.pg_ident(settings, getpass.getuser()))


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


def _log_files(instance: system.BaseInstance) -> set[Path]:
    return set(instance.logdir.glob(f"{instance.qualname}-*")) if instance.logdir.is_dir() else set()


async def _rollback(
    instance: system.BaseInstance, created: Created, lock_existed: bool, logs_before: set[Path]
) -> None:
    pg = system.PostgreSQLInstance(instance.name, instance.version, instance.settings)
    if pg.datadir.exists():
        await ctl.stop(pg, "immediate", timeout=30)
    for path in _log_files(instance) - logs_before:
        path.unlink(missing_ok=True)
    created.undo()
    if not lock_existed:
        lock_path(instance.settings, instance.qualname).unlink(missing_ok=True)


async def create(instance: system.BaseInstance, manifest: interface.Instance) -> system.Instance:
    """initdb, configure, start (unless the manifest says stopped), or leave nothing."""
    settings = instance.settings
    if instance.exists():
        raise InstanceAlreadyExists(f"instance {instance} already exists in {instance.datadir}")
    if instance.datadir.exists() and any(instance.datadir.iterdir()):
        raise InstanceAlreadyExists(
            f"{instance.datadir} is not empty but holds no cluster",
            hint="move its content away or pick another name",
        )
    port = manifest.port or names.DEFAULT_PORT
    lock_existed = lock_path(settings, instance.qualname).exists()
    infra = Created()  # run prefix and lock directory, removed again only if empty
    infra.mkdir(settings.run_prefix, shared=True)
    infra.mkdir(settings.lockdir, shared=True)
    try:
        return await _create(instance, manifest, port, lock_existed)
    except BaseException:
        infra.undo()
        raise


async def _create(
    instance: system.BaseInstance, manifest: interface.Instance, port: int, lock_existed: bool
) -> system.Instance:
    settings = instance.settings
    async with action(instance, "create") as record:
        record.details["port"] = port
        created = Created()
        logs_before = _log_files(instance)
        try:
            held = ports.holder(port, settings)
            if held is not None:
                raise PortInUse(f"port {port} is already used by {held}", hint="choose another port")
            created.mkdir(instance.logdir, shared=True)
            created.mkdir(settings.socket_directory, shared=True)
            ensure_private_dir(settings.socket_directory)
            _make_dirs(instance, created)
            with _password_file(_secret(manifest)) as pwfile:
                await cmd.run(initdb_argv(instance, manifest, pwfile), timeout=INITDB_TIMEOUT)
            _write_auth_files(instance)
            await configure(instance, manifest, _creating=True, _is_running=False)
            new = system.Instance(instance.name, instance.version, settings)
            if manifest.state in ("started", "restarted"):
                await start(new)
        except BaseException:
            await asyncio.shield(_rollback(instance, created, lock_existed, logs_before))
            raise
    return new
