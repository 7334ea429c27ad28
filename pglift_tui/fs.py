"""Directories the core creates: private where they must be, and undoable.

A creation that fails must remove what it made and nothing else, so `Created`
records each directory and file at the moment it comes into being.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import stat
from pathlib import Path

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


class Created:
    """Paths made during one operation, removed in reverse order by `undo`."""

    def __init__(self) -> None:
        # (path, kind): "tree" is the instance's own, "shared" may gain others' files.
        self._paths: list[tuple[Path, str]] = []

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
            self._paths.append((directory, "shared" if shared else "tree"))

    def claim(self, path: Path) -> None:
        """An existing, empty directory this operation fills: undo empties it, keeps it."""
        self._paths.append((path, "contents"))

    def undo(self) -> None:
        for path, kind in reversed(self._paths):
            try:
                if kind == "tree":
                    shutil.rmtree(path)
                elif kind == "shared":
                    path.rmdir()
                else:
                    for child in path.iterdir():
                        if child.is_dir() and not child.is_symlink():
                            shutil.rmtree(child)
                        else:
                            child.unlink()
            except OSError:
                pass
        self._paths.clear()


def remove_empty_parents(path: Path, stop: Path) -> None:
    """Remove `path` and its parents while empty, never `stop` or above it."""
    current = path
    while current != stop and stop in current.parents:
        try:
            current.rmdir()
        except OSError:
            return
        current = current.parent
