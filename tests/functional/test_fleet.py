"""Many hosts over SSH: the CLI with `--inventory` against real sshd and real instances."""

from __future__ import annotations

import getpass
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import psycopg

from pglift_tui import instances, journal
from pglift_tui.models import interface, system

from ..conftest import free_port, lock_holder
from ..sshd import hosts  # noqa: F401  (the fixture)
from .pg import query


def cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "pglift_tui", *args],
        capture_output=True, text=True, check=False, timeout=120, env=env or os.environ.copy(),
    )  # fmt: skip


async def make(host: Any, name: str = "main", state: str = "started") -> system.Instance:
    manifest = interface.Instance(name=name, port=free_port(), state=state)  # type: ignore[arg-type]
    await instances.apply(host.settings, manifest)
    return system.Instance.system_lookup(name, None, host.settings)


async def answers(instance: system.Instance) -> bool:
    """The server itself says it runs: a query over its own socket."""
    try:
        return await query(instance, "SELECT 1 AS one") == [{"one": 1}]
    except psycopg.OperationalError:
        return False


async def test_ls_lists_every_hosts_instances_by_inventory_name(hosts: Any) -> None:  # noqa: F811
    fleet = hosts(3)
    for name in fleet.names():
        await make(fleet[name], "main")
    await make(fleet["h3"], "other", state="stopped")
    done = cli("ls", "--inventory", str(fleet.inventory), "--json")
    assert done.returncode == 0, done.stderr
    listed = {(i["host"], i["name"], i["status"]) for i in json.loads(done.stdout)}
    assert listed == {
        ("h2", "main", "running"),
        ("h3", "main", "running"),
        ("h4", "main", "running"),
        ("h3", "other", "not running"),
    }
    table = cli("ls", "--inventory", str(fleet.inventory))
    assert table.returncode == 0, table.stderr
    header, *rows = table.stdout.splitlines()
    assert header.split()[:2] == ["HOST", "NAME"]
    assert sorted(r.split()[0] for r in rows) == ["h2", "h3", "h3", "h4"]
    # The dashboard's command without a terminal prints the same table.
    plain = cli("--inventory", str(fleet.inventory))
    assert plain.returncode == 0 and plain.stdout == table.stdout, plain.stderr
    # --limit as Ansible's: a union and an exclusion.
    limited = cli("ls", "--inventory", str(fleet.inventory), "--limit", "h*:!h3", "--json")
    assert {i["host"] for i in json.loads(limited.stdout)} == {"h2", "h4"}
    # A version no host has lists nothing from each: not a failure of any host.
    none = cli("ls", "--inventory", str(fleet.inventory), "--version", "16", "--json")
    assert (none.returncode, json.loads(none.stdout)) == (0, []), none.stderr


async def test_an_action_on_one_host_leaves_the_others_and_is_journaled_with_ssh(hosts: Any) -> None:  # noqa: F811
    fleet = hosts(3)
    servers = {name: await make(fleet[name]) for name in fleet.names()}
    inventory = str(fleet.inventory)
    ambiguous = cli("stop", "main", "--inventory", inventory)
    assert ambiguous.returncode == 2
    assert "3 servers are called 'main'" in ambiguous.stderr
    assert all(name in ambiguous.stderr for name in ("h2", "h3", "h4"))
    assert all([await answers(s) for s in servers.values()])  # nothing was touched

    done = cli("stop", "main", "--inventory", inventory, "--host", "h3")
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("h3: ")
    assert servers["h3"].status().status == "not running"
    assert not await answers(servers["h3"])
    assert await answers(servers["h2"]) and await answers(servers["h4"])

    again = cli("stop", "main", "--inventory", inventory, "--host", "h3")  # twice: a no-op, not an error
    assert again.returncode == 0, again.stderr
    assert "already stopped" in again.stdout

    event = next(e for e in journal.read(fleet["h3"].settings) if e.action == "stop")
    assert event.result == "ok"
    assert event.details["via"] == "ssh"
    _, _, server, port = event.details["ssh_connection"].split()
    assert (server, int(port)) == (fleet["h3"].address, fleet["h3"].port)
    assert event.details["ssh_user"] == getpass.getuser()
    assert event.details["ssh_auth"].startswith("publickey ssh-ed25519 ")
    assert event.details["operator"].startswith(getpass.getuser() + "@")
    assert not journal.read(fleet["h2"].settings, limit=5) or all(
        e.action != "stop" for e in journal.read(fleet["h2"].settings)
    )

    # An error on the far end comes back as the same error and exit code.
    missing = cli("start", "nosuch", "--inventory", inventory, "--host", "h2")
    assert missing.returncode == 3
    assert "not found on h2" in missing.stderr

    # The far end takes the host's own locks: a script holding one there wins, and says so.
    holder = lock_holder(fleet["h2"].settings, "15-main", "reload")
    try:
        busy = cli("restart", "main", "--inventory", inventory, "--host", "h2")
    finally:
        holder.communicate("")
    assert busy.returncode == 4, busy.stderr
    assert f"by pid {holder.pid}" in busy.stderr and busy.stderr.startswith("error: host h2: ")
    assert await answers(servers["h2"])

    got = cli("get", "main", "--inventory", inventory, "--host", "h2", "--json")
    assert got.returncode == 0, got.stderr
    assert json.loads(got.stdout)["port"] == servers["h2"].port


