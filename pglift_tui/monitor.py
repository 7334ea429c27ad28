"""What the dashboard shows of each server, gathered once per refresh, health included.

The host-wide listing (`Host.ls`) gives every server and its status from files; for
running ones a probe (pglift_tui.probe) adds connections, the transaction rate,
replication lag and the health checks' measures in one statement per server, on a
connection kept between refreshes. Disk and log checks read files. Each refresh's
findings are recorded (transitions go to the journal), so the table's health column,
`pglift-tui check` and History agree.

Each server's probe stands alone. A snapshot waits at most PROBE_TIMEOUT for the
servers that answered last time and not at all for one that did not: a hung server
(SIGSTOPped, a stalled disk, a frozen VM) costs one snapshot that timeout once, then
nothing, and its row reads "no answer for N s" (no values; the transaction-rate
history is kept) while the other rows stay fresh; the next probe reconnects.
"""

from __future__ import annotations

import asyncio
import functools
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from . import locks
from .health import FailedStart, Finding, Measurements, Report, Unreachable, parse
from .health import logs as health_logs
from .health import runner as health_runner
from .health import state as health_state
from .host import Host
from .managers import ServerFiles, lock_qualname
from .models.interface import InstanceListItem
from .probe import HISTORY, PROBE_TIMEOUT, ServerProbe, abandon, ask, close, reason, retrieve, timed_out
from .series import Series
from .settings import Settings

__all__ = ["HISTORY", "PROBE_TIMEOUT", "InstanceView", "Monitor"]

#: Samples averaged into one point of the transaction-rate history.
BUCKET = 5
#: Transactions per second below which a point reads as idle (counter noise).
MIN_RATE = 0.5
#: Seconds a server's list of log files is trusted before it is read again.
LOG_FILES_TTL = 10.0


@dataclass(frozen=True)
class InstanceView:
    """One server as the dashboard shows it; equal views draw the same row."""

    item: InstanceListItem
    connections: int | None = None
    max_connections: int | None = None
    #: Transactions per second, one point per BUCKET refreshes, oldest first.
    tps: tuple[float, ...] = ()
    lag_bytes: int | None = None
    lag_seconds: float | None = None
    pending_restart: bool | None = None
    #: Standbys streaming from this server now (pg_stat_replication).
    standbys: int | None = None
    #: Why the server could not be probed.
    error: str | None = None
    #: "stop by pid 42 (alice)" when another process holds the instance's lock.
    busy: str | None = None
    #: The health checks' findings, critical first.
    findings: tuple[Finding, ...] = ()
    #: Idents of the findings an operator acknowledged (muted until they change).
    muted: frozenset[tuple[str, str, str, str]] = frozenset()

    @property
    def key(self) -> str:
        return self.item.key

    @property
    def troubles(self) -> tuple[Finding, ...]:
        """The findings not acknowledged."""
        return tuple(f for f in self.findings if f.ident not in self.muted)


