"""Where the dashboard's data comes from, and where its actions go.

`LiveSource` is this host, through `pglift_tui.host.Host`: every action is
`Host.run`, the same path the CLI takes. Tests hand the app a source of fixed core
models instead (tests/tui/fixed.py), so that their pictures never move.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any, Protocol

from .. import binaries, journal
from ..detail import Detail, LiveDetail
from ..host import Host
from ..managers import Outcome, Refusal
from ..models.interface import InstanceListItem
from ..monitor import InstanceView, Monitor
from ..settings import Settings
from .background import BackgroundLoop

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
        self.background = BackgroundLoop("pglift-tui-monitor")

    async def snapshot(self) -> list[InstanceView]:
        return await self.background.run(self.monitor.snapshot())

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
        return await asyncio.wrap_future(self.background.act(self.host.run(action, key, **options)))

    def hosts(self) -> list[HostState]:
        return []

    def detail(self, key: str) -> Detail:
        return LiveDetail(self.host, self.host.find(key), self.background.loop, self.monitor)

    async def close(self) -> None:
        await asyncio.to_thread(self.shutdown, ACTION_GRACE)

    def shutdown(self, timeout: float) -> None:
        """Cancel running actions (they undo what they must), close connections, stop the loop."""
        self.background.shutdown(timeout, self.monitor.close)
