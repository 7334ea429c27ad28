"""The dashboard app: it only wires the source, the clock, the styles and the screens."""

from __future__ import annotations

import asyncio
import signal
import socket
import time
from collections.abc import Callable
from pathlib import Path

from textual.app import App

from . import hangup
from .commands import ActionCommands
from .screens.dashboard import DashboardScreen
from .source import ACTION_GRACE, Source

DEFAULT_REFRESH = 2.0


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
        asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, self.exit)
        if not self.is_headless:
            hangup.watch(lambda: self.source.shutdown(ACTION_GRACE))
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

    async def on_unmount(self) -> None:
        await self.source.close()
