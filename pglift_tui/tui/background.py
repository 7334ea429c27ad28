"""The event loop a source keeps in a thread of its own, and the actions it runs there.

Both sources (this host's, a fleet's) do their file, process and network work on a
loop away from the screen's, so the keyboard never waits on a pid file or a host.
Actions submitted here are kept: shutting down cancels them (each undoes what it
began) and waits for them, then lets the source close what it holds, then stops.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import threading
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

T = TypeVar("T")


class BackgroundLoop:
    def __init__(
        self, name: str, on_start: Callable[[asyncio.AbstractEventLoop], None] | None = None
    ) -> None:
        self.name = name
        #: Called once, when the loop first runs (a fleet starts its channels there).
        self.on_start = on_start
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._actions: set[concurrent.futures.Future[Any]] = set()

    @property
    def loop(self) -> asyncio.AbstractEventLoop:
        """The loop, started on first use."""
        if self._loop is None:
            loop = asyncio.new_event_loop()
            self._thread = threading.Thread(target=loop.run_forever, name=self.name, daemon=True)
            self._thread.start()
            self._loop = loop
            if self.on_start is not None:
                self.on_start(loop)
        return self._loop

    def submit(self, coro: Coroutine[Any, Any, T]) -> concurrent.futures.Future[T]:
        return asyncio.run_coroutine_threadsafe(coro, self.loop)

    async def run(self, coro: Coroutine[Any, Any, T]) -> T:
        """`coro` there, awaited from the caller's loop."""
        return await asyncio.wrap_future(self.submit(coro))

    def act(self, coro: Coroutine[Any, Any, T]) -> concurrent.futures.Future[T]:
        """An action there, kept until it ends so that `shutdown` can cancel it."""
        future = self.submit(coro)
        self._actions.add(future)
        future.add_done_callback(self._actions.discard)
        return future

    def shutdown(self, timeout: float, closing: Callable[[], Coroutine[Any, Any, None]]) -> None:
        """Cancel running actions and wait for them, run `closing()` there, stop the loop.

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
            asyncio.run_coroutine_threadsafe(closing(), loop).result(timeout)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(5)
        if not thread.is_alive():
            loop.close()
        self._loop = self._thread = None
