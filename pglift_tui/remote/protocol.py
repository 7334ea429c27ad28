"""The wire between a fleet client and `pglift-tui serve --stdio`: JSON-RPC 2.0, a line each.

Requests carry an `id` and get one response; notifications (no `id`) carry what is
pushed: a subscription's changed views, an action's steps. Values are the core's own
models and dataclasses, dumped by pydantic (`dump`/`load` with the type), so secrets
excluded from a model's dumps never cross; values pydantic cannot type (a row of a
system view: `dict[str, Any]`) keep their datetimes and decimals through a small tag
(`{"$": "datetime", "v": "..."}`). Errors carry the core's message and hint
(`errors.describe`) and the exception's class, so the near end raises the same error
and the CLI exits with the same code as it would here.

Both ends say their protocol and package versions in `hello`; each refuses a protocol
it does not know, naming both. README.md ("Many hosts") documents every method.
"""

from __future__ import annotations

import datetime as dt
import decimal
import functools
import ipaddress
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from .. import exceptions
from ..errors import describe
from ..exceptions import CommandError, Error

#: This end's protocol; a change that an older far end would misread bumps it.
PROTOCOL = 1
#: The protocols this end speaks.
SUPPORTED = frozenset({1})
#: The longest line read (a first snapshot of many servers is one line).
MAX_LINE = 64 * 1024 * 1024

#: JSON-RPC's own codes, and ours.
PARSE_ERROR, INVALID_REQUEST, METHOD_NOT_FOUND, INVALID_PARAMS = -32700, -32600, -32601, -32602
#: The core raised: `data` says which error, with its hint.
CORE_ERROR = -32000
#: The other end speaks a protocol this one does not know.
MISMATCH = -32001


class ProtocolError(Error):
    """The other end said something this end cannot understand."""


class ProtocolMismatch(ProtocolError):
    """The two ends speak protocol versions that one of them does not know."""


def mismatch(here: str, there: str, ours: int, theirs: object, their_version: object) -> ProtocolMismatch:
    """The refusal both ends give, in the same words: both protocols, both versions."""
    from .. import __version__

    return ProtocolMismatch(
        f"protocol mismatch: {there} speaks protocol {theirs} (pglift-tui {their_version}), "
        f"{here} speaks protocol {ours} (pglift-tui {__version__}, knows {sorted(SUPPORTED)})",
        hint="install the same pglift-tui release on both ends",
    )


# -- values -------------------------------------------------------------------------------
def encode(value: Any, *, tuples: bool = False) -> Any:
    """`value` (what pydantic's python-mode dump gives) as JSON data.

    Scalars JSON has no type for are tagged; with `tuples`, tuples too (an action's
    `data` is compared with isinstance on the other end).
    """
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, dict):
        return {str(k): encode(v, tuples=tuples) for k, v in value.items()}
    if isinstance(value, tuple) and tuples:
        return {"$": "tuple", "v": [encode(v, tuples=tuples) for v in value]}
    if isinstance(value, list | tuple | set | frozenset):
        return [encode(v, tuples=tuples) for v in value]
    if isinstance(value, dt.datetime):
        return {"$": "datetime", "v": value.isoformat()}
    if isinstance(value, dt.date):
        return {"$": "date", "v": value.isoformat()}
    if isinstance(value, dt.timedelta):
        return {"$": "timedelta", "v": value.total_seconds()}
    if isinstance(value, decimal.Decimal):
        return {"$": "decimal", "v": str(value)}
    if isinstance(value, Path):
        return str(value)
    if isinstance(
        value, ipaddress.IPv4Address | ipaddress.IPv6Address | ipaddress.IPv4Network | ipaddress.IPv6Network
    ):
        return str(value)
    if hasattr(value, "model_dump"):
        return encode(value.model_dump(mode="python"), tuples=tuples)
    raise TypeError(f"cannot send a {type(value).__name__} over the wire")


_TAGS: dict[str, Callable[[Any], Any]] = {
    "datetime": dt.datetime.fromisoformat,
    "date": dt.date.fromisoformat,
    "timedelta": lambda v: dt.timedelta(seconds=float(v)),
    "decimal": decimal.Decimal,
}


