"""What the detail screen reads about one server, whoever manages it.

`LiveDetail` runs the core's queries on the source's background loop, on one
connection opened on first use and reopened after the server restarts; the log is
followed with the core's bounded `LogTail`. Where the files are and how to connect
come from the server's manager (`Host.files`, `Host.conninfo`), so a Debian cluster's
screen reads /etc/postgresql and its own log. It only reads: every change goes
through the dispatcher and `Host.run`, like the table's actions.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable
from typing import Any, Protocol, TypeVar

from . import inspect, journal, troubleshoot
from .host import Host
from .inspect import LogTail, Overview
from .models.interface import InstanceListItem
from .monitor import Monitor
from .series import NAMES
from .status import status

T = TypeVar("T")


class Detail(Protocol):
    key: str

    async def overview(self) -> Overview: ...

    async def settings(self) -> list[dict[str, Any]]: ...

    async def file_settings(self) -> list[dict[str, Any]]: ...

    async def activity(self) -> list[dict[str, Any]]: ...

    async def log_lines(self) -> list[str]: ...

    async def history(self, limit: int) -> list[journal.Event]: ...

    async def locks(self) -> list[troubleshoot.LockNode]: ...

    async def replication(self) -> troubleshoot.ReplicationState: ...

    async def progress(self) -> list[dict[str, Any]]: ...

    async def statements(self) -> troubleshoot.Statements: ...

    async def close(self) -> None: ...


class LiveDetail:
    def __init__(
        self,
        host: Host,
        item: InstanceListItem,
        loop: asyncio.AbstractEventLoop,
        monitor: Monitor | None = None,
    ) -> None:
        self.host = host
        self.monitor = monitor
        self.item = item
        self.key = item.key
        self.files = host.files(item)
        self._loop = loop
        self._cnx: Any = None
        self._tail: LogTail | None = None
        # Connect at once, while the screen is being built: the first tab then waits less.
        self._connecting: Any = None
        if self._running():
            self._connecting = asyncio.run_coroutine_threadsafe(self._connect(), loop)

    async def _connect(self) -> Any:
        return await inspect.connect(self.host.conninfo(self.item))

    async def _on_loop(self, make: Callable[[], Awaitable[T]]) -> T:
        async def run() -> T:
            return await make()

        return await asyncio.wrap_future(asyncio.run_coroutine_threadsafe(run(), self._loop))

    async def _query(self, fn: Callable[[Any], Awaitable[T]]) -> T:
        async def run() -> T:
            if self._connecting is not None:
                connecting, self._connecting = self._connecting, None
                with contextlib.suppress(Exception):
                    self._cnx = await asyncio.wrap_future(connecting)
            if self._cnx is None or self._cnx.closed:
                self._cnx = await self._connect()
            try:
                return await fn(self._cnx)
            except Exception:
                with contextlib.suppress(Exception):
                    await self._cnx.close()
                self._cnx = None
                raise

        return await self._on_loop(run)

    def _running(self) -> bool:
        return status(self.files.datadir).status == "running"

    async def overview(self) -> Overview:
        if not self._running():
            return await asyncio.to_thread(inspect.offline_overview, self.files)
        dirs = sorted({str(self.files.datadir), str(self.files.waldir or self.files.datadir)})
        view, usage = await asyncio.gather(
            self._query(inspect.overview),
            asyncio.to_thread(lambda: [inspect.dir_usage(d) for d in dirs]),
        )
        view.dirs = usage
        await self._pictures(view)
        st = status(self.files.datadir)
        started = view.facts.get("started_at")
        pidfile = st.pidfile
        view.facts.update(
            pid=st.pid,
            port=pidfile.port if pidfile and pidfile.port else self.item.port,
            socket=pidfile.socket_dir if pidfile else None,
            uptime_seconds=time.time() - started.timestamp() if started else None,
            datadir=str(self.files.datadir),
            manager=self.item.manager,
            config_file=str(self.files.config_file),
            edit_via=self.files.edit_via,
        )
        return view

    async def _pictures(self, view: Overview) -> None:
        """The monitor's last minutes of this server, sampled now too (the table is paused)."""
        monitor = self.monitor
        if monitor is None:
            return
        item = self.item.model_copy(update={"pid": status(self.files.datadir).pid})
        await self._on_loop(lambda: monitor.probe_one(item))
        series = monitor.series(str(self.files.datadir))
        if series is not None:
            view.series = {name: series.values(name) for name in NAMES}
            view.series_seconds = series.seconds()

    async def settings(self) -> list[dict[str, Any]]:
        if not self._running():
            return await asyncio.to_thread(inspect.offline_settings, self.files)
        return await self._query(inspect.settings)

    async def file_settings(self) -> list[dict[str, Any]]:
        return await self._query(inspect.file_settings)

    async def activity(self) -> list[dict[str, Any]]:
        return await self._query(inspect.activity)

    async def log_lines(self) -> list[str]:
        return await asyncio.to_thread(self._follow)

    def _follow(self) -> list[str]:
        """New lines of the current log; a log rotated meanwhile is followed from its start."""
        current = inspect.current_log(self.files)
        if current is None:
            return []
        if self._tail is None or self._tail.path != str(current):
            self._tail = LogTail(str(current))
        return self._tail.read_new()

    async def history(self, limit: int) -> list[journal.Event]:
        settings = self.host.settings
        return await asyncio.to_thread(journal.read, settings, datadir=self.files.datadir, limit=limit)

    async def locks(self) -> list[troubleshoot.LockNode]:
        return await self._query(troubleshoot.lock_tree)

    async def replication(self) -> troubleshoot.ReplicationState:
        return await self._query(troubleshoot.replication)

    async def progress(self) -> list[dict[str, Any]]:
        return await self._query(troubleshoot.progress)

    async def statements(self) -> troubleshoot.Statements:
        return await self._query(troubleshoot.statements)

    async def close(self) -> None:
        async def run() -> None:
            if self._connecting is not None:
                with contextlib.suppress(Exception):
                    self._cnx = await asyncio.wrap_future(self._connecting)
                self._connecting = None
            if self._cnx is not None:
                with contextlib.suppress(Exception):
                    await self._cnx.close()
                self._cnx = None

        with contextlib.suppress(Exception):
            await self._on_loop(run)
