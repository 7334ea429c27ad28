"""One instance up close: overview, settings, configuration, sessions, log, history.

Tabs are mounted when first shown and only the shown one refreshes, so an open
detail screen costs one query per interval. Everything is reachable by keys: the
digits pick a tab, Escape leaves a filter box then the screen. Its actions (change a
setting, restart, cancel or end a session) are rows of the one action table, run by
the same dispatcher as the table's.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Mapping
from typing import Any

from textual import events, on
from textual.app import ComposeResult
from textual.screen import Screen
from textual.widgets import Footer, Input, Static, TabbedContent, TabPane, Tabs
from textual.worker import Worker

from ...detail import Detail
from ...errors import Described
from ...managers import Refusal
from ...monitor import InstanceView
from .. import actions
from ..commands import ScreenCommands
from ..dialogs.confirm import ConfirmDialog
from ..dialogs.row import RowDialog
from ..messages import ActionSucceeded
from ..runner import ActionRunner
from ..source import Source
from ..widgets.detail_tabs import (
    ActivityTab,
    ConfigTab,
    DetailPane,
    HistoryTab,
    LogTab,
    SettingsTab,
    TableTab,
)
from ..widgets.overview_tab import OverviewTab
from ..widgets.trouble_tabs import LocksTab, ProgressTab, ReplicationTab, StatementsTab

PANES: dict[str, type[DetailPane]] = {
    "overview": OverviewTab,
    "settings": SettingsTab,
    "config": ConfigTab,
    "activity": ActivityTab,
    "log": LogTab,
    "history": HistoryTab,
    "locks": LocksTab,
    "replication": ReplicationTab,
    "progress": ProgressTab,
    "statements": StatementsTab,
}
#: The log is followed faster than the rest is refreshed.
LOG_INTERVAL = 1.0


class DetailScreen(ActionRunner, Screen[None]):
    SCREEN: actions.ScreenName = "detail"
    BINDINGS = actions.bindings("detail")
    COMMANDS = {ScreenCommands}

    def __init__(self, detail: Detail, source: Source, *, interval: float, read_only: bool) -> None:
        super().__init__()
        self.detail = detail
        self.source = source
        self.interval = interval
        self.read_only = read_only
        self.refreshes = 0
        self._wake = asyncio.Event()
        #: Seconds from the screen's creation (the key press) to its first tab filled with data.
        self.first_paint: float | None = None
        self._created_at = time.perf_counter()
        #: What `e` changed from this screen: the configure results, shown in the Config tab.
        self.changes: list[str] = []

    def compose(self) -> ComposeResult:
        yield Static(f" {self.detail.key}", id="status")
        with TabbedContent(id="tabs"):
            for i, tab_id in enumerate(actions.TABS):
                yield TabPane(f"{(i + 1) % 10} {actions.tab_label(tab_id)}", id=tab_id)
        yield Footer()

    def on_mount(self) -> None:
        self._start_loop()

    def _start_loop(self) -> None:
        self.run_worker(
            self._loop(), name="detail-refresh", group="detail", exclusive=True, exit_on_error=False
        )

    def current(self) -> DetailPane | None:
        pane_id = self.query_one(TabbedContent).active
        if not pane_id:
            return None
        found = self.query_one(f"#{pane_id}", TabPane).query(DetailPane)
        return found.first() if found else None

    async def _ensure(self, pane_id: str) -> DetailPane:
        pane = self.query_one(f"#{pane_id}", TabPane)
        found = pane.query(DetailPane)
        if found:
            return found.first()
        tab = PANES[pane_id]()
        await pane.mount(tab)
        return tab

    async def _loop(self) -> None:
        """Refresh the shown tab; a failure reaches `worker_failed`, which says why and goes on."""
        while True:
            pane_id = self.query_one(TabbedContent).active
            if pane_id:
                tab = await self._ensure(pane_id)
                self._focus_pane()
                await tab.reload(self.detail)
                self._status(self.detail.key)
                if self.first_paint is None:
                    self.first_paint = time.perf_counter() - self._created_at
                self.refreshes += 1
            self._wake.clear()
            wait = LOG_INTERVAL if pane_id == "log" else self.interval
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), wait)

    def worker_failed(self, worker: Worker[Any], said: Described) -> None:
        if worker.group == "detail":
            self.refreshes += 1
            self._status(f"{self.detail.key} · {said.message}")
            self.set_timer(self.interval, self._start_loop)
        else:
            self.notify(said.message + (f"\n{said.hint}" if said.hint else ""), severity="error", timeout=10)

    def _status(self, text: str) -> None:
        widget = self.query_one("#status", Static)
        if str(widget.content) != f" {text}":
            widget.update(f" {text}")

    @on(TabbedContent.TabActivated)
    def _activated(self) -> None:
        self.refresh_bindings()
        self._wake.set()

    # -- actions: the detail screen's rows of the action table ------------------------------
    def targets(self, spec: actions.Action) -> list[str]:
        return [self.detail.key]

    def known_views(self) -> Mapping[str, InstanceView]:
        view = self._app().dashboard.table.views.get(self.detail.key)
        return {self.detail.key: view} if view is not None else {}

    def screen_refusal(self, spec: actions.Action) -> Refusal | None:
        active = self.query_one(TabbedContent).active if self.is_mounted else None
        if spec.tabs and active not in spec.tabs:
            return Refusal(f"on the {' and '.join(actions.tab_label(t) for t in spec.tabs)} tabs only")
        return None

    def ask_context(self, spec: actions.Action, keys: list[str]) -> Any:
        ctx = super().ask_context(spec, keys)
        ctx.detail = self.detail
        tab = self.current()
        pid = getattr(tab, "selected_pid", None)
        if callable(pid):
            ctx.pid = pid()
        if isinstance(tab, SettingsTab):
            row = tab.selected_row()
            ctx.selected = str(row[0]) if row else None
        return ctx

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        return self.check_act(action, parameters)

    def on_key(self, event: events.Key) -> None:
        if not isinstance(self.focused, Input):
            self.explain_key(event)

    @on(ActionSucceeded)
    def _done(self, message: ActionSucceeded) -> None:
        """After a change from here: show it, and offer the restart it may need."""
        self._wake.set()
        if message.action != "configure" or message.key != self.detail.key:
            return
        data = message.outcome.data
        diff, pending = data if isinstance(data, tuple) else ({}, False)
        for name, (old, new) in diff.items():
            self.changes.append(f"{name}: {old} -> {new}" + (" (pending restart)" if pending else " (live)"))
        if pending:
            names = ", ".join(diff)
            self.run_worker(self._offer_restart(names), group="ask", exit_on_error=False)

    async def _offer_restart(self, names: str) -> None:
        title = f"Restart {self.detail.key} now?"
        if await self.app.push_screen_wait(
            ConfirmDialog(title, f"{names} takes effect only after a restart.")
        ):
            spec = actions.BY_NAME["restart_detail"]
            self._app().dispatcher.submit(self, spec, [(self.detail.key, {})])

    # -- keys that only move the screen -------------------------------------------------------
    def action_show(self, tab_id: str) -> None:
        # Focus leaves the old pane first: TabbedContent shows the pane that holds the
        # focused widget, and focus falling back into the old pane's filter box would
        # switch back to it and swallow the next digit.
        self.query_one(Tabs).focus()
        self.query_one(TabbedContent).active = tab_id
        self._focus_pane()

    def _focus_pane(self) -> None:
        """Give the keys to the shown pane's rows, once it is mounted."""
        tab = self.current()
        if tab is not None and isinstance(self.focused, Tabs):
            tab.focus_content()

    def action_reload_tab(self) -> None:
        self._wake.set()

    def action_copy(self) -> None:
        tab = self.current()
        value = tab.selected_value() if tab is not None else None
        if value is None:
            self.notify("Nothing selected to copy.", severity="warning")
            return
        # OSC 52: the terminal puts it on its clipboard, over SSH too.
        self.app.copy_to_clipboard(value)
        self.notify(f"copied: {value[:60]}")

    def on_data_table_row_selected(self) -> None:
        self.action_show_row()

    def action_show_row(self) -> None:
        tab = self.current()
        if isinstance(tab, TableTab):
            row = tab.selected_row()
            if row is not None:
                self.app.push_screen(RowDialog(self.detail.key, tab.columns, row))

    def action_sort(self) -> None:
        tab = self.current()
        if isinstance(tab, TableTab):
            self.notify(f"sorted by {tab.cycle_sort().lower()}", timeout=2)

    def action_reverse_sort(self) -> None:
        tab = self.current()
        if isinstance(tab, TableTab):
            tab.sort_reverse = not tab.sort_reverse
            tab.refresh_rows()

    def action_find(self) -> None:
        tab = self.current()
        if tab is not None and tab.query(Input):
            tab.query(Input).first().focus()

    def action_close(self) -> None:
        """Escape leaves a filter box first (giving the keys back), then the screen."""
        if isinstance(self.focused, Input):
            tab = self.current()
            if tab is not None:
                tab.focus_content()
                return
        self.dismiss(None)

    async def on_unmount(self) -> None:
        await self.detail.close()
