"""The detail screen's tabs: each reads its data from a `Detail` and redraws only on change.

A table whose rows did not change is not touched at all: a DataTable update costs
a full re-render (see FACTS), and an open screen refreshes every few seconds.
"""

from __future__ import annotations

import os
import re
from datetime import datetime
from typing import Any

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widget import Widget
from textual.widgets import DataTable, Input, RichLog, Static

from ... import journal, troubleshoot
from ...detail import Detail
from .. import format as fmt

ALARM = re.compile(r"\b(ERROR|FATAL|PANIC):")
_WARN = re.compile(r"\bWARNING:")


_age = fmt.age


class DetailPane(Widget):
    """A tab's content, refreshing itself and saying what `y` copies.

    Not named `Tab`: a widget's class name is its CSS type, and `textual.widgets.Tab`
    (height 1) would lend it its rules once that widget's styles are loaded, which
    flattened every pane of the second detail screen opened in a session.
    """

    async def reload(self, detail: Detail) -> None:
        raise NotImplementedError

    def selected_value(self) -> str | None:
        return None

    def focus_content(self) -> None:
        """Focus what the keys move in (not a filter box, which would eat the digits)."""
        for widget in self.query("DataTable, RichLog, VerticalScroll"):
            if widget.focusable:
                widget.focus()
                return


class TableTab(DetailPane):
    """A filterable table; rows are replaced only when they changed."""

    columns: tuple[str, ...] = ()
    placeholder = "filter"

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.rows: list[tuple[Any, ...]] = []
        self.shown: list[tuple[Any, ...]] = []
        self.updates = 0
        #: Column the rows are sorted by (None: as the server gave them), and the direction.
        self.sort_column: int | None = None
        self.sort_reverse = False

    def cycle_sort(self) -> str:
        """Sort by the next column (after the last, back to the server's order); its name."""
        if self.sort_column is None:
            self.sort_column = 0
        elif self.sort_column + 1 < len(self.columns):
            self.sort_column += 1
        else:
            self.sort_column = None
        self._show(force=True)
        return "server order" if self.sort_column is None else self.columns[self.sort_column]

    def refresh_rows(self) -> None:
        self._show(force=True)

    def _key(self, row: tuple[Any, ...]) -> tuple[int, Any]:
        assert self.sort_column is not None
        value = row[self.sort_column]
        if value is None or value == "":
            return (2, "")
        return (0, value) if isinstance(value, int | float) else (1, str(value).lower())

    def compose(self) -> ComposeResult:
        yield Input(placeholder=self.placeholder, classes="tab-filter")
        yield DataTable(cursor_type="row", zebra_stripes=True)

    def on_mount(self) -> None:
        self.query_one(DataTable).add_columns(*self.columns)

    @property
    def table(self) -> DataTable[Any]:
        return self.query_one(DataTable)

    def on_input_changed(self, event: Input.Changed) -> None:
        self._show(force=True)

    def set_rows(self, rows: list[tuple[Any, ...]]) -> None:
        if rows == self.rows:
            return
        self.rows = rows
        self._show()

    def _show(self, force: bool = False) -> None:
        needle = self.query_one(Input).value.lower()
        shown = [r for r in self.rows if not needle or any(needle in str(c).lower() for c in r)]
        if self.sort_column is not None:
            shown.sort(key=self._key, reverse=self.sort_reverse)
        if shown == self.shown and not force:
            return
        self.shown = shown
        table = self.table
        row, scroll = table.cursor_row, table.scroll_y
        table.clear()
        for values in shown:
            table.add_row(*(self.cell(i, v, values) for i, v in enumerate(values)))
        if shown:
            table.move_cursor(row=min(row, len(shown) - 1), animate=False)
            table.scroll_to(y=scroll, animate=False)
        self.updates += 1

    def cell(self, index: int, value: Any, row: tuple[Any, ...]) -> Any:
        return "" if value is None else str(value)

    def selected_row(self) -> tuple[Any, ...] | None:
        if not self.shown or self.table.cursor_row >= len(self.shown):
            return None
        return self.shown[self.table.cursor_row]


class SettingsTab(TableTab):
    columns = ("NAME", "SETTING", "SOURCE", "CONTEXT", "AFTER RESTART")
    placeholder = "filter settings by name, value or source"

    async def reload(self, detail: Detail) -> None:
        rows = []
        for s in await detail.settings():
            value = s["setting"] if not s["unit"] else f"{s['setting']} {s['unit']}"
            after = s["after_restart"] if s["pending_restart"] else None
            rows.append((s["name"], value, s["source"], s["context"], after))
        self.set_rows(rows)

    def cell(self, index: int, value: Any, row: tuple[Any, ...]) -> Any:
        text = "" if value is None else str(value)
        if index == 1 and row[2] not in ("default", "override"):
            return Text(text, style="bold")
        if index == 4 and value is not None:
            return Text(text, style="yellow")
        return text

    def selected_value(self) -> str | None:
        row = self.selected_row()
        return f"{row[0]} = {row[1]}" if row else None


