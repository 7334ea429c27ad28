"""The main screen: every instance, live, and the actions on them."""

from __future__ import annotations

import asyncio
import contextlib
import gc
from collections.abc import Callable
from typing import Any

from textual import on
from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.screen import ModalScreen, Screen
from textual.widgets import Footer, Input, Static

from ...monitor import InstanceView
from .. import actions
from .. import format as fmt
from ..dialogs.confirm import ConfirmDialog
from ..dialogs.create import CreateDialog
from ..dialogs.drop import DropDialog
from ..dialogs.stop import StopDialog
from ..dialogs.upgrade import UpgradeChoice, UpgradeDialog
from ..messages import (
    ActionFailed,
    ActionProgress,
    ActionStarted,
    ActionSucceeded,
    FleetRefreshed,
    RefreshFailed,
)
from ..source import Source
from ..widgets.instance_table import InstanceTable
from ..workers import Dispatcher
from .detail import DetailScreen
from .events import EventsScreen
from .help import HelpScreen


class DashboardScreen(Screen[None]):
    BINDINGS = actions.bindings()

    def __init__(
        self,
        source: Source,
        *,
        interval: float,
        paused: bool,
        read_only: bool,
        clock: Callable[[], float],
        hostname: str,
    ) -> None:
        super().__init__()
        self.source = source
        self.interval = interval
        self.paused = paused
        self.read_only = read_only
        self.clock = clock
        self.hostname = hostname
        self.dispatcher = Dispatcher(self, read_only=read_only)
        self.refreshes = 0
        self._wake = asyncio.Event()
        self._error: str | None = None

    def compose(self) -> ComposeResult:
        with Horizontal(id="top"):
            yield Static(id="status")
            yield Static(id="refresh-state")
        yield Input(
            placeholder="filter: words in name, status or role; Enter keeps it, Escape clears", id="filter"
        )
        yield InstanceTable(id="instances")
        yield Static(id="note")
        yield Footer(compact=True, show_command_palette=False)

    @property
    def table(self) -> InstanceTable:
        return self.query_one(InstanceTable)

    def on_mount(self) -> None:
        self.table.focus()
        self._show_status()
        self.run_worker(
            self._refresh_loop(), name="refresh", group="refresh", exclusive=True, exit_on_error=False
        )

    # -- refresh -------------------------------------------------------------------------
    async def _refresh_loop(self) -> None:
        """One snapshot at a time: the next waits for the interval, a key, or an action's end."""
        forced = True
        while True:
            # Under another full screen (an instance's detail), the table is not refreshed:
            # only what is shown costs queries. It is refreshed at once on return.
            hidden = self.app.screen is not self and not isinstance(self.app.screen, ModalScreen)
            if (forced or not self.paused) and not hidden:
                try:
                    views = await self.source.snapshot()
                except Exception as exc:  # shown in the status line; the loop goes on
                    self.post_message(RefreshFailed(str(exc) or type(exc).__name__))
                else:
                    self.post_message(FleetRefreshed(views, self.clock()))
            self._wake.clear()
            timeout = None if self.paused else self.interval
            forced = False
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout)
                forced = True

    def refresh_now(self) -> None:
        self._wake.set()

    def on_screen_resume(self) -> None:
        self.refresh_now()

    @on(FleetRefreshed)
    def _refreshed(self, message: FleetRefreshed) -> None:
        self.refreshes += 1
        if self.refreshes == 1:
            # Everything built so far lives as long as the app: out of the collector's
            # sight, a full collection no longer walks it (measured: opening an instance
            # took 60-250 ms with it, 60-120 ms without, when a collection fell then).
            gc.freeze()
        self._error = None
        with self.app.batch_update():
            self.table.update_views(message.views, message.taken_at)
            self._show_status()
            self._show_note()

    @on(RefreshFailed)
    def _refresh_failed(self, message: RefreshFailed) -> None:
        self._error = message.error
        self._show_status()

    def _show_status(self) -> None:
        views = self.table.views.values()
        counts: dict[str, int] = {}
        for view in views:
            word = fmt.status(view, None).text
            counts[word] = counts.get(word, 0) + 1
        summary = ", ".join(f"{n} {word}" for word, n in sorted(counts.items(), key=lambda kv: -kv[1]))
        text = f" {self.hostname} · {len(self.table.views)} instances: {summary or 'none yet'}"
        if self._error:
            text = f" {self.hostname} · refresh failed: {self._error}"
        state = "paused" if self.paused else f"⟳ {self.interval:g}s"
        if self.read_only:
            state = f"read-only · {state}"
        for widget_id, value in (("#status", text), ("#refresh-state", f" {state} ")):
            widget = self.query_one(widget_id, Static)
            if str(widget.content) != value:
                widget.update(value)

    def _show_note(self) -> None:
        key = self.table.cursor_key
        view = self.table.views.get(key) if key else None
        text = fmt.note(view, self.table.actions.get(view.key)) if view else "No instance yet: c creates one."
        note = self.query_one("#note", Static)
        if str(note.content) != text:
            note.update(text)

    @on(InstanceTable.CursorMoved)
    def _cursor_moved(self) -> None:
        self._show_note()
        self.refresh_bindings()

    # -- actions ---------------------------------------------------------------------------
    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if not actions.allowed(action, read_only=self.read_only):
            return False
        spec = actions.BY_NAME.get(action)
        if spec is None or not spec.mutates or action == "create":
            return True
        if not self.is_mounted:
            return True
        key = self.table.cursor_key
        if key is None:
            return None
        if self.table.marks:
            return True
        if self.dispatcher.busy(key):
            return None
        return None if actions.pointless(action, self.table.views[key]) else True

    def _targets(self, spec: actions.Action) -> list[str]:
        if spec.bulk and self.table.marks:
            return [key for key in self.table.order if key in self.table.marks]
        return [self.table.cursor_key] if self.table.cursor_key else []

    def _submit(self, spec: actions.Action, keys: list[str], **options: Any) -> None:
        for key in keys:

            def call(key: str = key) -> Any:
                return self.source.run(spec.name, key, **options)

            if not self.dispatcher.submit(key, spec, call):
                running = self.dispatcher.running.get(key)
                reason = f"busy: {running} in progress" if running else "not allowed in read-only mode"
                self.notify(f"{key}: {reason}", severity="warning")
        if spec.bulk:
            self.table.clear_marks()

    def _confirm_then(self, spec: actions.Action, keys: list[str]) -> None:
        if not keys:
            return
        if spec.confirm == "stop":

            def stop(mode: str | None) -> None:
                if mode is not None:
                    self._submit(spec, keys, mode=mode)

            self.app.push_screen(StopDialog(keys), stop)
        elif spec.confirm == "yes":

            def go(answer: bool | None) -> None:
                if answer:
                    self._submit(spec, keys)

            self.app.push_screen(ConfirmDialog(f"{spec.label} {', '.join(keys)}?", spec.description), go)
        else:
            self._submit(spec, keys)

    def _lifecycle(self, name: str) -> None:
        spec = actions.BY_NAME[name]
        self._confirm_then(spec, self._targets(spec))

    def action_start(self) -> None:
        self._lifecycle("start")

    def action_stop(self) -> None:
        self._lifecycle("stop")

    def action_restart(self) -> None:
        self._lifecycle("restart")

    def action_reload(self) -> None:
        self._lifecycle("reload")

    def action_promote(self) -> None:
        self._lifecycle("promote")

    def action_open(self) -> None:
        key = self.table.cursor_key
        if key is None:
            return
        try:
            detail = self.source.detail(key)
        except Exception as exc:  # dropped meanwhile
            self.notify(str(exc), severity="error")
            return
        self.app.push_screen(DetailScreen(detail, interval=self.interval, read_only=self.read_only))

    async def action_upgrade(self) -> None:
        key = self.table.cursor_key
        if key is None:
            return
        spec = actions.BY_NAME["upgrade"]
        view = self.table.views[key]
        standbys = view.standbys or 0
        # Finding installed versions may run `postgres --version`: not on the event loop.
        versions = await asyncio.to_thread(self.source.versions)
        newer = sorted((v for v in versions if int(v) > int(view.item.version)), key=int, reverse=True)

        def upgrade(choice: UpgradeChoice | None) -> None:
            if choice is None:
                return

            def step(event: Any) -> None:  # called on the core's thread: messages are thread-safe
                self.post_message(ActionProgress(key, event.name, event.state, event.elapsed))

            self._submit(
                spec,
                [key],
                version=choice.version,
                mode=choice.mode,
                analyze=choice.analyze,
                force=standbys > 0,
                on_step=step,
            )

        self.app.push_screen(UpgradeDialog(key, newer, standbys=standbys), upgrade)

    def action_drop(self) -> None:
        key = self.table.cursor_key
        if key is None:
            return
        spec = actions.BY_NAME["drop"]
        standbys = self.table.views[key].standbys or 0

        def drop(answer: bool | None) -> None:
            if answer:
                # The operator was told of the live standbys and typed the name anyway.
                self._submit(spec, [key], force=standbys > 0)

        self.app.push_screen(DropDialog(key, key.split("/", 1)[1], standbys=standbys), drop)

    async def action_create(self) -> None:
        spec = actions.BY_NAME["create"]
        ports = [view.item.port for view in self.table.views.values()]
        suggested = max(ports) + 1 if ports else 5432

        def create(manifest: Any) -> None:
            if manifest is None:
                return
            key = f"{manifest.version}/{manifest.name}"
            if self.dispatcher.submit(key, spec, lambda: self.source.run("create", key, manifest=manifest)):
                self.notify(f"creating {key}…")
            else:
                self.notify(
                    f"{key}: busy, {self.dispatcher.running.get(key)} in progress", severity="warning"
                )

        # Finding installed versions may run `postgres --version`: not on the event loop.
        versions = await asyncio.to_thread(self.source.versions)
        self.app.push_screen(CreateDialog(versions, suggested), create)

    def action_mark(self) -> None:
        key = self.table.cursor_key
        if key is not None:
            self.table.toggle_mark(key)
            self.table.action_cursor(1)
            self.refresh_bindings()

    def action_sort(self, index: int) -> None:
        self.table.sort_by(fmt.SORTABLE[index])

    def action_filter(self) -> None:
        box = self.query_one("#filter", Input)
        box.display = True
        box.focus()

    @on(Input.Changed, "#filter")
    def _filter_changed(self, event: Input.Changed) -> None:
        self.table.set_filter(event.value)

    @on(Input.Submitted, "#filter")
    def _filter_submitted(self, event: Input.Submitted) -> None:
        event.input.display = bool(event.value)
        self.table.focus()

    def key_escape(self) -> None:
        box = self.query_one("#filter", Input)
        if box.display:
            box.value = ""
            box.display = False
            self.table.set_filter("")
            self.table.focus()

    def action_pause(self) -> None:
        self.paused = not self.paused
        self._show_status()
        self.refresh_now()

    def action_refresh(self) -> None:
        self.refresh_now()

    def action_events(self) -> None:
        self.app.push_screen(EventsScreen(self.source))

    def action_help(self) -> None:
        self.app.push_screen(HelpScreen(read_only=self.read_only))

    def action_quit(self) -> None:
        self.app.exit()

    # -- what workers say --------------------------------------------------------------------
    @on(ActionStarted)
    def _started(self, message: ActionStarted) -> None:
        spec = actions.BY_NAME[message.action]
        self.table.set_action(message.key, spec.progress)
        self._show_note()
        self.refresh_bindings()

    @on(ActionProgress)
    def _progress(self, message: ActionProgress) -> None:
        self.table.set_step(message.key, message.step, message.state)
        self._show_note()

    @on(ActionSucceeded)
    def _succeeded(self, message: ActionSucceeded) -> None:
        self.table.set_action(message.key, None)
        self.notify(f"{message.key}: {message.message}", title=message.action)
        self.refresh_bindings()
        self.refresh_now()

    @on(ActionFailed)
    def _failed(self, message: ActionFailed) -> None:
        self.table.set_action(message.key, None)
        text = message.message
        if message.hint:
            text += f"\n{message.hint}"
        if message.log_lines:
            text += "\n" + "\n".join(message.log_lines[-3:])
        self.notify(text, title=f"{message.action} {message.key} failed", severity="error", timeout=15)
        self.refresh_bindings()
        self.refresh_now()

    def views(self) -> list[InstanceView]:
        return list(self.table.views.values())
