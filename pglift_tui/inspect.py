"""One instance looked at closely: what the detail screen shows, as plain data.

Everything a troubleshooting operator would open psql for, on one connection opened
once and reused (application_name set, a short statement timeout, so a stuck server
cannot hold the screen), built with psycopg.sql where anything varies. A stopped
server is described from its files: configuration, control data, the log's last lines.
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from . import conf, replication
from .managers import ServerFiles

if TYPE_CHECKING:
    from psycopg import AsyncConnection

STATEMENT_TIMEOUT_MS = 2000

OVERVIEW = """
SELECT current_setting('server_version') AS server_version,
       pg_postmaster_start_time() AS started_at,
       pg_is_in_recovery() AS in_recovery,
       current_setting('data_checksums')::bool AS checksums,
       d.datcollate AS locale, pg_encoding_to_char(d.encoding) AS encoding,
       CASE d.datlocprovider WHEN 'i' THEN 'icu' WHEN 'b' THEN 'builtin' ELSE 'libc' END AS provider,
       (SELECT sum(pg_database_size(oid)) FROM pg_database)::bigint AS databases_size
FROM pg_database d WHERE d.datname = 'template1'
"""

STANDBYS = """
SELECT r.application_name AS name, coalesce(host(r.client_addr), 'local') AS client, r.state,
       pg_wal_lsn_diff(pg_current_wal_lsn(), r.flush_lsn)::bigint AS receive_lag_bytes,
       pg_wal_lsn_diff(pg_current_wal_lsn(), r.replay_lsn)::bigint AS replay_lag_bytes,
       extract(epoch FROM r.write_lag)::float8 AS receive_lag_seconds,
       extract(epoch FROM r.replay_lag)::float8 AS replay_lag_seconds,
       s.slot_name AS slot,
       pg_wal_lsn_diff(pg_current_wal_lsn(), s.restart_lsn)::bigint AS slot_retained_bytes
FROM pg_stat_replication r LEFT JOIN pg_replication_slots s ON s.active_pid = r.pid
WHERE r.state <> 'backup' ORDER BY r.application_name
"""

SLOTS = """
SELECT slot_name, active, pg_wal_lsn_diff(pg_current_wal_lsn(), restart_lsn)::bigint AS retained_bytes
FROM pg_replication_slots WHERE slot_type = 'physical' ORDER BY slot_name
"""

SETTINGS = """
SELECT s.name, s.setting, s.unit, s.source, s.context, s.vartype, s.boot_val, s.reset_val,
       s.min_val, s.max_val, s.enumvals, s.short_desc, s.pending_restart,
       (SELECT f.setting FROM pg_file_settings f WHERE f.name = s.name AND f.applied IS FALSE
          AND f.error IS NULL ORDER BY f.seqno DESC LIMIT 1) AS after_restart
FROM pg_settings s ORDER BY s.name
"""

FILE_SETTINGS = """
SELECT f.sourcefile, f.sourceline, f.seqno, f.name, f.setting, f.applied, f.error,
       coalesce(s.pending_restart, false) AS pending_restart
FROM pg_file_settings f LEFT JOIN pg_settings s ON s.name = f.name ORDER BY f.seqno
"""

ACTIVITY = """
SELECT pid, usename AS user, datname AS database,
       coalesce(host(client_addr), CASE WHEN client_port = -1 THEN 'local' END) AS client,
       application_name, state, wait_event_type, wait_event, backend_type,
       extract(epoch FROM now() - xact_start)::float8 AS xact_age,
       extract(epoch FROM now() - query_start)::float8 AS query_age,
       extract(epoch FROM now() - backend_start)::float8 AS backend_age,
       query
FROM pg_stat_activity
WHERE pid <> pg_backend_pid() AND backend_type = 'client backend'
ORDER BY coalesce(xact_start, query_start, backend_start) NULLS LAST, pid
"""


@dataclass(frozen=True)
class DirUsage:
    path: str
    size: int | None
    free: int | None


@dataclass
class Overview:
    running: bool
    facts: dict[str, Any] = field(default_factory=dict)
    standbys: list[dict[str, Any]] = field(default_factory=list)
    slots: list[dict[str, Any]] = field(default_factory=list)
    #: The standby's view of its primary: conninfo and lag (see instances.get).
    upstream: dict[str, Any] = field(default_factory=dict)
    dirs: list[DirUsage] = field(default_factory=list)
    #: For a server that is down: the last lines of its log, which say why.
    last_log_lines: list[str] = field(default_factory=list)
    #: The last minutes of a few figures (series.NAMES), oldest first, and how long they cover.
    series: dict[str, list[float]] = field(default_factory=dict)
    series_seconds: float = 0.0


def tree_size(path: str) -> int | None:
    """Bytes under `path`, not following symbolic links (blocking: run in a thread)."""
    total = 0
    try:
        for root, _dirs, files in os.walk(path):
            for name in files:
                try:
                    total += os.lstat(os.path.join(root, name)).st_size
                except OSError:
                    continue
    except OSError:
        return None
    return total


def dir_usage(path: str) -> DirUsage:
    try:
        free: int | None = shutil.disk_usage(path).free
    except OSError:
        free = None
    return DirUsage(path, tree_size(path), free)


async def connect(conninfo: str) -> AsyncConnection[dict[str, Any]]:
    """The detail screen's one connection, kept while the screen is open."""
    import psycopg
    from psycopg.conninfo import make_conninfo
    from psycopg.rows import dict_row

    conninfo = make_conninfo(
        conninfo, options=f"-c statement_timeout={STATEMENT_TIMEOUT_MS}", application_name="pglift-tui detail"
    )
    return await psycopg.AsyncConnection.connect(conninfo, autocommit=True, row_factory=dict_row)


