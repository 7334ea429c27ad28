"""Configuration changes: live through reload, pending restart, refused when bad."""

from __future__ import annotations

import stat
from typing import Any

import pytest

from pglift_tui import instances
from pglift_tui.exceptions import ConfigurationError, InstanceStateError
from pglift_tui.models import interface

from .pg import query, show


def manifest(instance: Any, **fields: Any) -> interface.Instance:
    return interface.Instance.model_validate({"name": instance.name, "version": instance.version, **fields})


async def test_reloadable_change_is_live_when_apply_returns(make_instance: Any, settings: Any) -> None:
    instance = await make_instance(settings={"work_mem": "8MB"})
    result = await instances.apply(settings, manifest(instance, settings={"work_mem": "32MB"}))
    assert result.change_state == "changed"
    assert result.diff == {"work_mem": ("8MB", "32MB")}
    assert result.pending_restart is False
    assert await show(instance, "work_mem") == "32MB"


async def test_restart_needing_change_is_pending_until_restart(make_instance: Any, settings: Any) -> None:
    instance = await make_instance()
    result = await instances.apply(settings, manifest(instance, settings={"max_connections": 42}))
    assert result.diff == {"max_connections": (100, 42)}
    assert result.pending_restart is True
    async with instances_db(instance) as cnx:
        assert await instances.pending_restart(cnx) is True
        by_name = {s.name: s for s in await instances.settings(cnx)}
    assert by_name["max_connections"].setting == "100"
    assert by_name["max_connections"].pending_restart is True
    assert by_name["max_connections"].context == "postmaster"
    assert await show(instance, "max_connections") == "100"
    await instances.restart(instance)
    assert await show(instance, "max_connections") == "42"


async def test_restart_on_changes_restarts(make_instance: Any, settings: Any) -> None:
    instance = await make_instance()
    pid = instance.status().pid
    result = await instances.apply(
        settings, manifest(instance, settings={"max_connections": 43}, restart_on_changes=True)
    )
    assert result.pending_restart is False
    assert instance.status().pid != pid
    assert await show(instance, "max_connections") == "43"


async def test_null_removes_a_parameter_and_others_are_kept(make_instance: Any, settings: Any) -> None:
    instance = await make_instance(settings={"work_mem": "8MB", "statement_timeout": "5s"})
    timezone = await show(instance, "TimeZone")  # initdb's line, from the environment
    assert timezone != "GMT"
    result = await instances.apply(settings, manifest(instance, settings={"statement_timeout": None}))
    assert result.diff == {"statement_timeout": ("5s", None)}
    assert await show(instance, "statement_timeout") == "0"
    assert await show(instance, "work_mem") == "8MB"
    assert await show(instance, "TimeZone") == timezone  # untouched (pglift comments it out: GMT)
    text = (instance.datadir / "postgresql.conf").read_text()
    assert "statement_timeout" not in text.replace("#statement_timeout", "")


async def test_values_are_quoted_safely(make_instance: Any, settings: Any) -> None:
    tricky = "it's a \\ backslash # not a comment"
    instance = await make_instance(settings={"log_line_prefix": tricky})
    rows = await query(instance, "SELECT setting FROM pg_settings WHERE name = 'log_line_prefix'")
    assert rows == [{"setting": tricky}]
    assert (await instances.get(instance)).settings["log_line_prefix"] == tricky
    again = await instances.apply(settings, manifest(instance, settings={"log_line_prefix": tricky}))
    assert again.change_state is None


async def test_file_mode_is_kept(make_instance: Any, settings: Any) -> None:
    instance = await make_instance(state="stopped")
    path = instance.datadir / "postgresql.conf"
    path.chmod(0o640)
    await instances.apply(settings, manifest(instance, state="stopped", settings={"work_mem": "9MB"}))
    assert stat.S_IMODE(path.stat().st_mode) == 0o640


