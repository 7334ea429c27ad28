"""Stopping asks for the mode: what each one does to the sessions is said right there."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Label, RadioButton, RadioSet

MODES = (
    ("smart", "smart: wait for every session to end"),
    ("fast", "fast: roll back open transactions, disconnect sessions"),
    ("immediate", "immediate: no shutdown checkpoint; crash recovery at next start"),
)


class StopDialog(ModalScreen[str | None]):
    """Returns the stop mode chosen, or None."""

    BINDINGS = [
        Binding("y", "stop", "Stop"),
        Binding("n", "cancel", "Cancel"),
        Binding("escape", "cancel", "Cancel"),
    ]

    def __init__(self, targets: list[str]) -> None:
        super().__init__()
        self.targets = targets

    def compose(self) -> ComposeResult:
        names = ", ".join(self.targets)
        with Vertical(classes="dialog"):
            yield Label(f"Stop {names}?", classes="dialog-title")
            with RadioSet(id="mode"):
                for mode, text in MODES:
                    yield RadioButton(text, value=mode == "fast", name=mode)
            with Horizontal(classes="dialog-buttons"):
                yield Button("Cancel (n)", id="cancel", variant="primary")
                yield Button("Stop (y)", id="stop", variant="error")

    def on_mount(self) -> None:
        self.query_one("#cancel", Button).focus()

    def selected(self) -> str:
        button = self.query_one(RadioSet).pressed_button
        return button.name if button is not None and button.name else "fast"

    def on_button_pressed(self, event: Button.Pressed) -> None:
        self.dismiss(self.selected() if event.button.id == "stop" else None)

    def action_stop(self) -> None:
        self.dismiss(self.selected())

    def action_cancel(self) -> None:
        self.dismiss(None)
