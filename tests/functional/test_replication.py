"""Standbys made by apply, watched by get, promoted; on real PostgreSQL 15 servers."""

from __future__ import annotations

import os
import stat
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from pglift_tui import instances, replication
from pglift_tui.exceptions import InstanceStateError
from pglift_tui.models import interface, system
from pglift_tui.replication import ReplicationError

from ..conftest import MakeInstance, free_port
from .pg import query, tree, wait_for

SECRET = "Repl-s3cret-9f2c"


def tcp(primary: system.Instance) -> str:
    return f"host=127.0.0.1 port={primary.port} user=replication dbname=postgres"


def socket(primary: system.Instance) -> str:
    return f"host={primary.live_socket_directory()} port={primary.port} user=replication"


@contextmanager
def watching_cmdlines(secret: str) -> Iterator[list[str]]:
    """Read every process's command line, over and over, while the block runs."""
    seen: list[str] = []
    done = threading.Event()

    def scan() -> None:
        while not done.is_set():
            for pid in os.listdir("/proc"):
                if pid.isdigit():
                    try:
                        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
                    except OSError:
                        continue
                    if secret.encode() in raw:
                        seen.append(raw.decode(errors="replace"))

    thread = threading.Thread(target=scan, daemon=True)
    thread.start()
    try:
        yield seen
    finally:
        done.set()
        thread.join()


def files_holding(root: Path, secret: str) -> list[Path]:
    return [p for p in root.rglob("*") if p.is_file() and secret.encode() in p.read_bytes()]


async def test_password_standby_streams_lags_and_promotes(settings: Any, make_instance: MakeInstance) -> None:
    # log_statement=all on the primary: the role's DDL must still stay out of its log.
    primary = await make_instance("prim", replrole_password=SECRET, settings={"log_statement": "all"})
    roles = await query(
        primary, "SELECT rolreplication, rolcanlogin FROM pg_roles WHERE rolname = 'replication'"
    )
    assert roles == [{"rolreplication": True, "rolcanlogin": True}]

    with watching_cmdlines(SECRET) as cmdlines:
        standby = await make_instance(
            "stby",
            standby={"primary_conninfo": tcp(primary), "password": SECRET, "slot": "stby_slot"},
        )
    assert cmdlines == []

    items = {item.name: item async for item in instances.ls(settings)}
    assert (items["prim"].role, items["stby"].role) == ("primary", "standby")
    assert (await query(standby, "SELECT pg_is_in_recovery() AS r")) == [{"r": True}]
    slots = await query(primary, "SELECT slot_name, active FROM pg_replication_slots")
    assert slots == [{"slot_name": "stby_slot", "active": True}]

    # Written on the primary, read on the standby.
    await query(primary, "CREATE TABLE t AS SELECT generate_series(1, 1000) AS i")

    async def replicated() -> bool:
        rows = await query(standby, "SELECT count(*) AS n FROM pg_class WHERE relname = 't'")
        return rows[0]["n"] == 1

    await wait_for(replicated, what="the table on the standby")
    assert (await query(standby, "SELECT count(*) AS n FROM t")) == [{"n": 1000}]

    got = await instances.get(standby)
    assert got.standby is not None
    assert got.standby.status == "demoted"
    assert got.standby.slot == "stby_slot"
    assert got.standby.primary_conninfo == tcp(primary)
    assert got.standby.replication_lag is not None and got.standby.replication_lag >= 0
    assert got.standby.replay_lag_bytes is not None and got.standby.receive_lag_bytes is not None
    assert got.standby.replay_lag_seconds is not None
    assert "primary_conninfo" not in got.settings

    # The password is in no file of the standby's data directory, no log, no journal,
    # and only in a 0600 passfile outside the data directory.
    assert files_holding(standby.datadir, SECRET) == []
    assert files_holding(settings.logdir, SECRET) == []
    assert SECRET not in settings.journal_file.read_text()
    assert not any("CREATE ROLE" in p.read_text() for p in primary.log_files())
    [passfile] = files_holding(settings.state_dir, SECRET)
    assert stat.S_IMODE(passfile.stat().st_mode) == 0o600
    assert standby.datadir not in passfile.parents

    await instances.promote(standby)
    assert (await query(standby, "SELECT pg_is_in_recovery() AS r")) == [{"r": False}]
    await query(standby, "INSERT INTO t VALUES (1001)")
    assert (await query(standby, "SELECT count(*) AS n FROM t")) == [{"n": 1001}]
    got = await instances.get(standby)
    assert got.standby is not None and got.standby.status == "promoted"
    items = {item.name: item async for item in instances.ls(settings)}
    assert items["stby"].role == "primary"
    assert items["prim"].diverged_by == "15/stby"
    # The slot served the standby only: dropped with the promotion, so no WAL piles up.
    assert await query(primary, "SELECT slot_name FROM pg_replication_slots") == []

    with pytest.raises(InstanceStateError, match="already promoted"):
        await instances.promote(standby)


