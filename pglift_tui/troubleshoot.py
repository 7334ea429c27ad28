"""What a troubleshooting operator asks a running server, as plain data for the detail tabs.

Who blocks whom (the lock tree, with the root blocker to cancel or end), the state of
replication and WAL (slots and what they retain, the archiver, the standbys), the
progress of long maintenance commands, and the top statements of
pg_stat_statements. Each is one query, run only while its tab is shown, on the detail
screen's one connection (short statement timeout), reading catalog views only.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from psycopg import AsyncConnection

LOCKS = """
WITH waiting AS (
  SELECT a.pid, pg_blocking_pids(a.pid) AS blockers
  FROM pg_stat_activity a WHERE a.wait_event_type = 'Lock'
), involved AS (
  SELECT pid FROM waiting UNION SELECT unnest(blockers) FROM waiting
)
SELECT a.pid, a.usename AS user, a.datname AS database, a.state, a.wait_event,
       coalesce(w.blockers, '{}') AS blocked_by,
       l.mode, l.locktype, CASE WHEN l.relation IS NOT NULL THEN l.relation::regclass::text END AS relation,
       extract(epoch FROM now() - l.waitstart)::float8 AS waiting_seconds,
       extract(epoch FROM now() - a.xact_start)::float8 AS xact_age,
       a.query
FROM involved i JOIN pg_stat_activity a ON a.pid = i.pid
LEFT JOIN waiting w ON w.pid = a.pid
LEFT JOIN LATERAL (
  SELECT mode, locktype, relation, waitstart FROM pg_locks
  WHERE pid = a.pid AND NOT granted ORDER BY waitstart LIMIT 1
) l ON true
ORDER BY a.pid
"""

SLOTS = """
SELECT slot_name, slot_type, database, active, active_pid, wal_status,
       pg_wal_lsn_diff(CASE WHEN pg_is_in_recovery() THEN pg_last_wal_replay_lsn()
                            ELSE pg_current_wal_lsn() END, restart_lsn)::bigint AS retained_bytes,
       safe_wal_size
FROM pg_replication_slots ORDER BY slot_name
"""

ARCHIVER = """
SELECT current_setting('archive_mode') AS archive_mode, archived_count, last_archived_wal,
       last_archived_time, failed_count, last_failed_wal, last_failed_time
FROM pg_stat_archiver
"""

STANDBYS = """
SELECT application_name AS name, coalesce(host(client_addr), 'local') AS client, state, sync_state,
       pg_wal_lsn_diff(pg_current_wal_lsn(), flush_lsn)::bigint AS receive_lag_bytes,
       pg_wal_lsn_diff(pg_current_wal_lsn(), replay_lsn)::bigint AS replay_lag_bytes,
       extract(epoch FROM write_lag)::float8 AS receive_lag_seconds,
       extract(epoch FROM replay_lag)::float8 AS replay_lag_seconds
FROM pg_stat_replication ORDER BY application_name
"""

RECEIVER = """
SELECT status, sender_host, sender_port, slot_name,
       extract(epoch FROM now() - last_msg_receipt_time)::float8 AS last_message_age
FROM pg_stat_wal_receiver
"""

#: Every pg_stat_progress_* view as (command, relation, phase, done, total), one union.
PROGRESS = """
SELECT p.pid, 'VACUUM' AS command, p.relid::regclass::text AS relation, p.phase,
       p.heap_blks_scanned::float8 AS done, p.heap_blks_total::float8 AS total, 'blocks' AS unit
FROM pg_stat_progress_vacuum p
UNION ALL
SELECT p.pid, 'ANALYZE', p.relid::regclass::text, p.phase,
       p.sample_blks_scanned, p.sample_blks_total, 'blocks'
FROM pg_stat_progress_analyze p
UNION ALL
SELECT p.pid, p.command, p.relid::regclass::text, p.phase,
       CASE WHEN p.blocks_total > 0 THEN p.blocks_done ELSE p.tuples_done END,
       CASE WHEN p.blocks_total > 0 THEN p.blocks_total ELSE p.tuples_total END,
       CASE WHEN p.blocks_total > 0 THEN 'blocks' ELSE 'tuples' END
FROM pg_stat_progress_create_index p
UNION ALL
SELECT p.pid, p.command, p.relid::regclass::text, p.phase,
       p.heap_blks_scanned, p.heap_blks_total, 'blocks'
FROM pg_stat_progress_cluster p
UNION ALL
SELECT p.pid, 'BASE BACKUP', NULL, p.phase, p.backup_streamed, p.backup_total, 'bytes'
FROM pg_stat_progress_basebackup p
UNION ALL
SELECT p.pid, p.command, p.relid::regclass::text, p.type,
       CASE WHEN p.bytes_total > 0 THEN p.bytes_processed ELSE p.tuples_processed END,
       CASE WHEN p.bytes_total > 0 THEN p.bytes_total END,
       CASE WHEN p.bytes_total > 0 THEN 'bytes' ELSE 'tuples' END
