"""apply and drop: bring an instance to the state a manifest describes, or remove it."""

from __future__ import annotations

import asyncio
import contextlib
import shutil
from collections.abc import Iterator
from contextlib import contextmanager

from .. import binaries, conf, creating, ctl, db, ports, replication
from ..exceptions import CommandError, ConfigurationError, PortInUse
from ..fs import remove_empty_parents
from ..locks import lock_path
from ..models import interface, system
from ..settings import Settings
from . import _replication
from ._action import Record, action, refuse_root
from ._configure import configure, pending_restart
from ._create import create, own_root, port_lock, recover
from ._lifecycle import restart, start, stop


def removal_plan(instance: system.Instance) -> list[str]:
    """What `drop` removes, in words: for a confirmation, and to say what was done."""
    settings = instance.settings
    plan = [f"data directory {instance.datadir}"]
    if instance.waldir != instance.datadir / "pg_wal":
        plan.append(f"WAL directory {instance.waldir}")
    logs = instance.log_files()
    if logs:
        plan.append(f"{len(logs)} log file(s) in {instance.logdir}")
    record = replication.load(settings, instance.qualname)
    if record is not None and record.slot_created and record.slot:
        plan.append(f"replication slot {record.slot!r} on its primary")
    if record is not None and record.passfile:
        plan.append(f"its passfile {record.passfile}")
    return plan


async def drop(instance: system.Instance, *, force: bool = False) -> None:
    """Stop the server and remove everything it had: data, WAL, logs, socket, its directories.

    A primary with live standbys is refused unless `force`: dropping it would cut
    them off. A standby's slot that we made on its primary is dropped with it.
    """
    async with action(instance, "drop") as record:
        await _replication.refuse_cutting_off(instance, "drop it", force)
        await ctl.stop(instance, "immediate")
        problem = await _replication.forget_standby(instance)
        if problem:
            record.details["warning"] = problem
        settings = instance.settings
        ctl.clear_stale_socket(instance, instance.live_socket_directory(), instance.port, dead_too=True)
        for template in (settings.postgresql.datadir, settings.postgresql.waldir):
            root = own_root(instance, template)
            if root.exists():
                # Gigabytes of data take a while to delete: not on the caller's event loop.
                await asyncio.to_thread(shutil.rmtree, root)
            remove_empty_parents(root.parent, system.template_root(settings, template))
        for path in instance.log_files():
            path.unlink(missing_ok=True)
        creating.mark_path(settings, instance.qualname).unlink(missing_ok=True)  # if it was incomplete
        lock_path(settings, instance.qualname).unlink(missing_ok=True)


async def _pending(instance: system.Instance) -> bool:
    async with db.connect(instance) as cnx:
        return await pending_restart(cnx)


async def _restart_or_restore(instance: system.Instance, previous: str | None) -> None:
    """Restart; if the new configuration keeps the server from starting, put back `previous`.

    `postgres -C` cannot know everything a start will try (a preloaded library, a
    port taken meanwhile): a server that was running must not stay down for it.
    """
    try:
        await restart(instance)
    except CommandError as exc:
        if previous is None or instance.status().status == "running":
            raise
        conf.write_atomic(instance.datadir / "postgresql.conf", previous)
        await start(instance)
        raise ConfigurationError(
            f"instance {instance}: the new configuration did not start: {exc.message}; "
            "the previous configuration was restored and the server started again",
            hint="fix the settings and apply again",
        ) from exc


@contextmanager
def _infra_cleanup(settings: Settings, qualname: str) -> Iterator[None]:
    """After a failed creation, remove the run prefix, lock directory and lock file it made."""
    existed = {path: path.exists() for path in (settings.run_prefix, settings.lockdir)}
    lock = lock_path(settings, qualname)
    lock_existed = lock.exists()
    try:
        yield
    except BaseException:
        if not lock_existed:
            lock.unlink(missing_ok=True)
        for path in (settings.lockdir, settings.run_prefix):
            if not existed[path]:
                with contextlib.suppress(OSError):
                    path.rmdir()
        raise


async def apply(
    settings: Settings,
    instance: interface.Instance,
    *,
    _creating: bool = False,
    _upgrading_from: interface.Instance | None = None,
    _is_running: bool | None = None,
) -> interface.InstanceApplyResult:
    """Create, change, start, stop, restart or drop, so the instance matches the manifest.

    Applying the same manifest twice changes nothing the second time. The instance's
    lock is held from the first look at it, so two applies of one manifest at once
    create it once and find it made the second time.
    """
    refuse_root()
    manifest = instance
    version = manifest.version or binaries.default_version(settings)
    base = system.BaseInstance.get(manifest.name, version, settings)
    new = not base.exists()
    with _infra_cleanup(settings, base.qualname) if new else contextlib.nullcontext():
        async with action(base, "apply") as record:
            mark = creating.load(settings, base.qualname)
            if mark is not None:
                # Under the lock: its creator is gone. Undo what it made, then create.
                await recover(base, mark)
                record.details["recovered"] = mark.describe()
            if not base.exists():
                if manifest.state == "absent":
                    record.unchanged()
                    return interface.InstanceApplyResult()
                record.action = "create"
                await create(base, manifest)
                return interface.InstanceApplyResult(change_state="created")
            current = system.Instance.system_lookup(manifest.name, version, settings)
            if manifest.state == "absent":
                record.action = "drop"
                await drop(current)
                return interface.InstanceApplyResult(change_state="dropped")
            return await _update(current, manifest, record, _is_running)


async def _update(
    current: system.Instance, manifest: interface.Instance, record: Record, is_running: bool | None
) -> interface.InstanceApplyResult:
    if manifest.port is not None and manifest.port != current.port:
        # Under the port's lock, as creations: the port is checked free and taken at once.
        async with port_lock(current.settings, manifest.port):
            held = ports.holder(manifest.port, current.settings, exclude=current.datadir)
            if held is not None:
                raise PortInUse(f"port {manifest.port} is already used by {held}", hint="choose another port")
            return await _change(current, manifest, record, is_running)
    return await _change(current, manifest, record, is_running)


async def _change(
    current: system.Instance, manifest: interface.Instance, record: Record, is_running: bool | None
) -> interface.InstanceApplyResult:
    running = current.status().status == "running" if is_running is None else is_running
    previous = (current.datadir / "postgresql.conf").read_text(encoding="utf-8")
    diff = await configure(current, manifest, _is_running=running)
    changed = bool(diff)
    pending = await _pending(current) if running and diff else False
    if manifest.state == "started" and not running:
        await start(current)
        changed = True
    elif manifest.state == "stopped" and running:
        await stop(current)
        pending = False
        changed = True
    elif manifest.state == "restarted" or (pending and manifest.restart_on_changes and running):
        await _restart_or_restore(current, previous if diff else None)
        pending = False
        changed = True
    if (
        manifest.standby is not None
        and manifest.standby.status == "promoted"
        and current.standby_signal.exists()
    ):
        await _replication.promote(current)  # pglift's way to ask for a promotion in a manifest
        changed = True
    record.details["changed"] = sorted(diff)
    if not changed:
        record.unchanged()
    return interface.InstanceApplyResult(
        change_state="changed" if changed else None, diff=diff, pending_restart=pending
    )
