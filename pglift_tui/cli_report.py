"""How the command line ends: exit codes, `error:`/`hint:` lines, signals, notices.

Every failure reaches the user as `error:` and `hint:` lines on stderr with the
exit code the CLI documents, a disk that is full or a directory that is not ours
included; a traceback only with PGLIFT_TUI_DEBUG=1. A signal (SIGINT, SIGTERM,
SIGHUP) cancels the command like Ctrl-C does, so a creation undoes what it made
before the process ends; further signals meanwhile do not cut that undo short.
"""

from __future__ import annotations

import asyncio
import logging
import os
import shlex
import signal
import sys
import traceback
from collections.abc import Coroutine
from pathlib import Path
from typing import Any

from .exceptions import (
    AmbiguousName,
    ConfigurationError,
    Error,
    InstanceBusy,
    InstanceNotFound,
    InvalidName,
    InvalidVersion,
)

EXIT_FAILED, EXIT_USAGE, EXIT_NOT_FOUND, EXIT_BUSY = 1, 2, 3, 4
DEBUG_ENV = "PGLIFT_TUI_DEBUG"
SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


class Interrupted(Error):
    """The command was stopped by a signal, after its clean-up ran."""

    def __init__(self, signum: int) -> None:
        name = signal.Signals(signum).name
        super().__init__(
            f"interrupted by {name}: the command stopped, and what it had begun was undone",
            hint="run it again when ready",
        )
        self.signum = signum


def run(coro: Coroutine[Any, Any, int]) -> int:
    """Run a command's coroutine; the first signal cancels it, so that its rollbacks run."""
    return asyncio.run(_cancellable(coro))


async def _cancellable(coro: Coroutine[Any, Any, int]) -> int:
    task = asyncio.current_task()
    assert task is not None
    loop = asyncio.get_running_loop()
    caught: list[int] = []

    def on_signal(signum: int) -> None:
        if caught:
            print("notice: still undoing what was begun; please wait", file=sys.stderr, flush=True)
            return
        caught.append(signum)
        task.cancel()

    for signum in SIGNALS:
        loop.add_signal_handler(signum, on_signal, signum)
    try:
        return await coro
    except asyncio.CancelledError:
        if caught:
            raise Interrupted(caught[0]) from None
        raise
    finally:
        for signum in SIGNALS:
            loop.remove_signal_handler(signum)


class _Notices(logging.Handler):
    """The core's warnings and notices (a lock waited for) as `warning:`/`notice:` lines."""

    def emit(self, record: logging.LogRecord) -> None:
        prefix = "warning" if record.levelno >= logging.WARNING else "notice"
        print(f"{prefix}: {record.getMessage()}", file=sys.stderr, flush=True)


def show_notices() -> None:
    logger = logging.getLogger("pglift_tui")
    if not any(isinstance(h, _Notices) for h in logger.handlers):
        logger.addHandler(_Notices())
    logger.setLevel(logging.INFO)


def report(exc: BaseException) -> int:
    """Print `exc` as `error:`/`hint:` lines (the dashboard's words: `errors.describe`); the exit code."""
    from .errors import describe

    said = describe(exc)
    print(f"error: {said.message}", file=sys.stderr)
    for line in said.log_lines:
        print(f"  log: {line}", file=sys.stderr)
    if said.hint:
        print(f"hint: {said.hint}", file=sys.stderr)
    if os.environ.get(DEBUG_ENV) and not isinstance(exc, Error):
        traceback.print_exception(exc, file=sys.stderr)
    if isinstance(exc, Interrupted):
        return 128 + exc.signum
    if isinstance(exc, InstanceBusy):
        return EXIT_BUSY
    if isinstance(exc, InstanceNotFound):
        return EXIT_NOT_FOUND
    if isinstance(exc, InvalidVersion | InvalidName | ConfigurationError | AmbiguousName):
        return EXIT_USAGE
    return EXIT_FAILED


def root_hint() -> str:
    """A command that root can paste: this very one, run as postgres, if postgres can run it."""
    program = Path(sys.argv[0]).resolve() if sys.argv and sys.argv[0] else None
    if program is not None and program.name == "__main__.py":
        # python -m pglift_tui from a checkout: the package is found from there only.
        package_root = Path(__file__).resolve().parent.parent
        argv = [sys.executable, "-m", "pglift_tui"]
        if package_root.name != "site-packages":
            argv = ["env", f"PYTHONPATH={package_root}", *argv]
        reachable = Path(sys.executable)
    else:
        argv = [str(program)] if program else ["pglift-tui"]
        reachable = program or Path("/")
    blocked = next((p for p in (reachable, Path(__file__)) if not _others_can_run(p)), None)
    if blocked is None:
        return "run it as the PostgreSQL OS user: " + shlex.join(
            ["runuser", "-u", "postgres", "--", *argv, *sys.argv[1:]]
        )
    return (
        f"the postgres user cannot reach {blocked}; install pglift-tui where it can, e.g. as root "
        "`python3 -m pglift_tui.quickstart demo` (installs into /opt/pglift-tui and links "
        "/usr/local/bin/pglift-tui, which runs as postgres when root types it)"
    )


def _others_can_run(path: Path) -> bool:
    """Whether a user other than root can reach and read `path` (every directory o+x)."""
    try:
        if not os.stat(path).st_mode & 0o004:
            return False
        return all(os.stat(parent).st_mode & 0o001 for parent in path.resolve().parents)
    except OSError:
        return False