FROM pg_stat_progress_copy p
ORDER BY pid
"""

STATEMENTS_INSTALLED = """
SELECT (SELECT extversion FROM pg_extension WHERE extname = 'pg_stat_statements') AS version,
       'pg_stat_statements' = ANY(string_to_array(replace(current_setting('shared_preload_libraries'),
                                                          ' ', ''), ',')) AS preloaded
"""

STATEMENTS = """
SELECT s.queryid, r.rolname AS user, d.datname AS database, s.calls,
       s.total_exec_time AS total_ms, s.mean_exec_time AS mean_ms, s.rows, s.query
FROM pg_stat_statements s
LEFT JOIN pg_roles r ON r.oid = s.userid LEFT JOIN pg_database d ON d.oid = s.dbid
ORDER BY s.total_exec_time DESC LIMIT %s
"""


async def _rows(cnx: AsyncConnection[dict[str, Any]], query: str, params: Any = None) -> list[dict[str, Any]]:
    cur = await cnx.execute(query, params)
    return await cur.fetchall()


@dataclass(frozen=True)
class LockNode:
    """A session in a lock queue, and those waiting behind it."""

    row: dict[str, Any]
    depth: int
    waiters: int


async def lock_tree(cnx: AsyncConnection[dict[str, Any]]) -> list[LockNode]:
    """Sessions that block or wait, as a tree walked depth first: roots (blocking, not
    waiting) first, each waiter under the first session it waits for."""
    rows = {row["pid"]: row for row in await _rows(cnx, LOCKS)}
    children: dict[int, list[int]] = {}
    for pid, row in rows.items():
        blockers = [b for b in row["blocked_by"] if b in rows]
        if blockers:
            children.setdefault(blockers[0], []).append(pid)
    roots = [pid for pid, row in rows.items() if not [b for b in row["blocked_by"] if b in rows]]

    def count(pid: int, seen: frozenset[int]) -> int:
        return sum(1 + count(c, seen | {c}) for c in children.get(pid, []) if c not in seen)

    walked: list[LockNode] = []

    def walk(pid: int, depth: int, seen: frozenset[int]) -> None:
        walked.append(LockNode(rows[pid], depth, count(pid, seen)))
        for child in children.get(pid, []):
            if child not in seen:
                walk(child, depth + 1, seen | {child})

    for root in sorted(roots, key=lambda p: -count(p, frozenset({p}))):
        walk(root, 0, frozenset({root}))
    # Waiters in a cycle (a deadlock not yet detected) have no root: shown anyway.
    for pid in rows:
        if all(node.row["pid"] != pid for node in walked):
            walk(pid, 0, frozenset({pid}))
    return walked


@dataclass
class ReplicationState:
    in_recovery: bool
    slots: list[dict[str, Any]] = field(default_factory=list)
    archiver: dict[str, Any] = field(default_factory=dict)
    standbys: list[dict[str, Any]] = field(default_factory=list)
    receiver: dict[str, Any] = field(default_factory=dict)


async def replication(cnx: AsyncConnection[dict[str, Any]]) -> ReplicationState:
    in_recovery = bool((await _rows(cnx, "SELECT pg_is_in_recovery() AS r"))[0]["r"])
    state = ReplicationState(in_recovery, slots=await _rows(cnx, SLOTS))
    state.archiver = (await _rows(cnx, ARCHIVER))[0]
    if in_recovery:
        received = await _rows(cnx, RECEIVER)
        state.receiver = received[0] if received else {}
    else:
        state.standbys = await _rows(cnx, STANDBYS)
    return state


async def progress(cnx: AsyncConnection[dict[str, Any]]) -> list[dict[str, Any]]:
    """Long commands in progress, each with its percent done when the server can tell."""
    rows = await _rows(cnx, PROGRESS)
    for row in rows:
        done, total = row["done"], row["total"]
        row["percent"] = round(100.0 * done / total, 1) if total else None
    return rows


@dataclass
class Statements:
    rows: list[dict[str, Any]]
    #: Why there are none: what to do to have them.
    missing: str | None = None


async def statements(cnx: AsyncConnection[dict[str, Any]], limit: int = 100) -> Statements:
    installed = (await _rows(cnx, STATEMENTS_INSTALLED))[0]
    if installed["version"] is None:
        if installed["preloaded"]:
            how = "run CREATE EXTENSION pg_stat_statements in the postgres database"
        else:
            how = (
                "add pg_stat_statements to shared_preload_libraries, restart, then run "
                "CREATE EXTENSION pg_stat_statements in the postgres database"
            )
        return Statements([], f"pg_stat_statements is not installed: {how}")
    if not installed["preloaded"]:
        return Statements([], "pg_stat_statements is installed but not loaded: add it to "
                              "shared_preload_libraries and restart")  # fmt: skip
    return Statements(await _rows(cnx, STATEMENTS, (limit,)))


def wait_summary(activity: list[dict[str, Any]]) -> list[tuple[str, int]]:
    """What the sessions wait on, most common first ("Lock:transactionid", 3)."""
    counts: dict[str, int] = {}
    for row in activity:
        if row.get("state") == "idle":
            continue
        what = (
            f"{row['wait_event_type']}:{row['wait_event']}" if row.get("wait_event") else "CPU (not waiting)"
        )
        counts[what] = counts.get(what, 0) + 1
    return sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
