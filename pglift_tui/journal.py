"""An append-only journal of every state-changing action, shared by all processes.

One JSON line per action (time, OS user, pid, instance, action, result, duration,
error) in the state directory, so the dashboard shows what scripts did and an
operator can audit who did what. Lines are small single `write`s to an O_APPEND
file, so concurrent writers do not interleave. Health checks add their transitions
(a trouble raised, changed, cleared, acknowledged) as lines of the same kind, with
the trouble's words in `message`; lines written before that field existed read as
they always did.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Collection, Iterator
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel

from .fs import ensure_private_dir
from .settings import Settings

#: A password assignment (`password=`, `password:`, a URI's `?password=`) or a URI's
#: user info (`postgresql://user:secret@host`): the secret part is masked.
_SECRET_RE = re.compile(r"(password\s*[=:]\s*)('[^']*'|[^\s&]+)", re.I)
_USERINFO_RE = re.compile(r"(://[^/@:\s]*:)([^/@\s]+)(@)")
#: SQL's form, `PASSWORD 'x'` (ALTER ROLE, user mappings), also cut short in a query's text.
_SQL_SECRET_RE = re.compile(r"(password\s+)(E?'(?:[^']|'')*'?)", re.I)
_CHUNK = 64 * 1024


class Event(BaseModel):
    time: float
    user: str
    pid: int
    instance: str
    datadir: str
    action: str
    result: Literal["ok", "failed", "unchanged"]
    duration: float
    error: str | None = None
    details: dict[str, Any] = {}
    #: What a health transition is about, in words (None for actions).
    message: str | None = None


def redact(text: str) -> str:
    """Mask anything that looks like a password assignment (defence in depth)."""
    masked = _USERINFO_RE.sub(r"\1********\3", _SECRET_RE.sub(r"\1********", text))
    return _SQL_SECRET_RE.sub(r"\1'********'", masked)


def append(settings: Settings, event: Event) -> None:
    ensure_private_dir(settings.state_dir)
    if event.error:
        event = event.model_copy(update={"error": redact(event.error)})
    if event.message:
        event = event.model_copy(update={"message": redact(event.message)})
    line = (event.model_dump_json() + "\n").encode()
    fd = os.open(settings.journal_file, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, 0o600)
    try:
        os.write(fd, line)
    finally:
        os.close(fd)


def _reversed_lines(path: Path) -> Iterator[bytes]:
    """Lines of `path` from the last one, reading only as much as is consumed."""
    with open(path, "rb") as f:
        f.seek(0, os.SEEK_END)
        pos = f.tell()
        rest = b""
        while pos > 0:
            step = min(_CHUNK, pos)
            pos -= step
            f.seek(pos)
            lines = (f.read(step) + rest).split(b"\n")
            rest = lines.pop(0)
            yield from (line for line in reversed(lines) if line)
        if rest:
            yield rest


def newest_first(settings: Settings, *, mentioning: Collection[str] = ()) -> Iterator[Event]:
    """Every readable event, newest first, read only as far as it is consumed.

    With `mentioning`, only lines holding one of those strings (as JSON writes them)
    are parsed: looking far back for a few instances costs a substring search a line.
    """
    needles = [json.dumps(text, ensure_ascii=False).encode() for text in mentioning]
    try:
        for raw in _reversed_lines(settings.journal_file):
            if needles and not any(needle in raw for needle in needles):
                continue
            try:
                yield Event.model_validate_json(raw)
            except ValueError:
                continue
    except FileNotFoundError:
        return


def read(settings: Settings, *, datadir: Path | None = None, limit: int | None = None) -> list[Event]:
    """Events, newest first; only those of the instance at `datadir` if given."""
    events: list[Event] = []
    for event in newest_first(settings):
        if datadir is not None and event.datadir != str(datadir):
            continue
        events.append(event)
        if limit is not None and len(events) >= limit:
            break
    return events
