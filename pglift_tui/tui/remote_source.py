"""The dashboard's source over many hosts: one ssh channel each (`pglift_tui.remote`).

`RemoteSource` is a `Source` like `LiveSource`: the table does not know a row came
over SSH. Channels live on an event loop of their own, in a background thread, where
each host's pushed changes are applied as they come; `snapshot()` only merges what is
there (every host's rows, `item.host` set to its inventory name, so `db1:15/main` and
`db2:15/main` never clash), after waiting once, at the start, for every host to answer
or fail. `run` and `detail` go to the key's host, where `Host.run` runs under that
host's locks. `hosts()` says, per host, what the header shows: connected, connecting
or unreachable (in ssh's words), latency, instances.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from .. import journal, troubleshoot
from ..detail import Detail
from ..exceptions import ConfigurationError
from ..inspect import Overview
from ..managers import Outcome, Refusal
from ..models.interface import InstanceListItem
from ..monitor import InstanceView
from ..remote import protocol
from ..remote.client import BACKOFF, Channel, HostState
from ..remote.fleet import Fleet
from ..remote.inventory import InventoryHost
from .background import BackgroundLoop
from .source import Source

T = TypeVar("T")
#: Seconds an interrupted action may take to undo what it did when the dashboard quits.
ACTION_GRACE = 30.0

__all__ = ["HostState", "RemoteDetail", "RemoteSource"]


class RemoteSource:
    def __init__(
        self,
        hosts: Sequence[InventoryHost],
        *,
        refresh: float = 2.0,
        control: Path | None = None,
        backoff: tuple[float, float] = BACKOFF,
    ) -> None:
        self.refresh = refresh
        self.fleet = Fleet(hosts, control=control, backoff=backoff)
        self._kept: list[concurrent.futures.Future[None]] = []
        self.background = BackgroundLoop("pglift-tui-fleet", on_start=self._keep)
        self._first = True
        #: How long the first snapshot waits for the slowest host: its connect timeout, and
        #: time for the far end to start; a host slower than that fills in later.
        self.settle_timeout = max(h.connect_timeout for h in hosts) + 10 if hosts else 0

    # -- the channels' loop ------------------------------------------------------------------
    def _keep(self, loop: asyncio.AbstractEventLoop) -> None:
        """Each channel kept open, on the loop as it starts."""
        self._kept = [asyncio.run_coroutine_threadsafe(c.keep(self.refresh), loop) for c in self.channels()]

    def channels(self) -> list[Channel]:
        return list(self.fleet.channels.values())

    # -- Source ----------------------------------------------------------------------------------
    async def snapshot(self) -> list[InstanceView]:
        """Every host's rows as they are now; the first call waits for each host to answer
        (its whole table) or fail, within its connect timeout."""
        if self._first:
            self._first = False

            async def settled() -> None:
                waits = [c.settled.wait() for c in self.channels()]
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(asyncio.gather(*waits), self.settle_timeout)

            await self.background.run(settled())
        return [view for channel in self.channels() for view in channel.views]

    def hosts(self) -> list[HostState]:
        """Each host's state for the header, in inventory order (no I/O)."""
        return [c.host_state() for c in self.channels()]

    def events(self, limit: int) -> list[journal.Event]:
        """Every answering host's journal, merged newest first; instances named host:key."""

        async def gather() -> list[journal.Event]:
            answers, _ = await self.fleet.each("events", {"limit": limit})
            found = []
            for name, data in answers.items():
                for event in protocol.load(data, list[journal.Event]):
                    found.append(event.model_copy(update={"instance": f"{name}:{event.instance}"}))
            return sorted(found, key=lambda e: e.time, reverse=True)[:limit]

        return self.background.submit(gather()).result(60)

    def versions(self) -> list[str]:
        """PostgreSQL versions installed on any answering host, newest first."""

        async def gather() -> list[str]:
            answers, _ = await self.fleet.each("versions")
            return sorted({v for found in answers.values() for v in found}, key=int, reverse=True)

        return self.background.submit(gather()).result(60)

    def can(self, action: str, item: InstanceListItem) -> Refusal | None:
        if item.host is None or item.host not in self.fleet.channels:
            return Refusal("not a row of this fleet")
        return self.fleet.channels[item.host].can(action, item.key)

    async def run(self, action: str, key: str, **options: Any) -> Outcome:
        """`Host.run` on the key's host, under its locks there; an upgrade's steps come back
        as they happen; cancelling the caller cancels the action there (it undoes what it began)."""
        channel, far = self._route(action, key)
        on_step = options.pop("on_step", None)
        if action == "create":
            manifest = options["manifest"]
            if manifest.surole_password is not None or manifest.replrole_password is not None:
                raise ConfigurationError(
                    "a password is not sent to another host",
                    hint=f"create it without one, then set it on {channel.name} (pglift-tui apply there)",
                )
            options["manifest"] = manifest.model_dump(mode="json")

        def stepped(params: dict[str, Any]) -> None:
            from ..instances import Step

            assert on_step is not None
            elapsed = float(params.get("elapsed", 0.0))
            on_step(Step(params["name"], params["state"], elapsed, str(params.get("detail", ""))))

        if on_step is not None:
            options["steps"] = True
        params = {"action": action, "key": far, "options": options}
        future = self.background.act(channel.call("run", params, on_step=stepped if on_step else None))
        answer = await asyncio.wrap_future(future)
        return Outcome(
            answer["word"], bool(answer.get("changed", True)), tuple(answer.get("lines", ())),
            protocol.decode(answer.get("data")),
        )  # fmt: skip

    def _route(self, action: str, key: str) -> tuple[Channel, str]:
        if action == "create" and ":" not in key.partition("/")[0]:
            names = self.fleet.names()
            if len(names) != 1:
                raise ConfigurationError(
                    f"{key}: which host? the fleet has {len(names)}",
                    hint="create it on its host (pglift-tui apply there), or open the dashboard on one host",
                )
            return self.fleet.channels[names[0]], key
        return self.fleet.route(key)

    def detail(self, key: str) -> Detail:
        """The detail screen's reads, from the key's host (blocking: called in a thread)."""
        channel, far = self.fleet.route(key)
        answer = self.background.submit(channel.call("detail.open", {"key": far}, timeout=60)).result(65)
        return RemoteDetail(self, channel, key, int(answer["id"]))

    async def close(self) -> None:
        await asyncio.to_thread(self.shutdown, ACTION_GRACE)

    def shutdown(self, timeout: float) -> None:
        """Cancel running actions (they undo what they must, there), close every channel."""

        async def closing() -> None:
            await self.fleet.close()
            for kept in self._kept:
                kept.cancel()

        self.background.shutdown(timeout, closing)


