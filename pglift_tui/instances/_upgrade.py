"""upgrade: a new major version with pg_upgrade, checked first, never losing the old one.

The new cluster is made like the old one (locale, encoding, provider, checksums: or
pg_upgrade refuses), carries its configuration and pg_hba.conf, and is checked with
`pg_upgrade --check` (against the running old server where it runs) before the old
one is stopped. pg_upgrade starts both servers itself on a private socket directory
with no TCP listener, so no client connects meanwhile. Any failure up to the new
server's first start removes the new instance and gives the old one back as it was
(running again if it ran), keeping pg_upgrade's logs where the error says.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import shutil
import time
from collections.abc import AsyncIterator, Callable, Coroutine
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from .. import binaries, cmd, conf, ctl, locks, names, ports, superseded
from ..exceptions import (
    ConfigurationError,
    Error,
    InstanceAlreadyExists,
    InstanceStateError,
    InvalidVersion,
    PortInUse,
)
from ..fs import Created, ensure_private_dir
from ..models import interface, system
from ..settings import Settings
from . import _replication
from ._action import action
from ._configure import base_settings
from ._create import _entries_made, _make_dirs, port_lock, refuse_existing
from ._lifecycle import check_configuration, start, stop
from ._query import get
from ._upgrade_parts import (
    Mode,
    analyze_in_stages,
    carried,
    cluster_facts,
    collation_drift,
    initdb_argv,
    keep_logs,
    known_parameters,
    pg_upgrade_argv,
    restore_control,
    run_pg_upgrade,
)

logger = logging.getLogger(__name__)

StepName = Literal["check", "init", "copy", "start", "analyze"]
#: pg_upgrade's own default port for the servers it starts.
PG_UPGRADE_PORT = 50432


@dataclass(frozen=True)
class Step:
    """One step of an upgrade, reported as it begins ("running") and ends."""

    name: StepName
    state: Literal["running", "done", "failed"]
    elapsed: float = 0.0
    detail: str = ""


@dataclass
class Upgraded:
    """What the async variant returns: the new instance and what the operator should know."""

    instance: interface.Instance
    warnings: list[str] = field(default_factory=list)
    #: pg_upgrade's advice on statistics (a vacuumdb command line), if it gave one.
    analyze_advice: str | None = None


OnStep = Callable[[Step], Any]


def _target(instance: system.Instance, version: str | None, name: str | None) -> system.BaseInstance:
    settings = instance.settings
    if instance.standby_signal.exists():
        raise InstanceStateError(
            f"instance {instance} is a standby: upgrade its primary, then make a new standby",
        )
    target = version or binaries.available(settings)[0].version  # newest first; ours among them
    binaries.check_version(settings, target)
    if int(target) <= int(instance.version):
        raise InvalidVersion(
            f"cannot upgrade {instance} to PostgreSQL {target}: pg_upgrade goes to a newer major version",
            hint="give a version newer than " + instance.version,
        )
    new = system.BaseInstance(name or instance.name, target, settings)
    if new.exists():
        raise InstanceAlreadyExists(f"instance {new} already exists", hint="give another name")
    for program in ("initdb", "pg_upgrade", "postgres", "pg_ctl"):
        if not (new.bindir / program).is_file():
            raise InvalidVersion(
                f"{program} of PostgreSQL {target} is missing from {new.bindir}",
                hint=f"install PostgreSQL {target}'s server package",
            )
    return new


def _refuse_taken(settings: Settings, port: int, exclude: Path) -> None:
    held = ports.holder(port, settings, exclude=exclude)
    if held is not None:
        raise PortInUse(f"port {port} is already used by {held}", hint="choose another port")


@asynccontextmanager
async def _claiming(settings: Settings, port: int | None, exclude: Path) -> AsyncIterator[None]:
    """Hold `port`'s lock for the upgrade, checked free again under it (as creations do)."""
    if port is None:
        yield
        return
    async with port_lock(settings, port):
        _refuse_taken(settings, port, exclude)
        yield


