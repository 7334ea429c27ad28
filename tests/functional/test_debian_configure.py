"""Settings of a Debian cluster: written to conf.d/pglift-tui.conf, checked, reloaded, seen by the server."""

from __future__ import annotations

from typing import Any

import pytest

from pglift_tui import journal
from pglift_tui.exceptions import ConfigurationError
from pglift_tui.host import Host

from ..clusters import MakeCluster


async def test_configure_writes_conf_d_and_the_server_takes_it(
    dsettings: Any, make_cluster: MakeCluster
) -> None:
    made = make_cluster(start=True)
    host = Host(dsettings)
    postgresql_conf = (made.configdir / "postgresql.conf").read_text()
    done = await host.run(
        "configure", made.key, settings={"work_mem": "7MB", "log_min_duration_statement": 250}
    )
    assert done.word == "changed and reloaded"
    diff, pending = done.data
    assert diff == {"work_mem": (None, "7MB"), "log_min_duration_statement": (None, 250)}
    assert pending is False
    assert made.psql("SHOW work_mem") == "7MB"
    assert made.psql("SHOW log_min_duration_statement") == "250ms"
    ours = made.configdir / "conf.d" / "pglift-tui.conf"
    assert "work_mem = '7MB'" in ours.read_text()
    assert (
        made.configdir / "postgresql.conf"
    ).read_text() == postgresql_conf  # the operator's file is theirs
    again = await host.run("configure", made.key, settings={"work_mem": "7MB"})
    assert (again.word, again.changed) == ("unchanged", False)

    done = await host.run("configure", made.key, settings={"work_mem": None, "shared_buffers": "64MB"})
    assert done.word == "changed; a restart is pending"
    assert done.data[0] == {"work_mem": ("7MB", None), "shared_buffers": ("128MB", "64MB")}
    assert made.psql("SHOW work_mem") == "4MB"
    assert made.psql("SELECT pending_restart FROM pg_settings WHERE name = 'shared_buffers'") == "t"
    await host.run("restart", made.key)
    assert made.psql("SHOW shared_buffers") == "64MB"
    events = [e for e in journal.read(dsettings, datadir=made.datadir) if e.action == "configure"]
    assert [(e.result, e.details["changed"]) for e in reversed(events)] == [
        ("ok", ["log_min_duration_statement", "work_mem"]),
        ("unchanged", []),
        ("ok", ["shared_buffers", "work_mem"]),
    ]


async def test_a_value_the_server_refuses_changes_nothing(dsettings: Any, make_cluster: MakeCluster) -> None:
    made = make_cluster(start=True)
    host = Host(dsettings)
    await host.run("configure", made.key, settings={"work_mem": "6MB"})
    ours = made.configdir / "conf.d" / "pglift-tui.conf"
    before = sorted(p.name for p in ours.parent.iterdir()), ours.read_text()
    for _ in range(2):
        with pytest.raises(ConfigurationError, match='invalid value for parameter "work_mem": "lots"'):
            await host.run("configure", made.key, settings={"work_mem": "lots"})
        assert (sorted(p.name for p in ours.parent.iterdir()), ours.read_text()) == before
        assert made.psql("SHOW work_mem") == "6MB"
    with pytest.raises(ConfigurationError, match="'port' is not set from here"):
        await host.run("configure", made.key, settings={"port": 5999})
    with pytest.raises(ConfigurationError, match="secret"):
        await host.run("configure", made.key, settings={"myapp.password": "x"})
    assert ours.read_text() == before[1]


async def test_a_later_file_that_wins_is_named(dsettings: Any, make_cluster: MakeCluster) -> None:
    made = make_cluster(start=True)
    made.psql("ALTER SYSTEM SET work_mem = '9MB'")
    made.psql("SELECT pg_reload_conf()")
    host = Host(dsettings)
    done = await host.run("configure", made.key, settings={"work_mem": "3MB"})
    (line,) = done.lines
    assert "postgresql.auto.conf" in line and "ALTER SYSTEM RESET work_mem" in line
    assert made.psql("SHOW work_mem") == "9MB"


async def test_a_stopped_cluster_takes_its_settings_at_the_next_start(
    dsettings: Any, make_cluster: MakeCluster
) -> None:
    made = make_cluster()
    host = Host(dsettings)
    done = await host.run("configure", made.key, settings={"work_mem": "5MB"})
    assert done.word == "changed (applies at the next start)"
    await host.run("start", made.key)
    assert made.psql("SHOW work_mem") == "5MB"


async def test_conf_d_included_by_an_absolute_path_is_checked_too(
    dsettings: Any, make_cluster: MakeCluster
) -> None:
    made = make_cluster(start=True)
    main = made.configdir / "postgresql.conf"
    main.write_text(
        main.read_text().replace("include_dir = 'conf.d'", f"include_dir = '{made.configdir}/conf.d'")
    )
    host = Host(dsettings)
    with pytest.raises(ConfigurationError, match='invalid value for parameter "work_mem"'):
        await host.run("configure", made.key, settings={"work_mem": "lots"})
    assert not (made.configdir / "conf.d" / "pglift-tui.conf").exists()
    assert (
        await host.run("configure", made.key, settings={"work_mem": "3MB"})
    ).word == "changed and reloaded"
    assert made.psql("SHOW work_mem") == "3MB"
    main.write_text(main.read_text().replace(f"include_dir = '{made.configdir}/conf.d'", ""))
    with pytest.raises(ConfigurationError, match=r"does not include conf\.d"):
        await host.run("configure", made.key, settings={"work_mem": "2MB"})
