"""The channel to a host: the system's `ssh`, as the operator already uses it.

`ssh` reads the operator's ~/.ssh/config, agent, certificates and jump hosts; we add
only what a program needs: `BatchMode=yes` (no password or passphrase prompt, ever:
a host that wants one is unreachable, in ssh's words), a connect timeout, keep-alives
(a dead peer is noticed in seconds) and connection sharing (`ControlMaster`, with its
sockets in a private 0700 directory of a short path: a unix socket path is limited to
about 107 bytes). stdin is a pipe and the process has no controlling terminal, so
nothing can prompt. `ansible_ssh_common_args` come after our options: for an option
given twice ssh keeps the first, so they cannot turn BatchMode off.
"""

from __future__ import annotations

import math
import os
import shlex
import tempfile
from pathlib import Path

from ..fs import ensure_private_dir
from .inventory import InventoryHost

#: Seconds a shared connection outlives its last channel (the next command reuses it).
CONTROL_PERSIST = 60
#: Keep-alives: a peer that answers none of 3, 5 s apart, is gone.
ALIVE_INTERVAL, ALIVE_COUNT = 5, 3
#: The longest control directory we accept: %C adds 41 bytes, the kernel allows 107.
_MAX_DIR = 60


def control_dir() -> Path:
    """A private directory for ssh's control sockets, short enough for their names."""
    uid = os.getuid()
    runtime = os.environ.get("XDG_RUNTIME_DIR")
    candidates = [Path(runtime) / "pglift-tui-ssh"] if runtime else []
    candidates.append(Path(tempfile.gettempdir()) / f"pglift-tui-ssh-{uid}")
    candidates.append(Path("/tmp") / f"pglift-tui-ssh-{uid}")  # noqa: S108
    for path in candidates:
        if len(str(path)) <= _MAX_DIR:
            return ensure_private_dir(path)
    return ensure_private_dir(candidates[-1])


def remote_command(host: InventoryHost, args: str = "serve --stdio") -> str:
    """What the far end's login shell runs: the package's `serve --stdio` (or `args`),
    with its settings."""
    serve = f"{host.command} {args}"
    if host.settings is None:
        return serve
    return shlex.join(["env", f"PGLIFT_TUI_SETTINGS={host.settings}", "sh", "-c", serve])


def ssh_argv(host: InventoryHost, control: Path | None, *, command: str | None = None) -> list[str]:
    """`ssh ... HOST COMMAND` for `host` (COMMAND: the far end's serve, unless given)."""
    argv = [
        "ssh", "-T", "-x", "-a",
        "-o", "BatchMode=yes",
        "-o", f"ConnectTimeout={max(1, math.ceil(host.connect_timeout))}",
        "-o", f"ServerAliveInterval={ALIVE_INTERVAL}",
        "-o", f"ServerAliveCountMax={ALIVE_COUNT}",
        "-o", "LogLevel=ERROR",
    ]  # fmt: skip
    if control is not None:
        argv += ["-o", "ControlMaster=auto", "-o", f"ControlPath={control}/%C",
                 "-o", f"ControlPersist={CONTROL_PERSIST}"]  # fmt: skip
    if host.port is not None:
        argv += ["-p", str(host.port)]
    if host.user is not None:
        argv += ["-l", host.user]
    if host.key_file is not None:
        argv += ["-i", host.key_file]
    argv += [*host.ssh_args, "--", host.address, command if command is not None else remote_command(host)]
    return argv


def environment() -> dict[str, str]:
    """ssh's environment: ours, without what could make it ask anything."""
    env = dict(os.environ)
    for name in ("SSH_ASKPASS", "DISPLAY"):
        env.pop(name, None)
    env["SSH_ASKPASS_REQUIRE"] = "never"
    return env


def ssh_words(lines: list[str]) -> str:
    """The line of ssh's stderr that says why (its last, where it stops talking)."""
    said = [line.strip() for line in lines if line.strip()]
    if not said:
        return "the connection closed"
    for line in reversed(said):
        if line.startswith(("ssh:", "error:", "Permission denied", "Host key", "kex_", "Connection")):
            return line
    return said[-1]
