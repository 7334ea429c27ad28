"""The real `pglift-tui` command in a real terminal (tmux), driven as an operator would."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import psutil
import pytest

from ..conftest import write_site


class Tmux:
    """A private tmux server (its own socket) running one command in a 120x36 pane."""

    def __init__(self, name: str) -> None:
        self.socket = name

    def __call__(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(["tmux", "-L", self.socket, *args], capture_output=True, text=True, check=False)

    def start(self, command: str, env: dict[str, str]) -> None:
        exports = " ".join(f"{k}={v}" for k, v in env.items())
        done = self("new-session", "-d", "-x", "120", "-y", "36", f"env {exports} {command}")
        assert done.returncode == 0, done.stderr

    def screen(self) -> str:
        return self("capture-pane", "-p").stdout

    def keys(self, *keys: str) -> None:
        self("send-keys", *keys)

    def alive(self) -> bool:
        return self("has-session").returncode == 0

    def pane_pid(self) -> int:
        return int(self("display-message", "-p", "#{pane_pid}").stdout.strip())


def wait(condition: Callable[[], bool], what: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.1)  # polling a terminal from outside: nothing to await


@pytest.fixture
def tmux(short_tmp: Path) -> Iterator[Tmux]:
    if shutil.which("tmux") is None:
        pytest.fail("tmux is needed to drive the dashboard in a terminal: apt-get install tmux")
    session = Tmux(f"pgtui{os.getpid()}{short_tmp.name}")
    yield session
    session("kill-server")


@pytest.fixture
def site(settings: Any, short_tmp: Path) -> dict[str, str]:
    path = write_site(settings)
    return {"PGLIFT_TUI_SETTINGS": str(path), "TERM": "xterm-256color", "LANG": "C.UTF-8"}


COMMAND = f"{sys.executable} -m pglift_tui --refresh 0.5"


async def test_operator_stops_an_instance_then_quits(
    make_instance: Any, tmux: Tmux, site: dict[str, str]
) -> None:
    instance = await make_instance()
    tmux.start(COMMAND, site)
    wait(lambda: "running" in tmux.screen() and "main" in tmux.screen(), "the table")
    assert "1 instances · 1 running" in tmux.screen()
    tmux.keys("t")
    wait(lambda: "Stop 15/main?" in tmux.screen(), "the confirmation")
    tmux.keys("y")
    wait(lambda: instance.status().status == "not running", "the server to stop")
    wait(lambda: "stopped" in tmux.screen(), "the row to say stopped")
    tmux.keys("q")
    wait(lambda: not tmux.alive(), "the dashboard to exit")


async def test_hangup_ends_the_dashboard(make_instance: Any, tmux: Tmux, site: dict[str, str]) -> None:
    await make_instance(state="stopped")
    tmux.start(COMMAND, site)
    wait(lambda: "main" in tmux.screen(), "the table")
    pid = tmux.pane_pid()
    dashboard = psutil.Process(pid)
    tmux("kill-server")  # the terminal goes away, as when an SSH session drops
    # Exited is enough: a zombie waits for whoever reaps it (this machine's init is slow to).
    wait(lambda: _exited(dashboard), "the dashboard to exit", timeout=15)


def _exited(process: psutil.Process) -> bool:
    try:
        return process.status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True
