"""The dashboard app: it wires the source, the clock, the styles, the screens and the
one route every action's end and every worker's failure takes."""

from __future__ import annotations

import asyncio
import signal
import socket
import time
from collections.abc import Callable
from pathlib import Path

from textual import on
from textual.app import App
from textual.worker import Worker, WorkerState

from ..errors import describe
from ..managers import Outcome
from . import hangup
from .messages import ActionFailed, ActionProgress, ActionStarted, ActionSucceeded
from .screens.dashboard import DashboardScreen
from .source import ACTION_GRACE, Source
from .workers import Dispatcher

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
    # The App's palette holds only what every screen can do (theme, keys, quit);
    # each screen adds its own rows of the action table (commands.ScreenCommands).
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
        self.dispatcher = Dispatcher(self, source, read_only=read_only)
        self.dashboard = DashboardScreen(
            source, interval=refresh, paused=paused, read_only=read_only, clock=clock, hostname=self.hostname
        )
        if theme:
            self.theme = theme

    def on_mount(self) -> None:
        asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, self.exit)
        if not self.is_headless:
            hangup.watch(lambda: self.source.shutdown(ACTION_GRACE))
        self.push_screen(self.dashboard)

    async def on_unmount(self) -> None:
        await self.source.close()

    # -- the one route -------------------------------------------------------------------
    @on(Worker.StateChanged)
    def worker_changed(self, event: Worker.StateChanged) -> None:
        """Every worker's end, the App's and the screens' (`RoutedWorkers`): an action's
        result to its screen, any failure told."""
        worker, state = event.worker, event.state
        if state not in (WorkerState.SUCCESS, WorkerState.ERROR, WorkerState.CANCELLED):
            return
        job = self.dispatcher.finished(worker)
        if job is not None:
            message: ActionSucceeded | ActionFailed
            if state == WorkerState.SUCCESS:
                outcome = worker.result if isinstance(worker.result, Outcome) else Outcome("done")
                message = ActionSucceeded(job.key, job.spec.name, outcome)
            elif state == WorkerState.CANCELLED:
                message = ActionFailed(job.key, job.spec.name, "cancelled before it ended")
            else:
                said = describe(worker.error or RuntimeError("unknown error"))
                message = ActionFailed(job.key, job.spec.name, said.message, said.hint, said.log_lines)
            (job.owner if job.owner.is_attached else self).post_message(message)
            return
        if state == WorkerState.ERROR:
            said = describe(worker.error or RuntimeError("unknown error"))
            handler = getattr(worker.node, "worker_failed", None)
            if callable(handler):
                handler(worker, said)
            else:
                text = said.message + (f"\n{said.hint}" if said.hint else "")
                self.notify(text, title=f"{worker.name or 'work'} failed", severity="error", timeout=15)

    @on(ActionStarted)
    def _started(self, message: ActionStarted) -> None:
        self.dashboard.action_started(message)
        self.screen.refresh_bindings()

    @on(ActionProgress)
    def _progress(self, message: ActionProgress) -> None:
        self.dashboard.table.set_step(message.key, message.step, message.state)

    @on(ActionSucceeded)
    def _succeeded(self, message: ActionSucceeded) -> None:
        self.dashboard.action_ended(message.key, message.outcome.word)
        self._tell(message.key, message.action, message.outcome.word, message.outcome.lines)
        self.screen.refresh_bindings()

    @on(ActionFailed)
    def _failed(self, message: ActionFailed) -> None:
        self.dashboard.action_ended(message.key, None)
        lines = [message.hint] if message.hint else []
        lines += message.log_lines[-3:]
        self._tell(message.key, message.action, f"failed: {message.message}", lines, error=True)
        self.screen.refresh_bindings()

    def _tell(
        self, key: str, action: str, word: str, lines: list[str] | tuple[str, ...], *, error: bool = False
    ) -> None:
        """One notification per action, or one for all the rows of a bulk action."""
        batch = self.dispatcher.batches.pop(key, None)
        if batch is not None:
            batch.results[key] = word
            if not batch.done:
                return
            text = "\n".join(f"{k}: {batch.results[k]}" for k in batch.keys)
            failed = any(r.startswith("failed") for r in batch.results.values())
            title = f"{action} on {len(batch.keys)} instances"
            self.notify(
                text, title=title, severity="error" if failed else "information", timeout=15 if failed else 6
            )
            return
        text = "\n".join([f"{key}: {word}", *lines])
        if error:
            self.notify(text, title=f"{action} {key}", severity="error", timeout=15)
        else:
            self.notify(text, title=action)
