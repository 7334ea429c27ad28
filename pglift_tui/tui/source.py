"""Where the dashboard's data comes from, and where its actions go.

`LiveSource` is this host, through `pglift_tui.host.Host`: every action is
`Host.run`, the same path the CLI takes. Tests hand the app a source of fixed core
models instead (tests/tui/fixed.py), so that their pictures never move.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import threading
from typing import TYPE_CHECKING, Any, Protocol

from .. import binaries, journal
from ..detail import Detail, LiveDetail
from ..host import Host
from ..managers import Outcome, Refusal
from ..models.interface import InstanceListItem
from ..monitor import InstanceView, Monitor
from ..settings import Settings

if TYPE_CHECKING:
    from ..remote.client import HostState

#: Seconds an interrupted action may take to undo what it did when the dashboard quits.
ACTION_GRACE = 30.0


class Source(Protocol):
    async def snapshot(self) -> list[InstanceView]: ...

    def events(self, limit: int) -> list[journal.Event]:
        """The journal, newest first (blocking: called in a thread)."""
        ...

    def versions(self) -> list[str]:
        """Installed PostgreSQL versions, newest first (blocking: may run `postgres --version`)."""
        ...

    def can(self, action: str, item: InstanceListItem) -> Refusal | None:
        """Whether `action` is offered on `item` now (no I/O: it runs on the event loop)."""
        ...

    async def run(self, action: str, key: str, **options: Any) -> Outcome: ...

    def detail(self, key: str) -> Detail:
        """What an instance's detail screen reads (blocking: called in a thread)."""
        ...

    def hosts(self) -> list[HostState]:
        """Each host of an inventory, for the header; none for this host alone (no I/O)."""
        ...

    async def close(self) -> None: ...

    def shutdown(self, timeout: float) -> None: ...


class LiveSource:
    """The servers of this host, through the core's public API.

    Snapshots run on an event loop of their own, in a background thread, where the
    monitor keeps its connections: reading a hundred pid files and probing servers
    never takes the dashboard's loop away from the keyboard.
    """

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.host = Host(settings)
        self.monitor = Monitor(settings, host=self.host)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._actions: set[concurrent.futures.Future[Outcome]] = set()

    def _background(self) -> asyncio.AbstractEventLoop:
        if self._loop is None:
            loop = asyncio.new_event_loop()
            self._thread = threading.Thread(target=loop.run_forever, name="pglift-tui-monitor", daemon=True)
            self._thread.start()
            self._loop = loop
        return self._loop

    async def snapshot(self) -> list[InstanceView]:
        future = asyncio.run_coroutine_threadsafe(self.monitor.snapshot(), self._background())
        return await asyncio.wrap_future(future)

    def events(self, limit: int) -> list[journal.Event]:
        return journal.read(self.settings, limit=limit)

    def versions(self) -> list[str]:
        return [v.version for v in binaries.available(self.settings)]

    def can(self, action: str, item: InstanceListItem) -> Refusal | None:
        return self.host.can(action, item)

    async def run(self, action: str, key: str, **options: Any) -> Outcome:
        """`Host.run` on the background loop, so its file and process work never holds up
        the screen; cancelling the caller cancels the action there, and its own clean-up
        (a creation's rollback) runs to the end."""
        future = asyncio.run_coroutine_threadsafe(self.host.run(action, key, **options), self._background())
        self._actions.add(future)
        future.add_done_callback(self._actions.discard)
        return await asyncio.wrap_future(future)

    def hosts(self) -> list[HostState]:
        return []

    def detail(self, key: str) -> Detail:
        return LiveDetail(self.host, self.host.find(key), self._background(), self.monitor)

    async def close(self) -> None:
        await asyncio.to_thread(self.shutdown, ACTION_GRACE)

    def shutdown(self, timeout: float) -> None:
        """Cancel running actions (they undo what they must), close connections, stop the loop.

        Callable from any thread: a hangup runs it while the screen's loop may be stuck.
        """
        loop, thread = self._loop, self._thread
        if loop is None or thread is None:
            return
        for future in list(self._actions):
            future.cancel()
        if self._actions:
            concurrent.futures.wait(list(self._actions), timeout)
        with contextlib.suppress(Exception):
            asyncio.run_coroutine_threadsafe(self.monitor.close(), loop).result(timeout)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(5)
        if not thread.is_alive():
            loop.close()
        self._loop = self._thread = None
