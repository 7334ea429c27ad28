"""The last minutes of a few figures of one server, for pictures over time.

The monitor adds a sample at each probe; the detail screen's Overview draws them, so
an operator sees when trouble started instead of reading numbers. Memory is bounded
(a ring per series, RETENTION seconds and at most MAX_POINTS points), and a stopped
server's series go with its probe.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

#: Seconds of history kept.
RETENTION = 600.0
#: Points kept per series at most, whatever the refresh interval.
MAX_POINTS = 600
#: What is kept, with its unit, in the order the Overview draws them.
NAMES = {
    "tps": "transactions/s",
    "active": "active sessions",
    "waiting": "lock waits",
    "wal": "WAL written/s",
    "lag": "replay lag, s",
    "checkpoints": "checkpoints/min",
}
#: Seconds a rate is measured over at least: statistics counters are flushed about
#: once a second, so a rate over less is a burst or a gap, not the server's pace.
MIN_SPAN = 2.0
#: Counters turned into rates per second (checkpoints: per minute).
_PER = {"tps": 1.0, "wal": 1.0, "checkpoints": 60.0}


@dataclass
class Series:
    points: dict[str, deque[tuple[float, float]]] = field(default_factory=dict)
    _counters: dict[str, tuple[float, float]] = field(default_factory=dict)
    #: What our own probes added to a counter since its last sample.
    _ours: dict[str, float] = field(default_factory=dict)

    def gauge(self, name: str, when: float, value: float | None) -> None:
        """A value as it is now (sessions, lag)."""
        if value is not None:
            self._add(name, when, float(value))

    def counter(self, name: str, when: float, total: float | None, *, less: float = 0.0) -> None:
        """A counter that only grows (transactions, WAL position): its rate since the last
        sample, `less` of it being our own doing (the probe's transaction)."""
        if total is None:
            return
        ours = self._ours.get(name, 0.0) + less
        last = self._counters.get(name)
        if last is not None and total >= last[1] and when - last[0] < MIN_SPAN:
            self._ours[name] = ours
            return  # too soon: the server publishes its counters about once a second
        self._counters[name], self._ours[name] = (when, float(total)), 0.0
        if last is None or when <= last[0] or total < last[1]:
            return  # the first sample, or the server restarted: a rate needs two
        rate = (float(total) - last[1] - ours) / (when - last[0]) * _PER.get(name, 1.0)
        self._add(name, when, max(0.0, rate))

    def _add(self, name: str, when: float, value: float) -> None:
        ring = self.points.setdefault(name, deque(maxlen=MAX_POINTS))
        ring.append((when, value))
        while ring and ring[0][0] < when - RETENTION:
            ring.popleft()

    def values(self, name: str) -> list[float]:
        return [value for _, value in self.points.get(name, ())]

    def seconds(self) -> float:
        """How much time the series cover."""
        spans = [ring[-1][0] - ring[0][0] for ring in self.points.values() if len(ring) > 1]
        return max(spans, default=0.0)
