"""One row of a table in full: every column, wrapped, however long (an error, a query)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Label, Static


class RowDialog(ModalScreen[None]):
    """Shown on Enter: what a narrow column cut is readable here, wrapped."""

    BINDINGS = [Binding("escape,enter,q", "close", "Close")]

    def __init__(self, title: str, columns: Sequence[str], row: Sequence[Any]) -> None:
        super().__init__()
        self.title_text = title
        self.columns = list(columns)
        self.row = list(row)

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog row"):
            yield Label(self.title_text, classes="dialog-title")
            with VerticalScroll():
                for name, value in zip(self.columns, self.row, strict=False):
                    text = "" if value is None else str(value)
                    yield Static(Text.assemble((name, "bold"), "  ", text), classes="row-field")

    def action_close(self) -> None:
        self.dismiss(None)
