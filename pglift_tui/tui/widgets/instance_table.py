"""The table of instances, drawn line by line.

Textual's DataTable re-renders the whole table on any cell update (about 30 ms at
80x24 for 100 rows, measured). This widget keeps each row's rendered strip and,
on a refresh, redraws only the lines whose cells changed: an idle refresh costs
nothing on screen. Cursor, scroll, sort, filter and marks survive refreshes.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass

from rich.segment import Segment
from rich.style import Style
from textual import events
from textual.binding import Binding
from textual.geometry import Region, Size
from textual.message import Message
from textual.scroll_view import ScrollView
from textual.strip import Strip

from ...monitor import InstanceView
from .. import format as fmt
from .. import health_words
from ..layout import columns_for


class InstanceTable(ScrollView, can_focus=True):
    """Every instance, one line each, under a pinned header."""

    COMPONENT_CLASSES = {
        "instance-table--header",
        "instance-table--cursor",
        "instance-table--sorted",
        "instance-table--marked",
        "instance-table--running",
        "instance-table--stopped",
        "instance-table--crashed",
        "instance-table--transition",
        "instance-table--busy",
        "instance-table--warning",
        "instance-table--standby",
        "instance-table--dim",
        "instance-table--spark",
        "instance-table--critical",
        "instance-table--critical-row",
        "instance-table--warning-row",
    }
    BINDINGS = [
        Binding("up,k", "cursor(-1)", "Up", show=False),
        Binding("down,j", "cursor(1)", "Down", show=False),
        Binding("pageup", "page(-1)", "Page up", show=False),
        Binding("pagedown", "page(1)", "Page down", show=False),
        Binding("home", "cursor(-100000)", "First", show=False),
        Binding("end", "cursor(100000)", "Last", show=False),
    ]

    @dataclass
    class CursorMoved(Message):
        """The selected instance changed (its key, or None for an empty table)."""

        table: InstanceTable
        key: str | None

        @property
        def control(self) -> InstanceTable:
            return self.table

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.views: dict[str, InstanceView] = {}
        self.order: list[str] = []
        self.cells: dict[str, tuple[fmt.Cell, ...]] = {}
        #: Key -> (what is going on, since when): the row shows both, "restarting 3s".
        self.running: dict[str, tuple[str, float]] = {}
        #: Key -> (what an action did, when it ended): shown until a snapshot taken
        #: after that end says how the row is now.
        self.settled: dict[str, tuple[str, float]] = {}
        #: What the status cell says instead of the row's state, per key.
        self.actions: dict[str, str] = {}
        self.marks: set[str] = set()
        self.sort_key = "name"
        self.reverse = False
        self.filter = fmt.RowFilter("")
        self.cursor_key: str | None = None
        self.now = 0.0
        #: One scale for every row's transaction rate, so an idle row looks idle.
        self.tps_top = 0.0
        #: Lines redrawn by refreshes so far: a benchmark counts them.
        self.line_updates = 0
        self._strips: dict[str, Strip] = {}
        self._layout: list[tuple[int, int]] = []  # (column index, width)
        self._header: Strip | None = None
        self._ticking = False
        self.show_hosts = False
        #: Per row, the inputs its cells were last made from (see `_inputs`).
        self._drawn_from: dict[str, tuple[object, ...]] = {}
        #: The sparkline's width in the layout now, and a counter of layouts.
        self._tps_cells = 12
        self._layout_id = 0
        #: Inventory groups of each host, for the filter's `group:` (set by the dashboard).
        self.host_groups: dict[str, tuple[str, ...]] = {}

    # -- data ---------------------------------------------------------------------------
    def update_views(self, views: Iterable[InstanceView], now: float, began: float = 0.0) -> int:
        """Show `views` (a snapshot begun at `began`); redraw only the rows that changed."""
        self.now = now
        for key, (_, ended) in list(self.settled.items()):
            if ended <= began:
                del self.settled[key]
        self._overlays()
        fresh = {view.key: view for view in views}
        hosts = any(view.item.host for view in fresh.values())
        if hosts != self.show_hosts:
            self.show_hosts = hosts  # a host column over an inventory only
            self._compute_layout(self.size.width)
        top = fmt.tps_scale(fresh.values())
        if top != self.tps_top:
            self.tps_top = top
            self._header = None
            self.refresh(Region(0, 0, self.size.width, 1))
        reorder = fresh.keys() != self.views.keys()
        changed = []
        for key, view in fresh.items():
            old = self.views.get(key)
            inputs = self._inputs(view, key)
            if old is not None and (old is view or old == view) and self._drawn_from.get(key) == inputs:
                continue  # the same row from the same inputs: not even its cells are made again
            if (
                old is not None
                and old != view
                and fmt.sort_value(old, self.sort_key) != fmt.sort_value(view, self.sort_key)
            ):
                reorder = True
            self._drawn_from[key] = inputs
            cells = self._row_cells(view, key)
            if cells != self.cells.get(key):
                self.cells[key] = cells
                self._strips.pop(key, None)
                changed.append(key)
        for key in self.views.keys() - fresh.keys():
            self.cells.pop(key, None)
            self._strips.pop(key, None)
            self._drawn_from.pop(key, None)
            self.marks.discard(key)
        self.views = fresh
        if reorder:
            self._reorder()
        else:
            for key in changed:
                self._refresh_row(key)
        self.line_updates += len(changed)
        return len(changed)

    def _overlays(self) -> None:
        """What each row's status cell says while an action runs, or just after."""
        self.actions = {key: word for key, (word, _) in self.settled.items()}
        for key, (what, since) in self.running.items():
            self.actions[key] = f"{what} {time.monotonic() - since:.0f}s…"

    def _inputs(self, view: InstanceView, key: str) -> tuple[object, ...]:
        """What a row's cells depend on besides its view: the clock (uptime in minutes), its
        overlay, its mark, the sparkline's width and scale."""
        item = view.item
        clock = fmt.uptime(item.started_at, self.now) if item.status == "running" else ""
        marked = key in self.marks
        return (clock, self.actions.get(key), marked, self._tps_cells, self.tps_top, self._layout_id)

    def _row_cells(self, view: InstanceView, key: str) -> tuple[fmt.Cell, ...]:
        return fmt.row(
            view, self.now, self.actions.get(key), key in self.marks, self._tps_width(), self.tps_top
        )

    def _tps_width(self) -> int:
        return self._tps_cells

    def set_step(self, key: str, step: str, state: str) -> None:
        """A step of a long action began ("running") or ended on a row."""
        self.set_action(key, step if state == "running" else f"{step} {state}")

    def set_action(self, key: str, action: str) -> None:
        """An action began on a row: its status cell says so, with the time it has taken."""
        self.running[key] = (action, time.monotonic())
        self.settled.pop(key, None)
        self._redraw_row(key)
        if not self._ticking:
            self._ticking = True
            self.set_interval(1.0, self._tick)

    def end_action(self, key: str, outcome: str | None) -> None:
        """The action on a row ended: its outcome ("started") shows until a fresh snapshot."""
        self.running.pop(key, None)
        if outcome is not None:
            self.settled[key] = (outcome, time.monotonic())
        else:
            self.settled.pop(key, None)
        self._redraw_row(key)

    def _tick(self) -> None:
        """Once a second while actions run: their elapsed time moves on."""
        for key in self.running:
            self._redraw_row(key)

    def toggle_mark(self, key: str) -> None:
        if key in self.marks:
            self.marks.discard(key)
        else:
            self.marks.add(key)
        self._redraw_row(key)

    def clear_marks(self) -> None:
        keys, self.marks = self.marks, set()
        for key in keys:
            self._redraw_row(key)

    def _redraw_row(self, key: str) -> None:
        view = self.views.get(key)
        self._overlays()
        if view is None:
            return
        self._drawn_from[key] = self._inputs(view, key)
        cells = self._row_cells(view, key)
        if cells == self.cells.get(key):
            return
        self.cells[key] = cells
        self._strips.pop(key, None)
        self._refresh_row(key)

    def sort_by(self, key: str) -> None:
        """Sort on `key`; the same key again reverses the direction."""
        if key == self.sort_key:
            self.reverse = not self.reverse
        else:
            self.sort_key, self.reverse = key, False
        self._header = None
        self._reorder()

    def set_filter(self, text: str) -> None:
        self.filter = fmt.RowFilter(text)
        self._reorder()

    def _matches(self, view: InstanceView) -> bool:
        cells = self.cells.get(view.key) or self._row_cells(view, view.key)
        return self.filter.matches(view, cells, self.host_groups)

    def _reorder(self) -> None:
        previous = self.cursor_row
        shown = [v for v in self.views.values() if self._matches(v)]
        shown.sort(key=lambda v: v.item.name)
        shown.sort(key=lambda v: fmt.sort_value(v, self.sort_key), reverse=self.reverse)
        self.order = [v.key for v in shown]
        self.virtual_size = Size(self.size.width, len(self.order) + 1)
        # A row that went away (dropped, filtered out) leaves the cursor where it was.
        self._place_cursor(self.order.index(self.cursor_key) if self.cursor_key in self.order else previous)
        self.refresh()

    # -- cursor -----------------------------------------------------------------------------
    @property
    def cursor_row(self) -> int:
        return self._cursor_index

    _cursor_index = 0

    def _place_cursor(self, index: int) -> None:
        old = self.cursor_key
        if not self.order:
            self.cursor_key = None
            self._cursor_index = 0
        else:
            index = max(0, min(index, len(self.order) - 1))
            self.cursor_key = self.order[index]
            self._cursor_index = index
            visible = max(1, self.size.height - 1)
            top = int(self.scroll_y)
            if index < top:
                self.scroll_to(y=index, animate=False, immediate=True)
            elif index >= top + visible:
                self.scroll_to(y=index - visible + 1, animate=False, immediate=True)
        if old != self.cursor_key:
            for key in (old, self.cursor_key):
                if key is not None:
                    self._strips.pop(key, None)
                    self._refresh_row(key)
            self.post_message(self.CursorMoved(self, self.cursor_key))

    def move_to(self, key: str) -> None:
        if key in self.order:
            self._place_cursor(self.order.index(key))

    def action_cursor(self, delta: int) -> None:
        self._place_cursor(self.cursor_row + delta)

    def action_page(self, direction: int) -> None:
        self._place_cursor(self.cursor_row + direction * max(1, self.size.height - 2))

    def on_click(self, event: events.Click) -> None:
        if event.y >= 1:
            self._place_cursor(int(self.scroll_y) + event.y - 1)

    # -- drawing ------------------------------------------------------------------------------
    def on_resize(self, event: events.Resize) -> None:
        self._compute_layout(event.size.width)
        self.virtual_size = Size(event.size.width, len(self.order) + 1)

    def _compute_layout(self, width: int) -> None:
        """Drop the least important columns until the rest fit; the name takes what is left."""
        layout = columns_for(width, show_hosts=self.show_hosts)
        if layout != self._layout:
            self._layout = layout
            self._layout_id += 1
            self._tps_cells = next((w for i, w in layout if fmt.COLUMNS[i].key == "tps"), 12)
            self._header = None
            self._strips.clear()
            for key, view in self.views.items():
                self._drawn_from[key] = self._inputs(view, key)
                self.cells[key] = self._row_cells(view, key)
            self.refresh()

    def _refresh_row(self, key: str) -> None:
        try:
            index = self.order.index(key)
        except ValueError:
            return
        y = index + 1 - int(self.scroll_y)
        if 1 <= y < self.size.height:
            self.refresh(Region(0, y, self.size.width, 1))

    def _style(self, name: str) -> Style:
        """A component's full style (theme colours resolved against the table's background)."""
        return self.get_component_rich_style(f"instance-table--{name}")

    def _cell_style(self, name: str) -> Style:
        """A cell's colour and text style, without a background: the row's shows through."""
        full = self._style(name)
        return Style(color=full.color, bold=full.bold, italic=full.italic, underline=full.underline)

    def _line(self, cells: Iterable[tuple[str, Style]], base: Style) -> Strip:
        segments: list[Segment] = []
        for (text, style), (_, width) in zip(cells, self._layout, strict=True):
            if len(text) > width:
                text = text[: max(0, width - 1)] + "…"
            segments.append(Segment(text.ljust(width), base + style))
            segments.append(Segment(" ", base))
        return Strip(segments[:-1]).extend_cell_length(self.size.width, base).crop(0, self.size.width)

    def _header_strip(self) -> Strip:
        if self._header is None:
            base = self.rich_style + self._style("header")
            cells = []
            for index, _ in self._layout:
                column = fmt.COLUMNS[index]
                label = column.label
                if column.key == "tps" and self.tps_top:
                    label = f"TPS ≤{self.tps_top:g}/s"
                style = Style()
                if column.key == self.sort_key:
                    label += "▼" if self.reverse else "▲"
                    style = self._cell_style("sorted")
                cells.append((label, style))
            self._header = self._line(cells, base)
        return self._header

    def _row_strip(self, key: str) -> Strip:
        strip = self._strips.get(key)
        if strip is None:
            base = self.rich_style
            muted: tuple[str, ...] = ("",)
            if key == self.cursor_key:
                base = base + self._style("cursor")
                muted = ("", "dim", "stopped")  # muted greys would vanish on the cursor's colour
            elif (view := self.views.get(key)) is not None and (sev := health_words.severity(view)):
                base = base + self._style(f"{sev}-row")  # the row's colour follows its trouble
            cells = self.cells[key]
            strip = self._line(
                (
                    (cells[i].text, Style() if cells[i].style in muted else self._cell_style(cells[i].style))
                    for i, _ in self._layout
                ),
                base,
            )
            self._strips[key] = strip
        return strip

    def render_line(self, y: int) -> Strip:
        if not self._layout:
            self._compute_layout(self.size.width)
        if y == 0:
            return self._header_strip()
        index = int(self.scroll_y) + y - 1
        if 0 <= index < len(self.order):
            return self._row_strip(self.order[index])
        return Strip.blank(self.size.width, self.rich_style)

    def notify_style_update(self) -> None:
        super().notify_style_update()
        self._header = None
        self._strips.clear()
