"""Dropping deletes data: the operator types the instance's name to confirm."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label


class DropDialog(ModalScreen[bool]):
    BINDINGS = [Binding("escape", "cancel", "Cancel")]

    def __init__(self, key: str, name: str, *, standbys: int = 0) -> None:
        super().__init__()
        self.key = key
        self.name_to_type = name
        self.standbys = standbys

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Label(f"Drop {self.key}?", classes="dialog-title")
            yield Label(
                "This stops the server and deletes its data, WAL and logs.\n"
                f"Type {self.name_to_type!r} to confirm.",
                classes="dialog-body",
            )
            if self.standbys:
                yield Label(
                    f"{self.standbys} standby(s) stream from it now: they will be cut off.\n"
                    "Promote or drop them first to keep them useful.",
                    classes="dialog-warning",
                    id="standbys-warning",
                )
            yield Input(placeholder=self.name_to_type, id="typed")
            with Horizontal(classes="dialog-buttons"):
                yield Button("Cancel", id="cancel", variant="primary")
                yield Button("Drop", id="drop", variant="error", disabled=True)

    def on_input_changed(self, event: Input.Changed) -> None:
        self.query_one("#drop", Button).disabled = event.value != self.name_to_type

    def on_input_submitted(self, event: Input.Submitted) -> None:
        if event.value == self.name_to_type:
            self.dismiss(True)

    def on_button_pressed(self, event: Button.Pressed) -> None:
        self.dismiss(event.button.id == "drop")

    def action_cancel(self) -> None:
        self.dismiss(False)
