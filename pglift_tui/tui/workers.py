"""The dispatcher: every action runs in a worker, a bounded number at once, one per instance.

Textual has no worker pool; an asyncio semaphore bounds how many core calls run
together, so a bulk stop of fifty instances does not start fifty pg_ctl at once.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from textual.dom import DOMNode

from ..exceptions import CommandError, Error
from .actions import Action
from .messages import ActionFailed, ActionStarted, ActionSucceeded

DEFAULT_LIMIT = 4


class Dispatcher:
    def __init__(self, owner: DOMNode, *, read_only: bool, limit: int = DEFAULT_LIMIT) -> None:
        #: Where workers run and messages go (the dashboard screen).
        self.owner = owner
        self.read_only = read_only
        self.semaphore = asyncio.Semaphore(limit)
        #: Instance key -> the action running on it.
        self.running: dict[str, str] = {}

    def busy(self, key: str | None) -> bool:
        return key is not None and key in self.running

    def submit(self, key: str, action: Action, call: Callable[[], Awaitable[str]]) -> bool:
        """Run `call` for `key` in a worker; False if refused (busy, or read-only)."""
        if (self.read_only and action.mutates) or key in self.running:
            return False
        self.running[key] = action.name
        self.owner.post_message(ActionStarted(key, action.name))
        self.owner.run_worker(
            self._run(key, action, call),
            name=f"action:{key}",
            group="action",
            description=f"{action.name} {key}",
            exit_on_error=False,
        )
        return True

    async def _run(self, key: str, action: Action, call: Callable[[], Awaitable[str]]) -> None:
        message: ActionSucceeded | ActionFailed
        try:
            async with self.semaphore:
                done = await call()
        except Error as exc:
            lines = exc.log_lines if isinstance(exc, CommandError) else []
            message = ActionFailed(key, action.name, exc.message, exc.hint, list(lines))
        except Exception as exc:  # psycopg and OS errors too: shown, never fatal
            message = ActionFailed(key, action.name, str(exc).strip() or type(exc).__name__)
        else:
            message = ActionSucceeded(key, action.name, done)
        finally:
            self.running.pop(key, None)
        self.owner.post_message(message)
