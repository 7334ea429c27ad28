"""The one table of actions: keys, labels, what asks first, and the core call each runs.

Bindings, the help screen and each screen's command palette are made from it;
`--read-only` removes every row that calls the core, in one place. A row with a
`core` action is run by `ActionRunner.act`: its `ask` gathers the targets and options
(a confirmation, a form), then the Dispatcher runs `Host.run(core, key, **options)`.
Adding an action is adding a row (and, for a new core call, a manager method).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from textual.binding import Binding

ScreenName = Literal["dashboard", "detail"]


@dataclass(frozen=True)
class Action:
    key: str
    name: str
    label: str
    description: str
    screen: ScreenName
    #: The Host action it runs ("start"); None for a key that only moves the screen.
    core: str | None = None
    #: Its dialog, by name in `asks.ASKS` ("confirm", "stop_mode", ...); None: asks nothing.
    ask: str | None = None
    #: Applies to every marked row at once.
    bulk: bool = False
    #: Shown in the footer (the rest are in the help screen and the palette).
    footer: bool = True
    #: What the row says while it runs.
    progress: str = ""
    #: Detail screen: only offered on these tabs.
    tabs: tuple[str, ...] = ()
    #: The Textual action of a screen-only key, when not `name` itself.
    binding: str | None = None
    #: Under --read-only, gone too although it calls nothing (marking rows for a bulk action).
    for_actions_only: bool = False
    #: Options fixed by the row itself (cancel vs terminate share the core call `signal`).
    fixed: tuple[tuple[str, Any], ...] = ()

    @property
    def mutates(self) -> bool:
        return self.core is not None

    @property
    def textual_action(self) -> str:
        if self.core is not None:
            return f"act('{self.name}')"
        return self.binding or self.name

    @property
    def key_display(self) -> str:
        return {"question_mark": "?", "slash": "/", "space": "space", "enter": "enter"}.get(
            self.key, self.key
        )


D: ScreenName = "dashboard"
T: ScreenName = "detail"
ACTIONS = (
    Action("s", "start", "Start", "Start the instance (or the marked ones)", D,
           core="start", bulk=True, progress="starting"),
    Action("t", "stop", "Stop", "Stop: smart, fast or immediate, chosen when confirming", D,
           core="stop", ask="stop_mode", bulk=True, progress="stopping"),
    Action("r", "restart", "Restart", "Restart after checking the configuration", D,
           core="restart", ask="confirm", bulk=True, progress="restarting"),
    Action("R", "reload", "Reload", "Reload the configuration; rejected lines are reported", D,
           core="reload", bulk=True, progress="reloading"),
    Action("p", "promote", "Promote",
           "Promote the standby: it leaves its primary for good and accepts writes", D,
           core="promote", ask="confirm", footer=False, progress="promoting"),
    Action("u", "upgrade", "Upgrade", "Upgrade to a newer major version with pg_upgrade, checked first", D,
           core="upgrade", ask="upgrade", footer=False, progress="upgrading"),
    Action("c", "create", "New", "Create an instance from a form", D,
           core="create", ask="create", progress="creating"),
    Action("d", "drop", "Drop", "Drop the instance: type its name to confirm", D,
           core="drop", ask="typed_name", progress="dropping"),
    Action("a", "acknowledge", "Ack",
           "Acknowledge the row's findings: muted until their severity changes or they come back", D,
           core="acknowledge", ask="acknowledge", progress="acknowledging", footer=False),
    Action("n", "next_trouble", "Next trouble", "Jump to the next instance with a finding", D, footer=False),
    Action("enter", "open", "Open", "Open the instance: its ten tabs, overview to locks, WAL and queries",
           D, footer=False),
    Action("space", "mark", "Mark", "Mark or unmark the row for a bulk action", D,
           footer=False, for_actions_only=True),
    Action("slash", "filter", "Filter",
           "Filter rows: words as shown, or column:word (status:, role:, version:, manager:,"
           " health:, host:, group:)", D),
    Action("e", "events", "Events", "What was done, by this dashboard and by others", D),
    Action("f", "pause", "Pause", "Pause or resume the live refresh", D, footer=False),
    Action("ctrl+l", "refresh", "Refresh", "Refresh now", D, footer=False),
    Action("question_mark", "help", "Help", "All keys", D),
    Action("q", "quit", "Quit", "Quit", D),
    # The detail screen of one instance.
    Action("escape", "close", "Back",
           "Back to the table, the cursor where it was (first leaves a filter box)", T),
    Action("slash", "find", "Filter", "The tab's filter or search box (escape leaves it)", T, footer=False),
    Action("o", "sort", "Sort", "Sort the tab's table by its next column (after the last: server order)", T,
           footer=False),
    Action("O", "reverse_sort", "Reverse", "Reverse the sort", T, footer=False),
    Action("y", "copy", "Copy",
           "Copy the selected value (setting, query, log line) with OSC 52, over SSH too", T),
    Action("enter", "show_row", "Full row", "Show the selected row in full, wrapped", T, footer=False),
    Action("e", "configure", "Edit setting",
           "Change a setting: checked against pg_settings, reloaded, a restart offered if needed", T,
           core="configure", ask="setting", progress="configuring"),
    Action("r", "restart_detail", "Restart", "Restart the server (after a change that needs it)", T,
           core="restart", ask="confirm", footer=False, progress="restarting"),
    Action("x", "cancel", "Cancel query",
           "Activity, Locks: cancel the selected session's query (the session stays)",
           T, core="signal", ask="backend", tabs=("activity", "locks"), progress="cancelling",
           fixed=(("terminate", False),)),
    Action("K", "terminate", "Terminate",
           "Activity, Locks: end the selected session (its transaction rolls back)",
           T, core="signal", ask="backend", tabs=("activity", "locks"), progress="terminating",
           fixed=(("terminate", True),)),
    Action("ctrl+l", "reload_tab", "Refresh", "Refresh the tab now", T, footer=False),
)  # fmt: skip
BY_NAME = {action.name: action for action in ACTIONS}
SORT_KEYS = "123456789"
#: The detail screen's tabs, in the order of their digit keys (1-9, then 0).
TABS = ("overview", "settings", "config", "activity", "log", "history", "locks", "replication", "progress",
        "statements")  # fmt: skip
TAB_LABELS = {"replication": "WAL", "statements": "Queries"}


def rows(screen: ScreenName, *, read_only: bool) -> list[Action]:
    """The rows of one screen, without those --read-only removes."""
    return [
        a for a in ACTIONS if a.screen == screen and not (read_only and (a.mutates or a.for_actions_only))
    ]


def bindings(screen: ScreenName) -> list[Binding | tuple[str, str] | tuple[str, str, str]]:
    """A screen's bindings, from its rows (check_action hides the read-only ones)."""
    made: list[Binding | tuple[str, str] | tuple[str, str, str]] = [
        Binding(a.key, a.textual_action, a.label, show=a.footer, key_display=a.key_display)
        for a in ACTIONS
        if a.screen == screen
    ]
    if screen == "dashboard":
        made += [Binding(digit, f"sort({i})", "Sort", show=False) for i, digit in enumerate(SORT_KEYS)]
    else:
        made += [
            Binding(str((i + 1) % 10), f"show('{tab}')", tab_label(tab), show=False)
            for i, tab in enumerate(TABS)
        ]
    return made


def tab_label(tab: str) -> str:
    return TAB_LABELS.get(tab, tab.title())


def allowed(action: str, parameters: tuple[object, ...], *, read_only: bool) -> bool:
    """False: hidden everywhere (a row that changes state, under --read-only)."""
    if not read_only:
        return True
    if action == "act":
        return False
    spec = BY_NAME.get(action)
    return not (spec is not None and spec.for_actions_only)
