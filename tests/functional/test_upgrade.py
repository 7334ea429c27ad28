"""Upgrades from PostgreSQL 15 to 18 with pg_upgrade, on real servers of both versions."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from pglift_tui import instances, journal
from pglift_tui.exceptions import CommandError, InstanceAlreadyExists, InstanceStateError, InvalidVersion
from pglift_tui.instances import Step
from pglift_tui.models import system
from pglift_tui.settings import Settings

from ..conftest import MakeInstance, free_port, make_settings
from .pg import query, show, tree


@pytest.fixture
def settings(short_tmp: Path) -> Settings:
    """Both versions installed; 15 stays the default, 18 is the newest."""
    settings: Settings = make_settings(short_tmp, pg18=True)
    return settings


def layout(settings: Settings) -> set[str]:
    """The instances' directories (not what a running server writes inside them)."""
    return {p for p in tree(settings.prefix / "srv") if p.count("/") <= 3}


def lookup(settings: Settings, name: str, version: str) -> system.Instance:
    return system.Instance.system_lookup(name, version, settings)


async def test_upgrade_keeps_rows_settings_and_port(settings: Settings, make_instance: MakeInstance) -> None:
    old = await make_instance("app", settings={"work_mem": "24MB", "log_min_duration_statement": "1s"})
    port = old.port
    await query(old, "CREATE TABLE t AS SELECT generate_series(1, 5000) AS i; CREATE INDEX ON t (i)")
    seen: list[Step] = []

    upgraded = await instances.upgrade_async(old, jobs=2, on_step=seen.append)

    assert [(s.name, s.state) for s in seen] == [
        ("init", "running"), ("init", "done"), ("check", "running"), ("check", "done"),
        ("copy", "running"), ("copy", "done"), ("start", "running"), ("start", "done"),
    ]  # fmt: skip
    assert upgraded.instance.version == "18"
    assert upgraded.analyze_advice and "vacuumdb" in upgraded.analyze_advice
    new = lookup(settings, "app", "18")
    assert new.status().status == "running"
    assert (await query(new, "SELECT count(*) AS n FROM t")) == [{"n": 5000}]
    assert (await query(new, "SELECT current_setting('server_version_num')::int / 10000 AS v")) == [{"v": 18}]
    assert await show(new, "work_mem") == "24MB"
    # The new one took the old port; the old one moved to a free one, stopped and marked.
    assert new.port == port
    assert old.port != port and old.status().status == "not running"
    items = {(i.name, i.version): i async for i in instances.ls(settings)}
    assert items[("app", "15")].superseded_by == "18/app"
    with pytest.raises(InstanceStateError, match="superseded by 18/app"):
        await instances.start(old)
    # jobs passed through, recorded with the rest in the journal.
    [event] = [
        e for e in journal.read(settings, limit=20) if e.action == "upgrade" and e.instance == "15/app"
    ]
    assert event.result == "ok" and event.details["jobs"] == 2 and event.details["mode"] == "copy"
    # The old cluster still holds its data: starting it on purpose works.
    await instances.start(old, force=True)
    assert (await query(old, "SELECT count(*) AS n FROM t")) == [{"n": 5000}]


async def test_refusals_change_nothing(settings: Settings, make_instance: MakeInstance) -> None:
    old = await make_instance("app")
    primary_conninfo = f"host={old.live_socket_directory()} port={old.port} user=replication"
    standby = await make_instance("stby", standby={"primary_conninfo": primary_conninfo})
    await make_instance("taken", version="18")
    before = layout(settings)
    with pytest.raises(InvalidVersion, match="pg_upgrade goes to a newer major version"):
        instances.upgrade(old, version="15")
    with pytest.raises(InstanceStateError, match="is a standby"):
        instances.upgrade(standby)
    with pytest.raises(InvalidVersion, match=r"not installed|unknown|available"):
        instances.upgrade(old, version="17")
    with pytest.raises(InstanceStateError, match="live standby"):
        instances.upgrade(old)
    with pytest.raises(InstanceAlreadyExists, match="18/taken already exists"):
        instances.upgrade(old, name="taken", force=True)
    assert layout(settings) == before
    assert old.status().status == "running"
    assert not (old.datadir / "pglift-tui.superseded").exists()


async def test_failed_check_leaves_the_old_instance_as_it_was(
    settings: Settings, make_instance: MakeInstance
) -> None:
    # pg_upgrade refuses user tables with reg* columns (they hold OIDs it cannot keep).
    old = await make_instance("app")
    await query(old, "CREATE TABLE bad (r regproc); INSERT INTO bad VALUES ('now'::regproc)")
    conf_before = (old.datadir / "postgresql.conf").read_text()
    pid = old.status().pid
    files_before = layout(settings)
    with pytest.raises(CommandError, match="pg_upgrade") as info:
        await instances.upgrade_async(old)
    assert "logs are kept in" in str(info.value)
    kept = Path(str(info.value).rsplit("logs are kept in ", 1)[1].split(";")[0].strip())
    assert (kept.is_dir() and any(kept.rglob("*.txt"))) or any(kept.rglob("*.log"))
    assert not lookup(settings, "app", "15").datadir.joinpath("pglift-tui.superseded").exists()
    assert (old.datadir / "postgresql.conf").read_text() == conf_before
    assert old.status().status == "running" and old.status().pid == pid  # checked live: never stopped
    assert not instances.exists("app", "18", settings)
    assert layout(settings) == files_before


async def test_failed_first_start_rolls_back(settings: Settings, make_instance: MakeInstance) -> None:
    old = await make_instance("app")
    await query(old, "CREATE TABLE t AS SELECT 1 AS i")
    target = free_port()
    blocker = socket.socket()

    def take_the_port(step: Step) -> None:
        # Between pg_upgrade and the new server's first start, something takes its port.
        if step.name == "copy" and step.state == "done":
            blocker.bind(("127.0.0.1", target))
            blocker.listen()

    try:
        with pytest.raises(CommandError, match=r"could not start|Address already in use"):
            await instances.upgrade_async(old, port=target, on_step=take_the_port)
    finally:
        blocker.close()
    assert not instances.exists("app", "18", settings)
    assert old.status().status == "running"
    assert (await query(old, "SELECT count(*) AS n FROM t")) == [{"n": 1}]
    assert (old.datadir / "pglift-tui.superseded").exists() is False


async def test_upgrade_of_a_stopped_instance_in_link_mode(
    settings: Settings, make_instance: MakeInstance
) -> None:
    old = await make_instance("app", settings={"work_mem": "8MB"})
    await query(old, "CREATE TABLE t AS SELECT generate_series(1, 100) AS i")
    await instances.stop(old)
    new = instances.upgrade(old, name="app2", port=free_port(), mode="link")
    assert (new.name, new.version, new.state) == ("app2", "18", "stopped")
    assert new.settings["work_mem"] == "8MB"
    new_instance = lookup(settings, "app2", "18")
    await instances.start(new_instance)
    assert await show(new_instance, "work_mem") == "8MB"
    # pg_upgrade's advice, as the dashboard offers it: the never-analyzed table gets statistics.
    await instances.analyze_in_stages(new_instance)
    analyzed = await query(new_instance, "SELECT last_analyze IS NOT NULL AS a FROM pg_stat_user_tables")
    assert analyzed == [{"a": True}]
    with pytest.raises(InstanceStateError, match="never after --link"):
        await instances.start(old)
