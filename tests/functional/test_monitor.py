"""The monitor shared by the table and a detail screen, on a real instance."""

from __future__ import annotations

import asyncio
from typing import Any

from pglift_tui import monitor
from pglift_tui.host import Host

from ..conftest import MakeInstance


async def test_the_tables_snapshot_and_a_detail_screens_probe_at_once(
    make_instance: MakeInstance, settings: Any
) -> None:
    """A dialog over the detail screen let the table refresh while the screen probed the
    same server: the second to collect the probe found none (AssertionError)."""
    await make_instance("main")
    watched = monitor.Monitor(settings)
    try:
        (item,) = [i for i in Host(settings).ls() if i.name == "main"]
        for _ in range(5):
            views, _ = await asyncio.gather(watched.snapshot(), watched.probe_one(item))
            (view,) = [v for v in views if v.key == "15/main"]
            assert view.error is None and view.connections is not None and view.connections >= 1
    finally:
        await watched.close()
