"""Every key, from the action table: the footer only has room for some."""

from __future__ import annotations

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

from .. import actions
from .. import format as fmt

NAVIGATION = (
    ("↑ ↓ j k", "move"),
    ("PgUp PgDn", "a page up or down"),
    ("Home End", "the first or last row"),
    ("ctrl+p", "command palette: this screen's actions by name"),
)


def _keys(screen: actions.ScreenName, *, read_only: bool) -> Table:
    table = Table(box=None, show_header=False, padding=(0, 2, 0, 0), expand=True)
    table.add_column(style="bold", no_wrap=True)
    table.add_column(ratio=1)
    for row in actions.rows(screen, read_only=read_only):
        table.add_row(row.key_display, row.description)
    if screen == "dashboard":
        sorts = " ".join(f"{d}:{k}" for d, k in zip(actions.SORT_KEYS, fmt.SORTABLE, strict=True))
        table.add_row("1-9", f"sort by a column, again to reverse ({sorts})")
        for key, text in NAVIGATION:
            table.add_row(key, text)
    else:
        tabs = ", ".join(f"{(i + 1) % 10} {actions.tab_label(t)}" for i, t in enumerate(actions.TABS))
        table.add_row("1-9 0", tabs)
    return table


class HelpScreen(ModalScreen[None]):
    BINDINGS = [Binding("escape,q,question_mark", "close", "Close")]

    def __init__(self, *, read_only: bool) -> None:
        super().__init__()
        self.read_only = read_only

    def compose(self) -> ComposeResult:
        with VerticalScroll(classes="dialog help"):
            yield Static("Keys", classes="dialog-title")
            yield Static(_keys("dashboard", read_only=self.read_only))
            # A heading of its own, not a cell: it is never cut.
            yield Static(
                Text("On an instance (Enter opens its detail screen)", style="bold"), classes="help-heading"
            )
            yield Static(_keys("detail", read_only=self.read_only))
            if self.read_only:
                yield Static("Read-only mode: actions that change instances are off.", classes="dialog-body")

    def action_close(self) -> None:
        self.dismiss(None)
