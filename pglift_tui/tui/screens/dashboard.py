"""The main screen: every instance, live, and the actions on them."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import time
from collections.abc import Callable, Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any

from textual import events, on
from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.screen import ModalScreen, Screen
from textual.widgets import Footer, Input, Static
from textual.worker import Worker

from ...errors import Described
from ...host import port_clashes
from ...managers import Refusal
from ...models.interface import InstanceListItem
from ...monitor import InstanceView
from .. import actions, health_words
from .. import format as fmt
from ..commands import ScreenCommands
from ..messages import ActionStarted, FleetRefreshed
from ..runner import ActionRunner
from ..source import Source
from ..widgets.instance_table import InstanceTable
from .detail import DetailScreen
from .events import EventsScreen
from .help import HelpScreen


def host_summary(hosts: list[Any]) -> str:
    """The hosts in a few words: how many answer and how fast, and which do not, and why
    (ssh's own words), so fifty hosts fit the status line."""
    up = [h for h in hosts if h.state == "connected"]
    said = [f"{len(up)} connected"]
    latencies = [h.latency_ms for h in up if h.latency_ms is not None]
    if latencies:
        said[0] += f" ({min(latencies):.0f}-{max(latencies):.0f} ms)"
    connecting = [h.name for h in hosts if h.state == "connecting"]
    if connecting:
        said.append(f"{len(connecting)} connecting")
    down = [h for h in hosts if h.state not in ("connected", "connecting")]
    for host in down[:3]:
        said.append(f"{host.name} unreachable: {host.error or 'no answer'}")
    if len(down) > 3:
        said.append(f"{len(down) - 3} more unreachable")
    return ", ".join(said)


class DashboardScreen(ActionRunner, Screen[None]):
    SCREEN: actions.ScreenName = "dashboard"
    BINDINGS = actions.bindings("dashboard")
    COMMANDS = {ScreenCommands}

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
        self.refreshes = 0
        self._wake = asyncio.Event()
        self._error: str | None = None

    def compose(self) -> ComposeResult:
        with Horizontal(id="top"):
            yield Static(id="status")
            yield Static(id="refresh-state")
        yield Input(
            placeholder="filter: words as shown, or column:word (status:stopped); Escape clears", id="filter"
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
        self._start_refresh()

    def _start_refresh(self) -> None:
        self.run_worker(
            self._refresh_loop(), name="refresh", group="refresh", exclusive=True, exit_on_error=False
        )

    # -- refresh -------------------------------------------------------------------------
    async def _refresh_loop(self) -> None:
        """One snapshot at a time: the next waits for the interval, a key, or an action's end.

        A failure ends the loop and reaches `worker_failed` (the App's one route), which
        shows it and starts the loop again.
        """
        forced = True
        while True:
            # Under another full screen (an instance's detail, even with a dialog over
            # it), the table is not refreshed: only what is shown costs queries. It is
            # refreshed at once on return.
            shown = next(s for s in reversed(self.app.screen_stack) if not isinstance(s, ModalScreen))
            hidden = shown is not self
            if (forced or not self.paused) and not hidden:
                began = time.monotonic()
                views = await self.source.snapshot()
                self.post_message(FleetRefreshed(views, self.clock(), began))
            self._wake.clear()
            timeout = None if self.paused else self.interval
            forced = False
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout)
                forced = True

    def worker_failed(self, worker: Worker[Any], said: Described) -> None:
        if worker.group == "refresh":
            self._error = said.message
            self._show_status()
            self.set_timer(self.interval, self._start_refresh)
        else:
            self.notify(said.message + (f"\n{said.hint}" if said.hint else ""), severity="error", timeout=10)

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
        before = dict(self.table.views)
        # Rows our own actions explain, as they were before this snapshot cleared them.
        ours = self.table.running.keys() | self.table.settled.keys()
        with self.app.batch_update():
            self.table.update_views(self._with_creations(message.views), message.taken_at, message.began)
            self._show_status()
            self._show_note()
        self.refresh_offered()
        if self.refreshes > 1:
            self._tell_changes(before, self.table.views, ours)

    def _tell_changes(
        self, before: Mapping[str, InstanceView], after: Mapping[str, InstanceView], ours: set[str]
    ) -> None:
        """Say what happened under the table that no action of ours explains: a server that
        crashed, appeared or went away (made, dropped or killed by someone else)."""
        said = []
        for key in sorted(after.keys() - before.keys() - ours):
            said.append(f"{key} appeared ({fmt.state_word(after[key].item)})")
        for key in sorted(before.keys() - after.keys() - ours):
            said.append(f"{key} is gone: its data directory is no longer there")
        for key in sorted(before.keys() & after.keys() - ours):
            old, new = before[key].item, after[key].item
            if new.status == "crashed" and old.status != "crashed":
                said.append(f"{key} crashed: {fmt.state_word(old)} before, its pid file is stale now")
        if said:
            crashed = any("crashed" in line or "gone" in line for line in said)
            self.notify(
                "\n".join(said), title="under the table", severity="warning" if crashed else "information"
            )

    def _with_creations(self, views: list[InstanceView]) -> list[InstanceView]:
        """Rows being created are shown from their form until they are made: its port, not
        the default a half-written postgresql.conf gives, and a row from the first moment."""
        creating = {
            key: job.options["manifest"]
            for key, job in self._app().dispatcher.running.items()
            if job.spec.core == "create" and "manifest" in job.options
        }
        if not creating:
            return views
        shown = []
        for view in views:
            manifest = creating.pop(view.key, None)
            if manifest is not None and manifest.port is not None:
                view = replace(view, item=view.item.model_copy(update={"port": manifest.port}))
            shown.append(view)
        for key, manifest in creating.items():
            host, _, ours = key.rpartition(":")  # ours on a host: `host:version/name`
            item = InstanceListItem.model_construct(
                name=manifest.name, version=ours.partition("/")[0], port=manifest.port or 5432,
                datadir=Path(), status="not running", manager="pglift", host=host or None,
            )  # fmt: skip
            shown.append(InstanceView(item))
        return shown

    def _show_status(self) -> None:
        counts: dict[str, int] = {}
        for view in self.table.views.values():
            word = "busy" if view.busy else fmt.status(view, None).text
            counts[word] = counts.get(word, 0) + 1
        summary = " · ".join(f"{n} {word}" for word, n in sorted(counts.items(), key=lambda kv: -kv[1]))
        text = f" {self.hostname} · {len(self.table.views)} instances · {summary or 'none yet'}"
        hosts = self.source.hosts()
        if hosts:
            self.table.host_groups = {h.name: h.groups for h in hosts}
            count = len(self.table.views)
            text = f" {len(hosts)} hosts: {host_summary(hosts)} · {count} instances · {summary}"
        severities = [health_words.severity(view) for view in self.table.views.values()]
        troubled = [f"{severities.count(s)} {s}" for s in ("critical", "warning") if s in severities]
        if troubled:
            text += " · health: " + ", ".join(troubled)
        clashes = port_clashes([view.item for view in self.table.views.values()])
        if clashes:
            text += " · ⚠ " + "; ".join(map(str, clashes))
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
        if view is not None:
            text = fmt.note(view, self.table.actions.get(view.key))
        else:
            text = "No instance yet." + ("" if self.read_only else " c creates one.")
        note = self.query_one("#note", Static)
        if str(note.content) != text:
            note.update(text)

    @on(InstanceTable.CursorMoved)
    def _cursor_moved(self) -> None:
        self._show_note()
        self.refresh_offered()

    # -- actions: the table's rows of the action table ------------------------------------
    def targets(self, spec: actions.Action) -> list[str]:
        if spec.bulk and self.table.marks:
            return [key for key in self.table.order if key in self.table.marks]
        return [self.table.cursor_key] if self.table.cursor_key else []

    def known_views(self) -> Mapping[str, InstanceView]:
        return self.table.views

    def screen_refusal(self, spec: actions.Action) -> Refusal | None:
        if spec.core == "acknowledge":
            view = self.table.views.get(self.table.cursor_key or "")
            if view is None or not view.troubles:
                return Refusal("without a finding to acknowledge", noop=True)
        return None

    def submitted(self, spec: actions.Action) -> None:
        if spec.bulk:
            self.table.clear_marks()
            self.refresh_offered()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if not self.is_mounted:
            return actions.allowed(action, parameters, read_only=self.read_only)
        return self.check_act(action, parameters)

    def on_key(self, event: events.Key) -> None:
        self.explain_key(event)

    def action_started(self, message: ActionStarted) -> None:
        spec = actions.BY_NAME[message.action]
        if spec.core == "create":
            self.refresh_now()  # its row appears at once, from the form
        self.table.set_action(message.key, spec.progress or spec.name)
        self._show_note()
        self.refresh_offered()

    def action_ended(self, key: str, outcome: str | None) -> None:
        """Clear the row's action; an outcome stays until a snapshot taken after it shows."""
        self.table.end_action(key, outcome)
        self._show_note()
        self.refresh_offered()
        self.refresh_now()

    # -- keys that only move the screen ---------------------------------------------------
    def action_open(self) -> None:
        key = self.table.cursor_key
        if key is not None:
            self.run_worker(self._open(key), name="open", group="open", exclusive=True, exit_on_error=False)

    async def _open(self, key: str) -> None:
        # Finding the server and its files reads the disk: not on the event loop.
        detail = await asyncio.to_thread(self.source.detail, key)
        await self.app.push_screen(
            DetailScreen(detail, self.source, interval=self.interval, read_only=self.read_only)
        )

    def action_next_trouble(self) -> None:
        """The next row, after the cursor (and round), with a finding not acknowledged."""
        order = self.table.order
        start = self.table.cursor_row
        for step in range(1, len(order) + 1):
            key = order[(start + step) % len(order)]
            if self.table.views[key].troubles:
                self.table.move_to(key)
                return
        self.notify("No instance has a finding now.", timeout=3)

    def action_mark(self) -> None:
        key = self.table.cursor_key
        if key is not None:
            self.table.toggle_mark(key)
            self.table.action_cursor(1)
            self.refresh_offered()

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

    def views(self) -> list[InstanceView]:
        return list(self.table.views.values())
