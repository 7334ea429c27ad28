"""Running postmasters no known layout owns: listed, watched, never touched.

Someone started them by hand (`pg_ctl start -D somewhere`), or a tool we do not know
did. We cannot say what operating them safely means (who supervises them, what
their owner expects), so every action is refused with the reason. `Host.ls` drops
those another manager knows, by data directory.
"""

from __future__ import annotations

import os
import re
from collections import Counter
from collections.abc import Collection
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, ClassVar

from .. import postmasters
from ..exceptions import InstanceStateError
from ..models.interface import InstanceListItem, ManagerName, Phase
from ..settings import Settings
from ..status import PidFile, read_pidfile
from . import Outcome, Refusal, ServerFiles
from .debian import user_name

#: A major version in a server program's path: /usr/lib/postgresql/15/bin, /usr/pgsql-15/bin.
_VERSION_IN_PATH = re.compile(r"(?:postgresql/|pgsql-?)(\d+(?:\.\d+)?)/bin/postgres$")
#: A port on a postgres command line: -p N, -pN, --port=N, -c port=N.
_PORT_ARG = re.compile(r"(?:--port=|port=)(\d+)$")


def _version(datadir: str | None, argv: tuple[str, ...]) -> str:
    if datadir is not None:
        try:
            with open(f"{datadir}/PG_VERSION", encoding="ascii") as f:
                return f.read().strip()
        except (OSError, UnicodeDecodeError):
            pass
    match = _VERSION_IN_PATH.search(argv[0]) if argv else None
    return match.group(1) if match else "?"


def _port(argv: tuple[str, ...]) -> int | None:
    for i, arg in enumerate(argv):
        if arg == "-p" and i + 1 < len(argv) and argv[i + 1].isdigit():
            return int(argv[i + 1])
        if arg.startswith("-p") and arg[2:].isdigit():
            return int(arg[2:])
        match = _PORT_ARG.search(arg)
        if match:
            return int(match.group(1))
    return None


def _file_id(path: str) -> tuple[int, int] | None:
    try:
        st = os.stat(path)
    except OSError:
        return None
    return st.st_dev, st.st_ino


def _name(datadir: str) -> str:
    """The data directory's name, or its parent's for `.../main/data` layouts (pglift's)."""
    parts = [part for part in datadir.split("/") if part]
    if len(parts) > 1 and parts[-1] == "data":
        return parts[-2]
    return parts[-1] if parts else datadir


def _item(pm: postmasters.Postmaster) -> InstanceListItem | None:
    """The row of one postmaster; None when its pid file says it is not one after all."""
    pidfile = read_pidfile(f"{pm.datadir}/postmaster.pid") if pm.datadir else None
    if isinstance(pidfile, PidFile) and pidfile.pid != pm.pid:
        return None  # the file names another process: this one is no server of that directory
    known = pidfile if isinstance(pidfile, PidFile) else None
    phase: Phase = (known.phase if known else None) or "ready"
    standby = pm.datadir is not None and os.path.exists(f"{pm.datadir}/standby.signal")
    datadir = pm.datadir or "?"
    return InstanceListItem.model_construct(
        name=_name(datadir),
        version=_version(pm.datadir, pm.argv),
        # 0: not known (another user's server that names no port on its command line).
        port=(known.port if known else None) or _port(pm.argv) or 0,
        datadir=Path(datadir),
        status="running",
        pid=pm.pid,
        phase=phase,
        role="standby" if standby else "primary",
        started_at=datetime.fromtimestamp(pm.started, tz=UTC),
        diverged_by=None,
        superseded_by=None,
        manager="unmanaged",
        owner=user_name(pm.uid) if pm.uid != os.geteuid() else None,
        supervisor=None,
        host=None,
    )


class UnmanagedManager:
    """Postmasters from the process table; read-only."""

    name: ClassVar[ManagerName] = "unmanaged"

    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    def discover(self, *, besides: Collection[InstanceListItem] = ()) -> list[InstanceListItem]:
        """Every postmaster found, less those serving the data directory of one of `besides`
        (the other managers' rows: their servers, not unknown ones)."""
        found = postmasters.scan()
        if besides and found:
            paths = {str(item.datadir) for item in besides}
            found = [pm for pm in found if pm.datadir not in paths]
            if found:  # the same directory by another path (a symbolic link on the way)
                ids = {fid for fid in map(_file_id, paths) if fid is not None}
                found = [pm for pm in found if pm.datadir is None or _file_id(pm.datadir) not in ids]
        items = [item for item in map(_item, found) if item is not None]
        # Two data directories of the same name: the port tells them apart.
        twice = Counter((item.version, item.name) for item in items)
        for item in items:
            if twice[(item.version, item.name)] > 1:
                item.name = f"{item.name}-{item.port}"
        return sorted(items, key=lambda item: (item.version, item.name))

    def can(self, action: str, item: InstanceListItem) -> Refusal | None:
        who = f"{item.owner}'s" if item.owner else "a"
        return Refusal(
            f"{who} postmaster (pid {item.pid}) that neither pglift-tui nor postgresql-common manages: "
            f"read-only here; operate it with pg_ctl -D {item.datadir} as its owner"
        )

    async def run(self, action: str, item: InstanceListItem, options: dict[str, Any]) -> Outcome:
        refusal = self.can(action, item)
        assert refusal is not None
        raise InstanceStateError(refusal.reason)  # Host.run asks `can` first: never reached from there

    def conninfo(self, item: InstanceListItem, **extra: Any) -> str:

        from .. import db, locks

        pidfile = read_pidfile(item.datadir / "postmaster.pid")
        if isinstance(pidfile, PidFile) and pidfile.socket_dir:
            socketdir = pidfile.socket_dir
        else:  # the compiled-in default of Debian's and Red Hat's builds, else the server's own
            socketdir = "/var/run/postgresql" if os.path.isdir("/var/run/postgresql") else "/tmp"  # noqa: S108
        return db.socket_conninfo(socketdir, item.port, locks.os_user(), **extra)

    def files(self, item: InstanceListItem) -> ServerFiles:
        return ServerFiles(
            datadir=item.datadir, waldir=None, config_file=item.datadir / "postgresql.conf", edit_via=""
        )

    async def describe(self, item: InstanceListItem) -> dict[str, Any]:
        return {
            "name": item.name,
            "version": item.version,
            "port": item.port,
            "state": "started",
            "manager": "unmanaged",
            "unmanaged": {
                "datadir": str(item.datadir),
                "pid": item.pid,
                "owner": item.owner,
                "role": item.role,
            },
        }
