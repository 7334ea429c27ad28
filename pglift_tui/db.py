"""Connections to an instance as its superuser, over its unix socket.

Local authentication is peer with an ident map, so no password is needed or kept.
psycopg is imported on first use: `pglift-tui ls` never connects and starts faster.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any

from .models.system import PostgreSQLInstance

if TYPE_CHECKING:
    from psycopg import AsyncConnection

APPLICATION_NAME = "pglift-tui"
CONNECT_TIMEOUT = 5


def conninfo(instance: PostgreSQLInstance, *, dbname: str = "postgres", **extra: Any) -> str:
    st = instance.status()
    port = st.pidfile.port if st.pidfile and st.pidfile.port and st.status == "running" else instance.port
    user = instance.settings.postgresql.surole.name
    return socket_conninfo(str(instance.live_socket_directory(st)), port, user, dbname=dbname, **extra)


def socket_conninfo(socketdir: str, port: int, user: str, *, dbname: str = "postgres", **extra: Any) -> str:
    """A libpq connection string to a server's own unix socket, as `user` (peer): every
    manager's way to reach its servers, with our application name and connect timeout."""
    from psycopg.conninfo import make_conninfo

    params: dict[str, Any] = {
        "host": socketdir,
        "port": port,
        "user": user,
        "dbname": dbname,
        "application_name": APPLICATION_NAME,
        "connect_timeout": CONNECT_TIMEOUT,
    }
    return make_conninfo(**(params | extra))


@asynccontextmanager
async def connect(
    instance: PostgreSQLInstance, *, dbname: str = "postgres", **extra: Any
) -> AsyncIterator[AsyncConnection[dict[str, Any]]]:
    """An autocommit connection with dict rows, closed on exit."""
    async with connect_to(conninfo(instance, dbname=dbname, **extra)) as cnx:
        yield cnx


@asynccontextmanager
async def connect_to(info: str) -> AsyncIterator[AsyncConnection[dict[str, Any]]]:
    """`connect` for a connection string a manager made (`Manager.conninfo`)."""
    import psycopg
    from psycopg.rows import dict_row

    cnx = await psycopg.AsyncConnection.connect(info, autocommit=True, row_factory=dict_row)
    async with cnx:
        yield cnx
