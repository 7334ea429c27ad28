"""The checks: pure functions from what was measured and the thresholds to readings.

Nothing here does I/O, so the dashboard's monitor, `pglift-tui check` and the tests
run the same judgement on the same numbers. Each check names what is in trouble (the
session's pid and its query's first line, the slot, the database, the file system),
the measured value and the threshold reached.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Protocol

from .disk import FileSystem
from .findings import Finding, Reading, Severity, findings_of, first_line
from .sql import Measurements, Session, Unreachable
from .thresholds import HealthSettings, Levels
from .units import format_duration, format_percent, format_size

if TYPE_CHECKING:
    from .logs import LogCounts

#: Transaction and multixact IDs wrap around after 2^31 of them.
HORIZON = 2**31


class Subject(Protocol):
    """What the checks need of a listed instance (InstanceListItem has it)."""

    @property
    def name(self) -> str: ...
    @property
    def version(self) -> str: ...
    @property
    def status(self) -> str: ...
    @property
    def phase(self) -> str | None: ...


@dataclass(frozen=True)
class FailedStart:
    """The last attempt to start a server that is not running, which failed."""

    time: float
    error: str


def key(item: Subject) -> str:
    """The instance's key in findings: the listing's own `key` when it has one, else "15/main"."""
    own = getattr(item, "key", None)
    return own if isinstance(own, str) else f"{item.version}/{item.name}"


def _clock(stamp: float) -> str:
    return datetime.fromtimestamp(stamp).strftime("%H:%M:%S")


def _reading(
    check: str, levels: Levels, value: float, words: str, *, severity: Severity | None = None
) -> Reading:
    """A reading of `value`; its message says the value, `words` and the threshold reached.

    A `severity` given is the check's own verdict (a lost slot, a PANIC), whatever the
    thresholds: no threshold is named then.
    """
    level = severity or levels.severity(value)
    message = None
    if level is not None:
        threshold = None if severity else levels.threshold(level)
        message = words if threshold is None else f"{words} (threshold {levels.show(threshold)})"
    return Reading(
        check=check,
        value=round(value, 3),
        unit=levels.unit,
        warning=levels.warning,
        critical=levels.critical,
        severity=level,
        message=message,
        lower_is_worse=levels.lower_is_worse,
        forced=severity is not None,
    )


def _who(session: Session) -> str:
    where = f" in database {session.datname}" if session.datname else ""
    return where + (f" as {session.usename}" if session.usename else "")


def _connections(levels: Levels, m: Measurements) -> Reading:
    available = max(1, m.max_connections - m.reserved_connections)
    percent = 100.0 * m.connections / available
    words = (
        f"{m.connections} of the {available} connections left to ordinary roles are in use "
        f"({format_percent(percent)}; max_connections {m.max_connections})"
    )
    return _reading("connections", levels, percent, words)


def _long_query(levels: Levels, m: Measurements) -> Reading:
    s = m.long_query
    if s is None:
        return _quiet("long_query", levels)
    words = f"pid {s.pid} has run one query for {format_duration(s.seconds)}{_who(s)}: {first_line(s.query)}"
    return _reading("long_query", levels, s.seconds, words)


def _idle(levels: Levels, m: Measurements) -> Reading:
    s = m.idle_in_transaction
    if s is None:
        return _quiet("idle_in_transaction", levels)
    aborted = " aborted" if s.state and "aborted" in s.state else ""
    words = (
        f"pid {s.pid} has been idle in an{aborted} open transaction for {format_duration(s.seconds)}"
        f"{_who(s)}; its last query: {first_line(s.query)}"
    )
    return _reading("idle_in_transaction", levels, s.seconds, words)


def _blocked(levels: Levels, m: Measurements) -> Reading:
    b = m.blocked
    if b is None:
        return _quiet("blocked", levels)
    w = b.waiter
    if b.blocker is not None:
        state = b.blocker.state or "?"
        by = f"blocked by pid {b.blocker.pid} ({state}: {first_line(b.blocker.query, 60)})"
    elif b.blockers:
        by = "blocked by pid " + ", ".join(map(str, b.blockers))
    else:
        by = "its blocker is gone"
    more = f"; {b.waiting} sessions wait for locks" if b.waiting > 1 else ""
    waited = format_duration(w.seconds)
    words = f"pid {w.pid} has waited {waited} for a lock: {first_line(w.query, 60)}; {by}{more}"
    return _reading("blocked", levels, w.seconds, words)


def _wraparound(levels: Levels, m: Measurements) -> Reading | None:
    if m.wraparound is None:
        return None
    datname, xid_age, mxid_age = m.wraparound
    kind, age = ("transaction", xid_age) if xid_age >= mxid_age else ("multixact", mxid_age)
    percent = 100.0 * age / HORIZON
    words = (
        f"database {datname}: {kind} ID age {age:,} is {format_percent(percent)} of the 2^31 "
        "wraparound horizon; VACUUM FREEZE it before PostgreSQL stops accepting writes"
    )
    return _reading("wraparound", levels, percent, words)


def _replication_lag(levels: Levels, m: Measurements) -> Reading | None:
    if not m.in_recovery:
        return None
    value = m.lag_seconds if levels.unit == "s" else m.lag_bytes
    if value is None:
        return None
    pieces = []
    if m.lag_seconds is not None:
        pieces.append(format_duration(m.lag_seconds))
    if m.lag_bytes is not None:
        pieces.append(f"{format_size(m.lag_bytes)} of WAL received, not replayed")
    return _reading("replication_lag", levels, float(value), "replay lag " + ", ".join(pieces))


def _slots(levels: Levels, m: Measurements) -> Reading:
    lost = [s for s in m.slots if s.wal_status == "lost"]
    holding = sorted((s for s in m.slots if s.retained is not None), key=lambda s: -(s.retained or 0))
    if lost:
        names = ", ".join(f"'{s.name}'" for s in lost)
        words = f"slot {names} lost the WAL it needed (wal_status lost): its consumer cannot resume; drop it"
        return _reading("slot_retained_wal", levels, float(holding[0].retained or 0) if holding else 0.0,
                        words, severity="critical")  # fmt: skip
    if not holding:
        return _quiet("slot_retained_wal", levels)
    worst = holding[0]
    retained = float(worst.retained or 0)
    state = "active" if worst.active else "inactive"
    words = f"slot '{worst.name}' ({state}, {worst.slot_type}) retains {format_size(retained)} of WAL"
    others = [s.name for s in m.slots if not s.active and s.name != worst.name]
    if others:
        words += "; inactive too: " + ", ".join(others)
    if levels.severity(retained) is None and worst.wal_status == "unreserved":
        words += " (wal_status unreserved: it will be lost at the next checkpoint)"
        return _reading("slot_retained_wal", levels, retained, words, severity="warning")
    return _reading("slot_retained_wal", levels, retained, words)


def _disk(levels: Levels, disk: Sequence[FileSystem]) -> Reading | None:
    if not disk:
        return None
    fs = min(disk, key=lambda f: f.free_percent)
    words = (
        f"file system {fs.mount} ({fs.label}) has {format_percent(fs.free_percent)} free "
        f"({format_size(fs.free)} of {format_size(fs.total)})"
    )
    return _reading("disk_space", levels, fs.free_percent, words)


def _archiver(levels: Levels, m: Measurements) -> Reading | None:
    a = m.archiver
    if a is None:
        return None
    if not a.failing:
        return _quiet("archive_failing", levels)
    seconds = a.seconds or 0.0
    since = f"nothing archived for {format_duration(seconds)}" if a.last_archived else "nothing archived yet"
    when = f", the last at {_clock(a.last_failed)}" if a.last_failed else ""
    words = (
        f"archiving fails: {a.last_failed_wal or 'a WAL file'} could not be archived "
        f"({a.failed_count} failures{when}); {since}"
    )
    return _reading("archive_failing", levels, seconds, words)


def _checksums(levels: Levels, m: Measurements) -> Reading:
    if m.checksums is None:
        return _quiet("checksum_failures", levels)
    count, datname, last = m.checksums
    where = f" in database {datname}" if datname else " in shared catalogs"
    when = f", the last at {_clock(last)}" if last else ""
    words = f"{count} data checksum failure{'s' if count > 1 else ''}{where}{when}: storage corrupts data"
    return _reading("checksum_failures", levels, float(count), words)


def _log(levels: Levels, counts: LogCounts | None) -> Reading | None:
    if counts is None:
        return None
    parts = [f"{n} {level}" for n, level in ((counts.panic, "PANIC"), (counts.fatal, "FATAL"),
                                             (counts.error, "ERROR")) if n]  # fmt: skip
    plural = "s" if counts.total > 1 else ""
    words = f"{', '.join(parts)} line{plural} in the log in the last {format_duration(counts.window)}"
    if counts.last:
        words += f"; the last: {counts.last}"
    return _reading(
        "log_errors", levels, float(counts.total), words, severity="critical" if counts.panic else None
    )


def _quiet(check: str, levels: Levels) -> Reading:
    """Nothing to report: a zero for the perfdata, no trouble."""
    return Reading(
        check, 0.0, levels.unit, levels.warning, levels.critical, lower_is_worse=levels.lower_is_worse
    )


def assess(
    item: Subject,
    measurements: Measurements | Unreachable | None,
    disk: Sequence[FileSystem],
    log: LogCounts | None,
    thresholds: HealthSettings,
    *,
    failed_start: FailedStart | None = None,
) -> list[Reading]:
    """Every enabled check's reading of one instance.

    `measurements` is what the health query returned (None when the server was not
    asked: not running, starting, being upgraded); `log` the instance's LogCounts.
    """
    t = thresholds
    readings: list[Reading | None] = []
    if item.status == "crashed" and t.down.enabled:
        words = "the server is down: its pid file remains but no server runs (it crashed or was killed)"
        readings.append(Reading("down", None, "", severity="critical", message=words))
    elif item.status == "not running" and failed_start is not None and t.down.enabled:
        words = f"the server is down: its last start failed at {_clock(failed_start.time)}: "
        words += first_line(failed_start.error, 160)
        readings.append(Reading("down", None, "", severity="critical", message=words))
    if isinstance(measurements, Unreachable) and t.unreachable.enabled:
        words = f"the server runs but does not answer: {first_line(measurements.reason, 160)}"
        readings.append(Reading("unreachable", None, "", severity="critical", message=words))
    if isinstance(measurements, Measurements):
        m = measurements
        sql_checks = (
            ("connections", _connections),
            ("long_query", _long_query),
            ("idle_in_transaction", _idle),
            ("blocked", _blocked),
            ("wraparound", _wraparound),
            ("replication_lag", _replication_lag),
            ("slot_retained_wal", _slots),
            ("archive_failing", _archiver),
            ("checksum_failures", _checksums),
        )
        for code, check in sql_checks:
            levels = t.check(code)
            if levels.enabled:
                assert isinstance(levels, Levels)
                readings.append(check(levels, m))
        if m.pending_restart and t.pending_restart.enabled:
            words = "a restart is needed to apply " + ", ".join(m.pending_restart)
            readings.append(Reading("pending_restart", float(len(m.pending_restart)), "", severity="warning",
                                    message=words))  # fmt: skip
    if t.disk_space.enabled:
        readings.append(_disk(t.disk_space, disk))
    if t.log_errors.enabled:
        readings.append(_log(t.log_errors, log))
    return [r for r in readings if r is not None]


def evaluate(
    item: Subject,
    measurements: Measurements | Unreachable | None,
    disk: Sequence[FileSystem],
    log: LogCounts | None,
    thresholds: HealthSettings,
    *,
    manager: str = "pglift",
    failed_start: FailedStart | None = None,
) -> list[Finding]:
    """The findings of one instance, critical first; a healthy instance has none."""
    readings = assess(item, measurements, disk, log, thresholds, failed_start=failed_start)
    return findings_of(key(item), manager, readings)
