"""Starting, signalling and waiting for a postmaster, safely.

`pg_ctl stop` and `pg_ctl reload` signal whatever PID postmaster.pid names, even an
unrelated process after PID reuse. Here the PID is opened as a pidfd, proven to be
the instance's postmaster (status.is_postmaster_of), and only then signalled through
that pidfd, which cannot be recycled under us. Waiting for the exit is event-driven
(the pidfd becomes readable), with a deadline, never a fixed sleep.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import signal
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Literal, Protocol

from . import cmd
from .exceptions import CommandError, Error, InstanceStateError
from .models.system import BaseInstance, PostgreSQLInstance
from .status import PIDFILE, PidFile, is_postmaster_of, parse_pidfile, read_pidfile, server_processes

StopMode = Literal["smart", "fast", "immediate"]
SIGNALS: dict[StopMode, signal.Signals] = {
    "smart": signal.SIGTERM,
    "fast": signal.SIGINT,
    "immediate": signal.SIGQUIT,
}


class Server(Protocol):
    """What the helpers that only look at a data directory need: ours or a Debian cluster."""

    @property
    def datadir(self) -> Path: ...


START_TIMEOUT = 60
#: How long a start after a crash waits for the dead server's children to exit.
ORPHAN_TIMEOUT = 10
STOP_TIMEOUT = 60
#: How many log lines a failed start carries in its error.
LOG_TAIL = 20


@contextmanager
def _postmaster(instance: Server) -> Iterator[tuple[int, PidFile] | None]:
    """A pidfd on the instance's proven postmaster, or None if it is not running."""
    pidfile = read_pidfile(instance.datadir / PIDFILE)
    if not isinstance(pidfile, PidFile):
        yield None
        return
    try:
        pidfd = os.pidfd_open(pidfile.pid)
    except ProcessLookupError:
        yield None
        return
    try:
        # Proven after the pidfd is open: the pidfd then pins the process we checked.
        if is_postmaster_of(pidfile.pid, pidfile.start_time, instance.datadir) is not None:
            yield None
        else:
            yield pidfd, pidfile
    finally:
        os.close(pidfd)


async def wait_exit(pidfd: int, timeout: float) -> bool:
    """True once the process behind `pidfd` has exited; False at the deadline."""
    loop = asyncio.get_running_loop()
    exited: asyncio.Future[None] = loop.create_future()

    def ready() -> None:
        if not exited.done():
            exited.set_result(None)

    loop.add_reader(pidfd, ready)
    try:
        await asyncio.wait_for(exited, timeout)
    except TimeoutError:
        return False
    finally:
        loop.remove_reader(pidfd)
    return True


async def stop(
    instance: PostgreSQLInstance, mode: StopMode = "fast", *, wait: bool = True, timeout: float = STOP_TIMEOUT
) -> bool:
    """Stop the postmaster; False if it was not running. Never reports a stop that did not happen.

    With no provable postmaster, server processes still running in the data
    directory (its start time misread after a clock step, say) are an error, not
    "not running": nothing is signalled, and nothing may be deleted under them.
    """
    with _postmaster(instance) as found:
        if found is None:
            if await wait_orphans(instance, until_proven=True):
                return await stop(instance, mode, wait=wait, timeout=timeout)
            return False
        pidfd, pidfile = found
        try:
            signal.pidfd_send_signal(pidfd, SIGNALS[mode])
        except ProcessLookupError:
            return True  # it exited between the proof and the signal
        if not wait:
            return True
        if not await wait_exit(pidfd, timeout):
            raise InstanceStateError(
                f"instance {instance} (pid {pidfile.pid}) is still running {timeout:g} s after a {mode} stop",
                hint="sessions may hold a smart stop; retry with mode fast or immediate",
            )
    return True


async def kill(instance: PostgreSQLInstance, timeout: float = STOP_TIMEOUT) -> bool:
    """SIGKILL the proven postmaster and wait for it: a crash, for the demo and tests.

    The pid file stays behind, as after a real crash.
    """
    with _postmaster(instance) as found:
        if found is None:
            return False
        signal.pidfd_send_signal(found[0], signal.SIGKILL)
        return await wait_exit(found[0], timeout)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def orphans(instance: Server) -> list[int]:
    """PIDs of server processes running in the data directory (a dead server's children)."""
    return [proc.pid for proc in server_processes(instance.datadir)]


async def wait_orphans(
    instance: Server, timeout: float = ORPHAN_TIMEOUT, *, until_proven: bool = False
) -> bool:
    """Wait for server processes that no proven postmaster owns to leave the data directory.

    After a crash they notice their parent is gone and exit within moments; they
    hold the dead server's shared memory meanwhile. Still there at the deadline, they
    are an error: nothing is signalled, started or deleted under them. With
    `until_proven`, a postmaster that proves itself meanwhile (one starting, whose pid
    file was not written yet) ends the wait: True, for the caller to stop it.
    """
    deadline = time.monotonic() + timeout
    while left := await asyncio.to_thread(orphans, instance):
        if until_proven:
            with _postmaster(instance) as found:
                if found is not None:
                    return True
        if time.monotonic() > deadline:
            raise InstanceStateError(
                f"instance {instance}: postgres processes {', '.join(map(str, left))} run in "
                f"{instance.datadir}, but postmaster.pid does not prove which one is its server",
                hint="a crashed server's children, or a changed clock: check them with ps, stop them, retry",
            )
        await asyncio.sleep(0.05)
    return False


