"""`pglift-tui serve --stdio`'s plumbing: stdin and stdout as the channel, the SSH identity.

The `Server` (serve.py) answers; this runs it on the process's stdin and stdout: lines
read in a thread (stdin may be a pipe, a socket or a file), messages written whole,
one at a time. stdout carries protocol lines only: fd 1 is pointed at stderr first, so
a stray print cannot corrupt the stream. The operator's SSH identity, as sshd set it
in the environment, goes into the journal's details of every action run here.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import threading
from collections.abc import Callable

from ..settings import Settings
from . import protocol
from .protocol import ProtocolError
from .serve import IDENTITY, Server


def ssh_identity() -> dict[str, str]:
    """Who acts through this channel, as sshd told us (for the journal's details)."""
    found = {"via": "ssh"}
    for env, name in (("SSH_CONNECTION", "ssh_connection"), ("USER", "ssh_user")):
        if os.environ.get(env):
            found[name] = os.environ[env]
    auth = os.environ.get("SSH_USER_AUTH")  # sshd's ExposeAuthInfo: the key or certificate used
    if auth:
        with contextlib.suppress(OSError):
            with open(auth, encoding="utf-8") as f:
                first = f.readline().strip()
            if first:
                found["ssh_auth"] = first[:200]
    return found


def _lines(loop: asyncio.AbstractEventLoop, queue: asyncio.Queue[bytes]) -> None:
    """Read stdin a line at a time (a thread: stdin may be a pipe, a socket or a file).

    From a file of its own on a copy of fd 0, not `sys.stdin`: when we end while the
    client still holds the channel open (after a settings error), the interpreter's
    shutdown closes `sys.stdin` and aborts if this thread is inside its readline.
    """
    stdin = open(os.dup(0), "rb")  # noqa: SIM115 (lives as long as the process)
    while True:
        raw = stdin.readline(protocol.MAX_LINE)
        loop.call_soon_threadsafe(queue.put_nowait, raw)
        if not raw:
            return


async def _serve(settings: Settings | None, failure: BaseException | None, out: int) -> int:
    loop = asyncio.get_running_loop()
    queue: asyncio.Queue[bytes] = asyncio.Queue()
    threading.Thread(target=_lines, args=(loop, queue), name="pglift-tui-stdin", daemon=True).start()
    lock = asyncio.Lock()

    def put(data: bytes) -> None:
        view = memoryview(data)
        while view:
            view = view[os.write(out, view) :]

    async def write(data: bytes) -> None:
        async with lock:
            with contextlib.suppress(OSError):  # the channel is gone: stdin's end says so too
                await asyncio.to_thread(put, data)

    if settings is None:  # the settings are bad: the first request is told why, then we end
        assert failure is not None
        raw = await queue.get()
        if raw:
            with contextlib.suppress(ProtocolError):
                ident = protocol.parse(raw).get("id")
                await write(protocol.error(ident, *protocol.error_data(failure)))
        return 1
    server = Server(settings, write)
    IDENTITY.update(ssh_identity())
    from ..instances import _action

    _action.origin.set(IDENTITY)
    try:
        while True:
            raw = await queue.get()
            if not raw:
                break
            if not raw.endswith(b"\n"):  # cut at MAX_LINE
                await write(protocol.error(None, protocol.INVALID_REQUEST, "line too long"))
                break
            await server.handle(raw)
    finally:
        await server.close()
    return 0


def main(load: Callable[[], Settings]) -> int:
    """Serve until stdin closes. A settings error is answered to the first request."""
    out = os.dup(1)
    os.dup2(2, 1)  # prints and stray output go to stderr, never into the protocol stream
    settings: Settings | None = None
    failure: BaseException | None = None
    try:
        from ..instances._action import refuse_root

        refuse_root()
        settings = load()
    except Exception as exc:
        failure = exc
    return asyncio.run(_serve(settings, failure, out))
