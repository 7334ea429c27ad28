"""`pglift-tui --inventory FILE` in a real terminal (tmux), over real sshd: the rows of
every host, and an action that reaches only the row's host."""

from __future__ import annotations

import re
import sys
from pathlib import Path
from typing import Any

from pglift_tui import instances
from pglift_tui.models import interface, system

from ..conftest import free_port
from ..sshd import hosts  # noqa: F401  (the fixture)
from .test_terminal import Tmux, tmux, wait  # noqa: F401  (tmux: the fixture)


async def _make(host: Any) -> system.Instance:
    manifest = interface.Instance(name="main", port=free_port())
    await instances.apply(host.settings, manifest)
    return system.Instance.system_lookup("main", None, host.settings)


async def test_the_dashboard_over_an_inventory_acts_on_the_rows_host(
    hosts: Any,  # noqa: F811
    tmux: Tmux,  # noqa: F811
    short_tmp: Path,
) -> None:
    fleet = hosts(2)
    servers = {name: await _make(fleet[name]) for name in fleet.names()}
    env = {"TERM": "xterm-256color", "LANG": "C.UTF-8", "XDG_RUNTIME_DIR": str(short_tmp)}
    tmux.start(f"{sys.executable} -m pglift_tui --inventory {fleet.inventory} --refresh 0.5", env)
    wait(lambda: "2 instances · 2 running" in tmux.screen(), "both hosts' rows")
    screen = tmux.screen()
    # The header says how each host answers; the table names each row's host.
    assert re.search(r"2 hosts: 2 connected \(\d+-\d+ ms\)", screen), screen
    assert "HOST" in screen and all(re.search(rf"^\s+{name}\s+main\s", screen, re.M) for name in servers)
    tmux.keys("t")
    wait(lambda: re.search(r"Stop (h\d):15/main\?", tmux.screen()) is not None, "the confirmation")
    match = re.search(r"Stop (h\d):15/main\?", tmux.screen())
    assert match is not None
    chosen = match.group(1)
    other = next(name for name in servers if name != chosen)
    tmux.keys("y")
    wait(lambda: servers[chosen].status().status == "not running", f"{chosen}'s server to stop")
    wait(lambda: "1 running" in tmux.screen() and "stopped" in tmux.screen(), "the row to say stopped")
    assert servers[other].status().status == "running"
    tmux.keys("q")
    wait(lambda: not tmux.alive(), "the dashboard to exit")