def clear_stale_pidfile(instance: Server) -> str | None:
    """Remove postmaster.pid when it would block a start; why, or None if it stays.

    The server removes a pid file naming a dead process itself: that file is left
    to it. A file naming a live stranger (PID reuse after a crash, or a zombie
    nobody reaps) blocks every start and is removed here. Call `wait_orphans` first:
    the file is the server's guard against a dead server's children.
    """
    path = instance.datadir / PIDFILE
    pidfile = read_pidfile(path)
    if pidfile is None:
        return None
    if isinstance(pidfile, PidFile):
        if is_postmaster_of(pidfile.pid, pidfile.start_time, instance.datadir) is None:
            return None
        if not _alive(pidfile.pid):
            return None
        reason = f"postmaster.pid named process {pidfile.pid}, which is not this server"
    else:
        reason = "postmaster.pid was unreadable"
    path.unlink(missing_ok=True)
    return reason


def clear_stale_socket(instance: Server, socket_dir: Path, port: int, *, dead_too: bool = False) -> None:
    """Remove our own socket and its lock file when the postmaster they name is gone.

    A live stranger's PID in the lock file blocks every start, so that one is
    always cleared; a dead PID the server clears itself at its next start, so that
    one only when the instance goes away for good (`dead_too`, for drop).
    """
    lock = socket_dir / f".s.PGSQL.{port}.lock"
    try:
        parsed = parse_pidfile(lock.read_text(encoding="utf-8", errors="replace"))
        if parsed is None or not os.path.samefile(parsed.datadir, instance.datadir):
            return
    except OSError:
        return
    if is_postmaster_of(parsed.pid, parsed.start_time, instance.datadir) is None:
        return
    if dead_too or _alive(parsed.pid):
        lock.unlink(missing_ok=True)
        (socket_dir / f".s.PGSQL.{port}").unlink(missing_ok=True)


def log_sizes(paths: Iterable[Path]) -> dict[Path, int]:
    """The size of each log file now, to read what a start adds to them."""
    sizes: dict[Path, int] = {}
    for path in paths:
        with contextlib.suppress(OSError):
            sizes[path] = path.stat().st_size
    return sizes


def new_log_lines(paths: Iterable[Path], before: dict[Path, int]) -> list[str]:
    """What the server logged since `before` (the startup log and collector files)."""
    lines: list[str] = []
    for path, size in sorted(log_sizes(paths).items(), key=lambda item: item[0].stat().st_mtime):
        start = before.get(path, 0)
        if size <= start:
            continue
        with open(path, "rb") as f:
            f.seek(start)
            lines.extend(f.read().decode(errors="replace").splitlines())
    return [line for line in lines if line.strip()][-LOG_TAIL:]


def start_failed(exc: CommandError, lines: list[str], what: str, hint: str) -> CommandError:
    """The error of a failed start: the server's own FATAL words, with its log lines."""
    fatal = next((line for line in reversed(lines) if "FATAL:" in line or "PANIC:" in line), None)
    error = CommandError(exc.argv, exc.returncode, exc.stderr, exc.stdout, log_lines=lines)
    # pg_ctl only says "Examine the log output": the server's own words are the message.
    reason = re.split(r"(?:FATAL|PANIC):\s+", fatal, maxsplit=1)[-1].strip() if fatal else exc.message
    error.message = f"{what} could not start: {reason}"
    error.hint = hint
    return error


async def start(instance: PostgreSQLInstance, *, wait: bool = True, timeout: float = START_TIMEOUT) -> None:
    """Start the server with pg_ctl; a failure carries the log lines the server wrote."""
    instance.logdir.mkdir(parents=True, exist_ok=True, mode=0o700)
    before = log_sizes(instance.log_files())
    argv = [
        str(instance.bindir / "pg_ctl"),
        "start",
        "-D",
        str(instance.datadir),
        "-l",
        str(instance.startup_log),
        "-s",
    ]
    argv += ["-w", "-t", str(int(timeout))] if wait else ["-W"]
    try:
        await cmd.run(argv, timeout=timeout + 10)
    except CommandError as exc:
        lines = new_log_lines(instance.log_files(), before)
        error = start_failed(exc, lines, f"instance {instance}", f"the server log is in {instance.logdir}")
        raise error from None


#: A column of a row as a single-user backend prints it: `1: name = "value"\t(typeid = ...)`.
_SINGLE_USER_COLUMN = re.compile(r'\d+: (\w+) = "(.*)"\t\(typeid')


async def single_user(
    instance: BaseInstance, statement: str, *, dbname: str = "postgres", hint: str | None = None
) -> dict[str, str]:
    """Run one statement in a single-user backend; the columns of the last row it printed.

    No socket is opened, so nothing can connect meanwhile, and the statement goes
    through a pipe with statement logging off: a secret in it reaches neither a
    command line nor a log.
    """
    if "\n" in statement or "\r" in statement:
        # In single-user mode a blank line ends a statement, even inside quotes.
        raise Error("a single-user statement must be one line; nothing was run", hint=hint)
    argv = [str(instance.bindir / "postgres"), "--single", "-j", "-D", str(instance.datadir)]
    for quiet in ("log_statement=none", "log_min_error_statement=panic", "log_min_duration_statement=-1"):
        argv += ["-c", quiet]
    result = await cmd.run([*argv, dbname], input=(statement + ";\n\n").encode(), timeout=60)
    errors = [line for line in result.stderr.splitlines() if "ERROR:" in line or "FATAL:" in line]
    if errors:
        raise CommandError(argv, 1, errors[-1], hint=hint)
    return dict(_SINGLE_USER_COLUMN.findall(result.stdout))
