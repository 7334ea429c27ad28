"""What the dashboard shows of each instance, gathered once per refresh.

`ls` gives status from files; for running servers a probe adds connections, the
transaction rate, replication lag and pending restarts in one query per server,
on a connection opened once and reused (application_name set, short statement
timeout), closed when the server stops.

Each server's probe stands alone. A snapshot waits at most PROBE_TIMEOUT for the
servers that answered last time and not at all for one that did not: a hung
server (SIGSTOPped, a stalled disk, a frozen VM) costs one snapshot that timeout
once, then nothing, and its row reads "no answer for N s" (no values; the
transaction-rate history is kept) while the other rows stay fresh. Its query is
never cancelled (psycopg would wait on a cancel request the hung server cannot
serve, and log about it): the connection's socket is shut down instead, which
ends the query at once, and the next probe reconnects in the background.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from . import db, instances, locks
from .models.interface import InstanceListItem
from .models.system import PostgreSQLInstance
from .settings import Settings

if TYPE_CHECKING:
    from psycopg import AsyncConnection

PROBE_TIMEOUT = 2.0
#: Samples averaged into one point of the transaction-rate history.
BUCKET = 5
#: Points of history kept per instance.
HISTORY = 24
#: Transactions per second below which a point reads as idle (counter noise).
MIN_RATE = 0.5
PROBE = """
SELECT (SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'client backend') AS connections,
       current_setting('max_connections')::int AS max_connections,
       (SELECT sum(xact_commit + xact_rollback) FROM pg_stat_database)::bigint AS xacts,
       pg_is_in_recovery() AS in_recovery,
       CASE WHEN pg_is_in_recovery()
            THEN pg_wal_lsn_diff(pg_last_wal_receive_lsn(), pg_last_wal_replay_lsn())::bigint
       END AS lag_bytes,
       CASE WHEN NOT pg_is_in_recovery() THEN NULL
            -- Caught up: no lag, however old the last replayed transaction is.
            WHEN pg_last_wal_receive_lsn() = pg_last_wal_replay_lsn() THEN 0
            ELSE extract(epoch FROM now() - pg_last_xact_replay_timestamp())::float8 END AS lag_seconds,
       (SELECT bool_or(pending_restart) FROM pg_settings) AS pending_restart,
       (SELECT count(*) FROM pg_stat_replication WHERE state <> 'backup')::int AS standbys
