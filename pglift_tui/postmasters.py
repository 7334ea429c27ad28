"""Postmasters found in the process table, and what /proc tells about one.

A postmaster is a `postgres` process whose parent is not one (its children, the
backends and workers, are). /proc is read by hand here rather than through psutil:
the scan runs at every refresh of the dashboard over every process of the host, and
one `stat` file read costs about 3 µs against psutil's 30 µs per process (measured).

What another user's server lets us see is limited: its command line and its owner,
not its working directory nor its data directory. A pid from such a server is only
taken for its postmaster when the process is a postmaster, belongs to the data
directory's owner and names that data directory or configuration file on its
command line.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass

#: Options under which `postgres` is no server: single-user mode, bootstrap, queries.
_NOT_A_SERVER = {"--single", "--boot", "-C", "--describe-config", "-V", "--version", "--check"}
_CGROUP_SUPERVISORS = re.compile(rb"\b(pacemaker|patroni)\b")


@dataclass(frozen=True)
class Postmaster:
    pid: int
    uid: int
    argv: tuple[str, ...]
    #: Its working directory (the data directory) when we may see it, else the
    #: data directory its command line names; None when neither tells.
    datadir: str | None
    #: When it started, in seconds since the epoch.
    started: float


def _boot_time() -> float:
    with open("/proc/stat", "rb") as f:
        for line in f:
            if line.startswith(b"btime "):
                return float(line.split()[1])
    return 0.0


_BOOT = _boot_time()
_TICKS = os.sysconf("SC_CLK_TCK")


def _read(path: str) -> bytes | None:
    """A small /proc file; os.open and os.read cost half of `open()` here (measured)."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    except OSError:
        return None
    try:
        return os.read(fd, 4096)
    except OSError:
        return None
    finally:
        os.close(fd)


def _stat(pid: str) -> tuple[bytes, bytes, list[bytes]] | None:
    """(comm, state, fields after the state) of /proc/PID/stat, or None if it is gone."""
    data = _read(f"/proc/{pid}/stat")
    if not data:
        return None
    close = data.rfind(b")")
    rest = data[close + 2 :].split(b" ")
    return data[data.find(b"(") + 1 : close], rest[0], rest


def argv_of(pid: int) -> tuple[str, ...]:
    raw = _read(f"/proc/{pid}/cmdline")
    if raw is None:
        return ()
    return tuple(part.decode(errors="replace") for part in raw.split(b"\0") if part)


def datadir_in_argv(argv: tuple[str, ...]) -> str | None:
    """The data directory a postgres command line names (-D, data_directory)."""
    for i, arg in enumerate(argv):
        if arg == "-D" and i + 1 < len(argv):
            return argv[i + 1]
        if arg.startswith("-D") and len(arg) > 2:
            return arg[2:]
        for prefix in ("--data-directory=", "--data_directory=", "data_directory="):
            if arg.startswith(prefix):
                return arg[len(prefix) :]
    return None


def is_server_argv(argv: tuple[str, ...]) -> bool:
    return bool(argv) and not any(arg in _NOT_A_SERVER for arg in argv)


def scan() -> list[Postmaster]:
    """Every running postmaster of the host, as far as /proc lets us see it."""
    comms: dict[bytes, bytes] = {}
    servers: list[tuple[bytes, bytes]] = []
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        data = _read(f"/proc/{name}/stat")
        if not data:
            continue
        open_, close = data.find(b"("), data.rfind(b")")
        comm = data[open_ + 1 : close]
        pid = data[:open_].strip()
        comms[pid] = comm
        if comm == b"postgres":
            servers.append((pid, data[close + 2 :]))
    found = []
    for pid, tail in servers:
        rest = tail.split(b" ", 20)
        if rest[0] == b"Z" or comms.get(rest[1]) == b"postgres":
            continue  # a zombie, or a backend of a postmaster
        argv = argv_of(int(pid))
        if not is_server_argv(argv):
            continue
        try:
            uid = os.stat(b"/proc/" + pid).st_uid
        except OSError:
            continue
        try:
            datadir: str | None = os.readlink(f"/proc/{pid.decode()}/cwd")
        except OSError:
            named = datadir_in_argv(argv)
            datadir = named if named and os.path.isabs(named) else None
        started = _BOOT + int(rest[19]) / _TICKS
        found.append(Postmaster(int(pid), uid, argv, datadir, started))
    return found


def supervisor(pid: int, version: str, name: str) -> str | None:
    """Who runs the process besides us, from its cgroup as postgresql-common reads it.

    Patroni and pacemaker by name anywhere in the cgroup path (PgCommon's rule);
    systemd when the process lives in the cluster's `postgresql@V-NAME` unit.
    """
    try:
        with open(f"/proc/{pid}/cgroup", "rb") as f:
            cgroup = f.read()
    except OSError:
        return None
    return supervisor_in_cgroup(cgroup, version, name)


def supervisor_in_cgroup(cgroup: bytes, version: str, name: str) -> str | None:
    match = _CGROUP_SUPERVISORS.search(cgroup)
    if match is not None:
        return match.group(1).decode()
    unit = f"postgresql@{version}-{name}"
    if f"/{unit}.service".encode() in cgroup:
        return f"systemd {unit}"
    return None


def prove_by_argv(pid: int, owner_uid: int | None, names: tuple[str, ...]) -> Postmaster | str:
    """The postmaster `pid` if its command line provably ties it to `names`; else why not.

    For a server whose data directory we may not read: it must be a live postmaster
    (a `postgres` whose parent is not one), run as the data directory's owner, and
    name one of `names` (the data directory, `config_file=` of its configuration).
    """
    stat = _stat(str(pid))
    if stat is None:
        return f"process {pid} does not exist"
    comm, state, rest = stat
    if comm != b"postgres" or state == b"Z":
        return f"process {pid} is no running postgres"
    parent = _stat(rest[1].decode())
    if parent is not None and parent[0] == b"postgres":
        return f"process {pid} is a postgres backend, not a postmaster"
    try:
        uid = os.stat(f"/proc/{pid}").st_uid
    except OSError:
        return f"process {pid} does not exist"
    if owner_uid is not None and uid != owner_uid:
        return f"process {pid} runs as another user than the data directory's owner"
    argv = argv_of(pid)
    if not is_server_argv(argv):
        return f"process {pid} is no postgres server"
    named = datadir_in_argv(argv)
    if not ({named} | {arg.removeprefix("config_file=") for arg in argv}) & set(names):
        return f"process {pid} serves another data directory"
    return Postmaster(pid, uid, argv, named, _BOOT + int(rest[19]) / _TICKS)
