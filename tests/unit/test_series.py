"""The rings behind the Overview's pictures: bounded, rates from counters, our probes left out."""

from __future__ import annotations

from pglift_tui.series import MAX_POINTS, RETENTION, Series


def test_a_counter_becomes_a_rate_over_at_least_two_seconds_without_our_probes() -> None:
    series = Series()
    # 10 transactions a second of the workload, plus one per probe (ours), probed every 0.5 s.
    total = 0.0
    for i in range(21):
        series.counter("tps", i * 0.5, total, less=1.0)
        total += 10 * 0.5 + 1
    rates = series.values("tps")
    assert rates and all(abs(rate - 10.0) < 1e-9 for rate in rates)
    assert len(rates) == 5  # one every 2 s over 10 s


def test_a_restart_resets_the_counter_rather_than_drawing_a_dip() -> None:
    series = Series()
    series.counter("wal", 0.0, 1000.0)
    series.counter("wal", 3.0, 4000.0)
    series.counter("wal", 6.0, 10.0)  # the server restarted: its counter started again
    series.counter("wal", 9.0, 310.0)
    assert series.values("wal") == [1000.0, 100.0]


def test_memory_is_bounded_in_time_and_points() -> None:
    series = Series()
    for i in range(5000):
        series.gauge("active", i * 0.1, i % 7)
    ring = series.points["active"]
    assert len(ring) <= MAX_POINTS
    assert ring[-1][0] - ring[0][0] <= RETENTION
    assert series.seconds() <= RETENTION