class Monitor:
    """Snapshots of every server, with per-server probes kept between refreshes."""

    def __init__(
        self, settings: Settings, *, host: Host | None = None, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.settings = settings
        self.host = host or Host(settings)
        self.clock = clock
        self._probes: dict[str, ServerProbe] = {}
        #: Probes of servers gone from the table whose last query still drains.
        self._orphans: list[ServerProbe] = []
        self._logs = health_logs.LogWatch()
        self._log_files: dict[str, tuple[float, tuple[Path, ...]]] = {}
        self._failed_starts: tuple[tuple[int, int], dict[str, FailedStart]] | None = None
        #: The last report of each server, kept while an action holds its lock.
        self._reports: dict[str, Report] = {}
        self._files: dict[str, ServerFiles] = {}
        #: One round of probes at a time: the table's snapshot and a detail screen's
        #: `probe_one` (the table refreshes under a dialog shown over the detail screen)
        #: would otherwise both collect one probe's answer, the second finding none.
        self._probing = asyncio.Lock()

    async def snapshot(self) -> list[InstanceView]:
        items = self.host.ls()
        holders = {str(item.datadir): self._lock_holder(item) for item in items}
        live = {
            str(i.datadir): i
            for i in items
            if i.status == "running"
            and i.phase in ("ready", "standby")
            # pg_upgrade runs its servers on a private socket: no client may connect, us included.
            and holders[str(i.datadir)].get("action") != "upgrade"
        }
        for datadir in set(self._probes) - set(live):
            await self._forget(datadir)
        await self._reap_orphans()
        probed = await self._probe_all(live)
        views, measured = [], {}
        for item in items:
            view, measures = probed.get(str(item.datadir)) or (InstanceView(item), None)
            measured[str(item.datadir)] = measures
            info = holders[str(item.datadir)]
            # Our own actions are shown by the dispatcher, with their name and time.
            if info and info["pid"] != os.getpid():
                view = replace(
                    view, busy=f"{info.get('action', '?')} by pid {info['pid']} ({info.get('user', '?')})"
                )
            views.append(view)
        return await asyncio.to_thread(self._judge, views, measured, holders)

    def _lock_holder(self, item: InstanceListItem) -> dict[str, Any]:
        """Who holds the server's lock, and for what; empty when nobody does."""
        info = locks.holder(locks.lock_path(self.settings, lock_qualname(item)))
        return info if info and info.get("pid") is not None else {}

    # -- health ----------------------------------------------------------------------------
    def _judge(
        self,
        views: list[InstanceView],
        measured: dict[str, Measurements | Unreachable | None],
        holders: dict[str, dict[str, Any]],
    ) -> list[InstanceView]:
        """The health checks on this refresh's answers, as `check` would judge them."""
        thresholds = self.settings.health
        now = time.time()
        targets = [self._target(view.item, holders[str(view.item.datadir)]) for view in views]
        counts = {}
        if thresholds.log_errors.enabled:
            window = thresholds.log_errors.window
            counts = {t.key: self._logs.look(t.key, t.log_files, window, now) for t in targets}
        starts = self._starts([t for t in targets if t.item.status == "not running"])
        reports = []
        for target in targets:
            datadir = str(target.item.datadir)
            last = self._reports.get(datadir)
            if holders[datadir] and last is not None:
                # Being operated on (a restart, an upgrade, here or elsewhere): what a probe
                # sees meanwhile is that action, not trouble; judged again once it ends.
                reports.append(last)
                continue
            report = health_runner.report(
                target,
                measured.get(datadir),
                counts.get(target.key),
                thresholds,
                failed_start=starts.get(datadir),
            )
            self._reports[datadir] = report
            reports.append(report)
        for gone in self._reports.keys() - holders.keys():
            del self._reports[gone]
        for gone in self._files.keys() - holders.keys():
            del self._files[gone]
        health_state.record(self.settings, reports, complete=True, now=now)
        muted = health_state.acknowledged(self.settings)
        return [
            replace(view, findings=report.findings, muted=frozenset(f.ident for f in report.findings) & muted)
            for view, report in zip(views, reports, strict=True)
        ]

    def _target(self, item: InstanceListItem, holder: dict[str, Any]) -> health_runner.Target:
        datadir = str(item.datadir)
        files = self._files.get(datadir)
        if files is None:  # where a server's files are does not change while it is listed
            files = self._files[datadir] = self.host.files(item)
        now = self.clock()
        cached = self._log_files.get(datadir)
        if cached is None or now - cached[0] > LOG_FILES_TTL:
            cached = self._log_files[datadir] = (now, tuple(files.log_files()))
        return health_runner.Target(
            item, functools.partial(self.host.conninfo, item), files.waldir, cached[1], item.manager,
            upgrading=holder.get("action") == "upgrade",
        )  # fmt: skip

    def _starts(self, down: list[health_runner.Target]) -> dict[str, FailedStart]:
        """Why stopped servers are down, read from the journal again only when it grew."""
        if not down or not self.settings.health.down.enabled:
            return {}
        try:
            st = os.stat(self.settings.journal_file)
            stamp = (st.st_size, st.st_mtime_ns)
        except OSError:
            stamp = (0, 0)
        if self._failed_starts is None or self._failed_starts[0] != stamp:
            self._failed_starts = (stamp, health_runner.failed_starts(self.settings, down))
        return self._failed_starts[1]

    # -- probes ---------------------------------------------------------------------------
    async def _probe_all(
        self, live: dict[str, InstanceListItem]
    ) -> dict[str, tuple[InstanceView, Measurements | Unreachable | None]]:
        """Start a probe where none is in flight; wait for those of servers that answer."""
        async with self._probing:
            return await self._probe_round(live)

    async def _probe_round(
        self, live: dict[str, InstanceListItem]
    ) -> dict[str, tuple[InstanceView, Measurements | Unreachable | None]]:
        waited = []
        for datadir, item in live.items():
            probe = self._probes.get(datadir)
            if probe is not None and probe.pid != item.pid:
                await self._forget(datadir)
                probe = None
            if probe is None:
                probe = self._probes[datadir] = ServerProbe(pid=item.pid)
            if probe.task is None:
                probe.abandoned = False
                probe.task = asyncio.ensure_future(ask(probe, functools.partial(self.host.conninfo, item)))
                probe.asked_at = self.clock()
            if probe.silent_since is None and not probe.task.done():
                waited.append(probe.task)
        if waited:
            await asyncio.wait(waited, timeout=PROBE_TIMEOUT)
        return {datadir: await self._outcome(self._probes[datadir], item) for datadir, item in live.items()}

    async def probe_one(self, item: InstanceListItem) -> None:
        """Probe one running server now (its detail screen is open, the table paused):
        its pictures over time go on."""
        await self._probe_all({str(item.datadir): item})

    def series(self, datadir: str) -> Series | None:
        probe = self._probes.get(datadir)
        return probe.series if probe is not None else None

    async def _outcome(
        self, probe: ServerProbe, item: InstanceListItem
    ) -> tuple[InstanceView, Measurements | Unreachable | None]:
        """The row of one server: its answer, its error, or how long it has been silent."""
        task = probe.task
        assert task is not None
        now = self.clock()
        if not task.done():
            if probe.silent_since is None:
                probe.silent_since = probe.asked_at
            if now - probe.asked_at >= PROBE_TIMEOUT:
                abandon(probe)  # its query ends now, with an error we recognise as ours
            return self._silent(probe, item, now)
        probe.task = None
        error = task.exception() if not task.cancelled() else asyncio.CancelledError()
        if error is not None:
            await close(probe)
            if probe.abandoned or timed_out(error):
                probe.silent_since = probe.silent_since if probe.silent_since is not None else probe.asked_at
                return self._silent(probe, item, now)
            probe.silent_since = None
            why = reason(error)
            return InstanceView(item, tps=tuple(probe.points), error=why), Unreachable(why)
        probe.silent_since = None
        row = task.result()
        measures = parse(row)
        self._sample(probe, row, measures, now)
        view = InstanceView(
            item,
            connections=measures.connections,
            max_connections=measures.max_connections,
            tps=tuple(probe.points),
            lag_bytes=measures.lag_bytes,
            lag_seconds=None if measures.lag_seconds is None else round(measures.lag_seconds, 1),
            pending_restart=bool(measures.pending_restart),
            standbys=row["standbys"],
        )
        return view, measures

    def _silent(
        self, probe: ServerProbe, item: InstanceListItem, now: float
    ) -> tuple[InstanceView, Unreachable]:
        since = probe.silent_since if probe.silent_since is not None else now
        why = f"no answer for {now - since:.0f} s"
        return InstanceView(item, tps=tuple(probe.points), error=why), Unreachable(why)

    def _sample(self, probe: ServerProbe, row: dict[str, Any], measures: Measurements, now: float) -> None:
        """Close a point of history every BUCKET probes, from the counters at its ends.

        The server's counters include our own probes (one transaction each) and are
        flushed about once a second, so a point is (transactions - probes) over its
        duration, and less than half a transaction a second reads as none: an idle
        server draws a flat, unchanging line.
        """
        xacts = row["xacts"]
        series = probe.series
        series.counter("tps", now, xacts, less=1.0)
        series.gauge("active", now, row["active"])
        series.gauge("waiting", now, row["waiting"])
        series.counter("wal", now, row["wal_position"])
        series.gauge("lag", now, measures.lag_seconds)
        series.counter("checkpoints", now, row["checkpoints"])
        if xacts is None:
            return
        if probe.bucket_start is None:
            probe.bucket_start = (now, xacts)
            return
        probe.probes += 1
        if probe.probes < BUCKET:
            return
        started, count = probe.bucket_start
        rate = (xacts - count - probe.probes) / max(now - started, 1e-3)
        probe.points.append(round(rate, 1) if rate >= MIN_RATE else 0.0)
        probe.bucket_start, probe.probes = (now, xacts), 0

    async def _forget(self, datadir: str) -> None:
        probe = self._probes.pop(datadir, None)
        self._log_files.pop(datadir, None)
        if probe is None:
            return
        if probe.task is not None and not probe.task.done():
            abandon(probe)
            self._orphans.append(probe)  # closed once its query has drained
            return
        retrieve(probe.task)
        await close(probe)

    async def _reap_orphans(self) -> None:
        for probe in [p for p in self._orphans if p.task is None or p.task.done()]:
            self._orphans.remove(probe)
            retrieve(probe.task)
            await close(probe)

    async def close(self) -> None:
        """Close every connection, hung servers' included, without waiting on them.

        Queries in flight end at once (their sockets shut down); a connection attempt
        in flight ends at its connect timeout, or is cancelled after it.
        """
        probes = [*self._probes.values(), *self._orphans]
        self._probes.clear()
        self._orphans.clear()
        for probe in probes:
            abandon(probe)
        pending = [p.task for p in probes if p.task is not None and not p.task.done()]
        if pending:
            _, late = await asyncio.wait(pending, timeout=PROBE_TIMEOUT + 1)
            for task in late:
                task.cancel()
            if late:
                await asyncio.wait(late)
        for probe in probes:
            retrieve(probe.task)
            await close(probe)
