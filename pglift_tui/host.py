"""Every PostgreSQL server of this host, whoever made it, and the one way to act on one.

`instances.ls` keeps pglift's meaning (the instances of the settings' layout); this is
the host-wide listing the CLI, `check` and the dashboard use. Each manager answers for
the servers it knows; names are resolved across them; every action, from the
dashboard, the CLI or a remote client, goes through `Host.run`: the manager is asked
whether it may (`can`), then does it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from .exceptions import AmbiguousName, InstanceNotFound, InstanceStateError
from .managers import Manager, Outcome, Refusal, ServerFiles
from .managers.pglift import PgliftManager
from .managers.unmanaged import UnmanagedManager
from .models import interface
from .models.interface import InstanceListItem, ManagerName
from .settings import Settings

__all__ = ["AmbiguousName", "Host", "PortClash", "port_clashes"]


@dataclass(frozen=True)
class PortClash:
    """A Debian cluster and an instance of ours configured on the same port: one of them
    will not start while the other runs (pg_createcluster does not see our stopped ones)."""

    port: int
    debian: InstanceListItem
    ours: InstanceListItem

    def __str__(self) -> str:
        return (
            f"port {self.port}: Debian cluster {self.debian.version}/{self.debian.name} "
            f"and instance {self.ours.key} are both configured on it"
        )


def port_clashes(items: Sequence[InstanceListItem]) -> list[PortClash]:
    """The clashes among listed servers (`Host.ls()`'s result: no I/O here)."""
    ours: dict[int, list[InstanceListItem]] = {}
    for item in items:
        if item.manager == "pglift" and item.host is None:
            ours.setdefault(item.port, []).append(item)
    return [
        PortClash(item.port, item, mine)
        for item in items
        if item.manager == "debian" and item.host is None
        for mine in ours.get(item.port, ())
    ]


def _managers(settings: Settings, pglift: PgliftManager) -> list[Manager]:
    """The managers the settings' discovery enables, ours first."""
    found: list[Manager] = [pglift]
    if settings.discovery.debian:
        from .managers.debian import DebianManager

        found.append(DebianManager(settings))
    if settings.discovery.unmanaged:
        found.append(UnmanagedManager(settings))
    return found


class Host:
    """The servers of this host, through the managers the settings enable."""

    def __init__(self, settings: Settings, managers: Sequence[Manager] | None = None) -> None:
        self.settings = settings
        #: Ours: the only manager that creates servers.
        self.pglift = PgliftManager(settings)
        found: Sequence[Manager] = managers if managers is not None else _managers(settings, self.pglift)
        self.managers: dict[ManagerName, Manager] = {m.name: m for m in found}

    def ls(self, *, version: str | None = None) -> list[InstanceListItem]:
        """Every server, ours first, then Debian's clusters, then unmanaged postmasters.

        A postmaster found in the process table is dropped when another manager
        lists its data directory: it is that manager's server, not an unknown one.
        """
        items: list[InstanceListItem] = []
        for manager in self.managers.values():
            if not isinstance(manager, UnmanagedManager):
                items.extend(manager.discover())
        unmanaged = self.managers.get("unmanaged")
        if isinstance(unmanaged, UnmanagedManager):
            items.extend(unmanaged.discover(besides=items))
        if version is not None:
            items = [item for item in items if item.version == version]
        return items

    def port_clashes(self) -> list[PortClash]:
        return port_clashes(self.ls())

    def find(self, key: str) -> InstanceListItem:
        """The server whose `key` is given, as it is now."""
        for item in self.ls():
            if item.key == key:
                return item
        raise InstanceNotFound(f"{key} not found", hint="it may have been dropped meanwhile; list with ls")

    def resolve(
        self, name: str, *, version: str | None = None, manager: ManagerName | None = None
    ) -> InstanceListItem:
        """The one server called `name`; an error listing the candidates if several are."""
        matches = [
            item
            for item in self.ls()
            if item.name == name
            and (version is None or item.version == version)
            and (manager is None or item.manager == manager)
        ]
        if not matches:
            where = " ".join(
                part for part in (f"version {version}" if version else "", manager or "") if part
            )
            raise InstanceNotFound(
                f"instance {name!r} not found" + (f" ({where})" if where else ""),
                hint="list instances with ls",
            )
        if len(matches) > 1:
            listed = ", ".join(f"{m.manager} {m.version}/{m.name}" for m in matches)
            managers = {m.manager for m in matches}
            hint = "give --manager" if len(managers) > 1 else "give --version"
            if len(managers) > 1 and len({m.version for m in matches}) > 1:
                hint = "give --manager and --version"
            raise AmbiguousName(f"{len(matches)} servers are called {name!r}: {listed}", hint=hint)
        return matches[0]

    def manager(self, item: InstanceListItem) -> Manager:
        try:
            return self.managers[item.manager]
        except KeyError:
            raise InstanceStateError(
                f"{item.key}: {item.manager} servers are not operated here",
                hint=f"turn {item.manager} discovery on in the settings",
            ) from None

    def can(self, action: str, item: InstanceListItem) -> Refusal | None:
        if action == "acknowledge":
            return None  # the host's health state, whoever manages the server
        return self.manager(item).can(action, item)

    async def run(self, action: str, key: str, **options: Any) -> Outcome:
        """Do `action` on the server `key` ("15/main"); what happened, in words.

        A refusal is an InstanceStateError with the manager's reason; an action that
        would change nothing ("already running") is that outcome, not an error.
        """
        if action == "create":
            manifest: interface.Instance = options["manifest"]
            return await self.pglift.create(manifest)
        item = self.find(key)
        if action == "acknowledge":
            return self._acknowledge(item, options["findings"])
        manager = self.manager(item)
        refusal = manager.can(action, item)
        if refusal is not None:
            if refusal.noop:
                return Outcome(refusal.reason, changed=False)
            raise InstanceStateError(f"{key}: cannot {action}: {refusal.reason}", hint=refusal.hint)
        return await manager.run(action, item, options)

    def _acknowledge(self, item: InstanceListItem, findings: Sequence[tuple[str, str]]) -> Outcome:
        """Mute the findings (check, severity) an operator saw on a server, whoever manages
        it: until their severity changes, or they clear and come back. Journaled."""
        from .health import state

        done = [
            check
            for check, severity in findings
            if state.acknowledge(self.settings, item.key, check, severity, manager=item.manager)  # type: ignore[arg-type]
        ]
        if not done:
            return Outcome("acknowledged already", changed=False)
        return Outcome(f"acknowledged: {', '.join(done)}")

    def conninfo(self, item: InstanceListItem, **extra: Any) -> str:
        return self.manager(item).conninfo(item, **extra)

    async def describe(self, item: InstanceListItem) -> dict[str, Any]:
        """What `get` prints about `item`."""
        return await self.manager(item).describe(item)

    def files(self, item: InstanceListItem) -> ServerFiles:
        return self.manager(item).files(item)
