"""ERROR, FATAL and PANIC lines an instance's server wrote lately, from its log files.

No connection: the files are read where the logging collector writes them. Each look
reads only what was written since the previous one (an offset per file, a new file
from its start, a truncated or replaced one again), at most `MAX_READ` bytes a file,
so a log flooding at the disk's speed costs a bounded read. Lines found are stamped
with the time they were seen and counted while they are younger than the window:
a trouble seen at one look stays visible for the window, whoever looks (the dashboard
every two seconds or a monitoring system every five minutes), then clears.

The very first look at an instance starts at the end of its files: what was written
before anyone watched is history, not news (a server down after a failed start is
the `down` check's business).
"""

from __future__ import annotations

import os
import re
import time
import zlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..settings import Settings
from . import store
from .findings import first_line

STATE_FILE = "health-logs.json"
#: Bytes read from one file at one look; beyond, the oldest part is skipped.
MAX_READ = 1024 * 1024
#: Looks with errors remembered per instance (older ones have left any sane window).
KEEP = 200
#: A line's level: the first `WORD:  ` in it (after the prefix), as elog writes it.
_LEVEL = re.compile(rb"\b([A-Z][A-Z0-9]*):  ")
_COUNTED = {b"ERROR": 0, b"FATAL": 1, b"PANIC": 2}
#: What a server says, at those levels, when it is stopped, started or told to end a
#: session: an operator's doing, not trouble (every restart writes them, for the
#: dashboard's own connections too).
_ORDERED = re.compile(
    rb"terminating (connection|walreceiver process|background worker .*) due to administrator command"
    rb"|canceling statement due to user request"
    rb"|the database system is (starting up|shutting down|not yet accepting connections)"
)
_TAIL = 64 * 1024
#: Bytes of a file's start remembered, to tell a file truncated and refilled.
_HEAD = 64


@dataclass(frozen=True)
class LogCounts:
    """Lines of each level seen within `window` seconds, and the last one's words."""

    error: int = 0
    fatal: int = 0
    panic: int = 0
    last: str | None = None
    window: float = 300.0
    #: Some of what was written was skipped (more than MAX_READ at once).
    skipped: bool = False

    @property
    def total(self) -> int:
        return self.error + self.fatal + self.panic


def _line_end_before(path: str, size: int) -> int:
    """Where the last complete line of the file ends (its end if it ends a line)."""
    start = max(0, size - _TAIL)
    with open(path, "rb") as f:
        f.seek(start)
        tail = f.read(size - start)
    cut = tail.rfind(b"\n")
    return start + cut + 1 if cut >= 0 else size


def _head(path: str, size: int) -> list[int]:
    """[length, crc32] of the file's first bytes: they change when it is truncated and refilled."""
    with open(path, "rb") as f:
        data = f.read(min(_HEAD, size))
    return [len(data), zlib.crc32(data)]


def _same_start(path: str, head: list[int]) -> bool:
    with open(path, "rb") as f:
        return zlib.crc32(f.read(head[0])) == head[1]


def _read_new(path: str, offset: int, size: int) -> tuple[bytes, int, bool]:
    """(complete lines written after `offset`, the offset after them, whether bytes were skipped)."""
    skipped = size - offset > MAX_READ
    start = size - MAX_READ if skipped else offset
    with open(path, "rb") as f:
        f.seek(start)
        chunk = f.read(size - start)
    base = start
    if skipped:
        first = chunk.find(b"\n")
        cut_at = first + 1 if first >= 0 else len(chunk)
        base, chunk = base + cut_at, chunk[cut_at:]
    cut = chunk.rfind(b"\n")
    if cut < 0:
        # No complete line: wait for its end, unless it alone fills a whole read.
        return b"", (base + len(chunk) if len(chunk) >= MAX_READ else base), skipped
    return chunk[: cut + 1], base + cut + 1, skipped


