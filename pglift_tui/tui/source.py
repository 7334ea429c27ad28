"""Where the dashboard's data comes from, and where its actions go.

`LiveSource` is the core on this host. Snapshot tests hand the app a `FixedSource`
of the core's own models instead, so that their pictures never move.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import threading
from collections.abc import Sequence
from typing import Any, Protocol

from .. import binaries, instances, journal
from ..models import interface, system
from ..monitor import InstanceView, Monitor
from ..settings import Settings
from .detail_source import Detail, FixedDetail, LiveDetail

#: Seconds an interrupted action may take to undo what it did when the dashboard quits.
ACTION_GRACE = 30.0


class Source(Protocol):
    async def snapshot(self) -> list[InstanceView]: ...

    def events(self, limit: int) -> list[journal.Event]: ...

    def versions(self) -> list[str]: ...

    async def run(self, action: str, key: str, **options: Any) -> str: ...

    async def close(self) -> None: ...

    def shutdown(self, timeout: float) -> None: ...

    def detail(self, key: str) -> Detail: ...


class LiveSource:
    """The instances of this host, through the core's public API.

    Snapshots run on an event loop of their own, in a background thread, where the
    monitor keeps its connections: reading a hundred pid files and probing servers
    never takes the dashboard's loop away from the keyboard.
    """

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.monitor = Monitor(settings)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._actions: set[concurrent.futures.Future[str]] = set()

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

    def _instance(self, key: str) -> system.Instance:
        version, name = key.split("/", 1)
        return system.Instance.system_lookup(name, version, self.settings)

    async def run(self, action: str, key: str, **options: Any) -> str:
        """Do `action` on the instance `key` ("15/main"); what happened, in words.

        The core runs on the background loop too, so its file and process work never
        holds up the screen; cancelling the caller cancels the action there, and its
        own clean-up (a creation's rollback) runs to the end.
        """
        future = asyncio.run_coroutine_threadsafe(self._run(action, key, **options), self._background())
        self._actions.add(future)
        future.add_done_callback(self._actions.discard)
        return await asyncio.wrap_future(future)

    async def _run(self, action: str, key: str, **options: Any) -> str:
        if action == "create":
            manifest: interface.Instance = options["manifest"]
            await instances.apply(self.settings, manifest)
            return "created" + (" and started" if manifest.state == "started" else "")
        instance = self._instance(key)
        if action == "start":
            await instances.start(instance)
            return "started"
        if action == "stop":
            mode = options.get("mode", "fast")
            await instances.stop(instance, mode=mode)
            return f"stopped ({mode})"
        if action == "restart":
            await instances.restart(instance)
            return "restarted"
        if action == "reload":
            await instances.reload(instance)
            return "configuration reloaded"
        if action == "drop":
            await instances.drop(instance, force=bool(options.get("force")))
            return "dropped"
        if action == "promote":
            await instances.promote(instance)
            return "promoted: it accepts writes now"
        if action == "upgrade":
            upgraded = await instances.upgrade_async(
                instance,
                version=options.get("version"),
                mode=options.get("mode", "copy"),
                analyze=bool(options.get("analyze")),
                force=bool(options.get("force")),
                on_step=options.get("on_step"),
            )
            new = upgraded.instance
            words = [f"upgraded to {new.version}/{new.name} on port {new.port}; {key} is superseded"]
            words += upgraded.warnings
            if upgraded.analyze_advice:
                words.append(f"pg_upgrade advises: {upgraded.analyze_advice}")
            return "\n".join(words)
        raise ValueError(f"unknown action {action!r}")

    def detail(self, key: str) -> Detail:
        """What the detail screen reads, on the background loop's own connection."""
        return LiveDetail(self._instance(key), self._background())

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


class FixedSource:
    """Fixed views and events, for pictures that must not move."""

    def __init__(
        self,
        views: Sequence[InstanceView],
        events: Sequence[journal.Event] = (),
        versions: Sequence[str] = (),
    ) -> None:
        self.views = list(views)
        self.journal = list(events)
        self.installed = list(versions)
        #: Instance key -> what its detail screen shows (see FixedDetail).
        self.details: dict[str, dict[str, Any]] = {}

    def detail(self, key: str) -> Detail:
        from ..inspect import Overview

        return FixedDetail(key, self.details.get(key, {"overview": Overview(running=False)}))

    async def snapshot(self) -> list[InstanceView]:
        return list(self.views)

    def events(self, limit: int) -> list[journal.Event]:
        return self.journal[:limit]

    def versions(self) -> list[str]:
        found = set(self.installed) | {view.item.version for view in self.views}
        return sorted(found, key=int, reverse=True) or ["15"]

    async def run(self, action: str, key: str, **options: Any) -> str:
        raise RuntimeError("a fixed source cannot act")

    async def close(self) -> None:
        return None

    def shutdown(self, timeout: float) -> None:
        return None
