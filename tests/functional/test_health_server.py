"""Health checks of servers, made for real: down, unreachable, restarts, logs, disks, settings.

Each trouble is made on a real instance and seen by `pglift-tui check` in a process
of its own (exit codes, status line, JSON) and by the core's look.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import psycopg
import pytest
import yaml

from pglift_tui import ctl, db, instances, locks
from pglift_tui.exceptions import CommandError
from pglift_tui.models import interface

from ..conftest import MakeInstance
from .healthcheck import check, check_json, look, only, site_file
from .pg import query, wait_for


async def test_a_healthy_host_is_ok_with_no_finding(make_instance: MakeInstance, settings: Any) -> None:
    await make_instance("up")
    await make_instance("off", state="stopped")
    for _ in range(2):  # the second look compares with the first: still nothing
        assert check_json(settings) == (0, [])
    done = check(settings)
    assert done.returncode == 0, done.stderr
    line, *rest = done.stdout.splitlines()
    assert rest == []
    status, perfdata = line.split(" | ")
    assert status == "PGLIFT_TUI OK: 2 instances, no finding"
    labels = {item.split("=")[0] for item in perfdata.split()}
    assert {"15/up.connections", "15/up.long_query", "15/up.disk_space", "15/off.disk_space"} <= labels
    assert "15/off.connections" not in labels  # a stopped server is not asked
    assert [f.check for f in await look(settings)] == []


async def test_a_crashed_instance_is_critical(make_instance: MakeInstance, settings: Any) -> None:
    crashed = await make_instance("crashed")
    await make_instance("stopped", state="stopped")
    assert await ctl.kill(crashed)
    code, findings = check_json(settings)
    assert code == 2
    found = only(findings, "down")
    assert (found["instance"], found["severity"]) == ("15/crashed", "critical")
    assert "pid file remains but no server runs" in found["message"]
    done = check(settings)
    assert done.returncode == 2
    assert done.stdout.startswith("PGLIFT_TUI CRITICAL: 1 critical on 1 of 2 instances: 15/crashed down: ")
    assert only(await look(settings, name="crashed"), "down").severity == "critical"


async def test_a_failed_start_is_down_until_a_start_succeeds(
    make_instance: MakeInstance, settings: Any
) -> None:
    instance = await make_instance("main", state="stopped")
    assert check_json(settings) == (0, [])  # stopped by its operator: not down
    conf = instance.datadir / "postgresql.conf"
    good = conf.read_text()
    conf.write_text(good + "shared_preload_libraries = 'missing_lib'\n")
    with pytest.raises(CommandError):
        await instances.start(instance)
    code, findings = check_json(settings)
    assert code == 2
    assert "the server is down: its last start failed at " in only(findings, "down")["message"]
    # What the server wrote when it gave up is in its log, and news too.
    assert "missing_lib" in only(findings, "log_errors")["message"]
    conf.write_text(good)
    await instances.start(instance)
    assert check_json(settings, health={"log_errors": {"enabled": False}}) == (0, [])


async def test_a_pending_restart_names_the_parameters(make_instance: MakeInstance, settings: Any) -> None:
    instance = await make_instance("main")
    changes = {"shared_buffers": "64MB", "max_prepared_transactions": 5}
    await instances.configure(instance, interface.Instance(name="main", settings=changes))

    async def pending() -> bool:
        rows = await query(instance, "SELECT count(*) AS n FROM pg_settings WHERE pending_restart")
        return bool(rows[0]["n"])

    await wait_for(pending, what="the server to wait for a restart")
    code, findings = check_json(settings)
    assert code == 1
    found = only(findings, "pending_restart")
    assert found["message"] == "a restart is needed to apply max_prepared_transactions, shared_buffers"
    await instances.restart(instance)
    assert check_json(settings) == (0, [])


def fatal_lines(instance: Any) -> int:
    return sum(path.read_text(errors="replace").count("FATAL:  ") for path in instance.log_files())


async def test_fatal_lines_written_since_the_last_look(make_instance: MakeInstance, settings: Any) -> None:
    instance = await make_instance("main")
    before = fatal_lines(instance)
    assert check_json(settings) == (0, [])  # the first look starts at the end of the logs
    for _ in range(3):
        with pytest.raises(psycopg.OperationalError, match='database "nope" does not exist'):
            await psycopg.AsyncConnection.connect(
                host=str(instance.live_socket_directory()), port=instance.port, user="postgres", dbname="nope"
            )

    async def written() -> bool:
        return fatal_lines(instance) == before + 3

    await wait_for(written, what="three FATAL lines in the server log")
    for _ in range(2):  # within the window the lines are still news, and counted once
        code, findings = check_json(settings)
        assert code == 1
        message = only(findings, "log_errors")["message"]
        assert message.startswith("3 FATAL lines in the log in the last 5 min; the last: FATAL:  database")
        assert '"nope" does not exist' in message
    core = only(await look(settings, {"log_errors": {"warning": 1, "critical": 3}}), "log_errors")
    assert core.severity == "critical" and core.value == 3
    assert check_json(settings, health={"log_errors": {"enabled": False}}) == (0, [])


async def test_an_inactive_slot_holding_wal(make_instance: MakeInstance, settings: Any) -> None:
    instance = await make_instance("main")
    await query(instance, "SELECT pg_create_physical_replication_slot('forgotten', true)")
    await query(instance, "CREATE TABLE churn AS SELECT generate_series(1, 10000) AS n")
    await query(instance, "SELECT pg_switch_wal()")
    assert check_json(settings) == (0, [])  # far below the default 1 GB
    code, findings = check_json(settings, health={"slot_retained_wal": {"warning": "1kB", "critical": "1GB"}})
    assert code == 1
    found = only(findings, "slot_retained_wal")
    assert found["message"].startswith("slot 'forgotten' (inactive, physical) retains ")
    rows = await query(
        instance,
        "SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), restart_lsn)::bigint AS held FROM pg_replication_slots",
    )
    assert 1024 <= found["value"] <= rows[0]["held"]
    assert found["unit"] == "B" and found["threshold"] == 1024


async def test_failing_archiving(make_instance: MakeInstance, settings: Any) -> None:
    instance = await make_instance("main", settings={"archive_mode": "on", "archive_command": "false"})
    await query(instance, "CREATE TABLE churn AS SELECT generate_series(1, 1000) AS n")
    await query(instance, "SELECT pg_switch_wal()")

    async def failed() -> bool:
        return bool((await query(instance, "SELECT failed_count FROM pg_stat_archiver"))[0]["failed_count"])

    await wait_for(failed, timeout=30, what="the archiver to fail")
    code, findings = check_json(settings)
    assert code == 1
    message = only(findings, "archive_failing")["message"]
    assert message.startswith("archiving fails: 0000000100000000000000")
    assert "nothing archived yet" in message


async def test_a_server_that_does_not_answer_is_a_finding_not_a_stall(
    make_instance: MakeInstance, settings: Any
) -> None:
    instance = await make_instance("frozen")
    await make_instance("fine")
    with ctl._postmaster(instance) as found:  # the proven postmaster, through its pidfd
        assert found is not None
        signal.pidfd_send_signal(found[0], signal.SIGSTOP)
        try:
            code, findings = check_json(settings, health={"timeout": "1s"})
        finally:
            signal.pidfd_send_signal(found[0], signal.SIGCONT)
    assert code == 2
    found_ = only(findings, "unreachable")
    assert found_["instance"] == "15/frozen"
    assert found_["message"] == "the server runs but does not answer: no answer within 1 s"
    # Answering again; the connection given up on may have left a FATAL in its log.
    code, findings = check_json(settings, health={"log_errors": {"enabled": False}})
    assert (code, findings) == (0, [])


async def test_disk_space_names_the_file_system(make_instance: MakeInstance, settings: Any) -> None:
    instance = await make_instance("main")
    # Real free space, a threshold above it: the file system is named as df names it.
    code, findings = check_json(settings, health={"disk_space": {"warning": "100%", "critical": 0}})
    assert code == 1
    mount = subprocess.run(
        ["df", "--output=target", str(instance.datadir)], capture_output=True, text=True, check=True
    ).stdout.split()[-1]
    assert only(findings, "disk_space")["message"].startswith(f"file system {mount} (data and WAL) has ")


async def test_wraparound_names_the_oldest_database(make_instance: MakeInstance, settings: Any) -> None:
    instance = await make_instance("main")
    oldest = (
        await query(instance, "SELECT datname FROM pg_database ORDER BY age(datfrozenxid) DESC LIMIT 1")
    )[0]
    code, findings = check_json(settings, health={"wraparound": {"warning": 0}})
    assert code == 1
    assert only(findings, "wraparound")["message"].startswith(
        f"database {oldest['datname']}: transaction ID age "
    )


async def test_a_checksum_failure_is_critical(make_instance: MakeInstance, settings: Any) -> None:
    instance = await make_instance("main", data_checksums=True)
    await query(instance, "CREATE TABLE precious AS SELECT generate_series(1, 100) AS n")
    relpath = (await query(instance, "SELECT pg_relation_filepath('precious') AS p"))[0]["p"]
    await instances.stop(instance)
    page = Path(instance.datadir, relpath)
    data = bytearray(page.read_bytes())
    data[4000:4008] = b"\xde\xad\xbe\xef" * 2  # inside the first page's tuples
    page.write_bytes(bytes(data))
    await instances.start(instance)
    with pytest.raises(psycopg.errors.DataCorrupted):
        await query(instance, "SELECT count(*) FROM precious")
    code, findings = check_json(settings)
    assert code == 2
    found = only(findings, "checksum_failures")
    assert found["severity"] == "critical"
    assert found["message"].startswith("1 data checksum failure in database postgres, the last at ")


def test_a_bad_threshold_is_refused_naming_file_and_field(settings: Any) -> None:
    site = site_file(settings, {"long_query": {"warning": "1h", "critical": "1min"}})
    env = {"PGLIFT_TUI_SETTINGS": str(site)}
    done = check(settings, health={"long_query": {"warning": "1h", "critical": "1min"}})
    assert done.returncode == 3
    assert done.stdout.startswith(f"PGLIFT_TUI UNKNOWN: invalid settings in {site}: health.long_query: ")
    assert "warning (1 h) is above critical (1 min)" in done.stdout
    done = check(settings, health={"slot_retained_wal": {"warning": "3 parsecs"}})
    assert (
        done.returncode == 3 and "health.slot_retained_wal.warning: '3 parsecs': unknown unit" in done.stdout
    )
    done = check(settings, health={"blocked": {"critical": -1}})
    assert done.returncode == 3 and "health.blocked.critical: -1 is negative" in done.stdout
    assert not Path(settings.state_dir).exists()  # nothing written
    # The other commands refuse it too, with their own exit code for bad settings.
    site.write_text(yaml.safe_dump({**yaml.safe_load(site.read_text()), "health": {"connections": "lots"}}))
    listed = subprocess.run(
        [sys.executable, "-m", "pglift_tui", "ls"], env={**os.environ, **env}, capture_output=True, text=True
    )
    assert listed.returncode == 2 and "health.connections" in listed.stderr and str(site) in listed.stderr


def test_usage_errors_are_unknown(settings: Any) -> None:
    for args in (["--bogus"], ["a", "b"], ["--version"]):
        done = check(settings, *args)
        assert done.returncode == 3, args
        assert done.stdout == "PGLIFT_TUI UNKNOWN: invalid arguments (see pglift-tui check --help)\n"
    missing = check(settings, "nothere")
    assert missing.returncode == 3
    assert missing.stdout == "PGLIFT_TUI UNKNOWN: instance 'nothere' not found\n"


async def test_a_server_being_upgraded_is_not_connected_to(
    make_instance: MakeInstance, settings: Any
) -> None:
    instance = await make_instance("main", settings={"log_connections": True})

    def connections(application: str) -> int:
        return sum(
            path.read_text(errors="replace").count(f"application_name={application}")
            for path in instance.log_files()
        )

    async def logged(application: str) -> None:
        async def seen() -> bool:
            return connections(application) > 0

        await wait_for(seen, what=f"the connection of {application} in the server log")

    # pg_upgrade's servers run on a private socket: no client may connect, us included.
    with locks.instance_lock_sync(settings, instance.qualname, "upgrade"):
        assert check_json(settings) == (0, [])
    # A connection after it, once logged, proves the log holds whatever came before.
    async with db.connect(instance, application_name="sentinel"):
        await logged("sentinel")
    assert connections("pglift-tui health") == 0
    assert check_json(settings) == (0, [])
    await logged("pglift-tui health")
