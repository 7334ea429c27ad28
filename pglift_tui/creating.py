"""The mark of a creation in progress, so that one cut off is known for what it is.

A creation writes a small file under the state directory before it makes
anything, keeps in it the list of what it has made so far, and removes it when it
ends, whether it succeeded or rolled back. A process killed outright (SIGKILL, a
power cut) leaves the file behind. The instance's lock tells a creation still
running (its lock is held) from one cut off (nobody holds it): `ls` flags the
latter, `get` and `start` refuse it, and `apply` undoes it from the list before it
creates the instance again.
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from . import locks
from .exceptions import InstanceBusy, InstanceStateError
from .fs import Created, Made, ensure_private_dir
from .settings import Settings

#: Qualnames whose creation runs in this process now: their marks are no leftovers.
_active: set[str] = set()


def marks_dir(settings: Settings) -> Path:
    return settings.state_dir / "creating"


def mark_path(settings: Settings, qualname: str) -> Path:
    return marks_dir(settings) / f"{qualname}.json"


@dataclass
class Mark:
    """What a creation says of itself while it runs."""

    qualname: str
    datadir: str
    pid: int = field(default_factory=os.getpid)
    user: str = field(default_factory=locks.os_user)
    since: float = field(default_factory=time.time)
    #: Log files of the instance's name that existed before: not this creation's.
    logs_before: list[str] = field(default_factory=list)
    standby: bool = False
    made: list[list[Any]] = field(default_factory=list)

    def describe(self) -> str:
        when = datetime.fromtimestamp(self.since).strftime("%Y-%m-%d %H:%M:%S")
        return f"its creation by pid {self.pid} ({self.user}) at {when} was cut off"


class Marker:
    """The mark of one creation: written first, kept up to date, removed at the end."""

    def __init__(self, settings: Settings, mark: Mark) -> None:
        self.path = mark_path(settings, mark.qualname)
        self.mark = mark
        ensure_private_dir(marks_dir(settings))
        self._write()
        _active.add(mark.qualname)

    def _write(self) -> None:
        tmp = self.path.with_suffix(".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump(self.mark.__dict__, f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, self.path)

    def update(self, made: list[Made]) -> None:
        self.mark.made = [[str(m.path), m.kind, list(m.identity)] for m in made]
        self._write()

    def created(self) -> Created:
        """A `Created` that keeps this mark up to date as paths are made."""
        return Created(on_change=self.update)

    def remove(self) -> None:
        """The creation ended, made or undone: nothing is left to recover."""
        self.path.unlink(missing_ok=True)

    def release(self) -> None:
        """This process no longer works on it; a mark still there is a leftover now."""
        _active.discard(self.mark.qualname)


def load(settings: Settings, qualname: str) -> Mark | None:
    try:
        data = json.loads(mark_path(settings, qualname).read_text(encoding="utf-8"))
        return Mark(**data)
    except (OSError, ValueError, TypeError):
        return None


def _running(settings: Settings, qualname: str) -> bool:
    """Whether the creation's process still holds the instance's lock."""
    return locks.holder(locks.lock_path(settings, qualname)) is not None


def cut_off(settings: Settings) -> dict[str, Mark]:
    """{datadir: mark} of the creations that were cut off (nobody holds their lock).

    One directory listing when there are none, which is always but after a kill.
    """
    try:
        names = os.listdir(marks_dir(settings))
    except OSError:
        return {}
    found = {}
    for name in names:
        if not name.endswith(".json"):
            continue
        mark = load(settings, name[:-5])
        if mark is not None and not _running(settings, mark.qualname):
            found[mark.datadir] = mark
    return found


def refuse(settings: Settings, qualname: str, what: str) -> None:
    """Refuse to `what` an instance whose creation was cut off (or still runs elsewhere).

    A creation under way in this process (apply, then start within it) is no leftover.
    """
    mark = load(settings, qualname)
    if mark is None or qualname in _active:
        return
    name = qualname.replace("-", "/", 1)
    if not locks.held_here(qualname):
        info = locks.holder(locks.lock_path(settings, qualname))
        if info is not None:
            raise InstanceBusy(
                f"instance {name} is being created: {locks.describe_holder(info)}",
                hint="wait for it to finish",
            )
    raise InstanceStateError(
        f"instance {name} is incomplete: {mark.describe()}, so cannot {what} it",
        hint="apply its manifest again (what was made is removed first, then it is created), or drop it",
    )
