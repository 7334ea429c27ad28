"""The near end: one ssh channel per host, its requests, and the views it pushes.

A `Channel` runs `ssh HOST pglift-tui serve --stdio`, says hello, and then either
answers the CLI's calls (`open` once, `call`, `close`) or, for the dashboard, `keep`s
the channel: subscribe, apply each pushed change, ping for latency, and when the
channel ends (ssh's words on stderr say why) mark the host unreachable, keep its last
rows with that reason, and reconnect with a growing delay. One host's trouble is that
host's state; no call on another channel ever waits for it.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import getpass
import itertools
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from .. import __version__
from ..exceptions import Error
from ..managers import Refusal
from ..monitor import InstanceView
from . import protocol, transport
from .inventory import InventoryHost
from .protocol import ProtocolError

State = Literal["connecting", "connected", "unreachable"]
#: Delays between reconnections: the first, then doubled up to the last.
BACKOFF = (1.0, 30.0)
#: Seconds between pings (latency; a far end that stops answering is dropped).
PING_EVERY = 2.0
PING_TIMEOUT = 10.0
#: Seconds a cancelled action gets on the far end to undo what it began.
ACTION_GRACE = 30.0


class HostUnreachable(Error):
    """The host could not be reached, or its channel ended: ssh's words say why."""


@dataclass(frozen=True)
class HostState:
    """One host as the dashboard's header shows it."""

    name: str
    state: State
    #: Round trip of the last ping, in milliseconds.
    latency_ms: float | None = None
    #: Why it is unreachable, in ssh's own words (or the far end's).
    error: str | None = None
    instances: int = 0
    #: The far end's pglift-tui version, once it said hello.
    version: str | None = None
    #: The inventory groups it belongs to (`all` left out), for the filter.
    groups: tuple[str, ...] = ()


def operator() -> str:
    """Who is at this end (claimed, for the far journal; sshd's own words are the proof)."""
    try:
        user = getpass.getuser()
    except (KeyError, OSError):
        user = "?"
    return f"{user}@{socket.gethostname()}"


