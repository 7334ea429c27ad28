"""Faults: a server that hangs (its postmaster and backends stopped with SIGSTOP).

A stalled disk or a frozen VM looks like this from outside: connections are
accepted by the kernel and never answered. The monitor must keep the other rows
fresh, say how long the hung one has been silent, print no library warning, and
let go of the hung connection without waiting on it.
"""

from __future__ import annotations

import logging
import signal
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import psutil
import pytest

from pglift_tui import db, monitor

from ..conftest import MakeInstance
from .pg import wait_for


@contextmanager
def frozen(instance: Any) -> Iterator[None]:
    """SIGSTOP the postmaster and all its children; SIGCONT them whatever happens."""
    pid = instance.status().pid
    assert pid is not None
    procs = [psutil.Process(pid), *psutil.Process(pid).children(recursive=True)]
    for proc in procs:
        proc.send_signal(signal.SIGSTOP)
    try:
        yield
    finally:
        for proc in procs:
            proc.send_signal(signal.SIGCONT)


def _row(views: list[monitor.InstanceView], name: str) -> monitor.InstanceView:
    return next(v for v in views if v.item.name == name)


async def test_a_hung_server_does_not_hold_up_the_others(
    settings: Any, make_instance: MakeInstance, caplog: pytest.LogCaptureFixture
) -> None:
    healthy = await make_instance("healthy")
    hung = await make_instance("hung")
    mon = monitor.Monitor(settings)
    caplog.set_level(logging.DEBUG)
    try:
        with warnings.catch_warnings(record=True) as seen:
            warnings.simplefilter("always")
            first = await mon.snapshot()
            assert _row(first, "hung").error is None and _row(first, "healthy").error is None
            with frozen(hung):
                silent: list[str] = []
                for extra in range(3):
                    # A fresh answer from the healthy one: one more session each tick.
                    async with db.connect(healthy) as session:
                        await (await session.execute(f"SELECT {extra}")).fetchall()
                        views = await mon.snapshot()
                    row = _row(views, "healthy")
                    assert row.error is None and row.connections is not None
                    assert row.connections >= 2, "the healthy row is stale"
                    text = _row(views, "hung").error or ""
                    assert text.startswith("no answer for "), text
                    silent.append(text)
                assert _row(views, "hung").connections is None  # no stale values shown as current
            # Thawed: it answers again within a few snapshots, on a new connection.
            await wait_for(lambda: _answers(mon, "hung"), what="the thawed server to answer")
        assert [str(w.message) for w in seen] == []
        assert [r.getMessage() for r in caplog.records if r.name.startswith(("psycopg", "asyncio"))] == []
    finally:
        await mon.close()


async def _answers(mon: monitor.Monitor, name: str) -> bool:
    return _row(await mon.snapshot(), name).error is None


async def test_closing_the_monitor_lets_go_of_a_hung_server(
    settings: Any, make_instance: MakeInstance, caplog: pytest.LogCaptureFixture
) -> None:
    hung = await make_instance("hung")
    mon = monitor.Monitor(settings)
    caplog.set_level(logging.DEBUG)
    await mon.snapshot()
    with frozen(hung):
        views = await mon.snapshot()  # the probe in flight hangs, and is abandoned
        assert (_row(views, "hung").error or "").startswith("no answer for ")
        await mon.snapshot()  # a new attempt is under way, in the background
        await mon.close()  # returns while the server is still frozen
        assert mon._probes == {} and mon._orphans == []
    assert [r.getMessage() for r in caplog.records if r.name.startswith(("psycopg", "asyncio"))] == []
