"""Editing one parameter: checked against pg_settings as it is typed, the change previewed."""

from __future__ import annotations

from typing import Any

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label

from ...pgsettings import Checked, check


class EditSettingDialog(ModalScreen[Checked | None]):
    """Returns the checked change, or None."""

    BINDINGS = [Binding("escape", "cancel", "Cancel"), Binding("ctrl+s", "apply", "Apply")]

    def __init__(self, rows: dict[str, dict[str, Any]], name: str = "") -> None:
        super().__init__()
        self.rows = rows
        self.initial = name

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Label(
                "Change a setting (written to postgresql.conf, then reloaded)", classes="dialog-title"
            )
            yield Label("Parameter")
            yield Input(self.initial, placeholder="e.g. work_mem", id="name")
            yield Label("New value")
            yield Input(placeholder="e.g. 16MB", id="value")
            yield Label("", id="preview", classes="dialog-body")
            with Horizontal(classes="dialog-buttons"):
                yield Button("Cancel", id="cancel", variant="primary")
                yield Button("Apply (ctrl+s)", id="apply", variant="warning", disabled=True)

    def on_mount(self) -> None:
        self.query_one("#value" if self.initial else "#name", Input).focus()
        self._check()

    def on_input_changed(self, event: Input.Changed) -> None:
        self._check()

    def _check(self) -> Checked | None:
        name = self.query_one("#name", Input).value.strip().lower()
        value = self.query_one("#value", Input).value
        preview = self.query_one("#preview", Label)
        button = self.query_one("#apply", Button)
        row = self.rows.get(name)
        checked = None
        if not name:
            message = "Type a parameter name."
        elif row is None:
            message = f"{name!r} is not a parameter of this server."
        else:
            unit = f" {row['unit']}" if row["unit"] else ""
            message = f"now {row['setting']}{unit} ({row['source']}); {row['short_desc']}"
            if value.strip():
                try:
                    checked = check(row, value)
                except ValueError as exc:
                    message = f"{exc}"
                else:
                    how = "needs a restart" if checked.applies == "restart" else "applied by a reload"
                    message = f"{name}: {row['setting']}{unit} -> {checked.value} ({how})"
        preview.update(message)
        button.disabled = checked is None
        return checked

    def on_button_pressed(self, event: Button.Pressed) -> None:
        self.dismiss(self._check() if event.button.id == "apply" else None)

    def action_apply(self) -> None:
        checked = self._check()
        if checked is not None:
            self.dismiss(checked)

    def action_cancel(self) -> None:
        self.dismiss(None)
