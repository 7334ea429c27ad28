"""What workers tell the screens: a refresh arrived, an action started, progressed, ended."""

from __future__ import annotations

from dataclasses import dataclass, field

from textual.message import Message

from ..managers import Outcome
from ..monitor import InstanceView


@dataclass
class FleetRefreshed(Message):
    """A new snapshot of every instance; a newer one replaces an unhandled older one."""

    views: list[InstanceView]
    #: Wall-clock time of the snapshot, from the app's clock.
    taken_at: float
    #: When the snapshot began (time.monotonic): what it says of a row predates an
    #: action that ended after this.
    began: float = 0.0

    def can_replace(self, message: Message) -> bool:
        return isinstance(message, FleetRefreshed)


@dataclass
class ActionStarted(Message):
    key: str
    action: str


@dataclass
class ActionSucceeded(Message):
    key: str
    action: str
    outcome: Outcome


@dataclass
class ActionFailed(Message):
    key: str
    action: str
    message: str
    hint: str | None = None
    log_lines: list[str] = field(default_factory=list)


@dataclass
class ActionProgress(Message):
    """A step of a long action (an upgrade) began or ended."""

    key: str
    step: str
    state: str
    elapsed: float = 0.0
