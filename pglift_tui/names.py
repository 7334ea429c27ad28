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
_SECRET_VALUE = re.compile(r"(^|\s)password\s*=|://[^/@\s]*:[^/@\s]*@", re.I)
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


def holds_password(conninfo: str) -> bool:
    """Whether a connection string (key=value or URI) carries a password."""
    return bool(_SECRET_VALUE.search(conninfo))


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