"""


@dataclass(frozen=True)
class InstanceView:
    """One instance as the dashboard shows it; equal views draw the same row."""

    item: InstanceListItem
    connections: int | None = None
    max_connections: int | None = None
    #: Transactions per second, one point per BUCKET refreshes, oldest first.
    tps: tuple[float, ...] = ()
    lag_bytes: int | None = None
    lag_seconds: float | None = None
    pending_restart: bool | None = None
    #: Standbys streaming from this server now (pg_stat_replication).
    standbys: int | None = None
    #: Why the server could not be probed.
    error: str | None = None
    #: "stop by pid 42 (alice)" when another process holds the instance's lock.
    busy: str | None = None

    @property
    def key(self) -> str:
        return f"{self.item.version}/{self.item.name}"


@dataclass
class _Probe:
    connection: Any = None
    pid: int | None = None
    #: (time, transaction counter) when the current point of history began.
    bucket_start: tuple[float, int] | None = None
    #: Probes since then, each one a transaction of ours in the counter.
    probes: int = 0
    points: deque[float] = field(default_factory=lambda: deque(maxlen=HISTORY))
    #: The query in flight, maybe begun at an earlier snapshot (a hung server's lasts).
    task: asyncio.Task[dict[str, Any]] | None = None
    #: When the probe in flight began (the monitor's clock).
    asked_at: float = 0.0
    #: When the server's first unanswered probe began; None while it answers.
    silent_since: float | None = None
    #: Its connection was shut down by us: the error that follows is ours, not the server's.
    abandoned: bool = False


class Monitor:
    """Snapshots of every instance, with per-server probes kept between refreshes."""

    def __init__(self, settings: Settings, *, clock: Callable[[], float] = time.monotonic) -> None:
        self.settings = settings
        self.clock = clock
        self._probes: dict[str, _Probe] = {}
        #: Probes of servers gone from the table whose last query still drains.
        self._orphans: list[_Probe] = []

    async def snapshot(self) -> list[InstanceView]:
        items = [item async for item in instances.ls(self.settings)]
        holders = {str(item.datadir): self._lock_holder(item) for item in items}
        live = {
            str(i.datadir): i
            for i in items
            if i.status == "running"
            and i.phase in ("ready", "standby")
            # pg_upgrade runs its servers on a private socket: no client may connect, us included.
            and holders[str(i.datadir)].get("action") != "upgrade"
        }
        for datadir in set(self._probes) - set(live):
            await self._forget(datadir)
        await self._reap_orphans()
        probed = await self._probe_all(live)
        views = []
        for item in items:
            view = probed.get(str(item.datadir)) or InstanceView(item)
            info = holders[str(item.datadir)]
            # Our own actions are shown by the dispatcher, with their name and time.
            if info and info["pid"] != os.getpid():
                view = replace(
                    view, busy=f"{info.get('action', '?')} by pid {info['pid']} ({info.get('user', '?')})"
                )
            views.append(view)
        return views

    def _lock_holder(self, item: InstanceListItem) -> dict[str, Any]:
        """Who holds the instance's lock, and for what; empty when nobody does."""
        info = locks.holder(locks.lock_path(self.settings, f"{item.version}-{item.name}"))
        return info if info and info.get("pid") is not None else {}

    async def _probe_all(self, live: dict[str, InstanceListItem]) -> dict[str, InstanceView]:
        """Start a probe where none is in flight; wait for those of servers that answer."""
        waited = []
        for datadir, item in live.items():
            probe = self._probes.get(datadir)
            if probe is not None and probe.pid != item.pid:
                await self._forget(datadir)
                probe = None
            if probe is None:
                probe = self._probes[datadir] = _Probe(pid=item.pid)
            if probe.task is None:
                probe.abandoned = False
                probe.task = asyncio.ensure_future(self._query(probe, item))
                probe.asked_at = self.clock()
            if probe.silent_since is None and not probe.task.done():
                waited.append(probe.task)
        if waited:
            await asyncio.wait(waited, timeout=PROBE_TIMEOUT)
        return {datadir: await self._outcome(self._probes[datadir], item) for datadir, item in live.items()}

    async def _outcome(self, probe: _Probe, item: InstanceListItem) -> InstanceView:
        """The row of one server: its answer, its error, or how long it has been silent."""
        task = probe.task
        assert task is not None
        now = self.clock()
        if not task.done():
            if probe.silent_since is None:
                probe.silent_since = probe.asked_at
            if now - probe.asked_at >= PROBE_TIMEOUT:
                _abandon(probe)  # its query ends now, with an error we recognise as ours
            return self._silent(probe, item, now)
        probe.task = None
        error = task.exception() if not task.cancelled() else asyncio.CancelledError()
        if error is not None:
            await self._close(probe)
            if probe.abandoned or _timed_out(error):
                probe.silent_since = probe.silent_since if probe.silent_since is not None else probe.asked_at
                return self._silent(probe, item, now)
            probe.silent_since = None
            return InstanceView(item, tps=tuple(probe.points), error=_reason(error))
        probe.silent_since = None
        row = task.result()
        self._sample(probe, row["xacts"])
        return InstanceView(
            item,
            connections=row["connections"],
            max_connections=row["max_connections"],
            tps=tuple(probe.points),
            lag_bytes=row["lag_bytes"],
            lag_seconds=None if row["lag_seconds"] is None else round(row["lag_seconds"], 1),
            pending_restart=bool(row["pending_restart"]),
            standbys=row["standbys"],
        )

    def _silent(self, probe: _Probe, item: InstanceListItem, now: float) -> InstanceView:
        since = probe.silent_since if probe.silent_since is not None else now
        return InstanceView(item, tps=tuple(probe.points), error=f"no answer for {now - since:.0f} s")

    async def _query(self, probe: _Probe, item: InstanceListItem) -> dict[str, Any]:
        if probe.connection is None:
            probe.connection = await _connect(PostgreSQLInstance(item.name, item.version, self.settings))
        connection: AsyncConnection[dict[str, Any]] = probe.connection
        cur = await connection.execute(PROBE)
        row = await cur.fetchone()
        assert row is not None
        return row

    def _sample(self, probe: _Probe, xacts: int | None) -> None:
        """Close a point of history every BUCKET probes, from the counters at its ends.

        The server's counters include our own probes (one transaction each) and are
        flushed about once a second, so a point is (transactions - probes) over its
        duration, and less than half a transaction a second reads as none: an idle
        server draws a flat, unchanging line.
        """
        now = self.clock()
        if xacts is None:
            return
        if probe.bucket_start is None:
            probe.bucket_start = (now, xacts)
            return
        probe.probes += 1
        if probe.probes < BUCKET:
            return
        started, count = probe.bucket_start
        rate = (xacts - count - probe.probes) / max(now - started, 1e-3)
        probe.points.append(round(rate, 1) if rate >= MIN_RATE else 0.0)
        probe.bucket_start, probe.probes = (now, xacts), 0

    async def _close(self, probe: _Probe) -> None:
        """Close a probe's connection; only once no query of it is in flight."""
        if probe.connection is not None:
            with contextlib.suppress(Exception):
                await probe.connection.close()
            probe.connection = None

    async def _forget(self, datadir: str) -> None:
        probe = self._probes.pop(datadir, None)
        if probe is None:
            return
        if probe.task is not None and not probe.task.done():
            _abandon(probe)
            self._orphans.append(probe)  # closed once its query has drained
            return
        _retrieve(probe.task)
        await self._close(probe)

    async def _reap_orphans(self) -> None:
        for probe in [p for p in self._orphans if p.task is None or p.task.done()]:
            self._orphans.remove(probe)
            _retrieve(probe.task)
            await self._close(probe)

    async def close(self) -> None:
        """Close every connection, hung servers' included, without waiting on them.

        Queries in flight end at once (their sockets shut down); a connection attempt
        in flight ends at its connect timeout, or is cancelled after it.
        """
        probes = [*self._probes.values(), *self._orphans]
        self._probes.clear()
        self._orphans.clear()
        for probe in probes:
            _abandon(probe)
        pending = [p.task for p in probes if p.task is not None and not p.task.done()]
        if pending:
            _, late = await asyncio.wait(pending, timeout=PROBE_TIMEOUT + 1)
            for task in late:
                task.cancel()
            if late:
                await asyncio.wait(late)
        for probe in probes:
            _retrieve(probe.task)
            await self._close(probe)


