"""Small JSON state files of the health checks, shared by every process of the user.

The dashboard and a monitoring system's `pglift-tui check` look at the same instances:
what one saw last (findings, log offsets) must be what the other compares with, or a
trouble would be journaled as raised twice. Each read-change-write holds an exclusive
`flock` on `health.lock` in the state directory; files are replaced atomically (write
to a temporary file, rename), 0600, so a reader without the lock never sees half a file.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from ..fs import ensure_private_dir
from ..settings import Settings

LOCK_FILE = "health.lock"


@contextlib.contextmanager
def locked(settings: Settings) -> Iterator[None]:
    """Hold the health state's lock; other processes wait (each holder is brief)."""
    ensure_private_dir(settings.state_dir)
    fd = os.open(settings.state_dir / LOCK_FILE, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # releases the lock


def load(path: Path) -> dict[str, Any]:
    """The file's mapping; an absent, unreadable or damaged file reads as empty."""
    try:
        data = json.loads(path.read_bytes())
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def save(path: Path, data: dict[str, Any]) -> None:
    """Replace `path` with `data` in one rename, the file private to us."""
    ensure_private_dir(path.parent)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump(data, f, separators=(",", ":"))
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