async def _move_away(old: system.Instance, old_conf: str) -> int:
    """Give the old instance the first free port above its own, under that port's lock."""
    port = old.port + 1
    while True:
        if ports.holder(port, old.settings, exclude=old.datadir) is None:
            async with port_lock(old.settings, port):
                if ports.holder(port, old.settings, exclude=old.datadir) is None:
                    conf.write_atomic(old.datadir / "postgresql.conf", conf.edit(old_conf, {"port": port}))
                    return port
        port += 1


class _Steps:
    """Reports each step's start and end to the caller, timing it."""

    def __init__(self, on_step: OnStep | None) -> None:
        self.on_step = on_step
        self.current: tuple[StepName, float] | None = None

    def begin(self, name: StepName) -> None:
        self.current = (name, time.monotonic())
        self._emit(Step(name, "running"))

    def end(self, detail: str = "", state: Literal["done", "failed"] = "done") -> None:
        if self.current is not None:
            name, began = self.current
            self._emit(Step(name, state, round(time.monotonic() - began, 3), detail))
            self.current = None

    def _emit(self, step: Step) -> None:
        if self.on_step is not None:
            self.on_step(step)


async def upgrade_async(
    instance: system.Instance,
    *,
    version: str | None = None,
    name: str | None = None,
    port: int | None = None,
    jobs: int | None = None,
    mode: Mode = "copy",
    force: bool = False,
    analyze: bool = False,
    on_step: OnStep | None = None,
) -> Upgraded:
    """The upgrade, step by step (`on_step` is told of each): for the dashboard.

    `analyze` then runs pg_upgrade's advice (vacuumdb --analyze-in-stages) on the new
    instance if it runs; a failure there is a warning: the upgrade itself is done.
    """
    old = instance
    settings = old.settings
    new = _target(old, version, name)
    if port is not None:
        try:
            names.check_port(port)
        except ValueError as exc:
            raise ConfigurationError(str(exc), hint="choose another port") from None
    new_port = port or old.port
    if new_port != old.port:
        _refuse_taken(settings, new_port, old.datadir)
    steps = _Steps(on_step)
    warnings: list[str] = []
    async with (
        action(old, "upgrade") as record,
        action(new, "upgrade") as new_record,
        _claiming(settings, new_port if new_port != old.port else None, old.datadir),
    ):
        record.details.update(to=str(new), mode=mode, jobs=jobs)
        new_record.details["from"] = str(old)
        if superseded.read(old.datadir) is not None:
            raise InstanceStateError(f"instance {old} was upgraded already", hint="upgrade the new instance")
        await _replication.refuse_cutting_off(old, "upgrade it", force)
        was_running = old.status().status == "running"
        old_conf = (old.datadir / "postgresql.conf").read_text(encoding="utf-8")
        created = Created()
        new_started = False
        try:
            steps.begin("init")
            facts = await cluster_facts(old, was_running)
            created.mkdir(new.logdir, shared=True)
            refuse_existing(new)
            existing = _make_dirs(new, created)
            await cmd.run(initdb_argv(new, facts), timeout=600)
            _entries_made(created, existing)
            for auth in ("pg_hba.conf", "pg_ident.conf"):
                shutil.copyfile(old.datadir / auth, new.datadir / auth)
            known = await known_parameters(new)
            kept_values, dropped = carried(conf.main_file_values(old.datadir), known)
            if dropped:
                warnings.append(
                    f"not carried over, unknown to PostgreSQL {new.version}: {', '.join(dropped)}"
                )
            values = {**base_settings(new, new_port), **kept_values}
            main = new.datadir / "postgresql.conf"
            conf.write_atomic(main, conf.edit(main.read_text(encoding="utf-8"), values))
            await check_configuration(system.PostgreSQLInstance(new.name, new.version, settings))
            steps.end()

            workdir = ensure_private_dir(settings.run_prefix / f"upgrade-{new.qualname}")
            live = old.status().pidfile if was_running else None
            live_port = live.port if live is not None else None
            # pg_upgrade's servers listen on its private socket directory only, so the
            # port just names a socket there; it must differ from a live old server's.
            work_port = PG_UPGRADE_PORT if live_port != PG_UPGRADE_PORT else PG_UPGRADE_PORT + 1
            argv = pg_upgrade_argv(old, new, live_port or old.port, work_port, jobs, mode)
            argv.append(f"--socketdir={workdir}")
            steps.begin("check")
            await run_pg_upgrade([*argv, "--check"], workdir)
            steps.end()

            steps.begin("copy")
            if was_running:
                await stop(old)
            result = await run_pg_upgrade(argv, workdir)
            shutil.rmtree(workdir, ignore_errors=True)
            steps.end()
            advice = next((line.strip() for line in result.stdout.splitlines() if "vacuumdb" in line), None)

            new_instance = system.Instance(new.name, new.version, settings)
            old_port_after = old.port
            if new_port == old.port:
                old_port_after = await _move_away(old, old_conf)
            if was_running:
                steps.begin("start")
                await start(new_instance)
                new_started = True
                steps.end()
                warnings += await collation_drift(new_instance)
            superseded.write(old.datadir, by=str(new), mode=mode)
            record.details.update(old_port=old_port_after, new_port=new_port)
        except BaseException as exc:
            steps.end(str(exc), state="failed")
            kept = await asyncio.shield(_rollback(old, new, created, old_conf, was_running, new_started))
            if kept is not None and isinstance(exc, Error):
                exc.message += f"; pg_upgrade's logs are kept in {kept}"
            raise
        if analyze and new_started:
            steps.begin("analyze")
            try:
                await analyze_in_stages(new_instance)
            except Exception as exc:
                steps.end(str(exc), state="failed")
                warnings.append(f"vacuumdb --analyze-in-stages failed: {exc}")
            else:
                steps.end()
                advice = None
        for warning in warnings:
            logger.warning("%s", warning)
        record.details["warnings"] = warnings
        return Upgraded(await get(new_instance), warnings, advice)


