"""The checks' judgement on given measurements, and the check command's output.

The measurements are what `parse` makes of the health query's row; the functional
tests make each trouble on real servers. Here every branch of the judgement runs on
numbers chosen to sit on either side of a threshold.
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass, replace
from pathlib import Path

import pytest

from pglift_tui.cli_args import parser as _parser
from pglift_tui.health import FailedStart, FileSystem, HealthSettings, Report, assess, evaluate, parse
from pglift_tui.health.command import is_check, perfdata, status_line
from pglift_tui.health.logs import LogCounts
from pglift_tui.health.sql import Archiver, Blocked, Measurements, Session, Slot, Unreachable


@dataclass(frozen=True)
class Item:
    name: str = "main"
    version: str = "15"
    status: str = "running"
    phase: str | None = "ready"


QUIET = Measurements(in_recovery=False, connections=3, max_connections=100, reserved_connections=3)
ROOMY = [FileSystem("/srv", ("data", "WAL"), free=50 * 2**30, total=100 * 2**30)]
DEFAULTS = HealthSettings()


def findings(m: Measurements | Unreachable | None, **kw: object) -> list[tuple[str, str, str]]:
    item = kw.pop("item", Item())
    disk = kw.pop("disk", ROOMY)
    log = kw.pop("log", LogCounts())
    health = HealthSettings.model_validate(kw.pop("health", {}))
    found = evaluate(item, m, disk, log, health, **kw)  # type: ignore[arg-type]
    return [(f.check, f.severity, f.message) for f in found]


def test_a_quiet_server_has_no_finding_but_every_reading() -> None:
    assert findings(QUIET) == []
    readings = assess(Item(), QUIET, ROOMY, LogCounts(), DEFAULTS)
    assert [r.check for r in readings] == [
        "connections", "long_query", "idle_in_transaction", "blocked", "slot_retained_wal",
        "checksum_failures", "disk_space", "log_errors",
    ]  # fmt: skip
    assert all(r.severity is None for r in readings)


def test_connections_leave_the_reserved_slots_out() -> None:
    busy = replace(QUIET, connections=78)  # 78 of the 97 ordinary slots: 80.4%
    [(check, severity, message)] = findings(busy)
    assert (check, severity) == ("connections", "warning")
    assert message == (
        "78 of the 97 connections left to ordinary roles are in use (80%; max_connections 100)"
        " (threshold 80%)"
    )
    assert findings(replace(QUIET, connections=77)) == []
    assert findings(replace(QUIET, connections=88))[0][1] == "critical"


def test_sessions_are_named_with_pid_and_first_line() -> None:
    slow = Session(pid=4242, seconds=400, datname="app", usename="alice", state="active",
                   query="\n  SELECT *\n  FROM big")  # fmt: skip
    [(check, severity, message)] = findings(replace(QUIET, long_query=slow))
    assert (check, severity) == ("long_query", "warning")
    assert (
        message
        == "pid 4242 has run one query for 6 min 40 s in database app as alice: SELECT * (threshold 5 min)"
    )
    idle = replace(slow, state="idle in transaction (aborted)", seconds=2000, query="UPDATE t SET x = 1")
    [(check, severity, message)] = findings(replace(QUIET, idle_in_transaction=idle))
    assert (check, severity) == ("idle_in_transaction", "critical")
    assert message.startswith("pid 4242 has been idle in an aborted open transaction for 33 min 20 s")
    assert message.endswith("its last query: UPDATE t SET x = 1 (threshold 30 min)")


def test_a_password_in_a_query_is_never_shown() -> None:
    alter = Session(pid=1, seconds=999, query="ALTER ROLE bob PASSWORD 'hunter2-secret' VALID UNTIL 'x'")
    [(_, _, message)] = findings(replace(QUIET, long_query=alter))
    assert "hunter2" not in message and "PASSWORD '********'" in message
    cut = replace(alter, query="CREATE ROLE bob LOGIN PASSWORD 'cut-short-by-the-sql-lef")
    assert "cut-short" not in findings(replace(QUIET, long_query=cut))[0][2]


def test_blocked_names_the_blocker() -> None:
    waiter = Session(pid=20, seconds=45, query="SELECT count(*) FROM t")
    holder = Session(pid=10, seconds=0, state="idle in transaction", query="LOCK TABLE t")
    m = replace(QUIET, blocked=Blocked(waiter, waiting=3, blockers=(10,), blocker=holder))
    [(check, severity, message)] = findings(m)
    assert (check, severity) == ("blocked", "warning")
    assert message == (
        "pid 20 has waited 45 s for a lock: SELECT count(*) FROM t; blocked by pid 10 "
        "(idle in transaction: LOCK TABLE t); 3 sessions wait for locks (threshold 30 s)"
    )
    gone = replace(QUIET, blocked=Blocked(waiter, waiting=1, blockers=(0,), blocker=None))
    assert findings(gone)[0][2].endswith("blocked by pid 0 (threshold 30 s)")


def test_wraparound_is_a_share_of_the_horizon() -> None:
    m = replace(QUIET, wraparound=("app", 1_200_000_000, 5))
    [(check, severity, message)] = findings(m)
    assert (check, severity) == ("wraparound", "warning")
    assert message.startswith("database app: transaction ID age 1,200,000,000 is 56% of the 2^31 wraparound")
    assert findings(replace(QUIET, wraparound=("app", 5, 1_700_000_000)))[0][1:] == (
        "critical",
        "database app: multixact ID age 1,700,000,000 is 79% of the 2^31 wraparound horizon; "
        "VACUUM FREEZE it before PostgreSQL stops accepting writes (threshold 75%)",
    )


def test_replication_lag_only_on_a_standby_in_the_unit_asked() -> None:
    standby = replace(QUIET, in_recovery=True, lag_seconds=90.0, lag_bytes=5 * 2**20)
    assert findings(standby)[0][:2] == ("replication_lag", "warning")
    assert findings(standby, health={"replication_lag": {"warning": "64MB", "critical": "1GB"}}) == []
    in_bytes = findings(standby, health={"replication_lag": {"warning": "1MB", "critical": "1GB"}})
    words = "replay lag 1 min 30 s, 5 MB of WAL received, not replayed (threshold 1 MB)"
    assert in_bytes == [("replication_lag", "warning", words)]
    assert findings(replace(standby, in_recovery=False)) == []


def test_slots_name_the_worst_and_the_inactive() -> None:
    slots = (
        Slot("busy", "physical", True, "reserved", 2 * 2**30),
        Slot("old", "logical", False, "extended", 2**20),
        Slot("never", "physical", False, None, None),
    )
    [(check, severity, message)] = findings(replace(QUIET, slots=slots))
    assert (check, severity) == ("slot_retained_wal", "warning")
    assert message == (
        "slot 'busy' (active, physical) retains 2 GB of WAL; inactive too: old, never (threshold 1 GB)"
    )
    unreserved = (Slot("edge", "physical", False, "unreserved", 2**20),)
    assert findings(replace(QUIET, slots=unreserved))[0][1] == "warning"
    lost = (*slots, Slot("dead", "physical", False, "lost", None))
    words = "slot 'dead' lost the WAL it needed (wal_status lost): its consumer cannot resume; drop it"
    assert findings(replace(QUIET, slots=lost))[0][1:] == ("critical", words)


def test_disk_space_names_the_fullest_file_system() -> None:
    disk = [*ROOMY, FileSystem("/wal", ("WAL",), free=4 * 2**30, total=100 * 2**30)]
    assert findings(QUIET, disk=disk) == [
        ("disk_space", "critical", "file system /wal (WAL) has 4% free (4 GB of 100 GB) (threshold 5%)")
    ]
    assert findings(QUIET, disk=[]) == []


def test_archiving_and_checksums() -> None:
    failing = Archiver(True, 600.0, "00000001000000000000000A", 7, 1.7e9, 1.6e9)
    [(check, severity, message)] = findings(replace(QUIET, archiver=failing))
    assert (check, severity) == ("archive_failing", "critical")
    assert message.startswith(
        "archiving fails: 00000001000000000000000A could not be archived (7 failures, the last at"
    )
    assert message.endswith("; nothing archived for 10 min (threshold 5 min)")
    assert findings(replace(QUIET, archiver=replace(failing, failing=False))) == []
    [(check, severity, message)] = findings(replace(QUIET, checksums=(2, "app", None)))
    assert (check, severity) == ("checksum_failures", "critical")
    assert message == "2 data checksum failures in database app: storage corrupts data (threshold 1)"


def test_log_errors_in_the_window_and_panic_is_critical() -> None:
    log = LogCounts(error=2, fatal=1, last='FATAL:  role "x" does not exist', window=300)
    assert findings(QUIET, log=log) == [
        ("log_errors", "warning",
         "1 FATAL, 2 ERROR lines in the log in the last 5 min; the last: FATAL:  role \"x\" does not exist"
         " (threshold 1)"),
    ]  # fmt: skip
    assert findings(QUIET, log=LogCounts(panic=1))[0][:2] == ("log_errors", "critical")
    assert findings(QUIET, log=LogCounts()) == []


def test_down_unreachable_pending_restart_and_ordering() -> None:
    crashed = Item(status="crashed", phase=None)
    assert [f[:2] for f in findings(None, item=crashed)] == [("down", "critical")]
    stopped = Item(status="not running", phase=None)
    assert findings(None, item=stopped) == []  # stopped by its operator
    failed = findings(None, item=stopped, failed_start=FailedStart(0.0, "could not start: FATAL:  x"))
    assert failed[0][2].startswith("the server is down: its last start failed at ")
    assert findings(Unreachable("no answer within 2 s")) == [
        ("unreachable", "critical", "the server runs but does not answer: no answer within 2 s")
    ]
    m = replace(QUIET, pending_restart=("shared_buffers",), checksums=(1, "app", None))
    assert [f[:2] for f in findings(m)] == [("checksum_failures", "critical"), ("pending_restart", "warning")]


def test_a_check_turned_off_says_nothing() -> None:
    m = replace(QUIET, connections=97, pending_restart=("shared_buffers",))
    off = {"connections": {"enabled": False}, "pending_restart": {"enabled": False}}
    assert findings(m, health=off) == []
    assert findings(None, item=Item(status="crashed"), health={"down": {"enabled": False}}) == []


def test_parse_reads_the_query_row() -> None:
    row = {"health": {
        "in_recovery": False, "max_connections": 100, "reserved_connections": 3, "connections": 5,
        "long_query": None, "idle_in_transaction": {"pid": 7, "seconds": 12.5, "datname": "d", "usename": "u",
                                                    "state": "idle in transaction", "query": "SELECT 1"},
        "blocked": {"pid": 8, "seconds": 3, "waiting": 2, "blockers": [7], "query": "q",
                    "blocker": {"pid": 7, "state": "idle in transaction", "query": "LOCK t"}},
        "wraparound": {"datname": "postgres", "xid_age": 9, "mxid_age": 0},
        "lag_bytes": None, "lag_seconds": None,
        "slots": [{"slot_name": "s", "slot_type": "physical", "active": False, "wal_status": "reserved",
                   "retained": 16777216}],
        "archiver": None, "checksums": {"failures": None, "datname": None, "last": None},
        "pending_restart": ["shared_buffers"],
    }}  # fmt: skip
    m = parse(row)
    assert m.idle_in_transaction == Session(7, 12.5, "d", "u", "idle in transaction", "SELECT 1")
    assert m.blocked is not None and m.blocked.blocker is not None and m.blocked.blocker.pid == 7
    assert m.slots == (Slot("s", "physical", False, "reserved", 16777216),)
    assert m.checksums is None and m.pending_restart == ("shared_buffers",)


def _report(name: str, m: Measurements | None, item: Item | None = None) -> Report:
    item = item or Item(name=name)
    readings = assess(item, m, ROOMY, LogCounts(), DEFAULTS)
    found = evaluate(item, m, ROOMY, LogCounts(), DEFAULTS)
    return Report(f"15/{name}", "pglift", Path("/x"), tuple(readings), tuple(found))


def test_status_line_and_perfdata() -> None:
    ok = _report("a", QUIET)
    code, line = status_line([ok])
    assert code == 0
    status, data = line.split(" | ")
    assert status == "PGLIFT_TUI OK: 1 instance, no finding"
    assert data.split()[:2] == ["15/a.connections=3.093%;80;90;0;100", "15/a.long_query=0s;300;1800"]
    assert "15/a.disk_space=50%;10:;5:;0;100" in data.split()
    busy = _report("b", replace(QUIET, connections=90, long_query=Session(1, 400, query="SELECT a | b")))
    down = _report("c", None, Item(name="c", status="crashed", phase=None))
    code, line = status_line([ok, busy, down])
    assert code == 2
    assert line.startswith(
        "PGLIFT_TUI CRITICAL: 2 critical, 1 warning on 2 of 3 instances: 15/b connections: "
    )
    assert line.count(" | ") == 1 and "SELECT a / b" in line  # a pipe would cut the perfdata
    assert "15/c.disk_space=50%" in perfdata([down]) and "15/c.connections" not in perfdata([down])
    assert status_line([]) == (0, "PGLIFT_TUI OK: no instance to check")


@pytest.mark.parametrize(
    ("argv", "wanted"),
    [
        (["check"], True),
        (["--settings", "/x.yaml", "check", "--bogus"], True),
        (["--settings=/x.yaml", "check"], True),
        (["--demo", "check", "a", "b"], True),
        (["--", "check"], True),
        (["get", "check"], False),
        (["--settings", "check", "ls"], False),
        (["ls", "--bogus"], False),
        ([], False),
    ],
)
def test_a_usage_error_of_check_is_recognised(argv: list[str], wanted: bool) -> None:
    parser: argparse.ArgumentParser = _parser()
    assert is_check(parser, argv) is wanted
