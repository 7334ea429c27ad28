"""What the detail screen reads about one instance, live or fixed.

`LiveDetail` runs the core's queries on the source's background loop, on one
connection opened on first use and reopened after the server restarts; the log is
followed with the core's bounded `LogTail`. `FixedDetail` hands out fixed rows so
that snapshot pictures never move.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable
from typing import Any, Protocol, TypeVar

from .. import inspect, instances, journal
from ..inspect import LogTail, Overview
from ..models import interface, system
from ..models.interface import Diff

T = TypeVar("T")


class Detail(Protocol):
    key: str

    async def overview(self) -> Overview: ...

    async def settings(self) -> list[dict[str, Any]]: ...

    async def file_settings(self) -> list[dict[str, Any]]: ...

    async def activity(self) -> list[dict[str, Any]]: ...

    async def signal(self, pid: int, *, terminate: bool) -> bool: ...

    async def log_lines(self) -> list[str]: ...

    async def history(self, limit: int) -> list[journal.Event]: ...

    async def configure(self, settings: dict[str, Any]) -> tuple[Diff, bool]: ...

    async def restart(self) -> None: ...

    async def close(self) -> None: ...


class LiveDetail:
    def __init__(self, instance: system.Instance, loop: asyncio.AbstractEventLoop) -> None:
        self.instance = instance
        self.key = str(instance)
        self._loop = loop
        self._cnx: Any = None
        self._tail: LogTail | None = None
        # Connect at once, while the screen is being built: the first tab then waits less.
        self._connecting: Any = None
        if self._running():
            self._connecting = asyncio.run_coroutine_threadsafe(inspect.connect(instance), loop)

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
                self._cnx = await inspect.connect(self.instance)
            try:
                return await fn(self._cnx)
            except Exception:
                with contextlib.suppress(Exception):
                    await self._cnx.close()
                self._cnx = None
                raise

        return await self._on_loop(run)

    def _running(self) -> bool:
        return self.instance.status().status == "running"

    async def overview(self) -> Overview:
        if not self._running():
            return await asyncio.to_thread(inspect.offline_overview, self.instance)
        dirs = sorted({str(self.instance.datadir), str(self.instance.waldir)})
        view, usage = await asyncio.gather(
            self._query(inspect.overview),
            asyncio.to_thread(lambda: [inspect.dir_usage(d) for d in dirs]),
        )
        view.dirs = usage
        st = self.instance.status()
        started = view.facts.get("started_at")
        view.facts.update(
            pid=st.pid,
            port=st.pidfile.port if st.pidfile else self.instance.port,
            socket=str(self.instance.live_socket_directory(st)),
            uptime_seconds=time.time() - started.timestamp() if started else None,
        )
        return view

    async def settings(self) -> list[dict[str, Any]]:
        if not self._running():
            return await asyncio.to_thread(inspect.offline_settings, self.instance)
        return await self._query(inspect.settings)

    async def file_settings(self) -> list[dict[str, Any]]:
        return await self._query(inspect.file_settings)

    async def activity(self) -> list[dict[str, Any]]:
        return await self._query(inspect.activity)

    async def signal(self, pid: int, *, terminate: bool) -> bool:
        return await self._query(lambda cnx: inspect.signal_backend(cnx, pid, terminate=terminate))

    async def log_lines(self) -> list[str]:
        return await asyncio.to_thread(self._follow)

    def _follow(self) -> list[str]:
        """New lines of the current log; a log rotated meanwhile is followed from its start."""
        current = inspect.current_log(self.instance)
        if current is None:
            return []
        if self._tail is None or self._tail.path != str(current):
            self._tail = LogTail(str(current))
        return self._tail.read_new()

    async def history(self, limit: int) -> list[journal.Event]:
        settings = self.instance.settings
        return await asyncio.to_thread(journal.read, settings, datadir=self.instance.datadir, limit=limit)

    async def configure(self, settings: dict[str, Any]) -> tuple[Diff, bool]:
        """Through the core's configure (locked, journaled, checked by the server); pending restart?"""
        manifest = interface.Instance(
            name=self.instance.name, version=self.instance.version, settings=settings
        )
        diff = await self._on_loop(lambda: instances.configure(self.instance, manifest))
        pending = bool(diff) and self._running() and await self._query(instances.pending_restart)
        return diff, pending

    async def restart(self) -> None:
        await self._on_loop(lambda: instances.restart(self.instance))

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


class FixedDetail:
    """Fixed answers for pictures; signals are refused."""

    def __init__(self, key: str, data: dict[str, Any]) -> None:
        self.key = key
        self.data = data
        self._log_sent = False

    async def overview(self) -> Overview:
        overview: Overview = self.data["overview"]
        return overview

    async def settings(self) -> list[dict[str, Any]]:
        return list(self.data.get("settings", []))

    async def file_settings(self) -> list[dict[str, Any]]:
        return list(self.data.get("file_settings", []))

    async def activity(self) -> list[dict[str, Any]]:
        return list(self.data.get("activity", []))

    async def signal(self, pid: int, *, terminate: bool) -> bool:
        raise RuntimeError("a fixed source cannot act")

    async def log_lines(self) -> list[str]:
        if self._log_sent:
            return []
        self._log_sent = True
        return list(self.data.get("log", []))

    async def history(self, limit: int) -> list[journal.Event]:
        return list(self.data.get("history", []))[:limit]

    async def configure(self, settings: dict[str, Any]) -> tuple[Diff, bool]:
        raise RuntimeError("a fixed source cannot act")

    async def restart(self) -> None:
        raise RuntimeError("a fixed source cannot act")

    async def close(self) -> None:
        return None
