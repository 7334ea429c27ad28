"""One action at a time per instance, across processes.

The dashboard and a script may act on the same instance at once. Each action takes
an exclusive `flock` on a file under the run prefix and writes who holds it, so a
second action can say "busy: stop by pid 123 since 10:42:01" instead of racing.
Nested calls in one task (apply -> start) reuse the lock they already hold.

A lock file may be removed (drop does): whoever then obtains the lock on the old,
unlinked file notices the path now names another file, or none, and starts over.
"""

from __future__ import annotations

import asyncio
import fcntl
import json
import logging
import os
import pwd
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from contextvars import ContextVar
from datetime import datetime
from pathlib import Path

from .exceptions import InstanceBusy
from .fs import ensure_private_dir
from .settings import Settings

logger = logging.getLogger(__name__)
_held: ContextVar[frozenset[str]] = ContextVar("_held", default=frozenset())
#: How often a waiting action retries; flock has no way to wait asynchronously.
_RETRY = 0.05


def os_user() -> str:
    """The name of the user we run as, from the uid (not from $USER, which anyone can set)."""
    try:
        return pwd.getpwuid(os.geteuid()).pw_name
    except KeyError:
        return str(os.geteuid())


def held_here(qualname: str) -> bool:
    """Whether this task (or one it runs within) holds the lock of `qualname`."""
    return qualname in _held.get()


def lock_path(settings: Settings, qualname: str) -> Path:
    return settings.lockdir / f"{qualname}.lock"


def _read(fd: int) -> dict[str, object] | None:
    try:
        data = json.loads(os.pread(fd, 4096, 0) or b"null")
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def holder(path: Path) -> dict[str, object] | None:
    """Who holds the lock at `path`, as it wrote itself; None when nobody does.

    The file keeps what its last holder wrote if that one was killed: the lock
    itself, which the kernel releases with the process, is what is asked.
    """
    try:
        if os.stat(path).st_size == 0:
            return None
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    except OSError:
        return None
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            return _read(fd)
        fcntl.flock(fd, fcntl.LOCK_UN)
        return None
    finally:
        os.close(fd)


def describe_holder(info: dict[str, object] | None) -> str:
    """ "stop by pid 42 (alice) since 10:42:01", from what a lock's holder wrote."""
    if not info:
        return "another action is running"
    since = info.get("since")
    when = datetime.fromtimestamp(since).strftime("%H:%M:%S") if isinstance(since, int | float) else "?"
    who = f"pid {info.get('pid', '?')} ({info.get('user', '?')})"
    return f"{info.get('action', '?')} by {who} since {when}"


def describe(info: dict[str, object] | None) -> str:
    return f"busy: {describe_holder(info)}"


def display_name(qualname: str) -> str:
    """ "15/main" for an instance's lock, "port 5432" for a port's."""
    if qualname.startswith("port-"):
        return f"port {qualname[5:]}"
    return qualname.replace("-", "/", 1)


class _Lock:
    """The file lock itself; `instance_lock` and `instance_lock_sync` wait for it."""

    def __init__(
        self,
        settings: Settings,
        qualname: str,
        action: str,
        timeout: float | None,
        remove: bool = False,
        label: str | None = None,
    ) -> None:
        self.remove = remove
        self.qualname = qualname
        self.label = label or display_name(qualname)
        self.action = action
        self.path = lock_path(settings, qualname)
        self.deadline = time.monotonic() + (settings.lock_timeout if timeout is None else timeout)
        ensure_private_dir(settings.run_prefix)
        ensure_private_dir(settings.lockdir)
        self.fd = -1
        self.acquired = False
        self.waited = False

    def _open(self) -> None:
        if self.fd >= 0:
            os.close(self.fd)
        self.fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)

    def _current(self) -> bool:
        """Whether our descriptor is still the file the path names."""
        try:
            return os.fstat(self.fd).st_ino == os.stat(self.path).st_ino
        except FileNotFoundError:
            return False

    def try_acquire(self) -> bool:
        if self.fd < 0:
            self._open()
        try:
            fcntl.flock(self.fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            if time.monotonic() >= self.deadline:
                raise InstanceBusy(
                    f"{self.label}: {describe(_read(self.fd))}",
                    hint="wait for it to finish, then retry",
                ) from None
            if not self.waited:
                # Said once, as the wait begins: the CLI shows it, so a script's operator
                # knows why nothing happens yet (the dashboard shows the holder instead).
                self.waited = True
                logger.info("waiting for %s: %s", self.label, describe_holder(_read(self.fd)))
            return False
        if not self._current():
            self._open()  # removed or replaced while we waited: lock the file that is there now
            return False
        info = {"pid": os.getpid(), "user": os_user(), "action": self.action, "since": time.time()}
        self.acquired = True
        os.ftruncate(self.fd, 0)
        os.pwrite(self.fd, json.dumps(info).encode(), 0)
        return True

    def release(self) -> None:
        try:
            if self.acquired and self._current():
                if self.remove:
                    self.path.unlink()  # waiters on this file notice, and start over
                else:
                    os.ftruncate(self.fd, 0)
        finally:
            if self.fd >= 0:
                os.close(self.fd)  # releases the flock


@asynccontextmanager
async def instance_lock(
    settings: Settings,
    qualname: str,
    action: str,
    timeout: float | None = None,
    *,
    remove: bool = False,
    label: str | None = None,
) -> AsyncIterator[bool]:
    """Hold the instance's lock for `action`, waiting at most `timeout` seconds.

    Yields True when this call took the lock, False when an enclosing call holds it.
    `remove` deletes the lock file on release (locks that are rarely taken twice);
    `label` names the server in a "busy" message (default: from the qualname).
    """
    if qualname in _held.get():
        yield False
        return
    lock = _Lock(settings, qualname, action, timeout, remove, label)
    try:
        while not lock.try_acquire():  # noqa: ASYNC110 (flock cannot be awaited)
            await asyncio.sleep(_RETRY)
        token = _held.set(_held.get() | {qualname})
        try:
            yield True
        finally:
            _held.reset(token)
    finally:
        lock.release()


@contextmanager
def instance_lock_sync(
    settings: Settings, qualname: str, action: str, timeout: float | None = None, *, label: str | None = None
) -> Iterator[bool]:
    """`instance_lock` for the spec's plain functions (init, upgrade)."""
    if qualname in _held.get():
        yield False
        return
    lock = _Lock(settings, qualname, action, timeout, label=label)
    try:
        while not lock.try_acquire():
            time.sleep(_RETRY)
        token = _held.set(_held.get() | {qualname})
        try:
            yield True
        finally:
            _held.reset(token)
    finally:
        lock.release()