async def test_an_unreachable_host_is_named_and_the_others_listed(hosts: Any) -> None:  # noqa: F811
    fleet = hosts(3)
    for name in fleet.names():
        await make(fleet[name])
    fleet["h3"].kill()
    done = cli("ls", "--inventory", str(fleet.inventory), "--json")
    assert done.returncode == 1
    assert {i["host"] for i in json.loads(done.stdout)} == {"h2", "h4"}
    assert "h3" in done.stderr and "Connection refused" in done.stderr
    assert "h2" not in done.stderr and "h4" not in done.stderr

    check = cli("check", "--inventory", str(fleet.inventory))
    assert check.returncode == 3, check.stdout  # UNKNOWN: one host did not answer
    assert check.stdout.startswith("PGLIFT_TUI UNKNOWN: h3 unreachable")
    assert "2 instances, no finding" in check.stdout

    fleet["h3"].start()
    healthy = cli("check", "--inventory", str(fleet.inventory), "--json")
    assert healthy.returncode == 0, healthy.stdout + healthy.stderr
    assert json.loads(healthy.stdout) == []


async def test_a_host_whose_settings_are_broken_says_which_file_and_field(hosts: Any) -> None:  # noqa: F811
    """The far end answers the first request with the settings error, then ends cleanly:
    a second time too (an operator retries), and the other host is listed meanwhile."""
    fleet = hosts(2)
    await make(fleet["h2"])
    fleet["h3"].site.write_text("prefix: /tmp\npostgresql:\n  default_version: '99'\n")
    for _ in range(2):
        done = cli("ls", "--inventory", str(fleet.inventory), "--json")
        assert done.returncode == 1
        assert [i["host"] for i in json.loads(done.stdout)] == ["h2"]
        said = done.stderr
        assert "h3" in said and str(fleet["h3"].site) in said and "default_version" in said, said
        assert "Fatal Python error" not in said and "Traceback" not in said, said


def test_serve_answers_a_settings_error_and_exits_while_its_channel_is_still_open(short_tmp: Path) -> None:
    """The client may keep the channel open after the answer (ssh does until it reads the
    end): the far end still exits with 1, without Python aborting on the stdin reader."""
    site = short_tmp / "broken.yaml"
    site.write_text("postgresql:\n  default_version: '99'\n")
    env = {**os.environ, "PGLIFT_TUI_SETTINGS": str(site)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "pglift_tui", "serve", "--stdio"],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env,
    )  # fmt: skip
    assert proc.stdin is not None and proc.stdout is not None and proc.stderr is not None
    hello = {"jsonrpc": "2.0", "id": 1, "method": "hello", "params": {"protocol": 1, "version": "0"}}
    proc.stdin.write((json.dumps(hello) + "\n").encode())
    proc.stdin.flush()
    answer = json.loads(proc.stdout.readline())
    said = json.dumps(answer["error"])
    assert answer["id"] == 1 and str(site) in said and "default_version" in said
    code = proc.wait(timeout=30)  # stdin still open
    err = proc.stderr.read().decode()
    proc.stdin.close()
    assert code == 1 and "Fatal Python error" not in err, err


def test_a_bad_inventory_names_the_file_and_the_problem(short_tmp: Path) -> None:
    bad = short_tmp / "hosts.ini"
    bad.write_text("[web]\nweb1 ansible_host=10.0.0.1\n")
    env = {**os.environ, "PATH": "/usr/bin:/bin"}  # no ansible-inventory
    done = cli("ls", "--inventory", str(bad), env=env)
    assert done.returncode == 2
    assert str(bad) in done.stderr
    assert "ansible-core" in done.stderr
    nothing = cli("ls", "--inventory", str(short_tmp / "missing.yaml"), env=env)
    assert nothing.returncode == 2 and "does not exist" in nothing.stderr
