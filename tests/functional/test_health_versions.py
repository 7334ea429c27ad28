"""The health query on PostgreSQL 15 and 18, alone and riding on the monitor's probe; standby lag."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pglift_tui import db, instances
from pglift_tui.health import HEALTH_SQL, parse
from pglift_tui.models import interface, system
from pglift_tui.probe import probe_sql

from ..conftest import MakeInstance, free_port, make_settings
from .healthcheck import check_json, only
from .pg import query, wait_for


async def test_the_one_query_on_15_and_18(short_tmp: Path) -> None:
    settings = make_settings(short_tmp, pg18=True)
    for version in ("15", "18"):
        manifest = interface.Instance(name=f"v{version}", version=version, port=free_port())
        await instances.apply(settings, manifest)
        instance = system.Instance.system_lookup(manifest.name, version, settings)
        await query(instance, "SELECT pg_create_physical_replication_slot('kept', true)")
        async with db.connect(instance) as idle, db.connect(instance) as cnx:
            await idle.execute("BEGIN")
            await idle.execute("SELECT 42")
            for sql in (HEALTH_SQL, probe_sql(cnx.info.server_version)):
                row = await (await cnx.execute(sql)).fetchone()
                assert row is not None
                m = parse(row)
                assert m.connections == 2 and not m.in_recovery
                assert (
                    m.idle_in_transaction is not None and m.idle_in_transaction.pid == idle.info.backend_pid
                )
                assert [(s.name, s.active, s.slot_type) for s in m.slots] == [("kept", False, "physical")]
                assert m.wraparound is not None and m.pending_restart == ()
            # The probe's own columns are still there, beside the health column.
            assert {"xacts", "active", "waiting", "wal_position", "checkpoints", "standbys", "health"} <= set(
                row
            )
    code, findings = check_json(settings, "--version", "18", health={"idle_in_transaction": {"warning": 0}})
    assert code == 0 and findings == []  # the session ended with its connection
    async with db.connect(system.Instance.system_lookup("v18", "18", settings)) as idle:
        await idle.execute("BEGIN")
        await idle.execute("SELECT 42")
        code, findings = check_json(
            settings, "--version", "18", health={"idle_in_transaction": {"warning": 0}}
        )
        assert code == 1 and only(findings, "idle_in_transaction")["instance"] == "18/v18"


async def test_a_standby_behind_its_primary(make_instance: MakeInstance, settings: Any) -> None:
    primary = await make_instance("prim")
    standby = await make_instance(
        "stby",
        standby={
            "primary_conninfo": (
                f"host={primary.live_socket_directory()} port={primary.port} user=replication"
            ),
            "slot": "stby",
        },
    )
    assert check_json(settings) == (0, [])
    # One transaction replayed first: the lag in seconds is the age of the last one replayed.
    await query(primary, "CREATE TABLE first AS SELECT 1 AS n")

    async def replayed() -> bool:
        return bool(await query(standby, "SELECT 1 FROM pg_class WHERE relname = 'first'"))

    await wait_for(replayed, what="the standby to replay a transaction")
    await query(standby, "SELECT pg_wal_replay_pause()")
    await query(primary, "CREATE TABLE churn AS SELECT generate_series(1, 10000) AS n")

    async def behind() -> bool:
        rows = await query(
            standby, "SELECT pg_wal_lsn_diff(pg_last_wal_receive_lsn(), pg_last_wal_replay_lsn()) > 0 AS b"
        )
        return bool(rows[0]["b"])

    await wait_for(behind, what="WAL received and not replayed on the standby")
    code, findings = check_json(settings, health={"replication_lag": {"warning": "1kB", "critical": "1GB"}})
    assert code == 1
    found = only(findings, "replication_lag")
    assert found["instance"] == "15/stby" and found["unit"] == "B" and found["value"] >= 1024
    assert "of WAL received, not replayed" in found["message"]
    # As a duration: the age of the last transaction replayed while WAL waits.
    code, findings = check_json(settings, health={"replication_lag": {"warning": "0s", "critical": "1h"}})
    assert code == 1 and only(findings, "replication_lag")["unit"] == "s"
    await query(standby, "SELECT pg_wal_replay_resume()")

    async def caught_up() -> bool:
        rows = await query(standby, "SELECT pg_last_wal_receive_lsn() = pg_last_wal_replay_lsn() AS c")
        return bool(rows[0]["c"])

    await wait_for(caught_up, what="the standby to replay what it received")
    assert check_json(settings, health={"replication_lag": {"warning": "1kB", "critical": "1GB"}}) == (0, [])
