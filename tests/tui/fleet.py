"""A fixed fleet of the core's own models, for pictures that never move."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

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
) -> InstanceListItem:
    return InstanceListItem(
        name=name,
        version="15",
        port=port,
        datadir=Path(f"/srv/pg/srv/pgsql/15/{name}/data"),
        status=status,  # type: ignore[arg-type]
        pid=pid,
        phase="ready" if status == "running" else None,
        started_at=datetime.fromtimestamp(NOW, tz=UTC) - up if up else None,
        role=role,  # type: ignore[arg-type]
    )


def views() -> list[InstanceView]:
    wave = (0.0, 2.5, 8.0, 14.5, 30.0, 22.0, 41.0, 38.5, 12.0, 6.0, 18.0, 27.5)
    return [
        InstanceView(
            _item("main", 5432, "running", 4242, timedelta(days=3, hours=4)),
            connections=23,
            max_connections=100,
            tps=wave,
            standbys=1,
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
        ),
        InstanceView(
            _item("billing", 5434, "running", 4400, timedelta(minutes=42)),
            error="FATAL:  too many connections",
        ),
        InstanceView(_item("archive", 5435, "not running")),
        InstanceView(_item("legacy", 5436, "crashed")),
        InstanceView(
            _item("staging", 5437, "running", 4502, timedelta(minutes=3)),
            connections=2,
            max_connections=100,
            tps=(0.0, 0.0, 1.0),
            busy="restart by pid 9120 (alice)",
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
