"""Who holds a port: a TCP listener, a socket file, or another server's configuration.

pglift only refuses a port that is listening at creation time; a stopped instance's
port is accepted and the clash shows at its next start. Here all are checked, the
configurations of postgresql-common's clusters too (when their discovery is on).
"""

from __future__ import annotations

import errno
import socket
from pathlib import Path

import psutil

from . import conf, pgcommon
from .models.system import find_datadirs
from .settings import Settings


def _tcp_listener(port: int) -> str | None:
    for family, host in ((socket.AF_INET, "127.0.0.1"), (socket.AF_INET6, "::1")):
        with socket.socket(family, socket.SOCK_STREAM) as sock:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                sock.bind((host, port))
            except OSError as exc:
                if exc.errno == errno.EADDRINUSE:
                    return f"a TCP listener{_listener_process(port)}"
                if exc.errno in (errno.EADDRNOTAVAIL, errno.EAFNOSUPPORT):
                    continue
                raise
    return None


def _listener_process(port: int) -> str:
    """' (pid N: name)' when the listener is one of our processes, else ''."""
    try:
        for conn in psutil.net_connections(kind="tcp"):
            if conn.status == psutil.CONN_LISTEN and conn.laddr and conn.laddr.port == port and conn.pid:
                try:
                    return f" (pid {conn.pid}: {psutil.Process(conn.pid).name()})"
                except psutil.Error:
                    return f" (pid {conn.pid})"
    except psutil.Error:
        pass
    return ""


def holder(port: int, settings: Settings, *, exclude: Path | None = None) -> str | None:
    """What holds `port`, in words; None if it is free for a new instance.

    `exclude` is the data directory of the instance asking, whose own claim is fine.
    """
    for version, name, datadir in find_datadirs(settings):
        if exclude is not None and datadir == str(exclude):
            continue
        if conf.configured_port(datadir) == port:
            return f"instance {version}/{name}, configured with port {port}"
    debian = debian_holder(port, settings)
    if debian is not None:
        return debian
    sock = settings.socket_directory / f".s.PGSQL.{port}"
    if sock.exists() or sock.is_symlink():
        return f"socket file {sock}"
    return _tcp_listener(port)


def debian_holder(port: int, settings: Settings) -> str | None:
    """The Debian cluster configured with `port`, running or not, in words."""
    if not settings.discovery.debian:
        return None
    for cluster in pgcommon.clusters_at(str(settings.discovery.debian_conf_root)).all():
        if cluster.port == port:
            where = f"{cluster.version}/{cluster.name} ({cluster.configdir})"
            return f"Debian cluster {where}, configured with port {port}"
    return None
