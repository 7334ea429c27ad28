"""Every host of an inventory at once, for the CLI: open each channel, ask each, route by key.

Channels open concurrently, each within its own connect timeout; a host that cannot
be reached is reported by name with ssh's words while the others answer. A name is
resolved across hosts as `Host.resolve` does across managers: one match is enough,
two are an error listing both (`--host` picks), and a host that did not answer may
hold one too, so an action then needs `--host`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ..exceptions import AmbiguousName, ConfigurationError, Error, InstanceNotFound
from ..models.interface import InstanceListItem, ManagerName
from . import inventory, protocol, transport
from .client import BACKOFF, Channel, HostUnreachable, split_key
from .inventory import InventoryHost


def hosts_of(paths: Sequence[Path], limit: str | None = None) -> list[InventoryHost]:
    """The inventory's hosts that `--limit` selects."""
    return inventory.limit(inventory.load(paths), limit)


class Fleet:
    def __init__(
        self,
        hosts: Sequence[InventoryHost],
        *,
        control: Path | None = None,
        backoff: tuple[float, float] = BACKOFF,
    ) -> None:
        self.control = control if control is not None else transport.control_dir()
        self.channels = {h.name: Channel(h, control=self.control, backoff=backoff) for h in hosts}

    def names(self) -> list[str]:
        return list(self.channels)

    def channel(self, name: str) -> Channel:
        try:
            return self.channels[name]
        except KeyError:
            raise ConfigurationError(
                f"no host {name!r} in the inventory" + (" (after --limit)" if self.channels else ""),
                hint=f"hosts: {', '.join(self.channels)}",
            ) from None

    def route(self, key: str) -> tuple[Channel, str]:
        """The channel of a fleet key ("host:15/main") and the key on that host."""
        name, far = split_key(self.names(), key)
        return self.channels[name], far

    async def open(self, names: Sequence[str] | None = None) -> dict[str, Error]:
        """Open the channels (all, or those named); the hosts that failed, with why."""
        chosen = [self.channels[n] for n in (names if names is not None else self.channels)]
        done = await asyncio.gather(*(c.open() for c in chosen), return_exceptions=True)
        failed: dict[str, Error] = {}
        for channel, outcome in zip(chosen, done, strict=True):
            if isinstance(outcome, BaseException):
                if not isinstance(outcome, Error):
                    raise outcome
                if not isinstance(outcome, HostUnreachable | protocol.ProtocolError):
                    outcome = HostUnreachable(f"host {channel.name}: {outcome.message}", hint=outcome.hint)
                failed[channel.name] = outcome
        return failed

    async def each(
        self, method: str, params: dict[str, Any] | None = None, names: Sequence[str] | None = None
    ) -> tuple[dict[str, Any], dict[str, Error]]:
        """Ask every open channel (or those named) at once: answers, and the failures."""
        chosen = [self.channels[n] for n in (names if names is not None else self.channels)]
        chosen = [c for c in chosen if c.connected]
        done = await asyncio.gather(*(c.call(method, params) for c in chosen), return_exceptions=True)
        answers, failed = {}, {}
        for channel, outcome in zip(chosen, done, strict=True):
            if isinstance(outcome, Error):
                failed[channel.name] = outcome
            elif isinstance(outcome, BaseException):
                raise outcome
            else:
                answers[channel.name] = outcome
        return answers, failed

    async def ls(
        self, version: str | None = None, names: Sequence[str] | None = None
    ) -> tuple[list[InstanceListItem], dict[str, Error]]:
        """Every listed server of the hosts that answer, `host` set; and the hosts that did not."""
        if version is not None and not version.isdigit():
            from ..exceptions import InvalidVersion

            raise InvalidVersion(f"invalid version {version!r}", hint="give a major version such as '15'")
        chosen = list(names) if names is not None else self.names()
        failed = await self.open(chosen)
        # Filtered here: a host without that version installed lists nothing, it does not fail.
        answers, errors = await self.each("ls", {}, [n for n in chosen if n not in failed])
        failed |= errors
        items = []
        for name in chosen:
            for data in answers.get(name, []):
                data["host"] = name
                item = protocol.load(data, InstanceListItem)
                if version is None or item.version == version:
                    items.append(item)
        return items, failed

    async def resolve(
        self, name: str, *, version: str | None, manager: ManagerName | None, host: str | None
    ) -> tuple[Channel, InstanceListItem]:
        """The one server called `name` across the hosts (or on `host`)."""
        names = [self.channel(host).name] if host else self.names()
        items, failed = await self.ls(version, names)
        if host and host in failed:
            raise failed[host]
        matches = [i for i in items if i.name == name and (manager is None or i.manager == manager)]
        if not matches:
            where = f" on {host}" if host else ""
            if failed:
                down = ", ".join(sorted(failed))
                raise HostUnreachable(
                    f"instance {name!r} not found on the hosts that answered; unreachable: {down}",
                    hint="retry when they answer, or give --host",
                )
            raise InstanceNotFound(
                f"instance {name!r} not found{where}", hint="list instances with ls --inventory"
            )
        hosts = sorted({m.host or "" for m in matches})
        if len(matches) > 1:
            listed = ", ".join(f"{m.host} {m.manager} {m.version}/{m.name}" for m in matches)
            hint = "give --host" if len(hosts) > 1 else "give --manager or --version"
            raise AmbiguousName(
                f"{len(matches)} servers are called {name!r}: {listed}", hint=hint + f" ({', '.join(hosts)})"
            )
        if failed and not host:
            down = ", ".join(sorted(failed))
            raise AmbiguousName(
                f"{name!r} is on {hosts[0]}, but {down} did not answer and may hold one too",
                hint=f"give --host {hosts[0]}",
            )
        return self.channels[hosts[0]], matches[0]

    async def close(self) -> None:
        await asyncio.gather(*(c.close() for c in self.channels.values()), return_exceptions=True)
