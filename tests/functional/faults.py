"""Helpers of the faults suite: the CLI as a real process, waits on real conditions."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import psutil

from ..conftest import write_site


def site_file(settings: Any, **extra: Any) -> Path:
    """A settings file for `settings`, as an operator would write it, for the CLI."""
    return write_site(settings, **extra)


def cli_env(settings: Any, **extra: Any) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PGLIFT_TUI_")}
    return env | {"PGLIFT_TUI_SETTINGS": str(site_file(settings, **extra))}


def cli(settings: Any, *args: str, stdin: str | None = "", **extra: Any) -> subprocess.CompletedProcess[str]:
    """`pglift-tui ARGS` with `settings`; stdin is a pipe (never a terminal) unless None."""
    return subprocess.run(
        [sys.executable, "-m", "pglift_tui", *args],
        env=cli_env(settings, **extra),
        capture_output=True,
        text=True,
        input=stdin,
        check=False,
        stdin=subprocess.DEVNULL if stdin is None else None,
    )


def spawn(settings: Any, *args: str, **extra: Any) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "pglift_tui", *args],
        env=cli_env(settings, **extra),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def wait_until(condition: Callable[[], bool], what: str, timeout: float = 30.0) -> None:
    """Poll `condition` until true; fail naming `what` at the deadline (never a blind sleep)."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(0.005)


def processes_using(path: Path) -> list[int]:
    """PIDs whose command line or working directory names something under `path`."""
    found = []
    for proc in psutil.process_iter(["cmdline", "cwd"]):
        cmdline = proc.info["cmdline"] or []
        cwd = proc.info["cwd"] or ""
        if any(str(path) in arg for arg in cmdline) or cwd.startswith(str(path)):
            found.append(proc.pid)
    return found


def files(path: Path) -> set[str]:
    """Files and directories under `path`, relative (empty if `path` is missing)."""
    if not path.exists():
        return set()
    return {str(p.relative_to(path)) for p in path.rglob("*")}
