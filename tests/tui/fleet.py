"""A fixed fleet of the core's own models, for pictures that never move."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from pglift_tui.health import Finding
from pglift_tui.journal import Event
from pglift_tui.models.interface import InstanceListItem
from pglift_tui.monitor import InstanceView

#: The frozen "now" of every snapshot: 2026-11-25 10:00 UTC.
NOW = datetime(2026, 11, 25, 10, 0, tzinfo=UTC).timestamp()
HOST = "demo-host"


def _item(
    name: str,
    port: int,
    status: str,
    pid: int | None = None,
    up: timedelta | None = None,
    role: str = "primary",
    manager: str = "pglift",
    datadir: str | None = None,
    owner: str | None = None,
) -> InstanceListItem:
    return InstanceListItem(
        name=name,
        version="15",
        port=port,
        datadir=Path(datadir or f"/srv/pg/srv/pgsql/15/{name}/data"),
        status=status,  # type: ignore[arg-type]
        pid=pid,
        phase="ready" if status == "running" else None,
        started_at=datetime.fromtimestamp(NOW, tz=UTC) - up if up else None,
        role=role,  # type: ignore[arg-type]
        manager=manager,  # type: ignore[arg-type]
        owner=owner,
    )


def _finding(name: str, check: str, severity: str, message: str, value: float, unit: str) -> Finding:
    return Finding(f"15/{name}", "pglift", check, severity, message, value, None, unit)  # type: ignore[arg-type]


def views() -> list[InstanceView]:
    wave = (0.0, 2.5, 8.0, 14.5, 30.0, 22.0, 41.0, 38.5, 12.0, 6.0, 18.0, 27.5)
    idle = _finding("main", "idle_in_transaction", "warning",
                    "session 4822 of report on shop is idle in transaction for 12 min (warning 5 min): "
                    "UPDATE orders SET total = total * 1.2", 754.0, "s")  # fmt: skip
    slot = _finding("main", "slot_retained_wal", "warning",
                    "inactive slot old_backup retains 3.0GB of WAL (warning 1.0GB)",
                    3_221_225_472, "B")  # fmt: skip
    near_full = _finding("reporting", "connections", "critical",
                         "38 of 37 usable connections used: 103% (critical 95%)", 102.7, "%")  # fmt: skip
    down = _finding("legacy", "down", "critical", "crashed: a stale postmaster.pid is left", 1, "")
    return [
        InstanceView(
            _item("main", 5432, "running", 4242, timedelta(days=3, hours=4)),
            connections=23,
            max_connections=100,
            tps=wave,
            standbys=1,
            findings=(idle, slot),
        ),
        InstanceView(
            _item("replica", 5438, "running", 4250, timedelta(days=3, hours=4), role="standby"),
            connections=1,
            max_connections=100,
            tps=(0.0, 0.0, 0.0),
            lag_bytes=16384,
            lag_seconds=0.4,
        ),
        InstanceView(
            _item("reporting", 5433, "running", 4311, timedelta(hours=5, minutes=12)),
            connections=38,
            max_connections=40,
            tps=tuple(reversed(wave)),
            pending_restart=True,
            findings=(near_full,),
        ),
        InstanceView(
            _item("billing", 5434, "running", 4400, timedelta(minutes=42)),
            error="FATAL:  too many connections",
        ),
        InstanceView(_item("archive", 5435, "not running")),
        InstanceView(_item("legacy", 5436, "crashed"), findings=(down,), muted=frozenset({down.ident})),
        InstanceView(
            _item("staging", 5437, "running", 4502, timedelta(minutes=3)),
            connections=2,
            max_connections=100,
            tps=(0.0, 0.0, 1.0),
            busy="restart by pid 9120 (alice)",
        ),
        InstanceView(
            _item(
                "warehouse",
                5439,
                "running",
                3101,
                timedelta(days=12),
                manager="debian",
                datadir="/var/lib/postgresql/15/warehouse",
                owner="postgres",
            ),
            connections=12,
            max_connections=100,
            tps=(3.0, 4.5, 4.0, 5.5),
        ),
        InstanceView(
            _item(
                "olddb",
                5499,
                "running",
                2870,
                timedelta(days=40),
                manager="unmanaged",
                datadir="/home/alice/olddb",
                owner="alice",
            ),
            error='cannot connect as postgres: peer authentication failed for user "postgres"',
        ),
    ]


def events() -> list[Event]:
    base = NOW - 3600
    rows = [
        ("alice", "15/main", "restart", "ok", 0.15, None),
        ("bob", "15/legacy", "start", "failed", 0.32,
         "pg_ctl failed with exit code 1: pg_ctl: could not start server"),
        ("alice", "15/reporting", "apply", "ok", 0.04, None),
        ("alice", "15/archive", "stop", "ok", 0.02, None),
        ("bob", "15/staging", "create", "ok", 0.71, None),
    ]  # fmt: skip
    return [
        Event(time=base + 60 * i, user=user, pid=1000 + i, instance=instance, datadir="/x", action=action,
              result=result, duration=duration, error=error)  # type: ignore[arg-type]
        for i, (user, instance, action, result, duration, error) in enumerate(rows)
    ][::-1]  # fmt: skip


def _setting(
    name: str, setting: str, unit: str | None, source: str, context: str, after: str | None = None
) -> dict:  # type: ignore[type-arg]
    return {"name": name, "setting": setting, "unit": unit, "source": source, "context": context,
            "pending_restart": after is not None, "after_restart": after, "vartype": "string",
            "short_desc": ""}  # fmt: skip


def details() -> dict[str, dict]:  # type: ignore[type-arg]
    """What the detail screen of 15/main shows in pictures."""
    from pglift_tui.inspect import DirUsage, Overview

    started = datetime.fromtimestamp(NOW, tz=UTC) - timedelta(days=3, hours=4)
    overview = Overview(
        running=True,
        facts={"server_version": "15.18 (Debian 15.18-0+deb12u1)", "started_at": started,
               "in_recovery": False, "checksums": True, "locale": "C.UTF-8", "encoding": "UTF8",
               "provider": "libc", "databases_size": 1_234_567_890, "pid": 4242, "port": 5432,
               "socket": "/run/pglift-tui/postgresql", "uptime_seconds": 273600.0,
               "datadir": "/srv/pg/srv/pgsql/15/main/data", "manager": "pglift",
               "config_file": "/srv/pg/srv/pgsql/15/main/data/postgresql.conf",
               "edit_via": "postgresql.conf"},
        standbys=[{"name": "replica", "client": "local", "state": "streaming", "receive_lag_bytes": 0,
                   "replay_lag_bytes": 16384, "receive_lag_seconds": 0.0, "replay_lag_seconds": 0.4,
                   "slot": "replica", "slot_retained_bytes": 16384}],
        slots=[{"slot_name": "replica", "active": True, "retained_bytes": 16384},
               {"slot_name": "old_backup", "active": False, "retained_bytes": 3_221_225_472}],
        series=series(),
        series_seconds=600.0,
        dirs=[DirUsage("/srv/pg/srv/pgsql/15/main/data", 1_290_000_000, 48_000_000_000),
              DirUsage("/srv/pg/srv/pgsql/15/main/wal", 402_653_184, 48_000_000_000)],
    )  # fmt: skip
    settings = [
        _setting("archive_mode", "off", None, "default", "postmaster"),
        _setting("log_min_duration_statement", "250", "ms", "configuration file", "superuser"),
        _setting("max_connections", "100", None, "configuration file", "postmaster", after="200"),
        _setting("port", "5432", None, "configuration file", "postmaster"),
        _setting("shared_buffers", "16384", "8kB", "configuration file", "postmaster"),
        _setting("statement_timeout", "0", "ms", "default", "user"),
        _setting("work_mem", "16384", "kB", "configuration file", "user"),
    ]
    conf = "/srv/pg/srv/pgsql/15/main/data/postgresql.conf"
    file_settings = [
        {"sourcefile": conf, "sourceline": 64, "seqno": 1, "name": "max_connections", "setting": "200",
         "applied": False, "error": "setting could not be applied", "pending_restart": True},
        {"sourcefile": conf, "sourceline": 130, "seqno": 2, "name": "shared_buffers", "setting": "128MB",
         "applied": True, "error": None, "pending_restart": False},
        {"sourcefile": conf, "sourceline": 140, "seqno": 3, "name": "work_mem", "setting": "16MB",
         "applied": True, "error": None, "pending_restart": False},
    ]  # fmt: skip
    activity = [
        {"pid": 4801, "user": "app", "database": "shop", "client": "10.0.4.17", "state": "active",
         "wait_event_type": "Lock", "wait_event": "transactionid", "xact_age": 754.2, "query_age": 754.2,
         "query": "UPDATE orders SET status = 'paid' WHERE id = $1"},
        {"pid": 4822, "user": "report", "database": "shop", "client": "local", "state": "idle in transaction",
         "wait_event_type": "Client", "wait_event": "ClientRead", "xact_age": 61.0, "query_age": 60.5,
         "query": "SELECT count(*) FROM orders"},
        {"pid": 4900, "user": "app", "database": "shop", "client": "10.0.4.18", "state": "idle",
         "wait_event_type": None, "wait_event": None, "xact_age": None, "query_age": 2.1, "query": "COMMIT"},
    ]  # fmt: skip
    log = [
        "2026-11-25 09:58:01.100 UTC [4242] LOG:  checkpoint starting: time",
        "2026-11-25 09:58:03.552 UTC [4242] LOG:  checkpoint complete: wrote 312 buffers (1.9%)",
        "2026-11-25 09:59:10.021 UTC [4801] ERROR:  deadlock detected",
        "2026-11-25 09:59:10.021 UTC [4801] DETAIL:  Process 4801 waits for ShareLock on transaction 7741",
        '2026-11-25 09:59:44.700 UTC [4990] FATAL:  password authentication failed for user "app"',
        "2026-11-25 09:59:50.003 UTC [4242] WARNING:  max_connections: pending restart",
        '2026-11-25 10:00:00.000 UTC [4242] LOG:  parameter "work_mem" changed to "16MB"',
    ]
    history = [e for e in events() if e.instance == "15/main"]
    return {"15/main": {"overview": overview, "settings": settings, "file_settings": file_settings,
                        "activity": activity, "log": log, "history": history, **troubles()}}  # fmt: skip


def series() -> dict[str, list[float]]:
    """Ten minutes of figures for the Overview's pictures: a busy spell, then calm."""
    import math

    n = 300
    bump = [math.exp(-(((i - 190) / 30) ** 2)) for i in range(n)]
    return {
        "tps": [12 + 35 * b + (i % 7) * 0.4 for i, b in enumerate(bump)],
        "active": [1 + round(6 * b) for b in bump],
        "waiting": [round(3 * b) if 170 < i < 215 else 0 for i, b in enumerate(bump)],
        "wal": [200_000 + 1_800_000 * b for b in bump],
        "lag": [0.0] * n,
        "checkpoints": [0.0] * 150 + [1.0] * 20 + [0.0] * 130,
    }


