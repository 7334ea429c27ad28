"""The health checks' one query, and what it measures.

Everything the SQL checks need comes back in one row, one column (`health`, a JSON
object), from one statement: one round trip per instance, and a column that can ride
along with another probe's select list (`with_probe`), so the dashboard's monitor
pays no second round trip for health. It reads statistics views and catalogs only,
which take no lock beyond a catalog read's; `pg_locks` and `pg_blocking_pids` (which
briefly hold the lock manager's partition locks) are only consulted for sessions that
are waiting on a lock, so an untroubled server never pays for them. Run it under a
statement timeout. Works on PostgreSQL 14 and later (`pg_locks.waitstart`), checked
on 15 and 18.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

_SESSION = """json_build_object('pid', a.pid, 'datname', a.datname, 'usename', a.usename,
        'state', a.state, 'query', left(a.query, 300)"""

# Built from constants only: no value from outside goes into this text.
HEALTH_COLUMN = f"""json_build_object(
  'in_recovery', pg_is_in_recovery(),
  'max_connections', current_setting('max_connections')::int,
  'reserved_connections', current_setting('superuser_reserved_connections')::int
      + coalesce(current_setting('reserved_connections', true)::int, 0),
  'connections', (SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'client backend'),
  'long_query', (SELECT {_SESSION}, 'seconds', extract(epoch FROM now() - a.query_start))
      FROM pg_stat_activity a
      WHERE a.state = 'active' AND a.backend_type = 'client backend' AND a.pid <> pg_backend_pid()
      ORDER BY a.query_start LIMIT 1),
  'idle_in_transaction', (SELECT {_SESSION}, 'seconds', extract(epoch FROM now() - a.state_change))
      FROM pg_stat_activity a
      WHERE a.state IN ('idle in transaction', 'idle in transaction (aborted)')
      ORDER BY a.state_change LIMIT 1),
  'blocked', (SELECT json_build_object('pid', o.pid, 'datname', o.datname, 'usename', o.usename,
          'query', o.query, 'seconds', o.seconds, 'waiting', o.waiting, 'blockers', bp.pids,
          'blocker', (SELECT {_SESSION}) FROM pg_stat_activity a WHERE a.pid = ANY (bp.pids)
              ORDER BY a.wait_event_type IS NOT DISTINCT FROM 'Lock', a.xact_start LIMIT 1))
      FROM (SELECT a.pid, a.datname, a.usename, left(a.query, 300) AS query,
                   extract(epoch FROM now() - coalesce(w.since, a.state_change)) AS seconds,
                   count(*) OVER () AS waiting
            FROM pg_stat_activity a
            CROSS JOIN LATERAL (SELECT min(l.waitstart) AS since FROM pg_locks l
                                WHERE l.pid = a.pid AND NOT l.granted) w
            WHERE a.wait_event_type = 'Lock'
            ORDER BY seconds DESC LIMIT 1) o
      CROSS JOIN LATERAL (SELECT pg_blocking_pids(o.pid) AS pids) bp),
  'wraparound', (SELECT json_build_object('datname', datname, 'xid_age', age(datfrozenxid),
          'mxid_age', mxid_age(datminmxid))
      FROM pg_database ORDER BY greatest(age(datfrozenxid), mxid_age(datminmxid)) DESC LIMIT 1),
  'lag_bytes', CASE WHEN pg_is_in_recovery()
      THEN pg_wal_lsn_diff(pg_last_wal_receive_lsn(), pg_last_wal_replay_lsn()) END,
  'lag_seconds', CASE WHEN NOT pg_is_in_recovery() THEN NULL
      WHEN pg_last_wal_receive_lsn() = pg_last_wal_replay_lsn() THEN 0
      ELSE extract(epoch FROM now() - pg_last_xact_replay_timestamp()) END,
  'slots', (SELECT json_agg(s) FROM (
      SELECT slot_name, slot_type, active, wal_status,
             pg_wal_lsn_diff(CASE WHEN pg_is_in_recovery() THEN pg_last_wal_replay_lsn()
                                  ELSE pg_current_wal_lsn() END, restart_lsn) AS retained
      FROM pg_replication_slots ORDER BY retained DESC NULLS LAST LIMIT 20) s),
  'archiver', (SELECT json_build_object('failing',
          coalesce(last_failed_time >= last_archived_time, last_failed_time IS NOT NULL),
          'last_failed_wal', last_failed_wal, 'failed_count', failed_count,
          'last_failed', extract(epoch FROM last_failed_time),
          'last_archived', extract(epoch FROM last_archived_time),
          'seconds', extract(epoch FROM now() - coalesce(last_archived_time, stats_reset)))
      FROM pg_stat_archiver
      WHERE current_setting('archive_mode') = 'always'
         OR (current_setting('archive_mode') = 'on' AND NOT pg_is_in_recovery())),
  'checksums', (SELECT json_build_object('failures', sum(checksum_failures),
          'datname', (array_agg(datname ORDER BY checksum_failures DESC NULLS LAST))[1],
          'last', extract(epoch FROM max(checksum_last_failure)))
      FROM pg_stat_database WHERE checksum_failures > 0),
  'pending_restart', (SELECT array_agg(name ORDER BY name) FROM pg_settings WHERE pending_restart)
) AS health"""  # noqa: S608

#: The checks' query on its own: one row, one JSON column `health`.
HEALTH_SQL = f"SELECT {HEALTH_COLUMN}"


def with_probe(select: str) -> str:
    """`select` (a SELECT with a select list and no FROM, like the monitor's PROBE) with
    the `health` column added: both answered in the same round trip."""
    return select.rstrip().rstrip(";") + ",\n       " + HEALTH_COLUMN


@dataclass(frozen=True)
class Session:
    """A client session a check names: pid, where, who, and its query's text."""

    pid: int
    seconds: float
    datname: str | None = None
    usename: str | None = None
    state: str | None = None
    query: str | None = None


@dataclass(frozen=True)
class Blocked:
    """The session waiting longest for a lock, and who holds it up."""

    waiter: Session
    #: Sessions waiting for a lock right now.
    waiting: int
    blockers: tuple[int, ...]
    #: The blocker named: one not waiting itself when there is one.
    blocker: Session | None


@dataclass(frozen=True)
class Slot:
    name: str
    slot_type: str
    active: bool
    wal_status: str | None
    #: WAL kept for it, in bytes; None when it holds none (never reserved).
    retained: int | None


@dataclass(frozen=True)
class Archiver:
    failing: bool
    seconds: float | None
    last_failed_wal: str | None
    failed_count: int
    last_failed: float | None
    last_archived: float | None


@dataclass(frozen=True)
class Measurements:
    """What the health query returned, typed."""

    in_recovery: bool
    connections: int
    max_connections: int
    reserved_connections: int
    long_query: Session | None = None
    idle_in_transaction: Session | None = None
    blocked: Blocked | None = None
    #: (database, transaction ID age, multixact ID age) of the oldest database.
    wraparound: tuple[str, int, int] | None = None
    lag_bytes: int | None = None
    lag_seconds: float | None = None
    slots: tuple[Slot, ...] = ()
    #: None when archiving is off (or not run on this standby).
    archiver: Archiver | None = None
    #: (failures, database with the most, time of the last) when there were any.
    checksums: tuple[int, str | None, float | None] | None = None
    pending_restart: tuple[str, ...] = ()


@dataclass(frozen=True)
class Unreachable:
    """A running server that did not answer the query, and why."""

    reason: str


def _session(data: Mapping[str, Any] | None) -> Session | None:
    if not data:
        return None
    return Session(
        pid=int(data["pid"]),
        seconds=max(0.0, float(data.get("seconds") or 0.0)),
        datname=data.get("datname"),
        usename=data.get("usename"),
        state=data.get("state"),
        query=data.get("query"),
    )


def _float(value: Any) -> float | None:
    return None if value is None else float(value)


def parse(row: Mapping[str, Any]) -> Measurements:
    """The typed measurements of a row holding the `health` column (or of that column)."""
    data: Mapping[str, Any] = row.get("health", row)
    blocked = None
    if data.get("blocked"):
        raw = data["blocked"]
        waiter = _session(raw)
        assert waiter is not None
        blocked = Blocked(
            waiter=waiter,
            waiting=int(raw.get("waiting") or 1),
            blockers=tuple(int(p) for p in raw.get("blockers") or ()),
            blocker=_session(raw.get("blocker")),
        )
    wrap = data.get("wraparound")
    arch = data.get("archiver")
    sums = data.get("checksums")
    return Measurements(
        in_recovery=bool(data["in_recovery"]),
        connections=int(data["connections"]),
        max_connections=int(data["max_connections"]),
        reserved_connections=int(data["reserved_connections"]),
        long_query=_session(data.get("long_query")),
        idle_in_transaction=_session(data.get("idle_in_transaction")),
        blocked=blocked,
        wraparound=(wrap["datname"], int(wrap["xid_age"]), int(wrap["mxid_age"])) if wrap else None,
        lag_bytes=None if data.get("lag_bytes") is None else int(data["lag_bytes"]),
        lag_seconds=_float(data.get("lag_seconds")),
        slots=tuple(
            Slot(
                name=s["slot_name"],
                slot_type=s["slot_type"],
                active=bool(s["active"]),
                wal_status=s.get("wal_status"),
                retained=None if s.get("retained") is None else int(s["retained"]),
            )
            for s in data.get("slots") or ()
        ),
        archiver=None
        if not arch
        else Archiver(
            failing=bool(arch["failing"]),
            seconds=_float(arch.get("seconds")),
            last_failed_wal=arch.get("last_failed_wal"),
            failed_count=int(arch.get("failed_count") or 0),
            last_failed=_float(arch.get("last_failed")),
            last_archived=_float(arch.get("last_archived")),
        ),
        checksums=None
        if not sums or sums.get("failures") is None
        else (int(sums["failures"]), sums.get("datname"), _float(sums.get("last"))),
        pending_restart=tuple(data.get("pending_restart") or ()),
    )
