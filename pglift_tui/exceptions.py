"""Errors of the core.

Every error carries a message (what went wrong) and, where one exists, a hint (how
to fix it), so the CLI and the dashboard can show both without parsing text.
"""

from __future__ import annotations

from collections.abc import Sequence


class Error(Exception):
    """Base of every error the core raises on purpose."""

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        if self.hint:
            return f"{self.message}; {self.hint}"
        return self.message


class InvalidVersion(Error, ValueError):
    """A PostgreSQL version that is not installed or not supported."""


class InvalidName(Error, ValueError):
    """An instance name that could escape its directory or break a path."""


class InstanceNotFound(Error, LookupError):
    """No instance of that name (and version) exists under the prefix."""


class AmbiguousName(Error, LookupError):
    """A name that two managers (or two versions) know: the caller must say which."""


class InstanceAlreadyExists(Error):
    """The instance to create is already there."""


class InstanceStateError(Error):
    """The instance is not in a state that allows the operation."""


class InstanceBusy(InstanceStateError):
    """Another action holds the instance's lock (maybe in another process)."""


class ConfigurationError(Error):
    """A settings file, a manifest or a PostgreSQL configuration is invalid."""


class PortInUse(ConfigurationError):
    """The port asked for is already taken by a listener or another instance."""


_ERROR_MARKS = ("error:", "FATAL:", "PANIC:", "ERROR:")
#: Words of a line that says why when none is marked as an error (a shell's, say): the
#: system's own reasons first, then any "could not" ("pg_ctl: could not start server").
_CAUSES = (
    ("Permission denied", "No space left", "No such file", "Read-only file system"),
    ("could not", "cannot"),
)


def _reason(output: str) -> str | None:
    """The line that says why: the last one marked as an error, else one naming a cause.

    Programs go on talking after the error (initdb: "removing contents of data
    directory"; pg_ctl: "Examine the log output."), so the last line is often
    clean-up or advice, not the cause.
    """
    lines = [line.strip() for line in output.splitlines() if line.strip()]
    for marks in (_ERROR_MARKS, *_CAUSES):
        marked = [line for line in lines if any(mark in line for mark in marks)]
        if marked:
            return marked[-1]
    return lines[-1] if lines else None


class CommandError(Error):
    """An external program failed.

    `argv` never holds a secret: passwords go through files or the environment.
    `log_lines` holds what the server wrote to its log during a failed start.
    """

    def __init__(
        self,
        argv: Sequence[str],
        returncode: int,
        stderr: str = "",
        stdout: str = "",
        *,
        log_lines: Sequence[str] = (),
        hint: str | None = None,
    ) -> None:
        program = argv[0].rsplit("/", 1)[-1] if argv else "command"
        message = f"{program} failed with exit code {returncode}"
        reason = _reason(stderr.strip() or stdout.strip())
        if reason:
            message += f": {reason}"
        super().__init__(message, hint=hint)
        self.argv = list(argv)
        self.returncode = returncode
        self.stderr = stderr
        self.stdout = stdout
        self.log_lines = list(log_lines)
