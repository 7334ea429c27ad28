"""The creation form, checked field by field by the core's own manifest model."""

from __future__ import annotations

import shlex

from pydantic import ValidationError
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, Select

from ... import names
from ...models import interface

FIELDS = ("name", "port", "version", "state", "settings", "surole_password")


class CreateDialog(ModalScreen[interface.Instance | None]):
    """Returns a validated manifest, or None when cancelled."""

    BINDINGS = [Binding("escape", "cancel", "Cancel"), Binding("ctrl+s", "submit", "Create")]

    def __init__(self, versions: list[str], port: int, *, hosts: list[str] | None = None) -> None:
        super().__init__()
        self.versions = versions
        self.port = port
        #: Over an inventory: the hosts to choose from, and the one chosen.
        self.hosts = hosts or []
        self.host: str | None = None

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog form"):
            yield Label("Create an instance", classes="dialog-title")
            with VerticalScroll():
                if self.hosts:
                    yield Label("Host")
                    yield Select(
                        [(h, h) for h in self.hosts], value=self.hosts[0], id="host", allow_blank=False
                    )
                yield Label("Name")
                yield Input(placeholder="letters, digits, _ - .", id="name")
                yield Label("", id="name-error", classes="field-error")
                yield Label("Port")
                yield Input(str(self.port), id="port", type="integer")
                yield Label("", id="port-error", classes="field-error")
                yield Label("Version")
                if self.versions:
                    yield Select(
                        [(v, v) for v in self.versions],
                        value=self.versions[0],
                        id="version",
                        allow_blank=False,
                    )
                    yield Label("", id="version-error", classes="field-error")
                else:
                    yield Label(
                        "No PostgreSQL installation found: install the server package, "
                        "or list one in postgresql.versions",
                        id="version-error",
                        classes="field-error",
                    )
                yield Label("State")
                yield Select(
                    [("started", "started"), ("stopped", "stopped")],
                    value="started",
                    id="state",
                    allow_blank=False,
                )
                yield Label("", id="state-error", classes="field-error")
                yield Label("Settings (name=value ...)")
                yield Input(placeholder="work_mem=16MB shared_buffers=256MB", id="settings")
                yield Label("", id="settings-error", classes="field-error")
                yield Label("Superuser password (optional, for TCP logins)")
                yield Input(password=True, id="surole_password")
                yield Label("", id="surole_password-error", classes="field-error")
            with Horizontal(classes="dialog-buttons"):
                yield Button("Cancel", id="cancel", variant="primary")
                yield Button("Create (ctrl+s)", id="create", variant="success", disabled=not self.versions)

    def on_mount(self) -> None:
        self.query_one("#name", Input).focus()

    def _settings(self) -> dict[str, str]:
        text = self.query_one("#settings", Input).value
        pairs = {}
        for word in shlex.split(text):
            name, sep, value = word.partition("=")
            if not sep:
                raise ValueError(f"{word!r}: write name=value")
            pairs[name.strip()] = value
        return pairs

    def manifest(self) -> interface.Instance | None:
        """The manifest, or None after showing each field's error under it."""
        for name in FIELDS:
            self.query_one(f"#{name}-error", Label).update("")
        data: dict[str, object] = {
            "name": self.query_one("#name", Input).value.strip(),
            "version": self.query_one("#version", Select).value,
            "state": self.query_one("#state", Select).value,
        }
        port = self.query_one("#port", Input).value.strip()
        if port:
            data["port"] = int(port) if port.lstrip("-").isdigit() else port
        password = self.query_one("#surole_password", Input).value
        if password:
            data["surole_password"] = password
        try:
            data["settings"] = self._settings()
        except ValueError as exc:
            self.query_one("#settings-error", Label).update(str(exc))
            return None
        try:
            return interface.Instance.model_validate(data)
        except ValidationError as exc:
            for error in exc.errors():
                field = str(error["loc"][0]) if error["loc"] else "name"
                target = field if field in FIELDS else "name"
                self.query_one(f"#{target}-error", Label).update(error["msg"].removeprefix("Value error, "))
            return None

    def on_input_changed(self, event: Input.Changed) -> None:
        """Check the field as it is typed, with the same rules the manifest model applies."""
        field = event.input.id
        if field not in ("name", "port", "settings"):
            return
        value = event.value.strip()
        message = ""
        try:
            if field == "name" and value:
                names.check_name(value)
            elif field == "port" and value:
                if not value.isdigit():
                    raise ValueError(f"invalid port {value!r}: give a number")
                names.check_port(int(value))
            elif field == "settings":
                names.check_settings(self._settings())
        except ValueError as exc:
            message = str(exc)
        self.query_one(f"#{field}-error", Label).update(message)

    def on_input_submitted(self) -> None:
        self.action_submit()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "create":
            self.action_submit()
        else:
            self.dismiss(None)

    def action_submit(self) -> None:
        if not self.versions:
            return
        manifest = self.manifest()
        if manifest is not None:
            if self.hosts:
                self.host = str(self.query_one("#host", Select).value)
            self.dismiss(manifest)

    def action_cancel(self) -> None:
        self.dismiss(None)
