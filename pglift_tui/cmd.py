"""Running PostgreSQL's programs, asynchronously or not, with failures as CommandError.

Secrets never go on a command line (they would show in /proc/PID/cmdline): callers
pass them through files or the environment, and the argv kept in errors is safe.
"""

from __future__ import annotations

import asyncio
import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from .exceptions import CommandError

#: Seconds a program stopped by a cancellation has to exit after SIGTERM before SIGKILL:
#: initdb and pg_basebackup then remove what they wrote, which SIGKILL would leave.
TERM_GRACE = 10.0


@dataclass(frozen=True)
class Result:
    argv: list[str]
    returncode: int
    stdout: str
    stderr: str


async def run(
    argv: Sequence[str],
    *,
    env: Mapping[str, str] | None = None,
    check: bool = True,
    timeout: float | None = None,
    input: bytes | None = None,
    cwd: Path | None = None,
) -> Result:
    """Run `argv` without blocking the event loop; stdin is `input`, else closed.

    `input` is how a secret reaches a program when no file will do: a pipe, never argv.
    """
    try:
        proc = await asyncio.create_subprocess_exec(
            *argv,
            stdin=asyncio.subprocess.DEVNULL if input is None else asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            env=dict(env) if env is not None else None,
            cwd=cwd,
        )
    except FileNotFoundError:
        raise CommandError(argv, 127, f"{argv[0]}: program not found") from None
    try:
        out, err = await asyncio.wait_for(proc.communicate(input), timeout)
    except BaseException:
        if proc.returncode is None:
            proc.terminate()
            try:
                await asyncio.wait_for(proc.wait(), TERM_GRACE)
            except TimeoutError:
                proc.kill()
                await proc.wait()
        raise
    result = Result(
        list(argv), proc.returncode or 0, out.decode(errors="replace"), err.decode(errors="replace")
    )
    if check and result.returncode != 0:
        raise CommandError(result.argv, result.returncode, result.stderr, result.stdout)
    return result


def run_sync(
    argv: Sequence[str],
    *,
    env: Mapping[str, str] | None = None,
    check: bool = True,
    timeout: float | None = None,
) -> Result:
    """The blocking twin of `run`, for the spec's plain functions (init, upgrade)."""
    try:
        proc = subprocess.run(
            list(argv),
            stdin=subprocess.DEVNULL,
            capture_output=True,
            env=dict(env) if env is not None else None,
            timeout=timeout,
            check=False,
        )
    except FileNotFoundError:
        raise CommandError(argv, 127, f"{argv[0]}: program not found") from None
    result = Result(
        list(argv),
        proc.returncode,
        proc.stdout.decode(errors="replace"),
        proc.stderr.decode(errors="replace"),
    )
    if check and result.returncode != 0:
        raise CommandError(result.argv, result.returncode, result.stderr, result.stdout)
    return result