async def _rollback(
    old: system.Instance,
    new: system.BaseInstance,
    created: Created,
    old_conf: str,
    was_running: bool,
    new_started: bool,
) -> Path | None:
    """Remove the new instance; give the old one back as it was, running if it ran."""
    pg_new = system.PostgreSQLInstance(new.name, new.version, new.settings)
    await ctl.stop(pg_new, "immediate", timeout=30)
    kept = await asyncio.to_thread(keep_logs, new) if new.datadir.exists() else None
    await asyncio.to_thread(created.undo)
    for path in new.log_files():
        path.unlink(missing_ok=True)
    shutil.rmtree(new.settings.run_prefix / f"upgrade-{new.qualname}", ignore_errors=True)
    locks.lock_path(new.settings, new.qualname).unlink(missing_ok=True)
    if not new_started:
        restore_control(old)
    if (old.datadir / "postgresql.conf").read_text(encoding="utf-8") != old_conf:
        conf.write_atomic(old.datadir / "postgresql.conf", old_conf)
    superseded.clear(old.datadir)
    if was_running and old.status().status != "running":
        try:
            await start(old)
        except Exception as exc:  # the upgrade's own error is the one to raise
            logger.warning("could not start %s again after the failed upgrade: %s", old, exc)
    return kept


def upgrade(
    instance: system.Instance,
    *,
    version: str | None = None,
    name: str | None = None,
    port: int | None = None,
    jobs: int | None = None,
    _instance_model: type[interface.Instance] | None = None,
    mode: Mode = "copy",
    force: bool = False,
) -> interface.Instance:
    """Upgrade a primary with pg_upgrade; the new instance, as `get` describes it.

    A plain function, as the spec has it: it runs its own event loop (in a thread
    of its own when the caller already runs one).
    """
    coro = upgrade_async(instance, version=version, name=name, port=port, jobs=jobs, mode=mode, force=force)
    upgraded = _run(coro)
    model = _instance_model or interface.Instance
    return model.model_validate(upgraded.instance.model_dump())


def _run(coro: Coroutine[Any, Any, Upgraded]) -> Upgraded:
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(coro)
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, coro).result()