class ConfigTab(TableTab):
    """What the files say against what the server runs: pg_file_settings, errors first."""

    columns = ("NAME", "SETTING", "ERROR", "APPLIED", "FILE:LINE")
    placeholder = "filter configuration lines"

    def compose(self) -> ComposeResult:
        yield Static(id="config-summary")
        yield from super().compose()

    async def reload(self, detail: Detail) -> None:
        rows = await detail.file_settings()
        pending = sorted({r["name"] for r in rows if r["pending_restart"]})
        errors = [r for r in rows if r["error"]]
        summary = Text()
        if errors:
            summary.append(f"{len(errors)} line(s) the server could not apply: see ERROR\n", style="bold red")
        if pending:
            summary.append("pending restart: " + ", ".join(pending) + "\n", style="yellow")
        if not errors and not pending:
            summary.append("The server runs what its files say.\n", style="green")
        for change in getattr(self.screen, "changes", []):
            summary.append(f"changed here: {change}\n")
        summary.rstrip()
        widget = self.query_one("#config-summary", Static)
        if str(widget.content) != summary.plain:
            widget.update(summary)
        self.set_rows(
            [
                (
                    r["name"],
                    r["setting"],
                    r["error"],
                    "yes" if r["applied"] else "no",
                    f"{os.path.basename(r['sourcefile'] or '')}:{r['sourceline']}",
                )
                for r in sorted(rows, key=lambda r: (r["error"] is None, r["seqno"]))
            ]
        )

    def cell(self, index: int, value: Any, row: tuple[Any, ...]) -> Any:
        text = "" if value is None else str(value)
        return Text(text, style="bold red") if row[2] and index in (0, 2) else text

    def selected_value(self) -> str | None:
        row = self.selected_row()
        return f"{row[0]} = {row[1]}" if row else None


class ActivityTab(TableTab):
    columns = ("PID", "USER", "STATE", "XACT", "QUERY AGE", "WAIT", "QUERY", "DATABASE", "CLIENT")
    placeholder = "filter sessions"

    def compose(self) -> ComposeResult:
        yield Static(id="activity-waits", classes="tab-summary")
        yield from super().compose()

    async def reload(self, detail: Detail) -> None:
        rows = []
        activity = await detail.activity()
        waits = troubleshoot.wait_summary(activity)
        text = "active sessions: " + (" · ".join(f"{n} {what}" for what, n in waits) if waits else "none")
        summary = self.query_one("#activity-waits", Static)
        if str(summary.content) != text:
            summary.update(text)
        for a in activity:
            wait = f"{a['wait_event_type']}:{a['wait_event']}" if a["wait_event"] else ""
            query = " ".join((a["query"] or "").split())
            rows.append(
                (a["pid"], a["user"], a["state"], _age(a["xact_age"]), _age(a["query_age"]), wait, query,
                 a["database"], a["client"])
            )  # fmt: skip
        self.set_rows(rows)

    def selected_pid(self) -> int | None:
        row = self.selected_row()
        return int(row[0]) if row else None

    def selected_value(self) -> str | None:
        row = self.selected_row()
        return str(row[6]) if row else None


class LogTab(DetailPane):
    """The server log, followed: following stops when scrolled up and resumes at the end."""

    MAX_LINES = 2000

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.lines: list[str] = []

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Input(placeholder="search the log (shows matching lines)", classes="tab-filter")
            yield RichLog(max_lines=self.MAX_LINES, wrap=False, highlight=False, auto_scroll=True)

    async def reload(self, detail: Detail) -> None:
        new = await detail.log_lines()
        if not new:
            return
        self.lines = (self.lines + new)[-self.MAX_LINES :]
        log = self.query_one(RichLog)
        log.auto_scroll = log.is_vertical_scroll_end or log.max_scroll_y == 0
        self._write(log, new[-self.MAX_LINES :], self.query_one(Input).value)

    def on_input_changed(self, event: Input.Changed) -> None:
        log = self.query_one(RichLog)
        log.clear()
        self._write(log, self.lines, event.value)

    @staticmethod
    def _write(log: RichLog, lines: list[str], needle: str) -> None:
        """One write for a batch: a log growing by a thousand lines a second stays cheap."""
        needle = needle.lower()
        shown = [line for line in lines if not needle or needle in line.lower()]
        if shown:
            log.write(Text("\n").join(_styled(line) for line in shown))

    def selected_value(self) -> str | None:
        needle = self.query_one(Input).value.lower()
        matching = [line for line in self.lines if not needle or needle in line.lower()]
        return matching[-1] if matching else None


def _styled(line: str) -> Text:
    if ALARM.search(line):
        return Text(line, style="bold red")
    if _WARN.search(line):
        return Text(line, style="yellow")
    return Text(line)


class HistoryTab(TableTab):
    columns = ("TIME", "USER", "ACTION", "RESULT", "TOOK", "ERROR")
    placeholder = "filter events"

    async def reload(self, detail: Detail) -> None:
        events: list[journal.Event] = await detail.history(500)
        self.set_rows(
            [
                (datetime.fromtimestamp(e.time).strftime("%m-%d %H:%M:%S"), e.user, e.action,
                 {"ok": "ok", "failed": "FAILED", "unchanged": "no change"}[e.result], f"{e.duration:.2f}s",
                 e.error or "")
                for e in events
            ]
        )  # fmt: skip

    def selected_value(self) -> str | None:
        row = self.selected_row()
        return str(row[5] or row[2]) if row else None
