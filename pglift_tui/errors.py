"""Any exception, told to an operator: what went wrong, how to fix it, the server's words.

The CLI prints this as `error:` / `hint:` lines and the dashboard shows it in a
notification; both call `describe`, so an error reads the same wherever it surfaces,
and nothing (a psycopg error, an OSError from a full disk) escapes as a traceback.
"""

from __future__ import annotations

import errno
from dataclasses import dataclass, field

from .exceptions import CommandError, Error
from .journal import redact


@dataclass(frozen=True)
class Described:
    message: str
    hint: str | None = None
    #: What the server wrote to its log during a failed start.
    log_lines: list[str] = field(default_factory=list)


_OS_HINTS = {
    errno.ENOSPC: "free some space on that file system, then retry",
    errno.EDQUOT: "free some space or raise the quota, then retry",
    errno.EACCES: "check the owner and mode of that path",
    errno.EPERM: "check the owner and mode of that path",
    errno.EROFS: "that file system is read-only",
}


def first_line(text: str) -> str:
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    return lines[0] if lines else ""


def describe(exc: BaseException) -> Described:
    """Message and hint of `exc`, with any secret-looking assignment masked."""
    if isinstance(exc, Error):
        lines = exc.log_lines if isinstance(exc, CommandError) else []
        return Described(redact(exc.message), exc.hint and redact(exc.hint), list(lines))
    if isinstance(exc, OSError):
        where = f": {exc.filename}" if exc.filename else ""
        reason = exc.strerror or str(exc) or type(exc).__name__
        hint = _OS_HINTS.get(exc.errno or 0, "check the free space and the permissions there, then retry")
        return Described(f"{reason}{where}", hint)
    if isinstance(exc, TimeoutError):
        return Described("no answer in time", "the server may be overloaded or stuck; retry")
    if type(exc).__module__.startswith("psycopg"):
        # libpq's text is "connection to server at ... failed: FATAL:  ..." over lines.
        text = str(exc).strip()
        for marker in ("FATAL:", "ERROR:"):
            if marker in text:
                text = text.rsplit(marker, 1)[1]
        return Described(redact(first_line(text) or type(exc).__name__))
    first = first_line(str(exc))
    return Described(
        redact(f"unexpected {type(exc).__name__}" + (f": {first}" if first else "")),
        "this is a fault of pglift-tui; PGLIFT_TUI_DEBUG=1 shows where it happened",
    )
