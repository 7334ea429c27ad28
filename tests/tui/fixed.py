"""Test doubles for pictures: a source of fixed core models that never moves or acts.

They live in the tests, not in the package: the product only ever shows real servers.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from pglift_tui import journal, troubleshoot
from pglift_tui.inspect import Overview
from pglift_tui.managers import Outcome, Refusal
from pglift_tui.managers.pglift import PgliftManager
from pglift_tui.models.interface import InstanceListItem
from pglift_tui.monitor import InstanceView
from pglift_tui.settings import Settings


class FixedDetail:
    """Fixed answers for pictures."""

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

    async def log_lines(self) -> list[str]:
        if self._log_sent:
            return []
        self._log_sent = True
        return list(self.data.get("log", []))

    async def history(self, limit: int) -> list[journal.Event]:
        return list(self.data.get("history", []))[:limit]

    async def locks(self) -> list[troubleshoot.LockNode]:
        return list(self.data.get("locks", []))

    async def replication(self) -> troubleshoot.ReplicationState:
        state: troubleshoot.ReplicationState = self.data.get("replication") or troubleshoot.ReplicationState(
            False
        )
        return state

    async def progress(self) -> list[dict[str, Any]]:
        return list(self.data.get("progress", []))

    async def statements(self) -> troubleshoot.Statements:
        found: troubleshoot.Statements = self.data.get("statements") or troubleshoot.Statements(
            [], "not installed"
        )
        return found

    async def close(self) -> None:
        return None


class FixedSource:
    """Fixed views and events; what may be done is the core's own verdict on them."""

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
        #: HostState of each host, for pictures of a fleet.
        self.host_states: list[Any] = []
        self._manager = PgliftManager(Settings(prefix="/nonexistent", run_prefix="/nonexistent"))

    def detail(self, key: str) -> FixedDetail:
        return FixedDetail(key, self.details.get(key, {"overview": Overview(running=False)}))

    async def snapshot(self) -> list[InstanceView]:
        return list(self.views)

    def events(self, limit: int) -> list[journal.Event]:
        return self.journal[:limit]

    def versions(self) -> list[str]:
        found = set(self.installed) | {view.item.version for view in self.views}
        return sorted(found, key=int, reverse=True) or ["15"]

    def can(self, action: str, item: InstanceListItem) -> Refusal | None:
        return self._manager.can(action, item)

    async def run(self, action: str, key: str, **options: Any) -> Outcome:
        raise RuntimeError("a fixed source cannot act")

    def hosts(self) -> list[Any]:
        return list(self.host_states)

    async def close(self) -> None:
        return None

    def shutdown(self, timeout: float) -> None:
        return None
