"""Client authentication files written at creation: never `trust`.

Locally, peer authentication with an ident map that lets the instance's OS owner
connect as the superuser role and the replication role (and any OS user as the role
of the same name); over TCP, passwords (SCRAM by default). Replication gets the same
rules: a standby of the same owner streams over the socket without a password, one
over TCP with the replication role's password.
"""

from __future__ import annotations

from .settings import Settings

MAP = "pglift_tui"


def pg_hba(settings: Settings) -> str:
    auth = settings.postgresql.auth
    local = auth.local + (f" map={MAP}" if auth.local in ("peer", "ident") else "")
    rows = [("local", "all", "all", "", local)]
    rows += [("host", "all", "all", addr, auth.host) for addr in ("127.0.0.1/32", "::1/128")]
    rows += [("local", "replication", "all", "", local)]
    rows += [("host", "replication", "all", addr, auth.host) for addr in ("127.0.0.1/32", "::1/128")]
    lines = [
        "# pg_hba.conf written by pglift-tui at creation.",
        "# TYPE  DATABASE     USER  ADDRESS        METHOD",
    ]
    lines += [f"{t:<7} {d:<12} {u:<5} {a:<14} {m}".rstrip() for t, d, u, a, m in rows]
    return "\n".join(lines) + "\n"


def pg_ident(settings: Settings, os_user: str) -> str:
    surole = settings.postgresql.surole.name
    lines = [
        "# pg_ident.conf written by pglift-tui at creation.",
        "# The instance's owner may connect as the superuser and replication roles;",
        "# every OS user may connect as the role of the same name.",
        "# MAPNAME   SYSTEM-USERNAME  PG-USERNAME",
        f"{MAP:<11} {os_user:<16} {surole}",
        f"{MAP:<11} {os_user:<16} {settings.postgresql.replrole}",
        f"{MAP:<11} {'/^(.*)$':<16} \\1",
    ]
    return "\n".join(lines) + "\n"