async def _rows(cnx: AsyncConnection[dict[str, Any]], query: str, params: Any = None) -> list[dict[str, Any]]:
    cur = await cnx.execute(query, params)
    return await cur.fetchall()


async def overview(cnx: AsyncConnection[dict[str, Any]]) -> Overview:
    facts = (await _rows(cnx, OVERVIEW))[0]
    view = Overview(running=True, facts=facts)
    if facts["in_recovery"]:
        view.upstream = await replication.lag(cnx)
    else:
        view.standbys = await _rows(cnx, STANDBYS)
        view.slots = await _rows(cnx, SLOTS)
    return view


def offline_overview(files: ServerFiles, log_lines: int = 12) -> Overview:
    """A stopped or crashed server, from disk; the last log lines say why it is down."""
    values = conf.file_values(files.config_file)
    facts: dict[str, Any] = {
        "configured": {k: values[k] for k in sorted(values) if k in ("port", "listen_addresses")}
    }
    current = current_log(files)
    lines = LogTail(str(current), keep=log_lines).read_new() if current else []
    return Overview(running=False, facts=facts, last_log_lines=lines)


def current_log(files: ServerFiles) -> Path | None:
    """The log written last: the collector's current file, or the start log when a
    start failed before the collector ran (which is why a server is down)."""

    def written(path: Path) -> float:
        try:
            return path.stat().st_mtime
        except OSError:
            return 0.0

    return max(files.log_files(), key=written, default=None)


def offline_settings(files: ServerFiles) -> list[dict[str, Any]]:
    """A stopped server's settings: what its configuration file says (the rest is the defaults)."""
    values = conf.file_values(files.config_file)
    source = files.config_file.name
    return [
        {"name": name, "setting": value, "unit": None, "source": source, "context": "",
         "vartype": "string", "pending_restart": False, "after_restart": None, "short_desc": ""}
        for name, value in sorted(values.items())
    ]  # fmt: skip


async def settings(cnx: AsyncConnection[dict[str, Any]]) -> list[dict[str, Any]]:
    return await _rows(cnx, SETTINGS)


async def file_settings(cnx: AsyncConnection[dict[str, Any]]) -> list[dict[str, Any]]:
    return await _rows(cnx, FILE_SETTINGS)


async def activity(cnx: AsyncConnection[dict[str, Any]]) -> list[dict[str, Any]]:
    return await _rows(cnx, ACTIVITY)


async def signal_backend(cnx: AsyncConnection[dict[str, Any]], pid: int, *, terminate: bool) -> bool:
    """Cancel a backend's query, or end its session; False when it was gone already."""
    query = "SELECT pg_terminate_backend(%s) AS ok" if terminate else "SELECT pg_cancel_backend(%s) AS ok"
    rows = await _rows(cnx, query, (pid,))
    return bool(rows and rows[0]["ok"])


class LogTail:
    """The end of a log file, followed as it grows, in bounded memory.

    Only the last `keep` lines are held, however large the file; the first read
    seeks near the end instead of reading it all. A file that shrank (truncated or
    replaced) is read again from its start.
    """

    def __init__(self, path: str, *, keep: int = 2000) -> None:
        self.path = path
        self.keep = keep
        self.offset: int | None = None
        self._partial = b""
        self._inode: int | None = None

    def read_new(self) -> list[str]:
        """Lines added since the last call (the last `keep` of the file the first time)."""
        try:
            with open(self.path, "rb") as f:
                st = os.fstat(f.fileno())
                if self.offset is None or st.st_ino != self._inode or st.st_size < self.offset:
                    self._inode = st.st_ino
                    self._partial = b""
                    self.offset = max(0, st.st_size - self.keep * 200)
                    skip_first = self.offset > 0
                else:
                    skip_first = False
                f.seek(self.offset)
                data = f.read()
        except OSError:
            return []
        self.offset += len(data)
        data = self._partial + data
        *complete, self._partial = data.split(b"\n")
        if skip_first and complete:
            complete = complete[1:]  # the first line read from mid-file is only a tail
        return [line.decode(errors="replace") for line in complete[-self.keep :]]