async def test_promote_refuses_primary_and_stopped_standby(
    settings: Any, make_instance: MakeInstance
) -> None:
    primary = await make_instance("prim")
    with pytest.raises(InstanceStateError, match="is a primary, not a standby"):
        await instances.promote(primary)
    standby = await make_instance("stby", state="stopped", standby={"primary_conninfo": socket(primary)})
    assert standby.standby_signal.exists()
    with pytest.raises(InstanceStateError, match="not running"):
        await instances.promote(standby)
    assert standby.standby_signal.exists()
    # A manifest asking for the promotion does it, as with pglift.
    manifest = interface.Instance(
        name="stby", port=standby.port, standby={"primary_conninfo": socket(primary), "status": "promoted"}
    )
    result = await instances.apply(settings, manifest)
    assert result.change_state == "changed"
    assert (await query(standby, "SELECT pg_is_in_recovery() AS r")) == [{"r": False}]


async def test_slot_keeps_wal_until_the_standby_is_dropped(
    settings: Any, make_instance: MakeInstance
) -> None:
    primary = await make_instance("prim")
    standby = await make_instance("stby", standby={"primary_conninfo": socket(primary), "slot": "keep"})
    await instances.stop(standby)
    for _ in range(3):
        await query(
            primary, "CREATE TABLE IF NOT EXISTS w (x int); INSERT INTO w VALUES (1); SELECT pg_switch_wal()"
        )
    retained = await query(
        primary,
        "SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), restart_lsn) > 0 AS retains FROM pg_replication_slots"
        " WHERE slot_name = 'keep'",
    )
    assert retained == [{"retains": True}]
    await instances.drop(standby)
    assert await query(primary, "SELECT slot_name FROM pg_replication_slots") == []
    assert list(replication.all_records(settings)) == []


async def test_a_slot_that_existed_is_left_alone(settings: Any, make_instance: MakeInstance) -> None:
    primary = await make_instance("prim")
    await query(primary, "SELECT pg_create_physical_replication_slot('theirs')")
    standby = await make_instance("stby", standby={"primary_conninfo": socket(primary), "slot": "theirs"})
    await instances.drop(standby)
    slots = await query(primary, "SELECT slot_name FROM pg_replication_slots")
    assert slots == [{"slot_name": "theirs"}]


async def test_wrong_password_fails_before_anything_is_made(
    settings: Any, make_instance: MakeInstance
) -> None:
    primary = await make_instance("prim", replrole_password=SECRET)
    before = tree(settings.prefix), tree(settings.state_dir)
    manifest = interface.Instance(
        name="stby",
        port=free_port(),
        standby={"primary_conninfo": tcp(primary), "password": "not-the-password", "slot": "s"},
    )
    with pytest.raises(
        ReplicationError, match='password authentication failed for user "replication"'
    ) as info:
        await instances.apply(settings, manifest)
    assert "not-the-password" not in str(info.value)
    assert (tree(settings.prefix), tree(settings.state_dir)) == before
    # Not even the slot: it is made only once the connection is known to work.
    assert await query(primary, "SELECT slot_name FROM pg_replication_slots") == []


async def test_no_room_in_max_wal_senders_is_the_primarys_own_refusal(
    settings: Any, make_instance: MakeInstance
) -> None:
    primary = await make_instance("prim", settings={"max_wal_senders": 1}, state="restarted")
    before = tree(settings.prefix)
    manifest = interface.Instance(
        name="stby", port=free_port(), standby={"primary_conninfo": socket(primary)}
    )
    with pytest.raises(ReplicationError, match="exceeds max_wal_senders"):
        await instances.apply(settings, manifest)
    assert tree(settings.prefix) == before


async def test_dropping_a_primary_with_a_live_standby_needs_force(
    settings: Any, make_instance: MakeInstance
) -> None:
    primary = await make_instance("prim")
    await make_instance("stby", standby={"primary_conninfo": socket(primary)})

    async def streaming() -> bool:
        return bool(await query(primary, "SELECT 1 FROM pg_stat_replication WHERE state = 'streaming'"))

    await wait_for(streaming, what="the standby to stream")
    with pytest.raises(InstanceStateError, match=r"live standby\(s\): stby \(local socket, streaming\)"):
        await instances.drop(primary)
    with pytest.raises(InstanceStateError, match="live standby"):
        await instances.apply(settings, interface.Instance(name="prim", state="absent"))
    assert primary.exists()
    await instances.drop(primary, force=True)
    assert not primary.exists()
