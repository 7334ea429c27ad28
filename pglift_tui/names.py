"""What an instance name, a port and a configuration parameter may be.

Names become path components and `cluster_name`; a safe pattern keeps them from
escaping their directory or breaking a configuration file.
"""

from __future__ import annotations

import re
from typing import Any

NAME_RE = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,62}")
PARAM_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)?")
PORT_MIN, PORT_MAX = 1024, 65535
_SECRET_NAME = re.compile(r"pass(word|wd)?$|secret", re.I)
#: A password in a key/value conninfo (`password=`), a URI query (`?password=`,
#: `&password=`) or a URI's user info (`postgresql://user:secret@host`).
_SECRET_VALUE = re.compile(r"(^|[\s?&'\"])password\s*=|://[^/@\s]*:[^/@\s]*@", re.I)
#: A quoted fragment in a libpq parse error: may be a piece of the value, so masked.
_QUOTED = re.compile(r'"([^"]*)"')
DEFAULT_PORT = 5432

#: Parameters that belong to the manifest's own fields or would move the instance.
RESERVED_PARAMS = {
    "port": "set the manifest's port field instead",
    "data_directory": "the data directory is fixed by the settings' datadir template",
    "config_file": "postgresql.conf stays in the data directory",
    "hba_file": "pg_hba.conf stays in the data directory",
    "ident_file": "pg_ident.conf stays in the data directory",
    "include": "include directives are not parameters; edit postgresql.conf by hand",
    "include_dir": "include directives are not parameters; edit postgresql.conf by hand",
    "include_if_exists": "include directives are not parameters; edit postgresql.conf by hand",
    "primary_conninfo": "give it as the manifest's standby.primary_conninfo",
    "primary_slot_name": "give it as the manifest's standby.slot",
}


def check_name(name: str) -> str:
    if not NAME_RE.fullmatch(name):
        raise ValueError(
            f"invalid instance name {name!r}: use 1 to 63 letters, digits, '_', '-' or '.', "
            "not starting with '.' or '-'"
        )
    return name


def check_port(port: int) -> int:
    if not PORT_MIN <= port <= PORT_MAX:
        raise ValueError(f"invalid port {port}: choose one from {PORT_MIN} to {PORT_MAX}")
    return port


def holds_password(text: str) -> bool:
    """Whether a value (a conninfo, key/value or URI, or any text) carries a password.

    libpq's own parser decides where it can (it decodes percent-encoded URIs, so
    `?pass%77ord=` is a password too); the pattern covers what does not parse.
    """
    from urllib.parse import unquote

    if _SECRET_VALUE.search(text) or _SECRET_VALUE.search(unquote(text)):
        return True
    from psycopg import ProgrammingError
    from psycopg.conninfo import conninfo_to_dict

    try:
        return "password" in conninfo_to_dict(text)
    except ProgrammingError:
        return False


def check_conninfo(conninfo: str) -> dict[str, Any]:
    """A conninfo's parameters, parsed by libpq; refused if it does not parse or holds a password.

    The parser's words are kept, but quoted fragments in them (pieces of the value,
    maybe of a secret) are masked unless they name a libpq keyword.
    """
    from psycopg import ProgrammingError
    from psycopg.conninfo import conninfo_to_dict

    try:
        params = conninfo_to_dict(conninfo)
    except ProgrammingError as exc:
        raise ValueError(f"primary_conninfo does not parse: {_masked(str(exc))}") from None
    if "password" in params or holds_password(conninfo):
        raise ValueError("primary_conninfo must not hold a password; use standby.password")
    return params


def _masked(message: str) -> str:
    from psycopg import pq

    keywords = {option.keyword.decode() for option in pq.Conninfo.get_defaults()}
    words = message.strip().splitlines()[0] if message.strip() else "unknown error"

    def mask(match: re.Match[str]) -> str:
        fragment = match.group(1)
        safe = fragment in keywords or re.fullmatch(r"[^\w\s]{1,3}", fragment) is not None
        return match.group(0) if safe else '"…"'

    return _QUOTED.sub(mask, words)


def check_settings(settings: dict[str, Any]) -> dict[str, Any]:
    """Parameter names and values that can be written safely to postgresql.conf.

    None means "remove this parameter" (back to the server default).
    """
    for key, value in settings.items():
        if not PARAM_RE.fullmatch(key):
            raise ValueError(f"invalid parameter name {key!r}: use letters, digits and '_'")
        if key.lower() in RESERVED_PARAMS:
            raise ValueError(f"parameter {key!r} cannot be set here: {RESERVED_PARAMS[key.lower()]}")
        if _SECRET_NAME.search(key):
            raise ValueError(
                f"parameter {key!r} would keep a secret in postgresql.conf: "
                "use the manifest's password fields (surole_password, standby.password)"
            )
        if value is None or isinstance(value, bool | int | float):
            continue
        if not isinstance(value, str):
            raise ValueError(
                f"parameter {key!r}: {type(value).__name__} values are not allowed; "
                "use a string, a number or a boolean"
            )
        if any(c in value for c in "\n\r\0"):
            raise ValueError(f"parameter {key!r}: a value cannot hold a newline or a NUL byte")
        if holds_password(value):
            raise ValueError(
                f"parameter {key!r}: a connection string with a password would be written in clear; "
                "use a passfile (the manifest's password fields do)"
            )
    return {key.lower(): value for key, value in settings.items()}
