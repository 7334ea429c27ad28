"""The dashboard app: it only wires the source, the clock, the styles and the screens."""

from __future__ import annotations

import asyncio
import select
import signal
import socket
import sys
import time
from collections.abc import Callable
from pathlib import Path

from textual.app import App

from .commands import ActionCommands
from .screens.dashboard import DashboardScreen
from .source import Source

DEFAULT_REFRESH = 2.0
#: Seconds between checks that the terminal is still there.
HANGUP_CHECK = 1.0


def styles_dir() -> Path:
    """Installed wheels carry styles/ inside the package; a checkout has it beside it."""
    here = Path(__file__).resolve().parent.parent
    for candidate in (here / "styles", here.parent / "styles"):
        if candidate.is_dir():
            return candidate
    raise FileNotFoundError("styles/ not found beside pglift_tui")


class DashboardApp(App[None]):
    TITLE = "pglift-tui"
    COMMANDS = App.COMMANDS | {ActionCommands}
    ENABLE_COMMAND_PALETTE = True

    def __init__(
        self,
        source: Source,
        *,
        refresh: float = DEFAULT_REFRESH,
        paused: bool = False,
        read_only: bool = False,
        clock: Callable[[], float] = time.time,
        hostname: str | None = None,
        theme: str | None = None,
    ) -> None:
        styles = styles_dir()
        super().__init__(css_path=[styles / "app.tcss", styles / "dashboard.tcss", styles / "dialogs.tcss"])
        self.title = "pglift-tui"
        self.source = source
        self.refresh_interval = refresh
        self.start_paused = paused
        self.read_only = read_only
        self.clock = clock
        self.hostname = hostname or socket.gethostname()
        if theme:
            self.theme = theme

    def on_mount(self) -> None:
        loop = asyncio.get_running_loop()
        # A dropped SSH session sends SIGHUP: leave at once instead of spinning.
        for sig in (signal.SIGHUP, signal.SIGTERM):
            loop.add_signal_handler(sig, self.exit)
        if not self.is_headless:
            # SIGHUP may not reach us (runuser, sudo and su sit in between) and Textual
            # then reads end-of-file forever: watch the terminal itself.
            self.set_interval(HANGUP_CHECK, self._check_terminal)
        self.push_screen(
            DashboardScreen(
                self.source,
                interval=self.refresh_interval,
                paused=self.start_paused,
                read_only=self.read_only,
                clock=self.clock,
                hostname=self.hostname,
            )
        )

    def _check_terminal(self) -> None:
        poller = select.poll()
        poller.register(sys.__stdin__.fileno() if sys.__stdin__ else 0, select.POLLIN)
        for _fd, event in poller.poll(0):
            if event & (select.POLLHUP | select.POLLERR | select.POLLNVAL):
                self.exit()

    async def on_unmount(self) -> None:
        await self.source.close()
