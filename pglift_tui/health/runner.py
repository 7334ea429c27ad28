"""One look at every instance: list, ask the running servers, read disks and logs, judge.

Servers are asked concurrently, at most `JOBS` at once, each within the settings'
`health.timeout` (connection and query together, the query also under that statement
timeout): a server that does not answer in time is an `unreachable` finding, and the
look goes on. Disk and log checks read files only, for stopped servers too.

Two small seams are meant to be switched: `targets` (which servers: pglift's own
instances today, the host-wide listing later) and `Target.conninfo` (how to reach one).
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .. import binaries, journal, locks
from ..exceptions import InstanceNotFound
from ..models.interface import InstanceListItem
from ..settings import Settings
from . import disk, logs
from .evaluate import FailedStart, assess, key
from .findings import Report, findings_of
from .sql import HEALTH_SQL, Measurements, Unreachable, parse
from .thresholds import HealthSettings

if TYPE_CHECKING:
    from psycopg import AsyncConnection

#: Servers asked at once.
JOBS = 8
APPLICATION_NAME = "pglift-tui health"
#: Journal events read back at most to find why a stopped server is down.
JOURNAL_LOOKBACK = 5000
_STARTS = ("start", "restart")


@dataclass(frozen=True)
class Target:
    """One server to look at: its row of the listing, how to reach it, where its files are."""

    item: InstanceListItem
    #: A libpq connection string to the server's own socket; keywords add parameters.
    conninfo: Callable[..., str]
    #: Where the server writes WAL (its file system is measured besides the data's).
    waldir: Path | None = None
    log_files: tuple[Path, ...] = ()
    manager: str = "pglift"
    #: pg_upgrade runs it now, on a private socket: no client may connect, us included.
    upgrading: bool = False

    @property
    def key(self) -> str:
        return key(self.item)

    @property
    def asked(self) -> bool:
        """Whether the server can be asked: running and ready (not starting, stopping, upgrading)."""
        return (
            self.item.status == "running" and self.item.phase in ("ready", "standby") and not self.upgrading
        )

    def disk_paths(self) -> dict[str, Path | None]:
        return {"data": self.item.datadir, "WAL": self.waldir}


async def targets(settings: Settings, name: str | None = None, version: str | None = None) -> list[Target]:
    """The servers to check (those called `name`, if given): every server of the host,
    whoever manages it, reached and read as its manager says."""
    from ..host import Host

    if version is not None:
        binaries.check_version(settings, version)
    host = Host(settings)
    items = host.ls(version=version)
    if name is not None:
        items = [item for item in items if item.name == name]
        if not items:
            raise InstanceNotFound(f"instance {name!r} not found", hint="list instances with ls")
    found = []
    for item in items:
        files = host.files(item)
        reach = functools.partial(host.conninfo, item)
        upgrading = False
        if item.manager == "pglift":
            holder = locks.holder(locks.lock_path(settings, f"{item.version}-{item.name}")) or {}
            upgrading = holder.get("pid") is not None and holder.get("action") == "upgrade"
        found.append(
            Target(item, reach, files.waldir, tuple(files.log_files()), item.manager, upgrading=upgrading)
        )
    return found


async def connect(target: Target, timeout: float) -> AsyncConnection[dict[str, Any]]:
    """A connection for the checks: peer over the unix socket, as the superuser, with
    the checks' timeout as its statement timeout."""
    import psycopg
    from psycopg.rows import dict_row

    ms = max(1, int(timeout * 1000))
    conninfo = target.conninfo(
        options=f"-c statement_timeout={ms} -c lock_timeout={ms}",
        application_name=APPLICATION_NAME,
        connect_timeout=max(2, int(timeout + 0.999)),  # libpq's own minimum is 2 s
    )
    return await psycopg.AsyncConnection.connect(conninfo, autocommit=True, row_factory=dict_row)


async def probe(target: Target, timeout: float) -> Measurements | Unreachable:
    """The server's answer to the health query, or why there was none within `timeout`."""
    try:
        async with asyncio.timeout(timeout):
            cnx = await connect(target, timeout)
            try:
                cur = await cnx.execute(HEALTH_SQL)
                row = await cur.fetchone()
            finally:
                await cnx.close()
    except TimeoutError:
        return Unreachable(f"no answer within {timeout:g} s")
    except Exception as exc:  # any failure to answer is the finding, never a crash of the look
        text = str(exc).strip()
        return Unreachable(text.splitlines()[0] if text else type(exc).__name__)
    assert row is not None
    return parse(row)


def failed_starts(settings: Settings, down: Sequence[Target]) -> dict[str, FailedStart]:
    """For servers not running: the last start, when it failed (datadir -> what happened).

    Read from the journal, newest first, only until each one's last start or stop
    is found: a server an operator stopped is not down. Only the lines naming those
    servers are parsed.
    """
    pending = {str(t.item.datadir) for t in down}
    found: dict[str, FailedStart] = {}
    for n, event in enumerate(journal.newest_first(settings, mentioning=tuple(pending))):
        if not pending or n >= JOURNAL_LOOKBACK:
            break
        if event.datadir not in pending or event.action not in (*_STARTS, "stop", "apply", "upgrade"):
            continue
        pending.discard(event.datadir)
        if event.action in _STARTS and event.result == "failed":
            found[event.datadir] = FailedStart(event.time, event.error or "failed")
    return found


def report(
    target: Target,
    measurements: Measurements | Unreachable | None,
    log: logs.LogCounts | None,
    thresholds: HealthSettings,
    *,
    failed_start: FailedStart | None = None,
) -> Report:
    """One instance's report from what was asked of it; its disks are measured here.

    The dashboard's monitor calls it with the answer of the probe that carried the
    health column (`parse(row)`), so its look judges exactly as `check` does.
    """
    fs = disk.measure(target.disk_paths()) if thresholds.disk_space.enabled else []
    readings = assess(target.item, measurements, fs, log, thresholds, failed_start=failed_start)
    return Report(
        instance=target.key,
        manager=target.manager,
        datadir=target.item.datadir,
        readings=tuple(readings),
        findings=tuple(findings_of(target.key, target.manager, readings)),
    )


async def run(
    settings: Settings,
    *,
    name: str | None = None,
    version: str | None = None,
    jobs: int = JOBS,
    now: float | None = None,
) -> list[Report]:
    """Look at every instance (or the one named) once; a report each, in listing order."""
    thresholds = settings.health
    found = await targets(settings, name, version)
    gate = asyncio.Semaphore(jobs)

    async def ask(target: Target) -> Measurements | Unreachable | None:
        if not target.asked:
            return None
        async with gate:
            return await probe(target, thresholds.timeout)

    answers = asyncio.gather(*(ask(t) for t in found))
    counts: dict[str, logs.LogCounts] = {}
    if thresholds.log_errors.enabled:
        sources = {t.key: t.log_files for t in found}
        counts = await asyncio.to_thread(
            logs.scan, settings, sources, window=thresholds.log_errors.window, now=now,
            complete=name is None and version is None,
        )  # fmt: skip
    down = [t for t in found if t.item.status == "not running"]
    starts = failed_starts(settings, down) if down and thresholds.down.enabled else {}
    measured = await answers
    return [
        report(
            target, m, counts.get(target.key), thresholds, failed_start=starts.get(str(target.item.datadir))
        )
        for target, m in zip(found, measured, strict=True)
    ]
