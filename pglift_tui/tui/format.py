"""Pure functions from core models to table cells: same input, same text.

Values that move continuously are bucketed (uptime in minutes, lag rounded, the
transaction rate in points of several refreshes) so that an idle refresh redraws
nothing.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime

from ..models.interface import InstanceListItem
from ..monitor import InstanceView
from . import health_words
from .amounts import age, size

__all__ = ["age", "size"]

SPARKS = "▁▂▃▄▅▆▇█"


@dataclass(frozen=True)
class Column:
    key: str
    label: str
    width: int
    #: Columns with the lowest priority give way first on narrow terminals.
    priority: int
    align: str = "left"


COLUMNS = (
    Column("mark", "", 1, 100),
    # Only over an inventory: the host's inventory name.
    Column("host", "HOST", 10, 96),
    Column("name", "NAME", 12, 99),
    Column("version", "VER", 4, 60),
    Column("port", "PORT", 5, 70),
    Column("status", "STATUS", 11, 98),
    Column("role", "ROLE", 8, 65),
    # The manager's name where there is room, else its first letter (see NARROW).
    Column("manager", "MANAGER", 9, 35),
    Column("mgr", "M", 1, 90),
    Column("pid", "PID", 7, 20),
    Column("uptime", "UPTIME", 7, 50),
    Column("conn", "CONN", 8, 55),
    Column("lag", "LAG", 7, 30),
    Column("restart", "RST", 3, 45),
    Column("health", "HEALTH", 16, 97),
    Column("tps", "TPS", 12, 40),
)
#: A column shown only when the wide one it stands for is not.
NARROW = {"mgr": "manager"}
#: Sort keys, in the order of the digit keys that choose them.
SORTABLE = ("name", "version", "port", "status", "role", "health", "uptime", "conn", "tps")


@dataclass(frozen=True)
class Cell:
    text: str
    style: str = ""


def uptime(started_at: datetime | None, now: float) -> str:
    if started_at is None:
        return ""
    minutes = max(0, int(now - started_at.timestamp()) // 60)
    if minutes < 60:
        return f"{minutes}m"
    hours, minutes = divmod(minutes, 60)
    if hours < 24:
        return f"{hours}h{minutes:02d}m"
    days, hours = divmod(hours, 24)
    return f"{days}d{hours:02d}h"


def lag(view: InstanceView) -> str:
    if view.lag_bytes is None and view.lag_seconds is None:
        return ""
    if view.lag_seconds is not None and view.lag_seconds >= 1:
        seconds = view.lag_seconds
        return f"{seconds:.0f}s" if seconds < 120 else f"{seconds / 60:.0f}min"
    return size(view.lag_bytes or 0)


def tps_scale(views: Iterable[InstanceView]) -> float:
    """One top for every row's sparkline: the highest rate shown, rounded up to 1, 2 or 5
    times a power of ten, so the scale (and every row with it) rarely moves."""
    top = max((max(view.tps, default=0.0) for view in views), default=0.0)
    if top <= 0:
        return 0.0
    power = 10 ** math.floor(math.log10(top))
    return float(next(step * power for step in (1, 2, 5, 10) if step * power >= top))


def sparkline(points: tuple[float, ...], width: int, top: float | None = None) -> str:
    """The last `width` points, scaled to `top` (default: their own maximum); blank when idle."""
    shown = points[-width:]
    top = top or max(shown, default=0.0)
    if top <= 0 or max(shown, default=0.0) <= 0:
        return ""  # idle: nothing to draw, and nothing to redraw as history grows
    return "".join(SPARKS[min(len(SPARKS) - 1, int(p / top * (len(SPARKS) - 1) + 0.5))] for p in shown)


def state_word(item: InstanceListItem) -> str:
    return item.state_word


_STATE_STYLE = {"running": "running", "starting": "transition", "stopping": "transition",
                "crashed": "crashed", "superseded": "stopped", "stopped": "stopped",
                "incomplete": "crashed"}  # fmt: skip


def status(view: InstanceView, action: str | None) -> Cell:
    """The status word, or what is going on when something is."""
    if action is not None:
        return Cell(action, "busy")
    if view.busy is not None:
        # Another process holds the lock: what it does ("restart by pid 9120 (alice)").
        return Cell(f"{view.busy.split(' ', 1)[0]}…", "busy")
    word = state_word(view.item)
    if word == "running" and view.error is not None:
        return Cell("unreachable", "warning")
    return Cell(word, _STATE_STYLE[word])


def note(view: InstanceView, action: str | None) -> str:
    """A few lines on the selected row: its troubles in full, then why it is as it is."""
    item = view.item
    where = [item.key, f"port {item.port}", str(item.datadir)]
    if item.manager != "pglift":
        where.append(MANAGED.get(item.manager, item.manager))
    if item.owner:
        where.append(f"owned by {item.owner}")
    if item.supervisor:
        where.append(f"supervised by {item.supervisor}")
    parts = []
    if action is not None:
        parts.append(f"{action.rstrip('…')}")
    if view.busy is not None:
        parts.append(f"busy: {view.busy}")
    if view.error is not None:
        parts.append(f"unreachable: {view.error}")
    if item.incomplete:
        parts.append(f"incomplete: {item.incomplete}; apply its manifest again, or drop it")
    elif item.status == "crashed":
        parts.append("crashed: a stale postmaster.pid is left; start recovers")
    if view.pending_restart:
        parts.append("a restart is pending")
    if view.standbys:
        parts.append(f"{view.standbys} standby(s) streaming")
    if item.superseded_by:
        parts.append(f"superseded by {item.superseded_by} (upgraded): start refuses it")
    if item.diverged_by:
        parts.append(f"diverged: {item.diverged_by} was promoted; rebuild this one before it follows again")
    troubles = health_words.lines(view)
    return "\n".join([*troubles, " · ".join(where + parts)])


#: How each manager's rows are operated, for the note.
MANAGED = {
    "debian": "a Debian cluster: pg_ctlcluster operates it",
    "unmanaged": "not managed here: listed, never operated",
}


def role(item: InstanceListItem) -> Cell:
    """A former primary that kept running after its standby was promoted reads as diverged."""
    if item.diverged_by:
        return Cell("diverged", "crashed")
    return Cell(item.role, "standby" if item.role == "standby" else "")


def row(
    view: InstanceView,
    now: float,
    action: str | None,
    marked: bool,
    tps_width: int = 12,
    tps_top: float | None = None,
) -> tuple[Cell, ...]:
    """The cells of one instance, in COLUMNS order."""
    item = view.item
    running = item.status == "running"
    conn = ""
    if view.connections is not None and view.max_connections is not None:
        conn = f"{view.connections}/{view.max_connections}"
        ratio = view.connections / max(view.max_connections, 1)
    cells = {
        "mark": Cell("●" if marked else " ", "marked"),
        "name": Cell(item.name),
        "version": Cell(item.version, "dim"),
        "port": Cell(str(item.port) if item.port else "?"),  # 0: another user's, not told
        "status": status(view, action),
        "role": role(item),
        "pid": Cell(str(item.pid) if item.pid else "", "dim"),
        "uptime": Cell(uptime(item.started_at, now) if running else ""),
        "conn": Cell(conn, "warning" if conn and ratio >= 0.8 else ""),
        "lag": Cell(lag(view), "warning" if view.lag_seconds and view.lag_seconds >= 60 else ""),
        "restart": Cell("yes" if view.pending_restart else "", "warning"),
        "tps": Cell(sparkline(view.tps, tps_width, tps_top) if running else "", "spark"),
        "host": Cell(item.host or ""),
        "manager": Cell(item.manager, "dim" if item.manager == "pglift" else ""),
        "mgr": Cell(item.manager[0], "dim" if item.manager == "pglift" else ""),
        "health": Cell(*health_words.cell_text(view)),
    }
    return tuple(cells[c.key] for c in COLUMNS)


def sort_value(view: InstanceView, key: str) -> tuple[int, float | str]:
    """A sort key per column; empty values last."""
    item = view.item
    value: float | str | None
    if key == "name":
        value = item.name
    elif key == "version":
        value = int(item.version)
    elif key == "port":
        value = item.port
    elif key == "status":
        value = {"running": 0, "crashed": 1, "not running": 2}[item.status]
    elif key == "role":
        value = item.role
    elif key == "pid":
        value = item.pid
    elif key == "uptime":
        value = -item.started_at.timestamp() if item.started_at else None
    elif key == "conn":
        value = view.connections
    elif key == "health":
        troubles = view.troubles
        value = None if not troubles else health_words.RANK[troubles[0].severity] - len(troubles) / 100
    elif key == "tps":
        value = view.tps[-1] if view.tps else None
    else:
        value = item.name
    return (1, "") if value is None else (0, value)


#: Filter fields: what `field:word` narrows to, by column key (with short aliases).
FILTER_FIELDS = {"name": "name", "version": "version", "ver": "version", "port": "port",
                 "status": "status", "role": "role", "pid": "pid", "manager": "manager",
                 "host": "host", "group": "group", "health": "health"}  # fmt: skip
_WORDS = re.compile(r"[\w.]+")


class RowFilter:
    """Rows whose shown words match: each word of the filter begins a word shown in
    some column (`running` never matches `stopped`), or in one column with `field:word`."""

    def __init__(self, text: str) -> None:
        self.text = text.strip().lower()
        self.terms: list[tuple[str | None, str]] = []
        self.unknown: list[str] = []
        for word in self.text.split():
            field, sep, value = word.partition(":")
            if sep and field in FILTER_FIELDS:
                self.terms.append((FILTER_FIELDS[field], value))
            else:
                if sep and field:
                    self.unknown.append(field)
                self.terms.append((None, word))

    def matches(
        self, view: InstanceView, cells: tuple[Cell, ...], groups: Mapping[str, tuple[str, ...]] | None = None
    ) -> bool:
        if not self.terms:
            return True
        shown = {c.key: cells[i].text.lower() for i, c in enumerate(COLUMNS)}
        shown["manager"] = view.item.manager
        shown["host"] = (view.item.host or "").lower()
        shown["group"] = " ".join((groups or {}).get(view.item.host or "", ())).lower()
        words = {key: _WORDS.findall(text) for key, text in shown.items()}
        for field, value in self.terms:
            pool = words[field] if field else [w for ws in words.values() for w in ws]
            texts = [shown[field]] if field else list(shown.values())
            if not any(w.startswith(value) for w in pool) and not any(t.startswith(value) for t in texts):
                return False
        return True
