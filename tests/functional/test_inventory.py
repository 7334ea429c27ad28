"""ls, exists, get and drop: what is on disk, and removing all of it (and nothing else)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from pglift_tui import instances, journal
from pglift_tui.exceptions import InstanceNotFound, InvalidName, InvalidVersion
from pglift_tui.models import system

from .pg import tree


async def test_ls_reports_status_port_pid_phase_and_role(make_instance: Any, settings: Any) -> None:
    up = await make_instance("up")
    down = await make_instance("down", state="stopped")
    (down.datadir / "standby.signal").touch()
    items = {item.name: item async for item in instances.ls(settings)}
    assert set(items) == {"up", "down"}
    assert (items["up"].status, items["up"].phase, items["up"].role) == ("running", "ready", "primary")
    assert items["up"].pid == up.status().pid
    assert items["up"].port == up.port
    assert (items["down"].status, items["down"].pid, items["down"].phase) == ("not running", None, None)
    assert items["down"].port == down.port
    assert items["down"].role == "standby"
    assert items["down"].datadir == down.datadir


async def test_ls_filters_by_version_and_refuses_unknown_ones(make_instance: Any, settings: Any) -> None:
    await make_instance()
    assert [i.name async for i in instances.ls(settings, version="15")] == ["main"]
    with pytest.raises(InvalidVersion, match="PostgreSQL 9"):
        [i async for i in instances.ls(settings, version="9")]


async def test_ls_ignores_directories_that_hold_no_cluster(make_instance: Any, settings: Any) -> None:
    await make_instance()
    (Path(settings.prefix) / "srv/pgsql/15/empty/data").mkdir(parents=True)
    assert [i.name async for i in instances.ls(settings)] == ["main"]


async def test_exists_and_lookup(make_instance: Any, settings: Any) -> None:
    await make_instance(state="stopped")
    assert instances.exists("main", "15", settings)
    assert instances.exists("main", None, settings)
    assert not instances.exists("other", None, settings)
    with pytest.raises(InstanceNotFound, match="instance 15/other not found"):
        system.Instance.system_lookup("other", "15", settings)


async def test_drop_removes_everything_the_instance_had_and_nothing_else(
    make_instance: Any, settings: Any
) -> None:
    keep = await make_instance("keep")
    gone = await make_instance("gone", settings={"work_mem": "5MB"})
    keep_files = tree(keep.datadir.parent)
    await instances.drop(gone)
    prefix = Path(settings.prefix)
    leftovers = [p for p in tree(prefix) if "gone" in p]
    assert leftovers == []
    assert not (prefix / "srv/pgsql/15/gone").exists()
    assert tree(keep.datadir.parent) >= keep_files - {"data/postmaster.pid"}
    assert keep.status().status == "running"
    assert [i.name async for i in instances.ls(settings)] == ["keep"]
    assert journal.read(settings, limit=1)[0].action == "drop"


async def test_drop_of_a_crashed_instance(make_instance: Any, settings: Any) -> None:
    from pglift_tui import ctl

    instance = await make_instance()
    await ctl.kill(instance)
    await instances.drop(instance)
    assert not instances.exists("main", "15", settings)


async def test_names_cannot_escape_the_prefix_through_symlinks(settings: Any, short_tmp: Path) -> None:
    outside = short_tmp / "outside"
    outside.mkdir()
    base = Path(settings.prefix) / "srv/pgsql/15"
    base.mkdir(parents=True)
    (base / "evil").symlink_to(outside)
    with pytest.raises(InvalidName, match="outside"):
        _ = system.BaseInstance("evil", "15", settings).datadir


async def test_dropping_main_keeps_the_logs_of_main_foo(make_instance: Any, settings: Any) -> None:
    await make_instance("main")
    other = await make_instance("main-foo")
    logs = other.log_files()
    assert logs
    await instances.drop(system.Instance.system_lookup("main", "15", settings))
    assert all(path.exists() for path in logs)
    assert other.status().status == "running"


async def test_dropping_a_crashed_instance_frees_its_port(make_instance: Any, settings: Any) -> None:
    from pglift_tui import ctl
    from pglift_tui.models import interface

    instance = await make_instance()
    port = instance.port
    await ctl.kill(instance)
    await instances.drop(instance)
    assert not list(settings.socket_directory.glob(f".s.PGSQL.{port}*"))
    await instances.apply(settings, interface.Instance(name="again", port=port))
    assert system.Instance.system_lookup("again", "15", settings).status().status == "running"


async def test_socket_directory_is_a_property_as_in_pglift(make_instance: Any, settings: Any) -> None:
    """pglift's system model has `socket_directory: str | None`, read from the configuration."""
    from .pg import show

    instance = await make_instance()
    assert instance.socket_directory == await show(instance, "unix_socket_directories")
    assert isinstance(instance.socket_directory, str)
    assert instance.live_socket_directory() == Path(instance.socket_directory)
    conf = instance.datadir / "postgresql.conf"
    text = conf.read_text()
    conf.write_text(text + "unix_socket_directories = '@abstract, /tmp/elsewhere'\n")
    assert instance.socket_directory == "/tmp/elsewhere"
    conf.write_text(text.replace("unix_socket_directories", "#unix_socket_directories"))
    assert instance.socket_directory is None
