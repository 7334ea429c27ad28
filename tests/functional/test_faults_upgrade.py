"""Faults: an upgrade that fails at each of its steps, on one instance, then succeeds.

After each failure the old instance must be as it was (running, same data, no
superseded mark, same port) and nothing of the new one may be left.
"""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from pglift_tui import instances
from pglift_tui.exceptions import CommandError
from pglift_tui.instances import Step
from pglift_tui.models import system
from pglift_tui.settings import Settings

from ..conftest import MakeInstance, free_port, make_settings
from .pg import query, tree


@pytest.fixture
def settings(short_tmp: Path) -> Settings:
    settings: Settings = make_settings(short_tmp, pg18=True)
    return settings


def _layout(settings: Settings) -> set[str]:
    return {p for p in tree(settings.prefix / "srv") if p.count("/") <= 3}


async def _as_it_was(old: system.Instance, port: int, layout: set[str], settings: Settings) -> None:
    assert old.status().status == "running" and old.port == port
    assert (await query(old, "SELECT count(*) AS n FROM t")) == [{"n": 100}]
    assert not (old.datadir / "pglift-tui.superseded").exists()
    assert not instances.exists("app", "18", settings)
    assert _layout(settings) == layout


async def test_an_upgrade_failing_at_each_step_gives_the_old_instance_back(
    settings: Settings, make_instance: MakeInstance
) -> None:
    old = await make_instance("app")
    port = old.port
    await query(old, "CREATE TABLE t AS SELECT generate_series(1, 100) AS i")
    layout = _layout(settings)
    steps: list[tuple[str, str]] = []

    # At the check: pg_upgrade refuses user columns of reg* types (OIDs it cannot keep).
    await query(old, "CREATE TABLE bad (r regproc)")
    with pytest.raises(CommandError, match="pg_upgrade"):
        await instances.upgrade_async(old, on_step=lambda s: steps.append((s.name, s.state)))
    assert ("check", "failed") in steps
    await _as_it_was(old, port, layout, settings)
    await query(old, "DROP TABLE bad")

    # During pg_upgrade itself: --check passes, the schema restore into 18 fails (a view
    # on a column PostgreSQL 17 removed), after the old server was stopped for the run.
    steps.clear()
    await query(old, "CREATE VIEW bgw AS SELECT buffers_backend FROM pg_stat_bgwriter")
    with pytest.raises(CommandError, match="pg_upgrade") as info:
        await instances.upgrade_async(old, on_step=lambda s: steps.append((s.name, s.state)))
    assert steps[-1] == ("copy", "failed") and ("check", "done") in steps
    assert "logs are kept in" in str(info.value)
    await _as_it_was(old, port, layout, settings)
    await query(old, "DROP VIEW bgw")

    # At the new server's first start: its port is taken between pg_upgrade and the start.
    target = free_port()
    with socket.socket() as blocker:

        def take_the_port(step: Step) -> None:
            if (step.name, step.state) == ("copy", "done"):
                blocker.bind(("127.0.0.1", target))
                blocker.listen()

        with pytest.raises(CommandError, match="could not start"):
            await instances.upgrade_async(old, port=target, on_step=take_the_port)
    await _as_it_was(old, port, layout, settings)

    # Each cause removed: it upgrades.
    upgraded = await instances.upgrade_async(old)
    new = system.Instance.system_lookup("app", "18", settings)
    assert upgraded.instance.version == "18" and new.port == port
    assert (await query(new, "SELECT count(*) AS n FROM t")) == [{"n": 100}]