class RemoteDetail:
    """An instance's detail screen, read on its host (one connection there, for the screen)."""

    def __init__(self, source: RemoteSource, channel: Channel, key: str, ident: int) -> None:
        self.key = key
        self._source = source
        self._channel = channel
        self._id = ident

    async def _read(self, what: str, kind: Any, **extra: Any) -> Any:
        answer = await self._source.background.run(
            self._channel.call(f"detail.{what}", {"id": self._id, **extra}, timeout=30)
        )
        return protocol.load(answer, kind)

    async def overview(self) -> Overview:
        return await self._read("overview", Overview)  # type: ignore[no-any-return]

    async def settings(self) -> list[dict[str, Any]]:
        return await self._read("settings", list[dict[str, Any]])  # type: ignore[no-any-return]

    async def file_settings(self) -> list[dict[str, Any]]:
        return await self._read("file_settings", list[dict[str, Any]])  # type: ignore[no-any-return]

    async def activity(self) -> list[dict[str, Any]]:
        return await self._read("activity", list[dict[str, Any]])  # type: ignore[no-any-return]

    async def log_lines(self) -> list[str]:
        return await self._read("log_lines", list[str])  # type: ignore[no-any-return]

    async def history(self, limit: int) -> list[journal.Event]:
        return await self._read("history", list[journal.Event], limit=limit)  # type: ignore[no-any-return]

    async def locks(self) -> list[troubleshoot.LockNode]:
        return await self._read("locks", list[troubleshoot.LockNode])  # type: ignore[no-any-return]

    async def replication(self) -> troubleshoot.ReplicationState:
        return await self._read("replication", troubleshoot.ReplicationState)  # type: ignore[no-any-return]

    async def progress(self) -> list[dict[str, Any]]:
        return await self._read("progress", list[dict[str, Any]])  # type: ignore[no-any-return]

    async def statements(self) -> troubleshoot.Statements:
        return await self._read("statements", troubleshoot.Statements)  # type: ignore[no-any-return]

    async def close(self) -> None:
        with contextlib.suppress(Exception):
            await self._read("close", dict[str, Any])


if TYPE_CHECKING:  # mypy proves both satisfy the protocols the dashboard reads through

    def _is_source(source: RemoteSource) -> Source:
        return source

    def _is_detail(detail: RemoteDetail) -> Detail:
        return detail
