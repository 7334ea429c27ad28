"""`pglift-tui serve --stdio`: this host, answered over stdin and stdout (the far end).

Run by ssh for a fleet client, it is the same core a local dashboard uses: `Host` for
the listing, `Monitor` for the live views and their health, `Host.run` for actions,
under the same per-instance locks (a fleet dashboard, a local one and a cron job never
act at once), journaled here with the operator's SSH identity. It opens no port and
ends with its channel: stdin closing cancels what runs (an action undoes what it
began) and exits.

`remote.stdio` runs it on the process's stdin and stdout.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import Awaitable, Callable
from typing import Any

from .. import __version__, journal
from ..exceptions import InstanceStateError
from ..host import Host
from ..managers import ACTIONS, Outcome
from ..models.interface import InstanceListItem
from ..monitor import InstanceView, Monitor
from ..settings import Settings
from . import protocol
from .protocol import ProtocolError

#: Seconds running actions get to undo what they began when the channel closes.
ACTION_GRACE = 30.0
#: The actions whose refusals travel with each view (the near end's `can` reads them).
ASKED = tuple(a for a in ACTIONS if a != "create")
REFUSAL = tuple[str, bool, str | None]


def refusals(host: Host, item: InstanceListItem) -> dict[str, REFUSAL]:
    """What `can` says of each action on `item`, as the near end needs it without I/O."""
    found = {}
    for action in ASKED:
        refusal = host.can(action, item)
        if refusal is not None:
            found[action] = (refusal.reason, refusal.noop, refusal.hint)
    return found


class Server:
    """One channel's far end: requests in, responses and notifications out."""

    def __init__(self, settings: Settings, write: Callable[[bytes], Awaitable[None]]) -> None:
        self.settings = settings
        self.host = Host(settings)
        self.monitor = Monitor(settings, host=self.host)
        self._write = write
        self._greeted = False
        #: Requests being answered: id -> (method, task).
        self._tasks: dict[Any, tuple[str, asyncio.Task[None]]] = {}
        self._snapshotting = asyncio.Lock()
        self._subscription: asyncio.Task[None] | None = None
        self._sent: dict[str, tuple[InstanceView, dict[str, REFUSAL]]] = {}
        self._seq = 0
        self._details: dict[int, Any] = {}
        self._next_detail = 0
        self.METHODS: dict[str, Callable[[dict[str, Any], Any], Awaitable[Any]]] = {
            "hello": self.hello,
            "ping": self.ping,
            "ls": self.ls,
            "snapshot": self.snapshot,
            "subscribe": self.subscribe,
            "get": self.get,
            "check": self.check,
            "run": self.run,
            "events": self.events,
            "versions": self.versions,
            "detail.open": self.detail_open,
            "detail.close": self.detail_close,
        }
        for what in DETAIL_READS:
            self.METHODS[f"detail.{what}"] = self._detail_read(what)

    async def send(self, message: bytes) -> None:
        await self._write(message)

    # -- dispatch --------------------------------------------------------------------------
    async def handle(self, raw: bytes) -> None:
        try:
            message = protocol.parse(raw)
        except ProtocolError as exc:
            await self.send(protocol.error(None, protocol.PARSE_ERROR, exc.message))
            return
        method, ident, params = message.get("method"), message.get("id"), message.get("params") or {}
        if method == "$/cancel":
            running = self._tasks.get(params.get("id"))
            if running is not None:
                running[1].cancel()
            return
        if not isinstance(method, str) or not isinstance(params, dict):
            await self.send(
                protocol.error(ident, protocol.INVALID_REQUEST, "a request needs a method and params")
            )
            return
        if not self._greeted and method != "hello":
            await self.send(protocol.error(ident, protocol.INVALID_REQUEST, "say hello first"))
            return
        handler = self.METHODS.get(method)
        if handler is None:
            await self.send(protocol.error(ident, protocol.METHOD_NOT_FOUND, f"no method {method!r}"))
            return
        if method == "hello":  # answered before anything else is read
            await self._answer(ident, handler, params)
            return
        key = ident if ident is not None else object()
        task = asyncio.ensure_future(self._answer(ident, handler, params))
        self._tasks[key] = (method, task)
        task.add_done_callback(lambda _: self._tasks.pop(key, None))

    async def _answer(
        self, ident: Any, handler: Callable[..., Awaitable[Any]], params: dict[str, Any]
    ) -> None:
        try:
            value = await handler(params, ident)
        except asyncio.CancelledError:
            if ident is not None:
                await self.send(protocol.error(ident, protocol.CORE_ERROR, "cancelled before it ended",
                                               {"type": "Error"}))  # fmt: skip
            raise
        except Exception as exc:
            if ident is not None:
                await self.send(protocol.error(ident, *protocol.error_data(exc)))
            return
        if ident is not None:
            await self.send(protocol.result(ident, value))

    # -- methods ---------------------------------------------------------------------------
    async def hello(self, params: dict[str, Any], _: Any) -> dict[str, Any]:
        theirs = params.get("protocol")
        if theirs not in protocol.SUPPORTED:
            raise protocol.mismatch(
                "this host", "the client", protocol.PROTOCOL, theirs, params.get("version")
            )
        self._greeted = True
        from ..locks import os_user

        operator = params.get("operator")
        if isinstance(operator, str) and operator:
            IDENTITY["operator"] = operator[:200]
        return {"protocol": protocol.PROTOCOL, "version": __version__, "hostname": socket.gethostname(),
                "user": os_user()}  # fmt: skip

    async def ping(self, params: dict[str, Any], _: Any) -> dict[str, Any]:
        return {}

    async def ls(self, params: dict[str, Any], _: Any) -> Any:
        version = params.get("version")
        if version is not None:
            from .. import binaries
            from ..exceptions import InvalidVersion

            if not str(version).isdigit():
                raise InvalidVersion(f"invalid version {version!r}", hint="give a major version such as '15'")
            binaries.check_version(self.settings, str(version))
        items = await asyncio.to_thread(self.host.ls, version=version)
        return protocol.dump(items, list[InstanceListItem], exclude_defaults=True)

    def _wire(self, view: InstanceView, refused: dict[str, REFUSAL]) -> Any:
        data = protocol.dump(view, InstanceView, exclude_defaults=True)
        if refused:
            data["refusals"] = protocol.encode(refused)
        return data

    async def snapshot(self, params: dict[str, Any], _: Any) -> Any:
        async with self._snapshotting:
            views = await self.monitor.snapshot()
        return [self._wire(v, refusals(self.host, v.item)) for v in views]

    async def subscribe(self, params: dict[str, Any], _: Any) -> Any:
        """The whole table now; then a `views` notification after each refresh that
        changed something (changed views, removed keys): an idle refresh sends nothing."""
        interval = float(params.get("interval", 2.0))
        if interval <= 0:
            raise ProtocolError(f"invalid interval {interval:g}")
        if self._subscription is not None:
            self._subscription.cancel()
        async with self._snapshotting:
            views = await self.monitor.snapshot()
            self._sent = {v.key: (v, refusals(self.host, v.item)) for v in views}
            first = [self._wire(v, r) for v, r in self._sent.values()]
        self._subscription = asyncio.ensure_future(self._push(interval))
        return first

    async def _push(self, interval: float) -> None:
        while True:
            await asyncio.sleep(interval)
            try:
                await self.push_changes()
            except Exception as exc:  # a failed refresh is told, and the next one tried
                _, message, data = protocol.error_data(exc)
                await self.send(protocol.notification("refresh_failed", {"message": message, **data}))

    async def push_changes(self) -> None:
        """One refresh: what changed since the last one pushed, or nothing at all."""
        if self._subscription is None:
            return
        async with self._snapshotting:
            views = await self.monitor.snapshot()
            now = {v.key: (v, refusals(self.host, v.item)) for v in views}
            changed = [self._wire(*pair) for key, pair in now.items() if self._sent.get(key) != pair]
            removed = [key for key in self._sent if key not in now]
            self._sent = now
            self._seq += 1
            if changed or removed:
                params = {"seq": self._seq, "changed": changed, "removed": removed}
                await self.send(protocol.notification("views", params))

    async def get(self, params: dict[str, Any], _: Any) -> Any:
        item = await asyncio.to_thread(self.host.find, str(params["key"]))
        return protocol.encode(await self.host.describe(item))

    async def check(self, params: dict[str, Any], _: Any) -> Any:
        from ..health import Report, runner, state

        name, version = params.get("name"), params.get("version")
        reports = await runner.run(self.settings, name=name, version=version)
        complete = name is None and version is None
        await asyncio.to_thread(state.record, self.settings, reports, complete=complete)
        return protocol.dump(reports, list[Report])

    async def run(self, params: dict[str, Any], ident: Any) -> Any:
        action, key = str(params.get("action")), str(params.get("key"))
        options = dict(params.get("options") or {})
        if action not in ACTIONS:
            raise ProtocolError(f"unknown action {action!r}")
        if action == "create":
            from ..models.interface import Instance

            options["manifest"] = Instance.model_validate(options["manifest"])
        if options.pop("steps", False):
            options["on_step"] = self._stepper(ident)
        try:
            outcome = await self.host.run(action, key, **options)
        finally:
            # What the action changed reaches the client before its answer does.
            await self.push_changes()
        return protocol.dump(outcome, Outcome) | {"data": protocol.encode(outcome.data, tuples=True)}

    def _stepper(self, ident: Any) -> Callable[[Any], None]:
        loop = asyncio.get_running_loop()

        def step(event: Any) -> None:  # may be called from a worker thread
            params = {"id": ident, "name": event.name, "state": event.state, "elapsed": event.elapsed,
                      "detail": getattr(event, "detail", "")}  # fmt: skip
            message = protocol.notification("step", params)
            loop.call_soon_threadsafe(lambda: asyncio.ensure_future(self.send(message)))

        return step

    async def events(self, params: dict[str, Any], _: Any) -> Any:
        limit = int(params.get("limit", 200))
        found = await asyncio.to_thread(journal.read, self.settings, limit=limit)
        return protocol.dump(found, list[journal.Event])

    async def versions(self, params: dict[str, Any], _: Any) -> Any:
        from .. import binaries

        return await asyncio.to_thread(lambda: [v.version for v in binaries.available(self.settings)])

    # -- the detail screen's reads ----------------------------------------------------------
    async def detail_open(self, params: dict[str, Any], _: Any) -> Any:
        from ..detail import LiveDetail

        item = await asyncio.to_thread(self.host.find, str(params["key"]))
        self._next_detail += 1
        self._details[self._next_detail] = LiveDetail(self.host, item, asyncio.get_running_loop())
        return {"id": self._next_detail}

    async def detail_close(self, params: dict[str, Any], _: Any) -> Any:
        detail = self._details.pop(int(params.get("id", 0)), None)
        if detail is not None:
            await detail.close()
        return {}

    def _detail_read(self, what: str) -> Callable[[dict[str, Any], Any], Awaitable[Any]]:
        kind = DETAIL_READS[what]

        async def read(params: dict[str, Any], _: Any) -> Any:
            detail = self._details.get(int(params.get("id", 0)))
            if detail is None:
                raise InstanceStateError("that detail screen is closed", hint="open the instance again")
            args = [int(params.get("limit", 50))] if what == "history" else []
            return protocol.dump(await getattr(detail, what)(*args), kind)

        return read

    # -- the end -----------------------------------------------------------------------------
    async def close(self) -> None:
        """The channel closed: cancel running actions (they undo what they began), let the
        reads asked before the end finish, close everything."""
        if self._subscription is not None:
            self._subscription.cancel()
        tasks = [task for _, task in self._tasks.values()]
        for method, task in self._tasks.values():
            if method == "run":
                task.cancel()
        if tasks:
            await asyncio.wait(tasks, timeout=ACTION_GRACE)
        for detail in self._details.values():
            with contextlib.suppress(Exception):
                await detail.close()
        with contextlib.suppress(Exception):
            await self.monitor.close()


def _detail_reads() -> dict[str, Any]:
    from .. import troubleshoot
    from ..inspect import Overview

    rows = list[dict[str, Any]]
    return {
        "overview": Overview,
        "settings": rows,
        "file_settings": rows,
        "activity": rows,
        "log_lines": list[str],
        "history": list[journal.Event],
        "locks": list[troubleshoot.LockNode],
        "replication": troubleshoot.ReplicationState,
        "progress": rows,
        "statements": troubleshoot.Statements,
    }


DETAIL_READS = _detail_reads()
#: Who acts through this process (set once the channel is open): the journal's details.
IDENTITY: dict[str, str] = {}
