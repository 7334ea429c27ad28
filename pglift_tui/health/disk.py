"""Free space of the file systems an instance writes to, without connecting to it.

A full WAL file system stops the server (it PANICs); a full data file system fails
writes. Both are measured with statvfs, as the space left to an unprivileged user
(the reserved blocks are root's, not PostgreSQL's), and named by their mount point.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class FileSystem:
    """One file system, what of the instance it holds ("data", "WAL") and its space."""

    mount: str
    holds: tuple[str, ...]
    free: int
    total: int

    @property
    def free_percent(self) -> float:
        return 100.0 * self.free / self.total if self.total else 0.0

    @property
    def label(self) -> str:
        return " and ".join(self.holds)


def mount_point(path: str) -> str:
    """The mount point under which `path` lives (the last parent on the same device)."""
    current = os.path.realpath(path)
    return _mount_point(current, os.stat(current).st_dev)


@functools.lru_cache(maxsize=4096)
def _real(path: str) -> str:
    """A data or WAL directory's real path, resolved once: the dashboard measures every
    server's disks at each refresh, and their symbolic links do not move under it."""
    return os.path.realpath(path)


@functools.lru_cache(maxsize=1024)
def _mount_point(current: str, device: int) -> str:
    """Walked up once per (path, device): the dashboard measures every disk at each refresh."""
    while current != "/":
        parent = os.path.dirname(current)
        try:
            if os.stat(parent).st_dev != device:
                break
        except OSError:
            break
        current = parent
    return current


def measure(paths: Mapping[str, Path | str | None]) -> list[FileSystem]:
    """The file systems holding `paths` ({"data": datadir, "WAL": waldir}), each once.

    A path that does not exist (a WAL directory not made yet) is left out.
    """
    found: dict[int, tuple[str, list[str], int, int]] = {}
    for what, path in paths.items():
        if path is None:
            continue
        try:
            real = _real(str(path))
            st = os.stat(real)
            if st.st_dev in found:
                found[st.st_dev][1].append(what)
                continue
            vfs = os.statvfs(real)
            mount = _mount_point(real, st.st_dev)
        except OSError:
            continue  # gone meanwhile (dropped): nothing to measure
        found[st.st_dev] = (mount, [what], vfs.f_bavail * vfs.f_frsize, vfs.f_blocks * vfs.f_frsize)
    return [FileSystem(mount, tuple(holds), free, total) for mount, holds, free, total in found.values()]
