"""Real hosts for the fleet tests: an `sshd` per loopback address, run by the test user.

Each host is `sshd -D -f CONFIG` listening on 127.0.0.N:PORT with its own host key,
authorized keys and pid file (`UsePAM no`, `StrictModes no`: an unprivileged sshd
accepts its own user only), and its own pglift-tui prefix, reached through a settings
file passed as `pglift_tui_settings`. The client side is the system's `ssh` with a
config file of the test's own (`-F`, through `ansible_ssh_common_args`): the ssh
client reads ~/.ssh from the passwd home, not $HOME. The far end runs this checkout
(`python -m pglift_tui` with PYTHONPATH), so the code under test is on both ends.
"""

from __future__ import annotations

import contextlib
import getpass
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psutil
import pytest
import yaml

REPO = Path(__file__).resolve().parents[1]
SSHD = Path("/usr/sbin/sshd")
#: The far end's command: this checkout's code, with the interpreter running the tests.
COMMAND = f"env PYTHONPATH={REPO} {sys.executable} -m pglift_tui"


def keygen(path: Path) -> str:
    subprocess.run(
        ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "pglift-tui-test", "-f", str(path)], check=True
    )
    return (path.parent / (path.name + ".pub")).read_text().strip()


@dataclass
class SshHost:
    name: str
    address: str
    port: int
    root: Path
    settings: Any
    site: Path
    proc: subprocess.Popen[bytes] | None = None

    @property
    def config(self) -> Path:
        return self.root / "sshd_config"

    def start(self) -> None:
        log = open(self.root / "sshd.log", "ab")  # noqa: SIM115 (sshd keeps it)
        self.proc = subprocess.Popen([str(SSHD), "-D", "-e", "-f", str(self.config)], stderr=log)
        log.close()
        deadline = time.monotonic() + 10
        while True:
            with socket.socket() as sock:
                if sock.connect_ex((self.address, self.port)) == 0:
                    return
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"sshd {self.name} did not start: {(self.root / 'sshd.log').read_text()}")
            time.sleep(0.02)  # waiting for a listener of another process: nothing to await

    def kill(self) -> None:
        """The host goes away: its sshd and every connection it serves (their far ends too)."""
        if self.proc is None:
            return
        try:
            parent = psutil.Process(self.proc.pid)
            family = [parent, *parent.children(recursive=True)]
        except psutil.NoSuchProcess:
            family = []
        for process in reversed(family):  # connections first, so none is accepted meanwhile
            with contextlib.suppress(psutil.NoSuchProcess):
                process.kill()
        self.proc.wait()
        self.proc = None
        deadline = time.monotonic() + 10
        while not all(_gone(p) for p in family) and time.monotonic() < deadline:
            time.sleep(0.01)  # other processes' exits: nothing to await


def _gone(process: psutil.Process) -> bool:
    """Exited (a zombie waits for a reaper: this machine's init is slow to reap)."""
    try:
        return process.status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True


@dataclass
class Hosts:
    """N hosts and the inventory naming them (h2 on 127.0.0.2, h3 on 127.0.0.3, ...)."""

    root: Path
    inventory: Path
    ssh_config: Path
    hosts: dict[str, SshHost] = field(default_factory=dict)

    def __getitem__(self, name: str) -> SshHost:
        return self.hosts[name]

    def names(self) -> list[str]:
        return list(self.hosts)

    def stop(self) -> None:
        for host in self.hosts.values():
            host.kill()


def make_hosts(
    root: Path, count: int, *, free_port: Any, site_for: Any, start: bool = True, timeout: float = 3
) -> Hosts:
    """Start `count` sshd, write their client config and an inventory; all under `root`.

    `site_for(where)` gives the (settings, site file) of the host whose files are in `where`.
    """
    if not SSHD.exists():
        pytest.fail("sshd is needed for the fleet tests: apt-get install openssh-server")
    client_key = root / "id"
    public = keygen(client_key)
    known = root / "known_hosts"
    ssh_config = root / "ssh_config"
    ssh_config.write_text(
        "Host *\n"
        f"  IdentityFile {client_key}\n"
        "  IdentitiesOnly yes\n"
        f"  UserKnownHostsFile {known}\n"
        "  GlobalKnownHostsFile /dev/null\n"
        "  StrictHostKeyChecking yes\n"
        "  CheckHostIP no\n"
    )
    group = Hosts(root, root / "inventory.yaml", ssh_config)
    lines = []
    inventory_hosts: dict[str, Any] = {}
    for n in range(2, 2 + count):
        name, address, port = f"h{n}", f"127.0.0.{n}", free_port()
        where = root / name
        where.mkdir()
        host_key = keygen(where / "hostkey")
        (where / "authorized_keys").write_text(public + "\n")
        (where / "sshd_config").write_text(
            f"ListenAddress {address}:{port}\n"
            f"HostKey {where / 'hostkey'}\n"
            f"AuthorizedKeysFile {where / 'authorized_keys'}\n"
            f"PidFile {where / 'sshd.pid'}\n"
            "UsePAM no\nStrictModes no\nPasswordAuthentication no\nKbdInteractiveAuthentication no\n"
            "PubkeyAuthentication yes\nExposeAuthInfo yes\nLogLevel ERROR\n"
            "MaxStartups 200\nMaxSessions 50\n"
        )
        lines.append(f"[{address}]:{port} {host_key.rsplit(' ', 1)[0]}")
        settings, site = site_for(where)
        host = SshHost(name, address, port, where, settings, site)
        group.hosts[name] = host
        inventory_hosts[name] = {
            "ansible_host": address,
            "ansible_port": port,
            "pglift_tui_settings": str(site),
        }
    known.write_text("\n".join(lines) + "\n")
    group.inventory.write_text(
        yaml.safe_dump(
            {
                "all": {
                    "vars": {
                        "ansible_user": getpass.getuser(),
                        "ansible_ssh_common_args": f"-F {ssh_config}",
                        "pglift_tui_command": COMMAND,
                        "pglift_tui_connect_timeout": timeout,
                    },
                    "hosts": inventory_hosts,
                }
            }
        )
    )
    if start:
        for host in group.hosts.values():
            host.start()
    return group


@pytest.fixture
def hosts(short_tmp: Path) -> Iterator[Any]:
    """A factory: `hosts(3)` starts three hosts (stopped at the end of the test);
    `pg18=True` installs PostgreSQL 18 beside 15 on each."""
    from .conftest import free_port, make_settings, write_site

    made: list[Hosts] = []

    def make(count: int, *, pg18: bool = False) -> Hosts:
        root = short_tmp / f"f{len(made)}"
        root.mkdir()

        def site_for(where: Path) -> tuple[Any, Path]:
            settings = make_settings(where, pg18=pg18)
            return settings, write_site(settings)

        group = make_hosts(root, count, free_port=free_port, site_for=site_for)
        made.append(group)
        return group

    yield make
    for group in made:
        group.stop()
    shutil.rmtree(short_tmp / "c", ignore_errors=True)
