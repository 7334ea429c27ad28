"""Creation through apply, on real PostgreSQL 15: what the server says afterwards."""

from __future__ import annotations

import getpass
import os
import stat
from pathlib import Path
from typing import Any

import psycopg
import pytest

from pglift_tui import instances, journal
from pglift_tui.models import interface, system

from ..conftest import free_port
from .pg import query, show


async def test_create_then_apply_again_changes_nothing(settings: Any) -> None:
    port = free_port()
    manifest = interface.Instance(name="main", port=port, settings={"work_mem": "8MB"})
    first = await instances.apply(settings, manifest)
    assert first.change_state == "created"
    instance = system.Instance.system_lookup("main", "15", settings)
    assert await show(instance, "port") == str(port)
    assert await show(instance, "work_mem") == "8MB"
    assert await show(instance, "listen_addresses") == "localhost"
    assert await show(instance, "cluster_name") == "main"
    second = await instances.apply(settings, manifest)
    assert second.change_state is None
    assert second.diff == {}


async def test_created_instance_is_private_and_never_trusts(settings: Any, make_instance: Any) -> None:
    instance = await make_instance()
    assert stat.S_IMODE(instance.datadir.stat().st_mode) == 0o700
    assert stat.S_IMODE(settings.socket_directory.stat().st_mode) == 0o700
    rules = await query(instance, "SELECT type, auth_method, options FROM pg_hba_file_rules")
    methods = {row["auth_method"] for row in rules}
    assert "trust" not in methods
    assert methods == {"peer", "scram-sha-256"}
    assert all(row["options"] == ["map=pglift_tui"] for row in rules if row["auth_method"] == "peer")
    who = await query(
        instance, "SELECT current_user AS u, rolsuper FROM pg_roles WHERE rolname = current_user"
    )
    assert who == [{"u": "postgres", "rolsuper": True}]


async def test_server_log_goes_to_a_file_under_the_prefix(make_instance: Any) -> None:
    instance = await make_instance()
    await query(instance, "DO $$ BEGIN RAISE LOG 'pglift-tui-test-marker'; END $$")
    current = (instance.datadir / "current_logfiles").read_text().split()[1]
    assert Path(current).parent == instance.logdir
    assert str(instance.logdir).startswith(str(instance.settings.prefix))
    await instances.stop(instance)  # flushes the collector
    assert "pglift-tui-test-marker" in Path(current).read_text()


async def test_superuser_password_works_over_tcp_and_is_never_written(settings: Any) -> None:
    port = free_port()
    secret = "s3cr3t-Ünïcode-pw"
    manifest = interface.Instance(name="pw", port=port, surole_password=secret)
    await instances.apply(settings, manifest)
    async with await psycopg.AsyncConnection.connect(
        host="127.0.0.1", port=port, user="postgres", password=secret, dbname="postgres"
    ) as cnx:
        cur = await cnx.execute(
            "SELECT rolpassword LIKE 'SCRAM-SHA-256$%%' FROM pg_authid WHERE rolname = 'postgres'"
        )
        assert await cur.fetchone() == (True,)
    with pytest.raises(psycopg.OperationalError, match="password authentication failed"):
        await psycopg.AsyncConnection.connect(
            host="127.0.0.1", port=port, user="postgres", password="wrong", dbname="postgres"
        )
    needle = secret.encode()
    for root in (settings.prefix, settings.run_prefix, settings.state_dir):
        for path in Path(root).rglob("*"):
            if path.is_file() and not path.is_symlink():
                assert needle not in path.read_bytes(), f"password found in {path}"
    assert all(secret not in event.model_dump_json() for event in journal.read(settings))


async def test_creation_options_locale_encoding_checksums_and_waldir(
    settings: Any, make_instance: Any
) -> None:
    instance = await make_instance(locale="C.UTF-8", encoding="UTF8", data_checksums=True)
    assert await show(instance, "data_checksums") == "on"
    rows = await query(
        instance,
        "SELECT datcollate, pg_encoding_to_char(encoding) AS enc FROM pg_database WHERE datname = 'postgres'",
    )
    assert rows == [{"datcollate": "C.UTF-8", "enc": "UTF8"}]
    pg_wal = instance.datadir / "pg_wal"
    assert pg_wal.is_symlink()
    assert Path(os.readlink(pg_wal)) == instance.waldir
    got = await instances.get(instance)
    assert (got.data_checksums, got.locale, got.encoding) == (True, "C.UTF-8", "UTF8")


async def test_create_stopped_does_not_start(settings: Any, make_instance: Any) -> None:
    instance = await make_instance(state="stopped")
    assert instance.status().status == "not running"
    got = await instances.get(instance)
    assert got.state == "stopped"
    assert got.data_checksums is False


async def test_journal_records_who_did_what(settings: Any, make_instance: Any) -> None:
    instance = await make_instance()
    await instances.restart(instance)
    events = journal.read(settings, datadir=instance.datadir)
    assert [e.action for e in events] == ["restart", "create"]
    assert all(e.user == getpass.getuser() and e.result == "ok" for e in events)
    assert events[0].instance == "15/main"