def troubles() -> dict[str, object]:
    """What the troubleshooting tabs of 15/main show in pictures."""
    from pglift_tui.troubleshoot import LockNode, ReplicationState, Statements

    started = datetime.fromtimestamp(NOW, tz=UTC)

    def lock(
        pid: int,
        user: str,
        blocked_by: list[int],
        mode: str | None,
        waited: float | None,
        xact: float,
        state: str,
        query: str,
    ) -> dict[str, object]:
        return {"pid": pid, "user": user, "database": "shop", "state": state, "wait_event": None,
                "blocked_by": blocked_by, "mode": mode, "locktype": "transactionid" if mode else None,
                "relation": None,
                "waiting_seconds": waited, "xact_age": xact, "query": query}  # fmt: skip

    locks = [
        LockNode(lock(4822, "report", [], None, None, 61.0, "idle in transaction",
                      "UPDATE orders SET total = total * 1.2 WHERE day = current_date"), 0, 2),
        LockNode(lock(4801, "app", [4822], "ShareLock", 54.2, 54.3, "active",
                      "UPDATE orders SET status = 'paid' WHERE id = $1"), 1, 1),
        LockNode(lock(4830, "app", [4801], "ExclusiveLock", 12.0, 12.0, "active",
                      "UPDATE orders SET status = 'sent' WHERE id = $1"), 2, 0),
    ]  # fmt: skip
    replication = ReplicationState(
        in_recovery=False,
        slots=[{"slot_name": "replica", "slot_type": "physical", "database": None, "active": True,
                "active_pid": 4310, "wal_status": "reserved", "retained_bytes": 16384, "safe_wal_size": None},
               {"slot_name": "old_backup", "slot_type": "physical", "database": None, "active": False,
                "active_pid": None, "wal_status": "extended", "retained_bytes": 3_221_225_472,
                "safe_wal_size": None}],
        archiver={"archive_mode": "on", "archived_count": 1204,
                  "last_archived_wal": "000000010000000300000041",
                  "last_archived_time": started - timedelta(minutes=9), "failed_count": 3,
                  "last_failed_wal": "000000010000000300000042",
                  "last_failed_time": started - timedelta(minutes=2)},
        standbys=[{"name": "replica", "client": "local", "state": "streaming", "sync_state": "async",
                   "receive_lag_bytes": 0, "replay_lag_bytes": 16384, "receive_lag_seconds": 0.0,
                   "replay_lag_seconds": 0.4}],
    )  # fmt: skip
    progress = [
        {"pid": 5120, "command": "VACUUM", "relation": "orders", "phase": "scanning heap", "done": 61234.0,
         "total": 98304.0, "unit": "blocks", "percent": 62.3},
        {"pid": 5133, "command": "CREATE INDEX CONCURRENTLY", "relation": "orders",
         "phase": "building index: scanning table", "done": 1200.0, "total": 98304.0, "unit": "blocks",
         "percent": 1.2},
    ]  # fmt: skip
    statements = Statements([
        {"queryid": 1, "user": "app", "database": "shop", "calls": 182_304, "total_ms": 912_450.3,
         "mean_ms": 5.0, "rows": 182_304, "query": "UPDATE orders SET status = $1 WHERE id = $2"},
        {"queryid": 2, "user": "report", "database": "shop", "calls": 48, "total_ms": 301_200.0,
         "mean_ms": 6275.0, "rows": 48, "query": "SELECT day, sum(total) FROM orders GROUP BY day"},
    ])  # fmt: skip
    return {"locks": locks, "replication": replication, "progress": progress, "statements": statements}
