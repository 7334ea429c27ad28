"""Living together: ports, names and unmanaged postmasters beside our instances and Debian's."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import psutil
import pytest
import yaml

from pglift_tui import instances
from pglift_tui.exceptions import AmbiguousName, InstanceStateError, PortInUse
from pglift_tui.host import Host
from pglift_tui.models import interface
from pglift_tui.settings import DiscoverySettings

from ..clusters import MadeCluster, MakeCluster
from ..conftest import PG15, free_port


async def test_our_instance_is_refused_a_port_a_stopped_debian_cluster_is_configured_for(
    dsettings: Any, make_cluster: MakeCluster
) -> None:
    made = make_cluster()
    manifest = interface.Instance(name="mine", port=made.port)
    for _ in range(2):
        with pytest.raises(PortInUse, match=f"Debian cluster 15/main .*configured with port {made.port}"):
            await instances.apply(dsettings, manifest)
        assert not instances.exists("mine", "15", dsettings)
    assert not (dsettings.srvdir / "pgsql" / "15" / "mine").exists()
    other = free_port()
    await instances.apply(dsettings, interface.Instance(name="mine", port=other, state="stopped"))
    with pytest.raises(PortInUse, match="Debian cluster 15/main"):
        await instances.apply(dsettings, interface.Instance(name="mine", port=made.port, state="stopped"))


async def test_a_debian_cluster_made_on_our_stopped_port_is_a_clash(
    dsettings: Any, make_cluster: MakeCluster
) -> None:
    port = free_port()
    await instances.apply(dsettings, interface.Instance(name="ours", port=port, state="stopped"))
    make_cluster("theirs", port=port)  # pg_createcluster does not see a stopped instance of ours
    make_cluster("apart")
    host = Host(dsettings)
    (clash,) = host.port_clashes()
    assert (clash.port, clash.debian.key, clash.ours.key) == (port, "debian:15/theirs", "15/ours")
    assert (
        str(clash) == f"port {port}: Debian cluster 15/theirs and instance 15/ours are both configured on it"
    )


def cli(settings: Any, *args: str) -> subprocess.CompletedProcess[str]:
    site = Path(settings.prefix).parent / "site.yaml"
    site.write_text(
        yaml.safe_dump(
            {
                "prefix": str(settings.prefix),
                "run_prefix": str(settings.run_prefix),
                "state_dir": str(settings.state_dir),
                "postgresql": {"versions": [{"version": "15", "bindir": str(PG15)}]},
                "discovery": settings.discovery.model_dump(mode="json"),
            }
        )
    )
    env = {**os.environ, "PGLIFT_TUI_SETTINGS": str(site)}
    return subprocess.run(
        [sys.executable, "-m", "pglift_tui", *args], env=env, capture_output=True, text=True, check=False
    )


async def test_a_name_two_managers_know_must_be_picked(dsettings: Any, make_cluster: MakeCluster) -> None:
    await instances.apply(dsettings, interface.Instance(name="main", port=free_port(), state="stopped"))
    made: MadeCluster = make_cluster("main")
    make_cluster("solo")
    host = Host(dsettings)
    with pytest.raises(
        AmbiguousName, match=r"2 servers are called 'main': pglift 15/main, debian 15/main"
    ) as exc:
        host.resolve("main")
    assert exc.value.hint == "give --manager"
    assert host.resolve("main", manager="debian").key == made.key
    assert host.resolve("solo").key == "debian:15/solo"  # one manager knows it: nothing more to say

    refused = cli(dsettings, "start", "main")
    assert refused.returncode == 2
    assert "pglift 15/main, debian 15/main" in refused.stderr and "hint: give --manager" in refused.stderr
    assert not made.running()
    started = cli(dsettings, "start", "main", "--manager", "debian")
    assert (started.returncode, started.stdout) == (0, "started\n"), started.stderr
    assert made.running()
    assert host.resolve("main", manager="pglift").status == "not running"

    listed = json.loads(cli(dsettings, "ls", "--json").stdout)
    assert [(i["manager"], i["name"], i["status"]) for i in listed] == [
        ("pglift", "main", "not running"),
        ("debian", "main", "running"),
        ("debian", "solo", "not running"),
    ]
    table = cli(dsettings, "ls").stdout.splitlines()
    assert table[0].split() == ["NAME", "VERSION", "PORT", "STATUS", "ROLE", "PID", "MANAGER", "DATADIR"]
    got = yaml.safe_load(cli(dsettings, "get", "main", "--manager", "debian").stdout)
    assert (got["name"], got["port"], got["state"], got["manager"]) == (
        "main",
        made.port,
        "started",
        "debian",
    )
    assert got["debian"]["configdir"] == str(made.configdir)
    assert got["settings"]["unix_socket_directories"] == str(made.sockdir)
    dropped = cli(dsettings, "drop", "solo")
    assert dropped.returncode == 1 and "pg_dropcluster 15 solo" in dropped.stderr
    stopped = cli(dsettings, "stop", "main", "--manager", "debian", "--mode", "fast")
    assert (stopped.returncode, stopped.stdout) == (0, "stopped (fast)\n")
    assert not made.running()


@pytest.fixture
def by_hand(short_tmp: Path) -> Path:
    """A server started by hand with initdb and pg_ctl: nobody we know manages it."""
    datadir = short_tmp / "u" / "byhand"
    subprocess.run(
        [str(PG15 / "initdb"), "-N", "-A", "peer", "-D", str(datadir)], capture_output=True, check=True
    )
    sockdir = short_tmp / "us"
    sockdir.mkdir()
    options = f"-p {free_port()} -k {sockdir} -c listen_addresses=''"
    argv = [str(PG15 / "pg_ctl"), "start", "-w", "-s", "-D", str(datadir), "-l", str(short_tmp / "u.log")]
    subprocess.run([*argv, "-o", options], capture_output=True, check=True)
    return datadir


async def test_an_unmanaged_postmaster_is_listed_read_only_and_never_stopped(
    dsettings: Any, make_cluster: MakeCluster, by_hand: Path
) -> None:
    discovery = DiscoverySettings(**{**dict(dsettings.discovery), "unmanaged": True})
    settings = dsettings.model_copy(update={"discovery": discovery})
    ours = await instances.apply(settings, interface.Instance(name="ours", port=free_port()))
    assert ours.change_state == "created"
    debian = make_cluster(start=True)
    host = Host(settings)
    mine = [i for i in host.ls() if i.manager == "unmanaged" and i.datadir == by_hand]
    (item,) = mine
    pid = int((by_hand / "postmaster.pid").read_text().split()[0])
    port = int((by_hand / "postmaster.pid").read_text().split("\n")[3])
    assert (item.key, item.version, item.port, item.status, item.pid, item.owner) == (
        "unmanaged:15/byhand",
        "15",
        port,
        "running",
        pid,
        None,
    )
    # Our instance and the Debian cluster run too, and are theirs, not unmanaged.
    known = {i.key: i.manager for i in host.ls() if i.manager != "unmanaged"}
    assert known == {"15/ours": "pglift", debian.key: "debian"}
    theirs = (debian.datadir, settings.srvdir / "pgsql/15/ours/data")
    others = [i for i in host.ls() if i.manager == "unmanaged"]
    assert not {i.datadir for i in others} & set(theirs)
    for action in ("stop", "restart", "reload", "start", "drop", "configure", "signal"):
        refusal = host.can(action, item)
        assert refusal is not None and "read-only here" in refusal.reason
        with pytest.raises(
            InstanceStateError, match=r"cannot .*neither pglift-tui nor postgresql-common manages"
        ):
            await host.run(action, item.key, mode="immediate")
    refused = cli(settings, "stop", "byhand", "--manager", "unmanaged")
    assert refused.returncode == 1 and "read-only here" in refused.stderr
    assert psutil.Process(pid).is_running() and (by_hand / "postmaster.pid").read_text().split()[0] == str(
        pid
    )
    assert host.find(item.key).pid == pid
