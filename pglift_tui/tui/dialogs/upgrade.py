"""Upgrading asks for the target version and the transfer mode, each trade-off said there."""

from __future__ import annotations

from dataclasses import dataclass

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Checkbox, Label, RadioButton, RadioSet, Select

MODES = (
    ("copy", "copy: the old one stays usable; needs twice the space"),
    ("link", "link: fast; the old one must never start again"),
    ("clone", "clone: reflinks, fast and safe where the file system can"),
)


@dataclass(frozen=True)
class UpgradeChoice:
    version: str
    mode: str
    analyze: bool


class UpgradeDialog(ModalScreen[UpgradeChoice | None]):
    """Returns what the operator chose, or None."""

    BINDINGS = [Binding("escape", "cancel", "Cancel"), Binding("ctrl+s", "upgrade", "Upgrade")]

    def __init__(self, key: str, versions: list[str], *, standbys: int = 0) -> None:
        super().__init__()
        self.key = key
        self.versions = versions
        self.standbys = standbys

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Label(f"Upgrade {self.key} with pg_upgrade?", classes="dialog-title")
            if not self.versions:
                yield Label(
                    "No newer PostgreSQL version is installed: install its server package first.",
                    classes="dialog-warning",
                )
            else:
                yield Label(
                    "pg_upgrade --check runs first; any failure removes the new instance and leaves "
                    "this one as it was. Afterwards it stays, stopped and marked superseded; the new "
                    "one takes its port.",
                    classes="dialog-body",
                )
                yield Select(
                    [(v, v) for v in self.versions], value=self.versions[0], id="version", allow_blank=False
                )
                with RadioSet(id="mode"):
                    for mode, text in MODES:
                        yield RadioButton(text, value=mode == "copy", name=mode)
                yield Checkbox("then gather statistics (vacuumdb --analyze-in-stages)", True, id="analyze")
            if self.standbys:
                yield Label(
                    f"{self.standbys} standby(s) stream from it now: they will be cut off.",
                    classes="dialog-warning",
                    id="standbys-warning",
                )
            with Horizontal(classes="dialog-buttons"):
                yield Button("Cancel", id="cancel", variant="primary")
                yield Button("Upgrade (ctrl+s)", id="upgrade", variant="warning", disabled=not self.versions)

    def on_mount(self) -> None:
        self.query_one("#cancel", Button).focus()

    def choice(self) -> UpgradeChoice | None:
        if not self.versions:
            return None
        version = self.query_one("#version", Select).value
        button = self.query_one(RadioSet).pressed_button
        return UpgradeChoice(
            version=str(version),
            mode=button.name if button is not None and button.name else "copy",
            analyze=self.query_one("#analyze", Checkbox).value,
        )

    def on_button_pressed(self, event: Button.Pressed) -> None:
        self.dismiss(self.choice() if event.button.id == "upgrade" else None)

    def action_upgrade(self) -> None:
        self.dismiss(self.choice())

    def action_cancel(self) -> None:
        self.dismiss(None)
