"""One instance up close: overview, settings, configuration, sessions, log, history.

Tabs are mounted when first shown and only the shown one refreshes, so an open
detail screen costs one query per interval. Everything is reachable by keys: the
digits pick a tab, Escape goes back to the table with its cursor where it was.
"""

from __future__ import annotations

import asyncio
import contextlib
import time

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Input, Static, TabbedContent, TabPane

from ...pgsettings import Checked
from ..detail_source import Detail
from ..dialogs.confirm import ConfirmDialog
from ..dialogs.edit_setting import EditSettingDialog
from ..widgets.detail_tabs import (
    ActivityTab,
    ConfigTab,
    HistoryTab,
    LogTab,
    OverviewTab,
    SettingsTab,
    Tab,
    TableTab,
)

TABS: tuple[tuple[str, str, type[Tab]], ...] = (
    ("overview", "1 Overview", OverviewTab),
    ("settings", "2 Settings", SettingsTab),
    ("config", "3 Config", ConfigTab),
    ("activity", "4 Activity", ActivityTab),
    ("log", "5 Log", LogTab),
    ("history", "6 History", HistoryTab),
)
#: The log is followed faster than the rest is refreshed.
LOG_INTERVAL = 1.0


class DetailScreen(Screen[None]):
    BINDINGS = [
        Binding("escape", "close", "Back"),
        *[
            Binding(str(i + 1), f"show('{tab_id}')", label, show=False)
            for i, (tab_id, label, _) in enumerate(TABS)
        ],
        Binding("slash", "find", "Filter", show=False),
        Binding("o", "sort", "Sort", show=False),
        Binding("O", "reverse_sort", "Reverse", show=False),
        Binding("y", "copy", "Copy"),
        Binding("e", "edit", "Edit setting"),
        Binding("x", "signal(False)", "Cancel query"),
        Binding("K", "signal(True)", "Terminate"),
        Binding("ctrl+l", "reload", "Refresh", show=False),
    ]

    def __init__(self, detail: Detail, *, interval: float, read_only: bool) -> None:
        super().__init__()
        self.detail = detail
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
            for tab_id, label, _ in TABS:
                yield TabPane(label, id=tab_id)
        yield Footer()

    def on_mount(self) -> None:
        self.run_worker(
            self._loop(), name="detail-refresh", group="detail", exclusive=True, exit_on_error=False
        )

    def current(self) -> Tab | None:
        pane_id = self.query_one(TabbedContent).active
        if not pane_id:
            return None
        pane = self.query_one(f"#{pane_id}", TabPane)
        found = pane.query(Tab)
        return found.first() if found else None

    async def _ensure(self, pane_id: str) -> Tab:
        pane = self.query_one(f"#{pane_id}", TabPane)
        found = pane.query(Tab)
        if found:
            return found.first()
        cls = next(c for tab_id, _, c in TABS if tab_id == pane_id)
        tab = cls()
        await pane.mount(tab)
        return tab

    async def _loop(self) -> None:
        while True:
            pane_id = self.query_one(TabbedContent).active
            if pane_id:
                tab = await self._ensure(pane_id)
                try:
                    await tab.reload(self.detail)
                except Exception as exc:  # shown in the status line; the loop goes on
                    reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
                    self._status(f"{self.detail.key} · {reason}")
                else:
                    self._status(f"{self.detail.key}")
                    if self.first_paint is None:
                        self.first_paint = time.perf_counter() - self._created_at
                self.refreshes += 1
            self._wake.clear()
            wait = LOG_INTERVAL if pane_id == "log" else self.interval
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), wait)

    def _status(self, text: str) -> None:
        widget = self.query_one("#status", Static)
        if str(widget.content) != f" {text}":
            widget.update(f" {text}")

    @on(TabbedContent.TabActivated)
    def _activated(self) -> None:
        self.refresh_bindings()
        self._wake.set()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in ("signal", "edit") and self.read_only:
            return False
        if action == "signal":
            return True if self.query_one(TabbedContent).active == "activity" else None
        return True

    async def action_edit(self) -> None:
        try:
            rows = {row["name"]: row for row in await self.detail.settings()}
        except Exception as exc:
            self.notify(f"cannot read pg_settings: {exc}", severity="error")
            return
        tab = self.current()
        selected = tab.selected_row() if isinstance(tab, SettingsTab) else None
        name = str(selected[0]) if selected else ""

        def apply(checked: Checked | None) -> None:
            if checked is not None:
                self.run_worker(self._apply(checked), group="edit", exit_on_error=False)

        self.app.push_screen(EditSettingDialog(rows, name), apply)

    async def _apply(self, checked: Checked) -> None:
        try:
            diff, pending = await self.detail.configure({checked.name: checked.value})
        except Exception as exc:
            self.notify(str(exc).strip() or type(exc).__name__, title="configure failed", severity="error")
            return
        if not diff:
            self.notify(f"{checked.name} already is {checked.value}")
            return
        for name, (old, new) in diff.items():
            self.changes.append(f"{name}: {old} -> {new}" + (" (pending restart)" if pending else " (live)"))
        self._wake.set()
        if not pending:
            self.notify(f"{checked.name} = {checked.value}: applied by a reload")
            return

        def restart(answer: bool | None) -> None:
            if answer:
                self.run_worker(self._restart(), group="edit", exit_on_error=False)

        self.app.push_screen(
            ConfirmDialog(
                f"Restart {self.detail.key} now?", f"{checked.name} takes effect only after a restart."
            ),
            restart,
        )

    async def _restart(self) -> None:
        try:
            await self.detail.restart()
        except Exception as exc:
            self.notify(str(exc).strip() or type(exc).__name__, title="restart failed", severity="error")
            return
        self.notify(f"{self.detail.key} restarted")
        self._wake.set()

    def action_show(self, tab_id: str) -> None:
        self.query_one(TabbedContent).active = tab_id

    def action_reload(self) -> None:
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

    def action_signal(self, terminate: bool) -> None:
        tab = self.current()
        if not isinstance(tab, ActivityTab):
            return
        pid = tab.selected_pid()
        if pid is None:
            return
        if terminate:
            title, body = (
                f"Terminate backend {pid}?",
                "This ends the session: its open transaction rolls back.",
            )
        else:
            title, body = (
                f"Cancel the query of backend {pid}?",
                "This stops its current query; the session stays.",
            )

        def go(answer: bool | None) -> None:
            if answer:
                self.run_worker(self._signal(pid, terminate), group="signal", exit_on_error=False)

        self.app.push_screen(ConfirmDialog(title, body), go)

    async def _signal(self, pid: int, terminate: bool) -> None:
        try:
            done = await self.detail.signal(pid, terminate=terminate)
        except Exception as exc:
            self.notify(str(exc).strip() or type(exc).__name__, severity="error")
            return
        word = "terminated" if terminate else "cancelled"
        self.notify(f"backend {pid} {word}" if done else f"backend {pid} was gone already")
        self._wake.set()

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

    async def action_close(self) -> None:
        """Escape leaves a filter box first, then the screen."""
        if isinstance(self.focused, Input):
            tab = self.current()
            tables = tab.query(DataTable) if tab is not None else None
            if tables:
                tables.first().focus()
                return
        self.dismiss(None)

    async def on_unmount(self) -> None:
        await self.detail.close()
