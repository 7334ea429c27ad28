"""The journal: what was done to instances, by this dashboard and by anyone else."""

from __future__ import annotations

import asyncio
from datetime import datetime

from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Static

from ..dialogs.row import RowDialog
from ..source import Source
from ..workers import RoutedWorkers

LIMIT = 500
COLUMNS = ("TIME", "USER", "INSTANCE", "ACTION", "RESULT", "TOOK", "ERROR")


class EventsScreen(RoutedWorkers, Screen[None]):
    BINDINGS = [
        Binding("escape,q,e", "close", "Back"),
        Binding("ctrl+l", "reload", "Reload"),
    ]

    def __init__(self, source: Source) -> None:
        super().__init__()
        self.source = source

    def compose(self) -> ComposeResult:
        yield Static(
            " Events, newest first (from the journal shared by every pglift-tui process)", id="status"
        )
        yield DataTable(id="events", cursor_type="row", zebra_stripes=True)
        yield Footer()

    def on_mount(self) -> None:
        table = self.query_one(DataTable)
        table.add_columns(*COLUMNS)
        self.action_reload()
        table.focus()

    def action_reload(self) -> None:
        self.run_worker(self._load(), name="events", group="events", exclusive=True, exit_on_error=False)

    async def _load(self) -> None:
        events = await asyncio.to_thread(self.source.events, LIMIT)
        table = self.query_one(DataTable)
        table.clear()
        for event in events:
            when = datetime.fromtimestamp(event.time).strftime("%m-%d %H:%M:%S")
            result = {"ok": "ok", "failed": "FAILED", "unchanged": "no change"}[event.result]
            table.add_row(
                when,
                event.user,
                event.instance,
                event.action,
                result,
                f"{event.duration:.2f}s",
                event.error or "",
            )
        if not events:
            table.add_row("", "", "", "nothing yet", "", "", "")

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        """Enter: the whole event, its error wrapped (the column is cut at the screen's edge)."""
        row = event.data_table.get_row(event.row_key)
        self.app.push_screen(RowDialog("Event", COLUMNS, [str(cell) for cell in row]))

    def action_close(self) -> None:
        self.dismiss(None)
