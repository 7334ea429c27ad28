"""Every key, from the action table: the footer only has room for some."""

from __future__ import annotations

from rich.table import Table
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

from .. import actions
from .. import format as fmt

DETAIL = (
    ("1-6", "overview, settings, config, activity, log, history"),
    ("/", "the filter or search box of the tab (escape leaves it)"),
    ("o O", "sort a table by its next column (after the last: the server's order); reverse"),
    ("y", "copy the selected value (a setting, a query, a log line) with OSC 52, over SSH too"),
    ("e", "change a setting: checked against pg_settings, reloaded, restart offered if needed"),
    ("x K", "activity: cancel the query (the session stays) / terminate the session"),
    ("escape", "back to the table, the cursor where it was"),
)
NAVIGATION = (
    ("↑ ↓ j k", "move"),
    ("PgUp PgDn Home End", "jump"),
    ("ctrl+p", "command palette"),
)


class HelpScreen(ModalScreen[None]):
    BINDINGS = [Binding("escape,q,question_mark", "close", "Close")]

    def __init__(self, *, read_only: bool) -> None:
        super().__init__()
        self.read_only = read_only

    def compose(self) -> ComposeResult:
        table = Table(box=None, show_header=False, padding=(0, 2, 0, 0))
        table.add_column(style="bold", no_wrap=True, width=18)
        table.add_column(ratio=1)
        for action in actions.ACTIONS:
            if not actions.allowed(action.name, read_only=self.read_only):
                continue
            key = {"question_mark": "?", "slash": "/", "space": "space"}.get(action.key, action.key)
            table.add_row(key, action.description)
        sorts = " ".join(f"{d}:{k}" for d, k in zip(actions.SORT_KEYS, fmt.SORTABLE, strict=True))
        table.add_row("1-9", f"sort by a column, again to reverse ({sorts})")
        for key, text in NAVIGATION:
            table.add_row(key, text)
        table.add_row("", "")
        table.add_row("On an instance (enter)", "")
        for key, text in DETAIL:
            if self.read_only and key in ("e", "x", "K"):
                continue
            table.add_row(key, text)
        with VerticalScroll(classes="dialog help"):
            yield Static("Keys", classes="dialog-title")
            yield Static(table)
            if self.read_only:
                yield Static("Read-only mode: actions that change instances are off.", classes="dialog-body")

    def action_close(self) -> None:
        self.dismiss(None)
