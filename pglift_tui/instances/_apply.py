"""apply and drop: bring an instance to the state a manifest describes, or remove it."""

from __future__ import annotations

import asyncio
import shutil

from .. import binaries, ctl, db, ports
from ..exceptions import PortInUse
from ..fs import remove_empty_parents
from ..locks import lock_path
from ..models import interface, system
from ..settings import Settings
from ._action import action, refuse_root
from ._configure import configure, pending_restart
from ._create import create, own_root
from ._lifecycle import restart, start, stop


async def drop(instance: system.Instance) -> None:
    """Stop the server and remove everything it had: data, WAL, logs, its directories."""
    async with action(instance, "drop"):
        await ctl.stop(instance, "immediate")
        settings = instance.settings
        for template in (settings.postgresql.datadir, settings.postgresql.waldir):
            root = own_root(instance, template)
            if root.exists():
                # Gigabytes of data take a while to delete: not on the caller's event loop.
                await asyncio.to_thread(shutil.rmtree, root)
            remove_empty_parents(root.parent, system.template_root(settings, template))
        for path in instance.logdir.glob(f"{instance.qualname}-*"):
            path.unlink(missing_ok=True)
        lock_path(settings, instance.qualname).unlink(missing_ok=True)


async def _pending(instance: system.Instance) -> bool:
    async with db.connect(instance) as cnx:
        return await pending_restart(cnx)


async def apply(
    settings: Settings,
    instance: interface.Instance,
    *,
    _creating: bool = False,
    _upgrading_from: interface.Instance | None = None,
    _is_running: bool | None = None,
) -> interface.InstanceApplyResult:
    """Create, change, start, stop, restart or drop, so the instance matches the manifest.

    Applying the same manifest twice changes nothing the second time.
    """
    refuse_root()
    manifest = instance
    version = manifest.version or binaries.default_version(settings)
    base = system.BaseInstance.get(manifest.name, version, settings)
    if not base.exists():
        if manifest.state == "absent":
            return interface.InstanceApplyResult()
        await create(base, manifest)
        return interface.InstanceApplyResult(change_state="created")

    current = system.Instance.system_lookup(manifest.name, version, settings)
    if manifest.state == "absent":
        await drop(current)
        return interface.InstanceApplyResult(change_state="dropped")

    async with action(current, "apply") as record:
        if manifest.port is not None and manifest.port != current.port:
            held = ports.holder(manifest.port, settings, exclude=current.datadir)
            if held is not None:
                raise PortInUse(f"port {manifest.port} is already used by {held}", hint="choose another port")
        running = current.status().status == "running" if _is_running is None else _is_running
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
            await restart(current)
            pending = False
            changed = True
        record.details["changed"] = sorted(diff)
        if not changed:
            record.unchanged()
        return interface.InstanceApplyResult(
            change_state="changed" if changed else None, diff=diff, pending_restart=pending
        )