def decode(value: Any) -> Any:
    """`encode`'s inverse."""
    if isinstance(value, dict):
        tag = value.get("$")
        if tag is not None and len(value) == 2 and "v" in value:
            if tag == "tuple":
                return tuple(decode(v) for v in value["v"])
            convert = _TAGS.get(tag)
            if convert is not None:
                return convert(value["v"])
        return {k: decode(v) for k, v in value.items()}
    if isinstance(value, list):
        return [decode(v) for v in value]
    return value


@functools.cache
def _adapter(kind: Any) -> Any:
    from pydantic import TypeAdapter

    return TypeAdapter(kind)


def dump(value: Any, kind: Any, **options: Any) -> Any:
    """A value of type `kind` (a model, a dataclass of them, a list of those) as JSON data."""
    return encode(_adapter(kind).dump_python(value, mode="python", **options))


def load(data: Any, kind: Any) -> Any:
    """`dump`'s inverse: the value, validated as `kind`."""
    return _adapter(kind).validate_python(decode(data))


# -- messages -----------------------------------------------------------------------------
def line(message: dict[str, Any]) -> bytes:
    return (
        json.dumps({"jsonrpc": "2.0", **message}, separators=(",", ":"), ensure_ascii=False) + "\n"
    ).encode()


def request(ident: int, method: str, params: dict[str, Any] | None = None) -> bytes:
    return line({"id": ident, "method": method, "params": params or {}})


def notification(method: str, params: dict[str, Any]) -> bytes:
    return line({"method": method, "params": params})


def result(ident: Any, value: Any) -> bytes:
    return line({"id": ident, "result": value})


def error(ident: Any, code: int, message: str, data: dict[str, Any] | None = None) -> bytes:
    body: dict[str, Any] = {"code": code, "message": message}
    if data:
        body["data"] = data
    return line({"id": ident, "error": body})


def parse(raw: bytes) -> dict[str, Any]:
    try:
        message = json.loads(raw)
    except ValueError:
        raise ProtocolError(f"not JSON: {raw[:80]!r}") from None
    if not isinstance(message, dict) or message.get("jsonrpc") != "2.0":
        raise ProtocolError(f"not a JSON-RPC 2.0 message: {raw[:80]!r}")
    return message


# -- errors -------------------------------------------------------------------------------
def _core_class(exc: BaseException) -> type[Error] | None:
    """The first class of `exc` that the near end knows by name (pglift_tui.exceptions or ours)."""
    for cls in type(exc).__mro__:
        if cls is ProtocolError or cls is ProtocolMismatch:
            return ProtocolMismatch if cls is ProtocolMismatch else ProtocolError
        known: Any = getattr(exceptions, cls.__name__, None)
        if known is cls and issubclass(known, Error):
            return known
    return None


def error_data(exc: BaseException) -> tuple[int, str, dict[str, Any]]:
    """(code, message, data) of an error response: what `describe` says, and the class."""
    said = describe(exc)
    cls = _core_class(exc)
    data: dict[str, Any] = {"type": cls.__name__ if cls else "Error"}
    if said.hint:
        data["hint"] = said.hint
    if said.log_lines:
        data["log_lines"] = said.log_lines
    code = MISMATCH if isinstance(exc, ProtocolMismatch) else CORE_ERROR
    return code, said.message, data


def rebuild(body: Any, where: str) -> Error:
    """The exception an error response stands for, raised again on this end.

    The message is the far end's, prefixed with the host (`where`) it came from.
    """
    if not isinstance(body, dict):
        return ProtocolError(f"{where}: a malformed error: {body!r}")
    message = f"{where}: {body.get('message', 'failed')}"
    data = body.get("data") if isinstance(body.get("data"), dict) else {}
    assert isinstance(data, dict)
    hint = data.get("hint")
    name = str(data.get("type", "Error"))
    found: Any = {"ProtocolError": ProtocolError, "ProtocolMismatch": ProtocolMismatch}.get(name) or (
        getattr(exceptions, name, Error)
    )
    cls: type[Error] = found if isinstance(found, type) and issubclass(found, Error) else Error
    exc = cls.__new__(cls)
    Error.__init__(exc, message, hint=hint)
    if isinstance(exc, CommandError):
        exc.argv, exc.returncode, exc.stderr, exc.stdout = [], 1, "", ""
        exc.log_lines = [str(x) for x in data.get("log_lines", [])]
    return exc
