"""The troubleshooting tabs: who blocks whom, replication and WAL, progress, statements.

Like the other tabs, each reads its data from a `Detail` only while shown, and a table
whose rows did not change is not touched.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.widgets import Static

from ... import troubleshoot
from ...detail import Detail
from .. import format as fmt
from .detail_tabs import DetailPane, TableTab


def _first_line(query: str | None) -> str:
    return " ".join((query or "").split())


class LocksTab(TableTab):
    """The lock queue as a tree: roots (blocking, not waiting) first, their waiters under them."""

    columns = ("PID", "WHO", "BLOCKS", "WAITS FOR", "LOCK", "ON", "XACT", "STATE", "QUERY")
    placeholder = "filter sessions in lock queues"

    def compose(self) -> ComposeResult:
        yield Static(id="locks-summary", classes="tab-summary")
        yield from super().compose()

    async def reload(self, detail: Detail) -> None:
        nodes = await detail.locks()
        roots = [n for n in nodes if n.depth == 0 and n.waiters]
        if not nodes:
            text = "No session waits for a lock."
        else:
            waiting = sum(1 for n in nodes if n.row["blocked_by"])
            text = f"{waiting} session(s) wait for a lock; root blocker(s): " + ", ".join(
                f"{n.row['pid']} ({n.waiters} behind it)" for n in roots
            )
            text += ". x cancels the selected session's query, K ends it."
        summary = self.query_one("#locks-summary", Static)
        if str(summary.content) != text:
            summary.update(text)
        self.set_rows([self._row(n) for n in nodes])

    @staticmethod
    def _row(node: troubleshoot.LockNode) -> tuple[Any, ...]:
        row = node.row
        who = "  " * node.depth + ("└ " if node.depth else "") + f"{row['user']}@{row['database']}"
        waits = fmt.age(row["waiting_seconds"]) if row["blocked_by"] else ""
        on = row["relation"] or row["locktype"] or ""
        return (row["pid"], who, node.waiters or "", waits, row["mode"] or "", on, fmt.age(row["xact_age"]),
                row["state"] or "", _first_line(row["query"]))  # fmt: skip

    def selected_pid(self) -> int | None:
        row = self.selected_row()
        return int(row[0]) if row else None

    def selected_value(self) -> str | None:
        row = self.selected_row()
        return str(row[8]) if row else None


def render_replication(state: troubleshoot.ReplicationState) -> Text:
    text = Text()

    def line(label: str, value: Any, style: str = "") -> None:
        text.append(f"{label:<16}", style="bold")
        text.append(f"{value}\n", style=style)

    def when(value: Any) -> str:
        return value.strftime("%Y-%m-%d %H:%M:%S") if isinstance(value, datetime) else "never"

    text.append("Replication slots\n", style="bold")
    if not state.slots:
        text.append("  none\n")
    for slot in state.slots:
        retained = fmt.size(slot["retained_bytes"] or 0)
        safe = slot["safe_wal_size"]
        room = f", {fmt.size(safe)} before it is lost" if safe is not None else ""
        status = "active" if slot["active"] else "INACTIVE"
        style = "yellow" if not slot["active"] and (slot["retained_bytes"] or 0) > 0 else ""
        text.append(
            f"  {slot['slot_name']} ({slot['slot_type']}, {status}, wal_status {slot['wal_status']}): "
            f"retains {retained}{room}\n",
            style=style,
        )
    archiver = state.archiver
    text.append("\nArchiver\n", style="bold")
    line("archive_mode", archiver.get("archive_mode"))
    line("archived", f"{archiver.get('archived_count')} (last {archiver.get('last_archived_wal') or '-'}, "
                     f"{when(archiver.get('last_archived_time'))})")  # fmt: skip
    failed_at, ok_at = archiver.get("last_failed_time"), archiver.get("last_archived_time")
    failing = isinstance(failed_at, datetime) and (not isinstance(ok_at, datetime) or failed_at > ok_at)
    line(
        "failed",
        f"{archiver.get('failed_count')} (last {archiver.get('last_failed_wal') or '-'}, {when(failed_at)})"
        + (": FAILING NOW" if failing else ""),
        "bold red" if failing else "",
    )
    if state.in_recovery:
        text.append("\nStreaming from its primary\n", style="bold")
        receiver = state.receiver
        if not receiver:
            why = "archive recovery, or the primary is unreachable"
            text.append(f"  no WAL receiver: not streaming ({why})\n", style="yellow")
        else:
            line("status", receiver.get("status"))
            line("primary", f"{receiver.get('sender_host')}:{receiver.get('sender_port')}")
            line("slot", receiver.get("slot_name") or "none")
            line("last message", f"{fmt.age(receiver.get('last_message_age'))} ago")
    else:
        text.append("\nStandbys\n", style="bold")
        if not state.standbys:
            text.append("  none streaming\n")
        for s in state.standbys:
            receive = f"{fmt.size(s['receive_lag_bytes'] or 0)} {fmt.age(s['receive_lag_seconds'])}"
            replay = f"{fmt.size(s['replay_lag_bytes'] or 0)} {fmt.age(s['replay_lag_seconds'])}"
            who = f"{s['name'] or '?'} ({s['client']}, {s['state']}, {s['sync_state']})"
            text.append(f"  {who}: receive {receive} / replay {replay} behind\n")
    return text


class ReplicationTab(DetailPane):
    def compose(self) -> ComposeResult:
        with VerticalScroll():
            yield Static(id="replication-text", classes="pane-text")

    async def reload(self, detail: Detail) -> None:
        text = render_replication(await detail.replication())
        widget = self.query_one("#replication-text", Static)
        if str(widget.content) != text.plain:
            widget.update(text)


class ProgressTab(TableTab):
    columns = ("PID", "COMMAND", "ON", "PHASE", "DONE", "OF")
    placeholder = "filter commands in progress"

    def compose(self) -> ComposeResult:
        yield Static(id="progress-summary", classes="tab-summary")
        yield from super().compose()

    async def reload(self, detail: Detail) -> None:
        rows = await detail.progress()
        none = "No VACUUM, ANALYZE, CREATE INDEX, CLUSTER, base backup or COPY in progress."
        text = f"{len(rows)} command(s) in progress" if rows else none
        summary = self.query_one("#progress-summary", Static)
        if str(summary.content) != text:
            summary.update(text)
        self.set_rows(
            [
                (r["pid"], r["command"], r["relation"] or "", r["phase"],
                 f"{r['percent']:.1f}%" if r["percent"] is not None else "?",
                 f"{r['total']:.0f} {r['unit']}" if r["total"] else "")
                for r in rows
            ]
        )  # fmt: skip


class StatementsTab(TableTab):
    """pg_stat_statements' top queries by total time, or how to have them."""

    columns = ("TOTAL", "CALLS", "MEAN", "ROWS", "QUERY", "USER", "DATABASE")
    placeholder = "filter statements"

    def compose(self) -> ComposeResult:
        yield Static(id="statements-summary", classes="tab-summary")
        yield from super().compose()

    async def reload(self, detail: Detail) -> None:
        found = await detail.statements()
        text = (
            found.missing or f"top {len(found.rows)} statements by total execution time (pg_stat_statements)"
        )
        summary = self.query_one("#statements-summary", Static)
        if str(summary.content) != text:
            summary.update(text)
        self.set_rows(
            [
                (_ms(r["total_ms"]), r["calls"], _ms(r["mean_ms"]), r["rows"], _first_line(r["query"]),
                 r["user"], r["database"])
                for r in found.rows
            ]
        )  # fmt: skip

    def selected_value(self) -> str | None:
        row = self.selected_row()
        return str(row[4]) if row else None


def _ms(value: float | None) -> str:
    if value is None:
        return ""
    if value < 1000:
        return f"{value:.1f}ms"
    return fmt.age(value / 1000)
