"""The dispatcher: every action runs in a worker, a bounded number at once, one per instance.

Whatever screen asked (the table, an instance's detail screen), the action goes
through here: busy rows refused, the core call under a semaphore (Textual has no
worker pool, and a bulk stop of fifty instances must not start fifty pg_ctl at once),
`ActionStarted` posted, and the end reported by the App's one `Worker.StateChanged`
handler as `ActionSucceeded` or `ActionFailed` (see `DashboardApp`).
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from typing import Any

from textual.dom import DOMNode
from textual.worker import Worker

from ..managers import Outcome
from .actions import Action
from .messages import ActionStarted
from .source import Source

DEFAULT_LIMIT = 4


class RoutedWorkers:
    """Mixed into every screen that runs workers of its own (its refresh loop, an ask).

    Textual posts a worker's `StateChanged` to the node that runs it, and that message
    does not bubble: without this, a screen's failing worker ended in silence (a
    detail screen whose loop failed once stopped refreshing for good). The screen
    hands it to the App's one route, which calls the screen's `worker_failed`.
    """

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        event.stop()
        node: DOMNode = self  # type: ignore[assignment]
        node.app.worker_changed(event)  # type: ignore[attr-defined]


@dataclass
class Batch:
    """Rows acted on by one key press: their results are told together."""

    spec: Action
    keys: list[str]
    results: dict[str, str] = field(default_factory=dict)

    @property
    def done(self) -> bool:
        return len(self.results) == len(self.keys)


@dataclass
class Job:
    key: str
    spec: Action
    #: The screen that asked: it hears of the end first (then the App).
    owner: DOMNode
    options: dict[str, Any] = field(default_factory=dict)
    began: float = field(default_factory=time.monotonic)
    batch: Batch | None = None


class Dispatcher:
    def __init__(self, node: DOMNode, source: Source, *, read_only: bool, limit: int = DEFAULT_LIMIT) -> None:
        #: Where workers run (the App: an action outlives the screen that asked for it).
        self.node = node
        self.source = source
        self.read_only = read_only
        self.semaphore = asyncio.Semaphore(limit)
        #: Instance key -> the job running on it.
        self.running: dict[str, Job] = {}
        #: Key -> the bulk action it is part of, until its result is told.
        self.batches: dict[str, Batch] = {}
        self._jobs: dict[Worker[Any], Job] = {}

    def busy(self, key: str | None) -> bool:
        return key is not None and key in self.running

    def refused(self, spec: Action, key: str) -> str | None:
        if self.read_only and spec.mutates:
            return "not allowed in read-only mode"
        job = self.running.get(key)
        if job is not None:
            return f"busy: {job.spec.progress or job.spec.name} in progress"
        return None

    def submit(self, owner: DOMNode, spec: Action, asked: list[tuple[str, dict[str, Any]]]) -> dict[str, str]:
        """Run `spec` for each (key, options); the keys refused, with why."""
        assert spec.core is not None
        refused = {key: why for key, _ in asked if (why := self.refused(spec, key)) is not None}
        accepted = [(key, options) for key, options in asked if key not in refused]
        batch = Batch(spec, [key for key, _ in accepted]) if len(accepted) > 1 else None
        for key, options in accepted:
            job = Job(key, spec, owner, options, batch=batch)
            self.running[key] = job
            if batch is not None:
                self.batches[key] = batch
            owner.post_message(ActionStarted(key, spec.name))
            worker = self.node.run_worker(
                self._run(spec.core, key, {**dict(spec.fixed), **options}),
                name=f"action:{key}",
                group="action",
                description=f"{spec.name} {key}",
                exit_on_error=False,
            )
            self._jobs[worker] = job
        return refused

    async def _run(self, core: str, key: str, options: dict[str, Any]) -> Outcome:
        async with self.semaphore:
            return await self.source.run(core, key, **options)

    def finished(self, worker: Worker[Any]) -> Job | None:
        """The job `worker` ran, now over; None for a worker that is not an action's."""
        job = self._jobs.pop(worker, None)
        if job is not None:
            self.running.pop(job.key, None)
        return job