class LogWatch:
    """Offsets and recent error counts of instances' logs, in a JSON-ready mapping.

    The mapping is the caller's to keep: `scan` below keeps it in the state directory,
    shared by every process; a long-lived process may keep one in memory instead.
    """

    def __init__(self, state: dict[str, Any] | None = None) -> None:
        self.state: dict[str, Any] = state if state is not None else {}
        self.changed = False

    def look(self, key: str, files: Sequence[Path | str], window: float, now: float) -> LogCounts:
        """Read what `files` gained since the last look at `key`, and count the window."""
        entry = self.state.get(key)
        first_look = entry is None
        if entry is None:
            entry = self.state[key] = {"files": {}, "recent": []}
            self.changed = True
        known: dict[str, list[int]] = entry["files"]
        seen: dict[str, list[int]] = {}
        found = [0, 0, 0]
        last: str | None = None
        skipped = False
        for path in map(str, files):
            try:
                st = os.stat(path)
                ino, offset, *head = known.get(path, (st.st_ino, 0))
                if path in known and ino == st.st_ino and st.st_size == offset:
                    seen[path] = known[path]  # nothing new: not even opened
                    continue
                if ino != st.st_ino or st.st_size < offset or (head and not _same_start(path, head)):
                    offset = 0  # replaced or truncated: read it again from its start
                if first_look:
                    offset = _line_end_before(path, st.st_size)
                elif st.st_size > offset:
                    lines, offset, cut = _read_new(path, offset, st.st_size)
                    skipped |= cut
                    last = _count(lines, found) or last
                seen[path] = [st.st_ino, offset, *_head(path, st.st_size)]
            except OSError:
                continue  # gone meanwhile: forgotten below
        if seen != known:
            entry["files"] = seen
            self.changed = True
        recent: list[list[Any]] = entry["recent"]
        if any(found):
            recent.append([now, *found, last])
            self.changed = True
        kept = [r for r in recent if r[0] > now - window][-KEEP:]
        if len(kept) != len(recent):
            entry["recent"] = kept
            self.changed = True
        return LogCounts(
            error=sum(r[1] for r in kept),
            fatal=sum(r[2] for r in kept),
            panic=sum(r[3] for r in kept),
            last=next((r[4] for r in reversed(kept) if r[4]), None),
            window=window,
            skipped=skipped,
        )

    def forget(self, keep: set[str]) -> None:
        """Drop the state of instances not in `keep` (dropped ones)."""
        for key in set(self.state) - keep:
            del self.state[key]
            self.changed = True


def _count(lines: bytes, found: list[int]) -> str | None:
    """Add the lines of level ERROR, FATAL, PANIC to `found`; the last such line's words.

    Only a line's own level counts (the first `WORD:  ` of it): not the word ERROR
    inside a message, nor a continuation line (which starts with a tab).
    """
    last = None
    for raw in lines.split(b"\n"):
        if not raw or raw.startswith(b"\t"):
            continue
        match = _LEVEL.search(raw)
        if match is None or match[1] not in _COUNTED or _ORDERED.search(raw, match.end()):
            continue
        found[_COUNTED[match[1]]] += 1
        last = raw[match.start() :]
    return first_line(last.decode(errors="replace"), 200) if last is not None else None


def scan(
    settings: Settings,
    sources: Mapping[str, Sequence[Path | str]],
    *,
    window: float,
    now: float | None = None,
    complete: bool = False,
) -> dict[str, LogCounts]:
    """Look at the logs of each instance ({key: its log files}), in the shared state.

    With `complete`, `sources` is every instance there is and the others are forgotten.
    """
    now = time.time() if now is None else now
    path = settings.state_dir / STATE_FILE
    with store.locked(settings):
        watch = LogWatch(store.load(path))
        counts = {key: watch.look(key, files, window, now) for key, files in sources.items()}
        if complete:
            watch.forget(set(sources))
        if watch.changed:
            store.save(path, watch.state)
    return counts