def _abandon(probe: _Probe) -> None:
    """Shut down a probe's socket: a query waiting on a hung server fails at once.

    Cancelling the query instead would have psycopg send a cancel request and wait
    for it (the hung server never serves it) and log a warning on the terminal.
    """
    probe.abandoned = True
    connection = probe.connection
    if connection is None:
        return  # still connecting: its connect timeout ends it
    with contextlib.suppress(Exception):
        fd = connection.pgconn.socket
        with socket.socket(fileno=os.dup(fd)) as sock:
            sock.shutdown(socket.SHUT_RDWR)


def _retrieve(task: asyncio.Task[Any] | None) -> None:
    """Take a finished task's outcome, so asyncio never warns it was not retrieved."""
    if task is not None and task.done() and not task.cancelled():
        task.exception()


def _timed_out(error: BaseException) -> bool:
    """A connection attempt the server did not answer in time (not a refusal)."""
    from psycopg import errors

    return isinstance(error, TimeoutError | errors.ConnectionTimeout)


async def _connect(instance: PostgreSQLInstance) -> Any:
    import psycopg
    from psycopg.rows import dict_row

    timeout = f"-c statement_timeout={int(PROBE_TIMEOUT * 1000)}"
    conninfo = db.conninfo(instance, options=timeout, connect_timeout=int(PROBE_TIMEOUT))
    return await psycopg.AsyncConnection.connect(conninfo, autocommit=True, row_factory=dict_row)


def _reason(exc: BaseException) -> str:
    """The first line of what went wrong, for a table cell."""
    if isinstance(exc, TimeoutError):
        return f"no answer within {PROBE_TIMEOUT:g} s"
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