class Channel:
    def __init__(
        self,
        host: InventoryHost,
        *,
        control: Path | None,
        backoff: tuple[float, float] = BACKOFF,
    ) -> None:
        self.host = host
        self.name = host.name
        self.control = control
        self.backoff = backoff
        self.state: State = "connecting"
        self.error: str | None = None
        self.latency_ms: float | None = None
        self.version: str | None = None
        #: The host's rows, `item.host` set to its inventory name, in the far end's order.
        self.views: list[InstanceView] = []
        self._views: dict[str, InstanceView] = {}
        self._refusals: dict[str, dict[str, Refusal]] = {}
        #: Set once the first table came, or the host proved unreachable.
        self.settled = asyncio.Event()
        #: Bytes read from the channel so far, and of them the pushed changes (`views`).
        self.received = 0
        self.pushed = 0
        self._proc: asyncio.subprocess.Process | None = None
        self._reader: asyncio.Task[None] | None = None
        self._stderr_task: asyncio.Task[None] | None = None
        self._stderr: collections.deque[str] = collections.deque(maxlen=20)
        self._pending: dict[int, asyncio.Future[Any]] = {}
        self._steps: dict[int, Callable[[dict[str, Any]], None]] = {}
        self._ids = itertools.count(1)
        self._closing = False
        self._stop = asyncio.Event()

    # -- the channel -------------------------------------------------------------------------
    @property
    def connected(self) -> bool:
        return self._proc is not None and self._proc.returncode is None and self.version is not None

    async def open(self) -> dict[str, Any]:
        """Start ssh and say hello; the far end's hello. Unreachable: HostUnreachable."""
        await self._end()
        self._stderr.clear()
        argv = transport.ssh_argv(self.host, self.control)
        try:
            self._proc = await asyncio.create_subprocess_exec(
                *argv,
                stdin=asyncio.subprocess.PIPE,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE,
                limit=protocol.MAX_LINE,
                env=transport.environment(),
                start_new_session=True,  # no controlling terminal: nothing can prompt
            )
        except OSError as exc:
            raise HostUnreachable(
                f"host {self.name}: cannot run ssh: {exc.strerror}", hint="install openssh-client"
            ) from None
        self._reader = asyncio.ensure_future(self._read(self._proc))
        self._stderr_task = asyncio.ensure_future(self._read_stderr(self._proc))
        wait = self.host.connect_timeout * 2 + 15  # connect, authenticate, start the far end
        said = {"protocol": protocol.PROTOCOL, "version": __version__, "operator": operator()}
        try:
            hello = await self.call("hello", said, timeout=wait, ready=True)
        except HostUnreachable as exc:
            # ssh ended (refused, no route, a key refused): its words are on stderr.
            if self._reader is not None:
                with contextlib.suppress(Exception):
                    await asyncio.wait_for(asyncio.shield(self._reader), 5)
            await self._end()
            why = self.error if self.error and self.error != "not connected" else exc.message
            raise HostUnreachable(
                f"host {self.name} is unreachable: {why.removeprefix(f'host {self.name} is unreachable: ')}"
            ) from None
        if hello.get("protocol") not in protocol.SUPPORTED:
            await self._end()
            raise protocol.mismatch("this client", f"host {self.name}", protocol.PROTOCOL,
                                    hello.get("protocol"), hello.get("version"))  # fmt: skip
        self.version = str(hello.get("version"))
        return dict(hello)

    async def call(
        self,
        method: str,
        params: dict[str, Any] | None = None,
        *,
        timeout: float | None = None,
        on_step: Callable[[dict[str, Any]], None] | None = None,
        ready: bool = False,
    ) -> Any:
        """One request and its answer; the far end's error raised as the same exception here."""
        proc = self._proc
        if proc is None or proc.stdin is None or proc.returncode is not None or not (ready or self.version):
            raise HostUnreachable(f"host {self.name} is unreachable: {self.error or 'not connected'}")
        ident = next(self._ids)
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._pending[ident] = future
        if on_step is not None:
            self._steps[ident] = on_step
        try:
            proc.stdin.write(protocol.request(ident, method, params))
            with contextlib.suppress(ConnectionError):
                await proc.stdin.drain()
            try:
                return await asyncio.wait_for(asyncio.shield(future), timeout)
            except TimeoutError:
                raise HostUnreachable(
                    f"host {self.name}: no answer to {method} within {timeout:g} s"
                ) from None
            except asyncio.CancelledError:
                self._cancel(ident)
                if method == "run":  # the far end undoes what it began; wait for it to say so
                    with contextlib.suppress(Exception):
                        await asyncio.wait_for(asyncio.shield(future), ACTION_GRACE)
                raise
        finally:
            self._pending.pop(ident, None)
            self._steps.pop(ident, None)

    def _cancel(self, ident: int) -> None:
        proc = self._proc
        if proc is not None and proc.stdin is not None and proc.returncode is None:
            with contextlib.suppress(Exception):
                proc.stdin.write(protocol.notification("$/cancel", {"id": ident}))

    async def _read(self, proc: asyncio.subprocess.Process) -> None:
        assert proc.stdout is not None
        try:
            while True:
                try:
                    raw = await proc.stdout.readline()
                except ValueError:
                    self.error = "a message longer than the protocol allows"
                    break
                if not raw:
                    break
                self.received += len(raw)
                try:
                    self._dispatch(protocol.parse(raw), len(raw))
                except ProtocolError as exc:
                    self._stderr.append(exc.message)
        finally:
            if self._stderr_task is not None:
                with contextlib.suppress(Exception):
                    await asyncio.wait_for(asyncio.shield(self._stderr_task), 2)
            why = transport.ssh_words(list(self._stderr))
            self._lost(why)

    async def _read_stderr(self, proc: asyncio.subprocess.Process) -> None:
        assert proc.stderr is not None
        while True:
            raw = await proc.stderr.readline()
            if not raw:
                return
            self._stderr.append(raw.decode(errors="replace").rstrip())

    def _dispatch(self, message: dict[str, Any], size: int = 0) -> None:
        ident = message.get("id")
        if "result" in message or "error" in message:
            future = self._pending.get(ident) if isinstance(ident, int) else None
            if future is None or future.done():
                return
            if "error" in message:
                future.set_exception(protocol.rebuild(message["error"], f"host {self.name}"))
            else:
                future.set_result(message["result"])
            return
        params = message.get("params") or {}
        method = message.get("method")
        if method == "views":
            self.pushed += size
            self._apply(params.get("changed", []), params.get("removed", []))
        elif method == "step":
            step = self._steps.get(params.get("id"))  # type: ignore[arg-type]
            if step is not None:
                step(params)
        elif method == "refresh_failed":
            self._stderr.append(str(params.get("message")))

    def _lost(self, why: str) -> None:
        """The channel ended: every pending call fails with ssh's words; rows keep the reason."""
        was = self.version is not None
        self.version = None
        if not self._closing:
            self.error = why if not was else f"connection lost: {why}"
        for future in self._pending.values():
            if not future.done():
                future.set_exception(HostUnreachable(f"host {self.name} is unreachable: {self.error or why}"))
        if self.views:
            said = f"host unreachable: {self.error or why}"
            self._views = {k: InstanceView(v.item, tps=v.tps, error=said) for k, v in self._views.items()}
            self.views = list(self._views.values())
        self.state = "unreachable"
        self.latency_ms = None
        self.settled.set()

    async def _end(self) -> None:
        """Close the channel: the far end sees stdin close, cancels and exits; so does ssh."""
        proc, self._proc = self._proc, None
        if proc is None:
            return
        if proc.stdin is not None:
            with contextlib.suppress(Exception):
                proc.stdin.close()
        try:
            await asyncio.wait_for(proc.wait(), ACTION_GRACE if self._pending else 5)
        except TimeoutError:
            with contextlib.suppress(ProcessLookupError):
                proc.kill()
            await proc.wait()
        if self._reader is not None:
            with contextlib.suppress(Exception):
                await self._reader

    # -- the views -------------------------------------------------------------------------
    def _near(self, key: str) -> str:
        return f"{self.name}:{key}"

    def _load(self, data: dict[str, Any]) -> tuple[InstanceView, dict[str, Refusal]]:
        refused = data.pop("refusals", None) or {}
        data.setdefault("item", {})["host"] = self.name
        view: InstanceView = protocol.load(data, InstanceView)
        refusals = {a: Refusal(r[0], bool(r[1]), r[2]) for a, r in refused.items()}
        return view, refusals

    def _replace(self, wire: list[dict[str, Any]]) -> None:
        loaded = [self._load(d) for d in wire]
        self._views = {v.key: v for v, _ in loaded}
        self._refusals = {v.key: r for v, r in loaded}
        self.views = list(self._views.values())

    def _apply(self, changed: list[dict[str, Any]], removed: list[str]) -> None:
        views = dict(self._views)
        for key in removed:
            views.pop(self._near(key), None)
            self._refusals.pop(self._near(key), None)
        for data in changed:
            view, refusals = self._load(data)
            views[view.key] = view
            self._refusals[view.key] = refusals
        self._views = views
        self.views = list(views.values())

    def can(self, action: str, key: str) -> Refusal | None:
        if not self.connected:
            return Refusal(f"host {self.name} is unreachable: {self.error or 'connecting'}")
        return self._refusals.get(key, {}).get(action)

    def host_state(self) -> HostState:
        groups = tuple(sorted(self.host.groups - {"all"}))
        return HostState(
            self.name, self.state, self.latency_ms, self.error, len(self.views), self.version, groups
        )

    # -- kept open (the dashboard) -----------------------------------------------------------
    async def keep(self, interval: float) -> None:
        """Subscribe, follow, and reconnect with a growing delay until `close`."""
        delay = self.backoff[0]
        while not self._closing:
            self.state = "connecting"
            pinger: asyncio.Task[None] | None = None
            try:
                await self.open()
                first = await self.call("subscribe", {"interval": interval}, timeout=60)
                self._replace(first)
                self.state, self.error, delay = "connected", None, self.backoff[0]
                self.settled.set()
                pinger = asyncio.ensure_future(self._pings(max(interval, PING_EVERY)))
                assert self._reader is not None
                await self._reader
            except Error as exc:
                if not self._closing:
                    self.error = exc.message.removeprefix(f"host {self.name}: ")
            finally:
                if pinger is not None:
                    pinger.cancel()
                await self._end()
            if self._closing:
                break
            self._lost(self.error or "the connection closed")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stop.wait(), delay)
            delay = min(delay * 2, self.backoff[1])

    async def _pings(self, every: float) -> None:
        while True:
            began = time.monotonic()
            try:
                await self.call("ping", timeout=PING_TIMEOUT)
            except HostUnreachable as exc:
                self.error = exc.message
                proc = self._proc
                if proc is not None:  # stuck: drop the channel, the next one is fresh
                    with contextlib.suppress(ProcessLookupError):
                        proc.kill()
                return
            self.latency_ms = round((time.monotonic() - began) * 1000, 1)
            await asyncio.sleep(every)

    async def close(self) -> None:
        self._closing = True
        self._stop.set()
        await self._end()


def split_key(names: list[str], key: str) -> tuple[str, str]:
    """("host", "15/main") from a fleet key "host:15/main" (the longest host name that fits)."""
    for name in sorted(names, key=len, reverse=True):
        if key.startswith(name + ":"):
            return name, key[len(name) + 1 :]
    from ..exceptions import InstanceNotFound

    raise InstanceNotFound(f"{key}: no host of the inventory holds it", hint="keys read HOST:VERSION/NAME")