async def test_bad_value_is_refused_and_changes_nothing(make_instance: Any, settings: Any) -> None:
    instance = await make_instance(settings={"work_mem": "8MB"})
    before = (instance.datadir / "postgresql.conf").read_text()
    with pytest.raises(ConfigurationError, match='invalid value for parameter "work_mem"'):
        await instances.apply(settings, manifest(instance, settings={"work_mem": "lots"}))
    with pytest.raises(ConfigurationError, match="unrecognized configuration parameter"):
        await instances.apply(settings, manifest(instance, settings={"no_such_param": 1}))
    assert (instance.datadir / "postgresql.conf").read_text() == before
    assert await show(instance, "work_mem") == "8MB"


async def test_reload_reports_what_the_server_rejected(make_instance: Any) -> None:
    instance = await make_instance(settings={"work_mem": "8MB"})
    path = instance.datadir / "postgresql.conf"
    path.write_text(path.read_text() + "work_mem = 'plenty'\n")  # an operator's typo, by hand
    with pytest.raises(
        ConfigurationError,
        match=r"work_mem = 'plenty' in .*postgresql.conf:\d+: .*invalid value for parameter \"work_mem\"",
    ):
        await instances.reload(instance)
    assert await show(instance, "work_mem") == "8MB"
    assert instance.status().status == "running"


async def test_reload_of_a_stopped_instance_is_an_error(make_instance: Any) -> None:
    instance = await make_instance(state="stopped")
    with pytest.raises(InstanceStateError, match="not running"):
        await instances.reload(instance)


async def test_port_change_needs_a_restart_and_moves_the_server(make_instance: Any, settings: Any) -> None:
    from ..conftest import free_port

    instance = await make_instance()
    new_port = free_port()
    result = await instances.apply(settings, manifest(instance, port=new_port))
    assert result.pending_restart is True
    await instances.restart(instance)
    assert instance.status().pidfile.port == new_port  # type: ignore[union-attr]
    assert await show(instance, "port") == str(new_port)


async def test_state_changes_through_apply(make_instance: Any, settings: Any) -> None:
    instance = await make_instance()
    stopped = await instances.apply(settings, manifest(instance, state="stopped"))
    assert stopped.change_state == "changed"
    assert instance.status().status == "not running"
    assert (await instances.apply(settings, manifest(instance, state="stopped"))).change_state is None
    started = await instances.apply(settings, manifest(instance, state="started"))
    assert started.change_state == "changed"
    pid = instance.status().pid
    await instances.apply(settings, manifest(instance, state="restarted"))
    assert instance.status().pid != pid
    dropped = await instances.apply(settings, manifest(instance, state="absent"))
    assert dropped.change_state == "dropped"
    assert (await instances.apply(settings, manifest(instance, state="absent"))).change_state is None


async def test_get_round_trips_through_apply(make_instance: Any, settings: Any) -> None:
    instance = await make_instance(settings={"work_mem": "8MB", "log_connections": True})
    got = await instances.get(instance)
    assert got.settings["work_mem"] == "8MB"
    assert got.settings["log_connections"] is True
    assert "port" not in got.settings
    assert got.port == instance.port
    assert (await instances.apply(settings, got)).change_state is None


def instances_db(instance: Any) -> Any:
    from pglift_tui import db

    return db.connect(instance)


async def test_a_change_that_cannot_start_is_rolled_back(make_instance: Any, settings: Any) -> None:
    instance = await make_instance(settings={"work_mem": "8MB"})
    before = (instance.datadir / "postgresql.conf").read_text()
    with pytest.raises(ConfigurationError, match="previous configuration was restored"):
        await instances.apply(
            settings,
            manifest(instance, settings={"listen_addresses": "192.0.2.1"}, restart_on_changes=True),
        )
    assert instance.status().status == "running"
    assert (instance.datadir / "postgresql.conf").read_text() == before
    assert await show(instance, "listen_addresses") == "localhost"


async def test_a_missing_preloaded_library_is_refused_before_a_restart(
    make_instance: Any, settings: Any
) -> None:
    instance = await make_instance()
    pid = instance.status().pid
    with pytest.raises(ConfigurationError, match="'no_such_lib', not found in"):
        await instances.apply(
            settings,
            manifest(instance, settings={"shared_preload_libraries": "no_such_lib"}, restart_on_changes=True),
        )
    assert instance.status().pid == pid
