"""Leaving at once when the terminal goes away (a dropped SSH session).

Textual's own shutdown writes to the terminal; with the terminal gone, its writer
queue can fill and block the exit for good (seen here). So a hangup, whether
SIGHUP arrives or not (runuser, sudo and su sit in between and may keep it), is
handled by a thread of its own: it lets running actions undo what they must, then
ends the process without touching the dead terminal.
"""

from __future__ import annotations

import os
import select
import signal
import sys
import threading
from collections.abc import Callable
from types import FrameType

#: Seconds between checks that the terminal is still there.
CHECK = 1.0


def watch(cleanup: Callable[[], None]) -> threading.Thread:
    """Call `cleanup` then exit when stdin hangs up or SIGHUP arrives."""
    hung_up = threading.Event()

    def on_sighup(signum: int, frame: FrameType | None) -> None:
        hung_up.set()

    signal.signal(signal.SIGHUP, on_sighup)
    fd = sys.__stdin__.fileno() if sys.__stdin__ is not None else 0

    def run() -> None:
        poller = select.poll()
        poller.register(fd, select.POLLIN)
        while not hung_up.is_set():
            events = poller.poll(CHECK * 1000)
            if any(event & (select.POLLHUP | select.POLLERR | select.POLLNVAL) for _, event in events):
                break
            if events:
                hung_up.wait(CHECK)  # input is pending: Textual reads it; look again later
        try:
            cleanup()
        finally:
            os._exit(0)

    thread = threading.Thread(target=run, name="pglift-tui-hangup", daemon=True)
    thread.start()
    return thread
