"""The one table of dashboard actions: keys, labels, what asks first, what changes state.

Bindings, the help screen and the command palette are all made from it, and
`--read-only` removes every action that changes state here, in one place.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from textual.binding import Binding

if TYPE_CHECKING:
    from ..monitor import InstanceView

Confirm = Literal["no", "yes", "stop", "name"]


@dataclass(frozen=True)
class Action:
    key: str
    name: str
    label: str
    description: str
    #: Changes an instance: removed under --read-only, refused on a busy instance.
    mutates: bool = False
    #: What the operator confirms first: nothing, yes/no, a stop mode, the name typed.
    confirm: Confirm = "no"
    #: Applies to every marked row at once.
    bulk: bool = False
    #: Shown in the footer (the rest are in the help screen and the palette).
    footer: bool = True
    #: What the row says while it runs.
    progress: str = ""


ACTIONS = (
    Action("s", "start", "Start", "Start the instance (or the marked ones)",
           mutates=True, bulk=True, progress="starting"),
    Action("t", "stop", "Stop", "Stop: smart, fast or immediate, chosen when confirming",
           mutates=True, confirm="stop", bulk=True, progress="stopping"),
    Action("r", "restart", "Restart", "Restart after checking the configuration",
           mutates=True, confirm="yes", bulk=True, progress="restarting"),
    Action("R", "reload", "Reload", "Reload the configuration; rejected lines are reported",
           mutates=True, bulk=True, progress="reloading"),
    Action("p", "promote", "Promote",
           "Promote the standby: it leaves its primary for good and accepts writes",
           mutates=True, confirm="yes", footer=False, progress="promoting"),
    Action("u", "upgrade", "Upgrade",
           "Upgrade to a newer major version with pg_upgrade, checked first",
           mutates=True, confirm="yes", footer=False, progress="upgrading"),
    Action("c", "create", "New", "Create an instance from a form", mutates=True, progress="creating"),
    Action("d", "drop", "Drop", "Drop the instance: type its name to confirm",
           mutates=True, confirm="name", progress="dropping"),
    Action("enter", "open", "Open", "Open the instance: overview, settings, config, sessions, log, history",
           footer=False),
    Action("space", "mark", "Mark", "Mark or unmark the row for a bulk action", footer=False),
    Action("slash", "filter", "Filter", "Filter by name, status or role"),
    Action("e", "events", "Events", "What was done, by this dashboard and by others"),
    Action("f", "pause", "Pause", "Pause or resume the live refresh", footer=False),
    Action("ctrl+l", "refresh", "Refresh", "Refresh now", footer=False),
    Action("question_mark", "help", "Help", "All keys"),
    Action("q", "quit", "Quit", "Quit"),
)  # fmt: skip
BY_NAME = {action.name: action for action in ACTIONS}
SORT_KEYS = "123456789"


def bindings() -> list[Binding | tuple[str, str] | tuple[str, str, str]]:
    """Dashboard bindings, from the table."""
    made: list[Binding | tuple[str, str] | tuple[str, str, str]] = [
        Binding(a.key, a.name, a.label, show=a.footer, key_display="?" if a.key == "question_mark" else None)
        for a in ACTIONS
    ]
    made += [Binding(digit, f"sort({i})", "Sort", show=False) for i, digit in enumerate(SORT_KEYS)]
    return made


def allowed(name: str, *, read_only: bool) -> bool:
    """False: hide it (it changes an instance, in read-only mode)."""
    action = BY_NAME.get(name)
    return not (action is not None and action.mutates and read_only)


def pointless(action: str, view: InstanceView) -> bool:
    """Whether `action` would do nothing on this instance (shown dimmed, not hidden)."""
    running = view.item.status == "running"
    if action == "start":
        return running or view.item.superseded_by is not None
    if action in ("stop", "reload"):
        return not running
    if action == "promote":
        return not running or view.item.role != "standby"
    if action == "upgrade":
        return view.item.role == "standby" or view.item.superseded_by is not None
    return False
