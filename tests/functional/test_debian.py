"""postgresql-common's clusters: listed from their files, operated through pg_ctlcluster.

Every cluster here is made by pg_createcluster under the test's own
PG_CLUSTER_CONF_ROOT, and what we claim is checked with pg_lsclusters --json.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psutil
import pytest

from pglift_tui import journal
from pglift_tui.exceptions import CommandError, ConfigurationError, InstanceStateError
from pglift_tui.host import Host

from ..clusters import MakeCluster
from .pg import wait_for


@pytest.fixture
def stranger() -> Iterator[subprocess.Popen[bytes]]:
    """A live process that is not a postmaster: what a reused PID looks like.

    Its command line says "postgres", which is all pg_ctlcluster asks before it has
    pg_ctl signal the PID of a pid file.
    """
    code = "import sys; sys.stdin.read()"
    proc = subprocess.Popen([sys.executable, "-c", code, "postgres"], stdin=subprocess.PIPE)
    try:
        yield proc
    finally:
        proc.kill()
        proc.wait()


def rows(host: Host) -> list[tuple[str, str, int, str, str]]:
    return [(i.key, i.version, i.port, i.status, i.manager) for i in host.ls()]


def test_clusters_are_listed_as_pg_lsclusters_sees_them(dsettings: Any, make_cluster: MakeCluster) -> None:
    up = make_cluster("up", start=True)
    down = make_cluster("down")
    host = Host(dsettings)
    assert rows(host) == [
        (down.key, "15", down.port, "not running", "debian"),
        (up.key, "15", up.port, "running", "debian"),
    ]
    for made in (up, down):
        theirs = made.lsclusters()
        item = next(i for i in host.ls() if i.key == made.key)
        assert (int(theirs["port"]), bool(theirs["running"])) == (item.port, item.status == "running")
        assert theirs["pgdata"] == str(item.datadir)
        assert (item.owner, item.supervisor, item.role) == (None, None, "primary")
    item = next(i for i in host.ls() if i.key == up.key)
    checkpointer = int(up.psql("SELECT pid FROM pg_stat_activity WHERE backend_type = 'checkpointer'"))
    assert item.pid == psutil.Process(checkpointer).ppid()
    assert item.phase == "ready" and item.started_at is not None
    assert rows(host) == rows(Host(dsettings))  # a second listing, from the cache, says the same
    files = host.files(item)
    assert (files.datadir, files.config_file) == (up.datadir, up.configdir / "postgresql.conf")
    assert files.edit_via == "conf.d/pglift-tui.conf"
    assert files.log_files() == [up.logfile]
    assert "database system is ready to accept connections" in up.logfile.read_text()
    info = dict(part.split("=", 1) for part in host.conninfo(item).split())
    assert (info["host"], info["port"], info["dbname"]) == (str(up.sockdir), str(up.port), "postgres")


async def test_stop_start_restart_reload_through_pg_ctlcluster(
    dsettings: Any, make_cluster: MakeCluster
) -> None:
    made = make_cluster()
    host = Host(dsettings)
    assert (await host.run("start", made.key)).word == "started"
    assert made.running()
    again = await host.run("start", made.key)
    assert (again.word, again.changed) == ("already running", False)
    pid = host.find(made.key).pid
    assert (await host.run("restart", made.key, mode="fast")).word == "restarted"
    assert made.running() and host.find(made.key).pid not in (None, pid)
    before = made.psql("SELECT pg_conf_load_time()")
    assert (await host.run("reload", made.key)).word == "configuration reloaded"
    assert made.psql("SELECT pg_conf_load_time()") != before
    assert (await host.run("stop", made.key, mode="smart")).word == "stopped (smart)"
    assert not made.running()
    assert host.find(made.key).status == "not running"
    assert (await host.run("stop", made.key)).word == "already stopped"
    with pytest.raises(InstanceStateError, match="cannot reload: not running"):
        await host.run("reload", made.key)
    events = journal.read(dsettings, datadir=made.datadir)
    assert [(e.instance, e.action, e.result) for e in reversed(events)] == [
        (made.key, "start", "ok"),
        (made.key, "restart", "ok"),
        (made.key, "reload", "ok"),
        (made.key, "stop", "ok"),
    ]
    assert events[0].details == {"mode": "smart"}


async def test_start_conf_disabled_refuses_all_but_stop(dsettings: Any, make_cluster: MakeCluster) -> None:
    made = make_cluster(start=True)
    (made.configdir / "start.conf").write_text("# refuse to start\ndisabled\n")
    host = Host(dsettings)
    for action in ("restart", "reload", "configure"):
        with pytest.raises(InstanceStateError, match=r"start\.conf says disabled"):
            await host.run(action, made.key, settings={"work_mem": "5MB"})
    assert made.running()
    assert (await host.run("stop", made.key)).word == "stopped (fast)"
    with pytest.raises(InstanceStateError, match=r"start\.conf says disabled: pg_ctlcluster refuses"):
        await host.run("start", made.key)
    assert not made.running()
    assert "Cluster is disabled" in made.ctl("start").stderr  # pg_ctlcluster says the same
    (made.configdir / "start.conf").write_text("manual\n")
    assert (await host.run("start", made.key)).word == "started"


async def test_a_pid_file_naming_a_stranger_is_not_running_and_the_stranger_is_never_signalled(
    dsettings: Any, make_cluster: MakeCluster, stranger: subprocess.Popen[bytes]
) -> None:
    made = make_cluster()
    lines = [str(stranger.pid), str(made.datadir), str(int(time.time()) - 3600), str(made.port)]
    lines += [str(made.sockdir), "localhost", "  1234   5678", "ready   ", ""]
    (made.datadir / "postmaster.pid").write_text("\n".join(lines))
    host = Host(dsettings)
    item = host.find(made.key)
    assert (item.status, item.pid) == ("crashed", None)
    for _ in range(2):
        assert (await host.run("stop", made.key)).word == "already stopped"
        assert stranger.poll() is None and psutil.Process(stranger.pid).status() != psutil.STATUS_ZOMBIE
    assert (await host.run("start", made.key)).word == "started"
    assert stranger.poll() is None
    assert host.find(made.key).pid not in (None, stranger.pid)
    assert made.running()
    (event,) = [e for e in journal.read(dsettings, datadir=made.datadir) if e.action == "start"]
    assert "not this server" in event.details["stale_pidfile"]


async def test_a_failed_start_carries_the_server_log(dsettings: Any, make_cluster: MakeCluster) -> None:
    made = make_cluster()
    (made.configdir / "conf.d" / "zz-broken.conf").write_text("max_connections = 'lots'\n")
    host = Host(dsettings)
    for _ in range(2):  # the same answer after an error
        with pytest.raises(CommandError, match="could not start") as excinfo:
            await host.run("start", made.key)
        assert any(
            'invalid value for parameter "max_connections"' in line for line in excinfo.value.log_lines
        )
        assert str(made.logfile) in (excinfo.value.hint or "")
        assert not made.running()
    (made.configdir / "conf.d" / "zz-broken.conf").unlink()
    assert (await host.run("start", made.key)).word == "started"
    # A restart checks the files first: a broken one never takes the running server down.
    pid = host.find(made.key).pid
    (made.configdir / "conf.d" / "zz-broken.conf").write_text("shared_buffers = 'huge'\n")
    with pytest.raises(ConfigurationError, match='invalid value for parameter "shared_buffers"'):
        await host.run("restart", made.key)
    assert host.find(made.key).pid == pid and made.running()


async def test_a_cluster_of_another_user_is_listed_read_only(dsettings: Any, debian_root: Path) -> None:
    """Its configuration says its data lives in a directory another OS user owns."""
    import pwd

    other = pwd.getpwnam("postgres")
    datadir = other.pw_dir  # postgresql-common's home for postgres, owned by it
    assert os.stat(datadir).st_uid == other.pw_uid != os.geteuid()
    configdir = debian_root / "15" / "theirs"
    configdir.mkdir(parents=True)
    (configdir / "postgresql.conf").write_text(f"data_directory = '{datadir}'\nport = 6543\n")
    host = Host(dsettings)
    (item,) = host.ls()
    assert (item.key, item.port, item.owner, item.status) == (
        "debian:15/theirs",
        6543,
        "postgres",
        "not running",
    )
    for action in ("start", "stop", "restart", "reload", "configure", "signal"):
        refusal = host.can(action, item)
        assert refusal is not None and "owned by postgres: listed read-only" in refusal.reason
        assert "runuser -u postgres -- pglift-tui" in refusal.reason
    with pytest.raises(InstanceStateError, match="cannot start: owned by postgres"):
        await host.run("start", item.key)
    for action, tool in (("drop", "pg_dropcluster 15 theirs"), ("upgrade", "pg_upgradecluster 15 theirs")):
        with pytest.raises(InstanceStateError, match=tool):
            await host.run(action, item.key)
    assert sorted(os.listdir(configdir)) == ["postgresql.conf"]


async def test_sessions_are_cancelled_and_ended_over_the_clusters_socket(
    dsettings: Any, make_cluster: MakeCluster
) -> None:
    made = make_cluster(start=True)
    argv = ["psql", "-h", str(made.sockdir), "-p", str(made.port), "-d", "postgres", "-AXtq"]
    session = subprocess.Popen(
        [
            *argv,
            "-v",
            "ON_ERROR_STOP=0",
            "-c",
            "SELECT pg_sleep(60)",
            "-c",
            "SELECT 'still here'",
            "-c",
            "SELECT pg_sleep(60)",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        find = "SELECT pid FROM pg_stat_activity WHERE query = 'SELECT pg_sleep(60)' AND state = 'active'"
        host = Host(dsettings)

        async def sleeping() -> bool:
            return bool(made.psql(find))

        await wait_for(sleeping, what="the session's first sleep")
        first = int(made.psql(find))
        assert (
            await host.run("signal", made.key, pid=first, terminate=False)
        ).word == f"backend {first} query cancelled"
        await wait_for(sleeping, what="the session's second sleep")
        assert int(made.psql(find)) == first  # the session lived on
        done = await host.run("signal", made.key, pid=first, terminate=True)
        assert (done.word, done.changed) == (f"backend {first} terminated", True)
        out, err = session.communicate(timeout=30)
        assert "still here" in out and "canceling statement due to user request" in err
        gone = await host.run("signal", made.key, pid=first, terminate=True)
        assert (gone.word, gone.changed) == (f"backend {first} gone already", False)
    finally:
        session.kill()
        session.wait()
    actions = [(e.action, e.result) for e in reversed(journal.read(dsettings, datadir=made.datadir))]
    assert actions == [("cancel", "ok"), ("terminate", "ok"), ("terminate", "unchanged")]
