"""Role passwords as SCRAM-SHA-256 verifiers: the cleartext never reaches a server.

`postgres --single` ends a statement at a semicolon followed by an empty line, even
inside a quoted literal, so a password sent there as SQL text can carry SQL (one
ran `COPY ... TO PROGRAM` as the superuser). Here a password becomes its SCRAM
verifier on our side, made by libpq (the server's own SASLprep and iteration
count), and only the verifier goes anywhere: into `CREATE ROLE ... PASSWORD` in
single-user mode and into initdb's `--pwfile`, which initdb turns into an
`ALTER USER` statement of its own. The verifier is checked against its syntax
first: base64, digits, '$' and ':' only, nothing a statement can end in. The server
stores a verifier as it is, so the cleartext is in no statement, log or catalog.
"""

from __future__ import annotations

import re

from .exceptions import Error

#: SCRAM-SHA-256$<iterations>:<salt>$<StoredKey>:<ServerKey>, as PostgreSQL stores it.
VERIFIER_RE = re.compile(
    r"SCRAM-SHA-256\$[1-9][0-9]{0,9}:[A-Za-z0-9+/]+={0,2}\$[A-Za-z0-9+/]+={0,2}:[A-Za-z0-9+/]+={0,2}"
)
#: A conninfo that can never connect: libpq needs a connection object to hash with.
_NOWHERE = b"host=/dev/null/nowhere"


def check(password: str) -> str:
    """What any password field accepts: not empty, no NUL byte (C strings end there)."""
    if not password:
        raise ValueError("an empty password cannot be set; leave the field out instead")
    if "\0" in password:
        raise ValueError("a password cannot hold a NUL byte")
    return password


def check_passfile_line(password: str) -> str:
    """A password that fits on one line of a libpq passfile (a standby's)."""
    check(password)
    if "\n" in password or "\r" in password:
        raise ValueError("a standby's password cannot hold a line break (libpq's passfile is one per line)")
    return password


def verifier(password: str, role: str) -> str:
    """The SCRAM-SHA-256 verifier of `password`, checked to be nothing but one."""
    from psycopg import pq

    check(password)
    conn = pq.PGconn.connect_start(_NOWHERE)
    try:
        made = conn.encrypt_password(password.encode(), role.encode(), b"scram-sha-256")
    finally:
        conn.finish()
    text = made.decode("ascii", errors="replace")
    if not VERIFIER_RE.fullmatch(text):
        raise Error("libpq made a password verifier of an unexpected form; no password was set")
    return text
