"""configure, pending_restart and settings: postgresql.conf and what the server runs.

Settings in a manifest are merged: the parameters named are set, `null` removes
one, and the parameters not named are left as they are (initdb's timezone and
lc_* among them, which pglift comments out). A candidate file is checked by the
server itself (`postgres -C`) before it replaces the real one, so bad input changes
nothing; a running server is then reloaded and its verdict read back.
"""

from __future__ import annotations

from typing import Any

from .. import conf, names
from ..models import interface, system
from ..models.interface import ConfigValue, Diff
from ._action import action
from ._lifecycle import check_configuration, reload


def base_settings(instance: system.BaseInstance, port: int) -> dict[str, ConfigValue]:
    """What every instance we create gets, before the manifest's own settings."""
    settings = instance.settings
    return {
        "port": port,
        "listen_addresses": "localhost",
        "unix_socket_directories": str(settings.socket_directory),
        "cluster_name": instance.name,
        "log_destination": "stderr",
        "logging_collector": True,
        "log_directory": str(instance.logdir),
        "log_filename": f"{instance.qualname}-%Y-%m-%d_%H%M%S.log",
    }


def wanted(
    instance: system.BaseInstance, manifest: interface.Instance, *, creating: bool
) -> dict[str, ConfigValue]:
    values: dict[str, ConfigValue] = {}
    if creating:
        values.update(base_settings(instance, manifest.port or names.DEFAULT_PORT))
    elif manifest.port is not None:
        values["port"] = manifest.port
    values.update(manifest.settings)
    return values


def changes(instance: system.BaseInstance, values: dict[str, ConfigValue]) -> Diff:
    """{name: (old, new)} for the values that differ from postgresql.conf."""
    current = conf.main_file_values(instance.datadir)
    diff: Diff = {}
    for name, new in values.items():
        old = current.get(name)
        if conf.normalized(old) != conf.normalized(new):
            diff[name] = (None if old is None else conf.typed(old), new)
    return diff


async def _write_checked(instance: system.BaseInstance, text: str) -> None:
    """Write postgresql.conf only once the server accepts the whole new file."""
    pg = system.PostgreSQLInstance(instance.name, instance.version, instance.settings)
    with conf.staged(instance.datadir / "postgresql.conf", text) as candidate:
        await check_configuration(pg, config_file=str(candidate))


async def configure(
    instance: system.BaseInstance,
    manifest: interface.Instance,
    *,
    run_hooks: bool = True,
    _creating: bool = False,
    _is_running: bool | None = None,
) -> Diff:
    """Write the manifest's settings to postgresql.conf; return only what changed."""
    async with action(instance, "configure") as record:
        diff = changes(instance, wanted(instance, manifest, creating=_creating))
        record.details["changed"] = sorted(diff)
        if not diff:
            record.unchanged()
            return {}
        path = instance.datadir / "postgresql.conf"
        text = conf.edit(path.read_text(encoding="utf-8"), {name: new for name, (_, new) in diff.items()})
        await _write_checked(instance, text)
        if _creating:
            return diff
        pg = system.PostgreSQLInstance(instance.name, instance.version, instance.settings)
        running = _is_running if _is_running is not None else pg.status().status == "running"
        if running:
            await reload(pg)
        return diff


async def pending_restart(cnx: Any) -> bool:
    """True if a parameter changed in the files waits for a restart to take effect."""
    cur = await cnx.execute("SELECT coalesce(bool_or(pending_restart), false) AS p FROM pg_settings")
    row = await cur.fetchone()
    return bool(row and row["p"])


async def settings(cnx: Any) -> list[interface.PGSetting]:
    """The server's run-time parameters, as its pg_settings view gives them."""
    cur = await cnx.execute(
        "SELECT name, setting, unit, context, source, pending_restart FROM pg_settings ORDER BY name"
    )
    return [interface.PGSetting.model_validate(row) for row in await cur.fetchall()]
