"""exists, ls and get: what instances there are and what they are like.

`ls` reads files only: data directories from the settings' template, the pid file
and the process table for the status, the configuration for a stopped server's
port. No connection and no process per instance, so a hundred instances list in
milliseconds (pglift spawns `pg_ctl status` for each).
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from .. import binaries, cmd, conf, creating, db, names, replication, superseded
from ..exceptions import InstanceNotFound
from ..models import interface, system
from ..settings import Settings
from ..status import status
from ._action import refuse_root
from ._configure import pending_restart
from ._replication import standby_model


def exists(name: str, version: str | None, settings: Settings) -> bool:
    """True when the instance exists (in `version`, or in any version if None)."""
    try:
        system.PostgreSQLInstance.system_lookup(name, version, settings)
    except InstanceNotFound:
        return False
    return True


def list_item(
    version: str,
    name: str,
    datadir: str,
    diverged: dict[int, str] | None = None,
    cut_off: dict[str, creating.Mark] | None = None,
) -> interface.InstanceListItem:
    st = status(datadir)
    port = None
    started_at = None
    if st.status == "running" and st.pidfile is not None:
        port = st.pidfile.port
        started_at = datetime.fromtimestamp(st.pidfile.start_time, tz=UTC)
    if port is None:
        port = conf.configured_port(datadir) or names.DEFAULT_PORT
    role: interface.Role = "standby" if os.path.exists(datadir + "/standby.signal") else "primary"
    diverged_by = None
    if diverged and role == "primary" and st.status == "running":
        by = diverged.get(port)
        diverged_by = by.replace("-", "/", 1) if by and by != f"{version}-{name}" else None
    mark = superseded.read(datadir)
    # Built without validation: every field comes from our own checks above, and
    # `ls` makes one of these per instance at every refresh.
    return interface.InstanceListItem.model_construct(
        name=name,
        version=version,
        port=port,
        datadir=Path(datadir),
        status=st.status,
        pid=st.pid,
        phase=st.phase,
        role=role,
        started_at=started_at,
        diverged_by=diverged_by,
        superseded_by=mark.get("by") if mark else None,
        incomplete=cut.describe() if cut_off and (cut := cut_off.get(datadir)) else None,
    )


async def ls(settings: Settings, *, version: str | None = None) -> AsyncIterator[interface.InstanceListItem]:
    """Yield every instance found on disk, optionally of one version only."""
    if version is not None:
        refuse_root()
        binaries.check_version(settings, version)
    for item in items(settings, version=version):
        yield item


def items(settings: Settings, *, version: str | None = None) -> list[interface.InstanceListItem]:
    """The rows of `ls`, at once: what `ls` yields and our manager lists on every refresh."""
    refuse_root()
    diverged = replication.diverged(settings)
    cut_off = creating.cut_off(settings)
    return [
        list_item(found_version, name, datadir, diverged, cut_off)
        for found_version, name, datadir in system.find_datadirs(settings)
        if version is None or found_version == version
    ]


async def _checksums_from_control(instance: system.Instance) -> bool | None:
    try:
        out = (
            await cmd.run([str(instance.bindir / "pg_controldata"), str(instance.datadir)], timeout=30)
        ).stdout
    except Exception:
        return None
    for line in out.splitlines():
        if line.startswith("Data page checksum version:"):
            return line.split(":", 1)[1].strip() != "0"
    return None


async def get(instance: system.Instance) -> interface.Instance:
    """The manifest that describes the instance as it is now."""
    refuse_root()
    creating.refuse(instance.settings, instance.qualname, "describe")
    values = conf.main_file_values(instance.datadir)
    running = instance.status().status == "running"
    standby = standby_model(instance)
    fields: dict[str, Any] = {
        "name": instance.name,
        "version": instance.version,
        "port": instance.port,
        "settings": {
            k: conf.typed(v) for k, v in values.items() if k != "port" and k not in names.RESERVED_PARAMS
        },
        "state": "started" if running else "stopped",
        "standby": standby,
    }
    if running:
        async with db.connect(instance) as cnx:
            cur = await cnx.execute(
                "SELECT current_setting('data_checksums')::bool AS checksums,"
                " datcollate AS locale, pg_encoding_to_char(encoding) AS encoding"
                " FROM pg_database WHERE datname = 'template1'"
            )
            row = await cur.fetchone()
            if row is not None:
                fields.update(data_checksums=row["checksums"], locale=row["locale"], encoding=row["encoding"])
            fields["pending_restart"] = await pending_restart(cnx)
            if standby is not None and standby.status == "demoted":
                fields["standby"] = standby.model_copy(update=await replication.lag(cnx))
    else:
        fields["data_checksums"] = await _checksums_from_control(instance)
    return interface.Instance.model_validate(fields)
