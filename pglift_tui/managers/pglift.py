"""Our own instances (pglift's layout): operated through `pglift_tui.instances`.

This manager adds nothing to what the instances API does; it translates the one
action vocabulary of the dashboard, the CLI and the remote protocol into its calls,
and says what happened in words ("started", "already running").
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from typing import Any, ClassVar

from .. import db, inspect, instances
from ..instances import _query
from ..instances._action import Record, last_record
from ..instances._action import _journal as journal_action
from ..models import interface, system
from ..models.interface import InstanceListItem, ManagerName
from ..settings import Settings
from . import Outcome, Refusal, ServerFiles

Op = Callable[[system.Instance, dict[str, Any]], Awaitable[Outcome]]


def _unchanged() -> bool:
    record = last_record.get()
    return record is not None and record.result == "unchanged"


async def _start(instance: system.Instance, options: dict[str, Any]) -> Outcome:
    last_record.set(None)
    await instances.start(instance, force=bool(options.get("force")))
    return Outcome("already running", changed=False) if _unchanged() else Outcome("started")


async def _stop(instance: system.Instance, options: dict[str, Any]) -> Outcome:
    mode = options.get("mode", "fast")
    last_record.set(None)
    if "timeout" in options:
        await instances.stop(instance, mode=mode, timeout=float(options["timeout"]))
    else:
        await instances.stop(instance, mode=mode)
    return Outcome("already stopped", changed=False) if _unchanged() else Outcome(f"stopped ({mode})")


async def _restart(instance: system.Instance, options: dict[str, Any]) -> Outcome:
    await instances.restart(instance, mode=options.get("mode", "fast"))
    return Outcome("restarted")


async def _reload(instance: system.Instance, options: dict[str, Any]) -> Outcome:
    await instances.reload(instance)
    return Outcome("configuration reloaded")


async def _promote(instance: system.Instance, options: dict[str, Any]) -> Outcome:
    await instances.promote(instance)
    return Outcome("promoted: it accepts writes now")


async def _drop(instance: system.Instance, options: dict[str, Any]) -> Outcome:
    await instances.drop(instance, force=bool(options.get("force")))
    return Outcome("dropped")


async def _upgrade(instance: system.Instance, options: dict[str, Any]) -> Outcome:
    upgraded = await instances.upgrade_async(
        instance,
        version=options.get("version"),
        name=options.get("name"),
        port=options.get("port"),
        jobs=options.get("jobs"),
        mode=options.get("mode", "copy"),
        analyze=bool(options.get("analyze")),
        force=bool(options.get("force")),
        on_step=options.get("on_step"),
    )
    new = upgraded.instance
    lines = list(upgraded.warnings)
    if upgraded.analyze_advice:
        lines.append(f"pg_upgrade advises: {upgraded.analyze_advice}")
    word = f"upgraded to {new.version}/{new.name} on port {new.port}; {instance} is superseded"
    return Outcome(word, lines=tuple(lines), data=new)


async def _configure(instance: system.Instance, options: dict[str, Any]) -> Outcome:
    """Settings changed through the core's configure (checked, reloaded, journaled)."""
    manifest = interface.Instance(name=instance.name, version=instance.version, settings=options["settings"])
    diff = await instances.configure(instance, manifest)
    pending = False
    if diff and instance.status().status == "running":
        async with db.connect(instance) as cnx:
            pending = await instances.pending_restart(cnx)
    if not diff:
        return Outcome("unchanged", changed=False, data=(diff, False))
    word = "changed; a restart is pending" if pending else "changed and reloaded"
    return Outcome(word, data=(diff, pending))


async def _signal(instance: system.Instance, options: dict[str, Any]) -> Outcome:
    pid, terminate = int(options["pid"]), bool(options.get("terminate"))
    async with db.connect(instance) as cnx:
        done = await inspect.signal_backend(cnx, pid, terminate=terminate)
    word = ("terminated" if terminate else "query cancelled") if done else "gone already"
    # Journaled for the audit, without the instance's lock: a session is ended now,
    # even while a long action (an upgrade's check, a restart) holds the lock.
    record = Record("terminate" if terminate else "cancel", details={"pid": pid})
    if not done:
        record.unchanged()
    journal_action(instance, record, time.monotonic(), None)
    return Outcome(f"backend {pid} {word}", changed=done)


OPS: dict[str, Op] = {
    "start": _start,
    "stop": _stop,
    "restart": _restart,
    "reload": _reload,
    "promote": _promote,
    "drop": _drop,
    "upgrade": _upgrade,
    "configure": _configure,
    "signal": _signal,
}


class PgliftManager:
    """The instances of the settings' layout: pglift's and ours."""

    name: ClassVar[ManagerName] = "pglift"

    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    def discover(self) -> list[InstanceListItem]:
        return _query.items(self.settings)

    def instance(self, item: InstanceListItem) -> system.Instance:
        return system.Instance.system_lookup(item.name, item.version, self.settings)

    def can(self, action: str, item: InstanceListItem) -> Refusal | None:
        running = item.status == "running"
        if item.incomplete and action not in ("drop", "stop"):
            return Refusal(
                f"it is incomplete: {item.incomplete}",
                hint="apply its manifest again (what was made is removed first, then it is created), "
                "or drop it",
            )
        if action == "start":
            if item.superseded_by:
                return Refusal(f"superseded by {item.superseded_by} (upgraded): start the new one")
            return Refusal("already running", noop=True) if running else None
        if action == "stop":
            return None if running else Refusal("already stopped", noop=True)
        if action in ("reload", "signal"):
            return None if running else Refusal("not running")
        if action == "promote":
            if item.role != "standby":
                return Refusal("a primary: there is nothing to promote")
            return None if running else Refusal("not running: a standby is promoted while it runs")
        if action == "upgrade":
            if item.role == "standby":
                return Refusal("a standby: upgrade its primary, then make new standbys")
            if item.superseded_by:
                return Refusal(f"upgraded already, to {item.superseded_by}")
        return None

    async def run(self, action: str, item: InstanceListItem, options: dict[str, Any]) -> Outcome:
        return await OPS[action](self.instance(item), options)

    async def create(self, manifest: interface.Instance) -> Outcome:
        """A new instance from a manifest: only ours are created here."""
        await instances.apply(self.settings, manifest)
        return Outcome("created and started" if manifest.state == "started" else "created")

    def conninfo(self, item: InstanceListItem, **extra: Any) -> str:
        return db.conninfo(system.PostgreSQLInstance(item.name, item.version, self.settings), **extra)

    async def describe(self, item: InstanceListItem) -> dict[str, Any]:
        manifest = await instances.get(self.instance(item))
        return manifest.model_dump(mode="json")

    def files(self, item: InstanceListItem) -> ServerFiles:
        instance = system.PostgreSQLInstance(item.name, item.version, self.settings)
        waldir = instance.waldir if instance.waldir != instance.datadir / "pg_wal" else None
        return ServerFiles(
            datadir=instance.datadir,
            waldir=waldir,
            config_file=instance.datadir / "postgresql.conf",
            edit_via="postgresql.conf",
            log_files=instance.log_files,
        )
