"""The Overview tab: what the server is, its directories and disks, its standbys, and
the last minutes of a few figures drawn as labelled sparklines."""

from __future__ import annotations

import os
from datetime import datetime
from typing import Any

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.widgets import Static

from ...detail import Detail
from ...inspect import Overview
from ...series import NAMES
from .. import format as fmt
from .detail_tabs import ALARM, DetailPane


class OverviewTab(DetailPane):
    def compose(self) -> ComposeResult:
        with VerticalScroll():
            yield Static(id="overview-text")

    async def reload(self, detail: Detail) -> None:
        text = render_overview(await detail.overview())
        widget = self.query_one("#overview-text", Static)
        if str(widget.content) != text.plain:
            widget.update(text)


#: Points drawn per series: ten minutes at the default refresh, squeezed if longer.
PICTURE_WIDTH = 40


def squeeze(values: list[float], width: int) -> list[float]:
    """At most `width` points, each the highest of the samples it stands for (peaks stay)."""
    if len(values) <= width:
        return values
    step = len(values) / width
    return [max(values[int(i * step) : max(int((i + 1) * step), int(i * step) + 1)]) for i in range(width)]


def _amount(name: str, value: float) -> str:
    if name == "wal":
        return f"{fmt.size(value)}/s"
    if name in ("active", "waiting"):
        return f"{value:.0f}"
    return f"{value:.1f}"


def _pictures(text: Text, view: Overview) -> None:
    """The last minutes of each figure as a labelled sparkline with its min and max."""
    drawn = {name: values for name, values in view.series.items() if len(values) > 1}
    if not drawn:
        return
    minutes = max(1, round(view.series_seconds / 60))
    text.append(f"\nThe last {minutes} min\n", style="bold")
    for name, label in NAMES.items():
        values = drawn.get(name)
        if not values:
            continue
        points = squeeze(values, PICTURE_WIDTH)
        top = max(points)
        spark = fmt.sparkline(tuple(points), PICTURE_WIDTH, top or 1.0) or fmt.SPARKS[0] * len(points)
        low, high = _amount(name, min(values)), _amount(name, max(values))
        text.append(f"  {label:<16}", style="bold")
        text.append(spark.ljust(PICTURE_WIDTH), style="blue")
        text.append(f" {low}-{high}\n")


def render_overview(view: Overview) -> Text:
    text = Text()

    def line(label: str, value: Any, style: str = "") -> None:
        text.append(f"{label:<14}", style="bold")
        text.append(f"{value}\n", style=style)

    facts = view.facts
    if not view.running:
        text.append("Not running. ", style="bold")
        text.append("What its files say:\n")
        for key, value in facts.get("configured", {}).items():
            line(key, value)
        if view.last_log_lines:
            text.append("\nLast lines of its log:\n", style="bold")
            for raw in view.last_log_lines:
                text.append(raw + "\n", style="red" if ALARM.search(raw) else "")
        return text
    started = facts.get("started_at")
    line("version", facts.get("server_version"))
    line("port", f"{facts.get('port')}, socket in {facts.get('socket')}")
    config = facts.get("config_file")
    if config:
        line("config", config)
        how = facts.get("edit_via")
        if not how:
            line("edits", "not made from here (read-only)")
        elif how != os.path.basename(config):
            line("edits", f"e writes {how}")
    when = started.strftime("%Y-%m-%d %H:%M:%S %Z") if isinstance(started, datetime) else "?"
    line("started", f"{when}, up {fmt.age(facts.get('uptime_seconds'))}, postmaster pid {facts.get('pid')}")
    line("role", "standby" if facts.get("in_recovery") else "primary")
    line("checksums", "on" if facts.get("checksums") else "off")
    line("locale", f"{facts.get('locale')} ({facts.get('provider')}), {facts.get('encoding')}")
    line("databases", fmt.size(facts.get("databases_size") or 0))
    datadir = facts.get("datadir")
    for usage in view.dirs:
        size = fmt.size(usage.size) if usage.size is not None else "?"
        free = fmt.size(usage.free) if usage.free is not None else "?"
        label = "data dir" if datadir is None or usage.path == datadir else "WAL dir"
        line(label, f"{usage.path}: {size}, {free} free on its disk")
    _pictures(text, view)
    if view.upstream:
        up = view.upstream
        text.append("\nStreaming from its primary\n", style="bold")
        line(
            "receive lag",
            f"{fmt.size(up.get('receive_lag_bytes') or 0)}, {fmt.age(up.get('receive_lag_seconds'))}",
        )
        replay = f"{fmt.size(up.get('replay_lag_bytes') or 0)}, {fmt.age(up.get('replay_lag_seconds'))}"
        line("replay lag", replay)
    if view.standbys:
        text.append("\nStandbys streaming from it\n", style="bold")
        for s in view.standbys:
            retained = (
                f", slot {s['slot']} retains {fmt.size(s['slot_retained_bytes'] or 0)}" if s["slot"] else ""
            )
            receive, replay = fmt.size(s["receive_lag_bytes"] or 0), fmt.size(s["replay_lag_bytes"] or 0)
            text.append(
                f"  {s['name'] or '?'} ({s['client']}, {s['state']}): "
                f"receive {receive} / replay {replay} behind{retained}\n"
            )
    idle = [s for s in view.slots if not s["active"]]
    for slot in idle:
        retained = fmt.size(slot["retained_bytes"] or 0)
        text.append(f"  slot {slot['slot_name']} is inactive and retains {retained} of WAL\n", style="yellow")
    return text
