"""Every PostgreSQL server of this host, whoever made it, and the one way to act on one.

`instances.ls` keeps pglift's meaning (the instances of the settings' layout); this is
the host-wide listing the CLI, `check` and the dashboard use. Each manager answers for
the servers it knows; names are resolved across them; every action, from the
dashboard, the CLI or a remote client, goes through `Host.run`: the manager is asked
whether it may (`can`), then does it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from .exceptions import Error, InstanceNotFound, InstanceStateError
from .managers import Manager, Outcome, Refusal, ServerFiles
from .managers.pglift import PgliftManager
from .models import interface
from .models.interface import InstanceListItem, ManagerName
from .settings import Settings


class AmbiguousName(Error, LookupError):
    """A name that two managers (or two versions) know: the caller must say which."""


class Host:
    """The servers of this host, through the managers the settings enable."""

    def __init__(self, settings: Settings, managers: Sequence[Manager] | None = None) -> None:
        self.settings = settings
        #: Ours: the only manager that creates servers.
        self.pglift = PgliftManager(settings)
        found: Sequence[Manager] = managers if managers is not None else (self.pglift,)
        self.managers: dict[ManagerName, Manager] = {m.name: m for m in found}

    def ls(self, *, version: str | None = None) -> list[InstanceListItem]:
        """Every server, ours first, then by version and name."""
        items: list[InstanceListItem] = []
        for manager in self.managers.values():
            items.extend(manager.discover())
        if version is not None:
            items = [item for item in items if item.version == version]
        return items

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
        manager = self.manager(item)
        refusal = manager.can(action, item)
        if refusal is not None:
            if refusal.noop:
                return Outcome(refusal.reason, changed=False)
            raise InstanceStateError(f"{key}: cannot {action}: {refusal.reason}")
        return await manager.run(action, item, options)

    def conninfo(self, item: InstanceListItem, **extra: Any) -> str:
        return self.manager(item).conninfo(item, **extra)

    def files(self, item: InstanceListItem) -> ServerFiles:
        return self.manager(item).files(item)
