"""What every state-changing call does around its work: refuse root, lock, journal.

Only the outermost call on an instance journals: `apply` that starts the server
is one line ("apply"), not two, and nested calls reuse the lock it holds. The
duration journaled is the action's own, from when it got the lock; a wait for
the lock is recorded apart (`details["waited"]`).
"""

from __future__ import annotations

import os
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, Protocol

from .. import journal, locks
from ..exceptions import Error, InstanceBusy
from ..settings import Settings

#: The record of the last outermost action that ended in this context: its caller
#: (`managers.pglift`) reads what happened ("unchanged") from it rather than
#: guessing from a status read before the lock was taken.
last_record: ContextVar[Record | None] = ContextVar("last_record", default=None)
#: Who asked, when it was not someone at this host's keyboard: `pglift-tui serve` sets
#: the operator's SSH identity (SSH_CONNECTION, the ssh user), journaled with each action.
origin: ContextVar[dict[str, str] | None] = ContextVar("origin", default=None)


class Target(Protocol):
    """What an action is taken on: an instance of ours, or another manager's server.

    `qualname` names its lock file (it must not clash with another server's) and
    `str()` names it in the journal and in messages.
    """

    @property
    def settings(self) -> Settings: ...

    @property
    def qualname(self) -> str: ...

    @property
    def datadir(self) -> Path: ...


def refuse_root() -> None:
    if os.geteuid() == 0:
        raise Error(
            "pglift-tui must not run as root: PostgreSQL refuses to run as root",
            hint="run it as the PostgreSQL OS user, e.g. `runuser -u postgres -- pglift-tui`",
        )


@dataclass
class Record:
    """What the journal line of an action will say, filled in as it goes."""

    action: str
    result: Literal["ok", "failed", "unchanged"] = "ok"
    details: dict[str, Any] = field(default_factory=dict)

    def unchanged(self) -> None:
        self.result = "unchanged"


def _journal(instance: Target, record: Record, started: float, error: BaseException | None) -> None:
    last_record.set(record)
    message = None
    if error is not None:
        message = str(error) or type(error).__name__
    event = journal.Event(
        time=time.time(),
        user=locks.os_user(),
        pid=os.getpid(),
        instance=str(instance),
        datadir=str(instance.datadir),
        action=record.action,
        result="failed" if error is not None else record.result,
        duration=round(time.monotonic() - started, 4),
        error=message,
        details={**record.details, **(origin.get() or {})},
    )
    journal.append(instance.settings, event)


#: A wait for the lock longer than this is worth a word in the journal.
_WAIT_WORTH_SAYING = 0.05


def _waited(record: Record, asked: float) -> float:
    """The lock is ours: the action's duration counts from now, the wait goes to the details."""
    now = time.monotonic()
    if now - asked > _WAIT_WORTH_SAYING:
        record.details["waited"] = round(now - asked, 3)
    return now


@asynccontextmanager
async def action(instance: Target, name: str, *, timeout: float | None = None) -> AsyncIterator[Record]:
    """Refuse root, take the instance's lock, and journal the outermost call."""
    refuse_root()
    record = Record(name)
    started = time.monotonic()
    lock = locks.instance_lock(instance.settings, instance.qualname, name, timeout, label=str(instance))
    try:
        outermost = await lock.__aenter__()
    except InstanceBusy as exc:
        _journal(instance, record, started, exc)  # a refused attempt is worth an audit line too
        raise
    started = _waited(record, started)
    try:
        yield record
    except BaseException as exc:
        if outermost and not isinstance(exc, GeneratorExit):
            _journal(instance, record, started, exc)
        await lock.__aexit__(type(exc), exc, exc.__traceback__)
        raise
    if outermost:
        _journal(instance, record, started, None)
    await lock.__aexit__(None, None, None)


@contextmanager
def action_sync(instance: Target, name: str, *, timeout: float | None = None) -> Iterator[Record]:
    """`action` for the spec's plain functions."""
    refuse_root()
    record = Record(name)
    started = time.monotonic()
    lock = locks.instance_lock_sync(instance.settings, instance.qualname, name, timeout, label=str(instance))
    try:
        outermost = lock.__enter__()
    except InstanceBusy as exc:
        _journal(instance, record, started, exc)
        raise
    started = _waited(record, started)
    try:
        yield record
    except BaseException as exc:
        if outermost:
            _journal(instance, record, started, exc)
        lock.__exit__(type(exc), exc, exc.__traceback__)
        raise
    if outermost:
        _journal(instance, record, started, None)
    lock.__exit__(None, None, None)
