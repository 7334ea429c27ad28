"""Who operates a server: one manager per kind of PostgreSQL found on a host.

Every row of the dashboard answers three questions whoever made the server: what is
it and is it up (`discover`, from files and the process table only), how do I talk
to it (`conninfo`, `files`), and what may I do to it (`can`, then `run`). Our own
layout is `managers.pglift`; postgresql-common's clusters are `managers.debian`;
postmasters nobody we know runs are `managers.unmanaged`, listed and never touched.
`pglift_tui.host` asks each of them and merges the answers.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar, Protocol

from ..models.interface import InstanceListItem, ManagerName

#: Every action a manager may be asked for, with the options it takes.
#:   start, reload, promote: none; stop, restart: mode ("smart"|"fast"|"immediate");
#:   drop: force; upgrade: version, mode, analyze, force, on_step; create: manifest;
#:   configure: settings ({name: value}); signal: pid, terminate.
ACTIONS = (
    "start",
    "stop",
    "restart",
    "reload",
    "promote",
    "upgrade",
    "drop",
    "create",
    "configure",
    "signal",
)


@dataclass(frozen=True)
class Refusal:
    """Why an action is not offered on a server."""

    reason: str
    #: It would change nothing ("already running"): a bulk action reports it as that
    #: row's outcome instead of failing, and a single key is only dimmed.
    noop: bool = False
    #: How to get past it, when there is a way.
    hint: str | None = None


@dataclass(frozen=True)
class Outcome:
    """What an action did, in the words the CLI prints and the dashboard shows."""

    word: str
    changed: bool = True
    #: More to tell: warnings, advice, what was removed.
    lines: tuple[str, ...] = ()
    #: A value for the caller (configure: the diff and whether a restart is pending).
    data: Any = None


@dataclass(frozen=True)
class ServerFiles:
    """Where a server's files are, for the detail screen and the health checks."""

    datadir: Path
    #: The WAL directory when it is not `datadir/pg_wal` itself (a symlink target).
    waldir: Path | None
    #: The main configuration file the server reads first.
    config_file: Path
    #: How a setting is changed, in the words the detail screen shows:
    #: "postgresql.conf", "conf.d/NAME.conf", "ALTER SYSTEM", or "" when we do not.
    edit_via: str
    #: The server's log files, oldest first (called again as they rotate).
    log_files: Callable[[], list[Path]] = field(default=list)


class Manager(Protocol):
    """One kind of server: how it is found, reached and operated."""

    name: ClassVar[ManagerName]

    def discover(self) -> list[InstanceListItem]:
        """Every server of this kind, from files and the process table: no connection,
        no process spawned per server (it runs at every refresh)."""
        ...

    def can(self, action: str, item: InstanceListItem) -> Refusal | None:
        """None if `action` may run on `item` now; else why not."""
        ...

    async def run(self, action: str, item: InstanceListItem, options: dict[str, Any]) -> Outcome:
        """Do `action` (already allowed by `can`, refusals other than no-ops excluded)."""
        ...

    def conninfo(self, item: InstanceListItem, **extra: Any) -> str:
        """A libpq connection string to the server's own socket, as we may connect."""
        ...

    def files(self, item: InstanceListItem) -> ServerFiles: ...

    async def describe(self, item: InstanceListItem) -> dict[str, Any]:
        """What `get` prints: the manifest for ours; its shape where it fits for others."""
        ...


def lock_qualname(item: InstanceListItem) -> str:
    """The name of the lock an action on `item` takes (`locks.lock_path`), for "busy" marks.

    Ours keep pglift's `15-main`; other managers' start with their name, so they
    cannot clash with ours, whose names start with a digit.
    """
    base = f"{item.version}-{item.name}"
    return base if item.manager == "pglift" else f"{item.manager}-{base}"
