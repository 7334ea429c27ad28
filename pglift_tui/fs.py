"""Directories the core creates: private where they must be, and undoable.

A creation that fails must remove what it made and nothing else, so `Created`
records each directory and file at the moment it comes into being.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import stat
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from .exceptions import ConfigurationError


def ensure_private_dir(path: Path) -> Path:
    """`path` as a 0700 directory of ours; refuse one that someone else controls.

    Shared places such as /tmp let another user create our directory first; using
    it would hand them our sockets and locks.
    """
    with contextlib.suppress(FileExistsError):
        path.mkdir(mode=0o700, parents=True)
    st = os.lstat(path)
    if stat.S_ISLNK(st.st_mode) or not stat.S_ISDIR(st.st_mode):
        raise ConfigurationError(f"{path} is not a directory", hint="remove it or choose another path")
    if st.st_uid != os.getuid():
        raise ConfigurationError(
            f"{path} belongs to uid {st.st_uid}, not to us (uid {os.getuid()})",
            hint="remove it, or set run_prefix to a directory of ours",
        )
    if st.st_mode & 0o077:
        os.chmod(path, 0o700)
    return path


#: What `Created` records: a directory it made ("tree": removed with its content;
#: "shared": removed only if empty, others may have put files in it), a file it made
#: ("file"), or entries it made in a directory that was there before ("entry").
Kind = Literal["tree", "shared", "file", "entry"]


@dataclass(frozen=True)
class Made:
    path: Path
    kind: Kind
    #: (st_dev, st_ino) when it was made (for an entry: of its directory, since what we
    #: made there is rewritten in place, atomically): undo never removes another thing.
    identity: tuple[int, int]

    def same(self) -> bool:
        return _identity(self.path.parent if self.kind == "entry" else self.path) == self.identity


def _identity(path: Path) -> tuple[int, int]:
    st = os.lstat(path)
    return st.st_dev, st.st_ino


class Created:
    """Paths made during one operation, removed in reverse order by `undo`.

    Only what was made is recorded, the moment it is made: a directory that was
    there before is never removed nor emptied; entries that a program of ours
    (initdb, pg_basebackup) put in it are recorded by name once it has run
    (`entries_made_in`). `on_change` sees every record, to keep it on disk: a
    process killed midway leaves a list that a later run can undo.
    """

    def __init__(self, on_change: Callable[[list[Made]], None] | None = None) -> None:
        self._made: list[Made] = []
        self._on_change = on_change

    @property
    def made(self) -> list[Made]:
        return list(self._made)

    def _add(self, path: Path, kind: Kind) -> None:
        self._made.append(Made(path, kind, _identity(path.parent if kind == "entry" else path)))
        if self._on_change is not None:
            self._on_change(self.made)

    def mkdir(self, path: Path, *, shared: bool = False, mode: int = 0o700) -> None:
        """Create `path` and its missing parents, recording each one made.

        A shared directory (logs, sockets) is only removed again if it is empty:
        another instance may have put files in it meanwhile.
        """
        missing: list[Path] = []
        current = path
        while not current.exists():
            missing.append(current)
            current = current.parent
        for directory in reversed(missing):
            directory.mkdir(mode=mode)
            self._add(directory, "shared" if shared else "tree")

    def create_file(self, path: Path, mode: int = 0o600) -> int:
        """Create `path` (it must not exist) and record it; its descriptor, open for writing."""
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, mode)
        self._add(path, "file")
        return fd

    def entries_made_in(self, directory: Path, before: set[str]) -> None:
        """Record what appeared in `directory`, which was there before, since `before` was listed."""
        for name in sorted(set(os.listdir(directory)) - before):
            self._add(directory / name, "entry")

    def forget(self, path: Path) -> None:
        """`path` was removed on purpose (a file used up): nothing to undo for it."""
        self._made = [made for made in self._made if made.path != path]
        if self._on_change is not None:
            self._on_change(self.made)

    def undo(self) -> None:
        for made in reversed(self._made):
            try:
                if not made.same():
                    continue  # something else is there now: not ours to remove
                if made.kind == "shared":
                    made.path.rmdir()
                elif made.kind == "file" or made.path.is_symlink() or not made.path.is_dir():
                    made.path.unlink()
                else:
                    shutil.rmtree(made.path)
            except OSError:
                pass
        self._made.clear()
        if self._on_change is not None:
            self._on_change([])

    def to_json(self) -> list[list[Any]]:
        return [[str(m.path), m.kind, list(m.identity)] for m in self._made]

    @classmethod
    def from_json(cls, data: object) -> Created:
        """What a previous run recorded (entries it cannot parse are skipped: never guessed)."""
        created = cls()
        for item in data if isinstance(data, list) else []:
            with contextlib.suppress(TypeError, ValueError):
                path, kind, (dev, ino) = item
                if kind in ("tree", "shared", "file", "entry"):
                    created._made.append(Made(Path(path), kind, (int(dev), int(ino))))
        return created


def remove_empty_parents(path: Path, stop: Path) -> None:
    """Remove `path` and its parents while empty, never `stop` or above it."""
    current = path
    while current != stop and stop in current.parents:
        try:
            current.rmdir()
        except OSError:
            return
        current = current.parent
