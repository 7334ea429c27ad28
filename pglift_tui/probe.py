"""One server's probe: the query the monitor asks it each refresh, and its connection.

One statement a refresh (one round trip): the dashboard's own figures plus the health
checks' column (`health.with_probe`), on a connection opened once and kept, with a
short statement timeout. A server that does not answer is never waited on twice:
its query is not cancelled (psycopg would wait on a cancel request the hung server
cannot serve, and log about it); the connection's socket is shut down instead,
which ends the query at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from .health import with_probe
from .series import Series

if TYPE_CHECKING:
    from psycopg import AsyncConnection

PROBE_TIMEOUT = 2.0
#: Points of transaction-rate history kept per instance, for the table's sparkline.
HISTORY = 24

_FIGURES = """
SELECT (SELECT sum(xact_commit + xact_rollback) FROM pg_stat_database)::bigint AS xacts,
       (SELECT count(*) FILTER (WHERE state = 'active' AND wait_event_type IS DISTINCT FROM 'Lock')
          FROM pg_stat_activity WHERE backend_type = 'client backend')::int AS active,
       (SELECT count(*) FILTER (WHERE wait_event_type = 'Lock')
          FROM pg_stat_activity WHERE backend_type = 'client backend')::int AS waiting,
       pg_wal_lsn_diff(CASE WHEN pg_is_in_recovery()
                            THEN coalesce(pg_last_wal_receive_lsn(), pg_last_wal_replay_lsn())
                            ELSE pg_current_wal_lsn() END, '0/0')::bigint AS wal_position,
       {checkpoints} AS checkpoints,
       (SELECT count(*) FROM pg_stat_replication WHERE state <> 'backup')::int AS standbys
"""


def figures_sql(server_version: int) -> str:
    """The dashboard's own figures for a server of that version (pg_stat_checkpointer from 17 on)."""
    if server_version >= 170000:
        checkpoints = "(SELECT num_timed + num_requested FROM pg_stat_checkpointer)"
    else:
        checkpoints = "(SELECT checkpoints_timed + checkpoints_req FROM pg_stat_bgwriter)"
    return _FIGURES.format(checkpoints=checkpoints)


def probe_sql(server_version: int) -> str:
    """The monitor's one statement: its figures and the health checks' column."""
    return with_probe(figures_sql(server_version))


@dataclass
class ServerProbe:
    """What the monitor keeps of one running server between refreshes."""

    connection: Any = None
    pid: int | None = None
    sql: str | None = None
    #: (time, transaction counter) when the current point of history began.
    bucket_start: tuple[float, int] | None = None
    #: Probes since then, each one a transaction of ours in the counter.
    probes: int = 0
    points: deque[float] = field(default_factory=lambda: deque(maxlen=HISTORY))
    #: The last minutes of a few figures, for the detail screen's pictures.
    series: Series = field(default_factory=Series)
    #: The query in flight, maybe begun at an earlier snapshot (a hung server's lasts).
    task: asyncio.Task[dict[str, Any]] | None = None
    #: When the probe in flight began (the monitor's clock).
    asked_at: float = 0.0
    #: When the server's first unanswered probe began; None while it answers.
    silent_since: float | None = None
    #: Its connection was shut down by us: the error that follows is ours, not the server's.
    abandoned: bool = False


async def ask(probe: ServerProbe, conninfo: Callable[[], str]) -> dict[str, Any]:
    """The probe's row, on its kept connection (opened first if needed: only then is the
    connection string worked out, which reads the pid file and proves the postmaster)."""
    if probe.connection is None:
        probe.connection = await connect(conninfo())
        probe.sql = probe_sql(probe.connection.info.server_version)
    connection: AsyncConnection[dict[str, Any]] = probe.connection
    cur = await connection.execute(probe.sql or probe_sql(connection.info.server_version))
    row = await cur.fetchone()
    assert row is not None
    return row


async def connect(conninfo: str) -> Any:
    import psycopg
    from psycopg.conninfo import make_conninfo
    from psycopg.rows import dict_row

    timeout = f"-c statement_timeout={int(PROBE_TIMEOUT * 1000)}"
    conninfo = make_conninfo(conninfo, options=timeout, connect_timeout=int(PROBE_TIMEOUT))
    return await psycopg.AsyncConnection.connect(conninfo, autocommit=True, row_factory=dict_row)


async def close(probe: ServerProbe) -> None:
    """Close a probe's connection; only once no query of it is in flight."""
    if probe.connection is not None:
        with contextlib.suppress(Exception):
            await probe.connection.close()
        probe.connection = None


def abandon(probe: ServerProbe) -> None:
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


def retrieve(task: asyncio.Task[Any] | None) -> None:
    """Take a finished task's outcome, so asyncio never warns it was not retrieved."""
    if task is not None and task.done() and not task.cancelled():
        task.exception()


def timed_out(error: BaseException) -> bool:
    """A connection attempt the server did not answer in time (not a refusal)."""
    from psycopg import errors

    return isinstance(error, TimeoutError | errors.ConnectionTimeout)


def reason(exc: BaseException) -> str:
    """The first line of what went wrong, for a table cell."""
    if isinstance(exc, TimeoutError):
        return f"no answer within {PROBE_TIMEOUT:g} s"
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
