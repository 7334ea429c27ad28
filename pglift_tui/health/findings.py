"""What the checks conclude: readings (every measured value) and findings (the troubles).

A reading is one check's measure of one instance, with its thresholds, whether or not
it is in trouble: perfdata and pictures over time want them all. A finding is a
reading that reached a level. Both are plain frozen dataclasses whose `as_dict()` is
ready for JSON; messages never hold a password (SQL and conninfo forms are masked).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

Severity = Literal["warning", "critical"]
#: Every check, in the order findings of equal severity are listed.
CHECKS = (
    "down",
    "unreachable",
    "connections",
    "long_query",
    "idle_in_transaction",
    "blocked",
    "wraparound",
    "replication_lag",
    "slot_retained_wal",
    "disk_space",
    "archive_failing",
    "checksum_failures",
    "log_errors",
    "pending_restart",
)
_RANK = {"critical": 0, "warning": 1}
_ORDER = {code: i for i, code in enumerate(CHECKS)}


@dataclass(frozen=True)
class Reading:
    """One check's measure of one instance; `severity` is None when within thresholds."""

    check: str
    value: float | None
    unit: str
    warning: float | None = None
    critical: float | None = None
    severity: Severity | None = None
    #: Words naming the object, the value and the threshold; set when in trouble.
    message: str | None = None
    #: For free space: alert when the value is at or below the thresholds.
    lower_is_worse: bool = False
    #: The severity is the check's own verdict (a lost slot), not a threshold reached.
    forced: bool = False


@dataclass(frozen=True)
class Finding:
    """A trouble: which instance, which check, how bad, in words and numbers."""

    instance: str
    manager: str
    check: str
    severity: Severity
    message: str
    value: float | None = None
    threshold: float | None = None
    unit: str | None = None

    @property
    def ident(self) -> tuple[str, str, str, Severity]:
        """(manager, instance, check, severity): what an acknowledgement mutes."""
        return (self.manager, self.instance, self.check, self.severity)

    def as_dict(self) -> dict[str, Any]:
        return {
            "instance": self.instance,
            "manager": self.manager,
            "check": self.check,
            "severity": self.severity,
            "message": self.message,
            "value": self.value,
            "threshold": self.threshold,
            "unit": self.unit,
        }


@dataclass(frozen=True)
class Report:
    """Everything one look found on one instance."""

    instance: str
    manager: str
    datadir: Path
    readings: tuple[Reading, ...] = ()
    findings: tuple[Finding, ...] = field(default=())

    @property
    def worst(self) -> Severity | None:
        return self.findings[0].severity if self.findings else None


def findings_of(instance: str, manager: str, readings: list[Reading]) -> list[Finding]:
    """The readings in trouble as findings, critical first, then in CHECKS order."""
    found = [
        Finding(
            instance=instance,
            manager=manager,
            check=r.check,
            severity=r.severity,
            message=r.message or r.check,
            value=r.value,
            threshold=None if r.forced else r.critical if r.severity == "critical" else r.warning,
            unit=r.unit or None,
        )
        for r in readings
        if r.severity is not None
    ]
    return sorted(found, key=lambda f: (_RANK[f.severity], _ORDER.get(f.check, len(CHECKS))))


def worst(findings: list[Finding] | tuple[Finding, ...]) -> Severity | None:
    if any(f.severity == "critical" for f in findings):
        return "critical"
    return "warning" if findings else None


def first_line(text: str | None, width: int = 80) -> str:
    """The first non-empty line of a query or log line, shortened, without secrets."""
    from ..journal import redact  # the journal imports the settings, which import us

    line = next((part.strip() for part in (text or "").splitlines() if part.strip()), "")
    line = redact(line).replace("|", "/")
    return line if len(line) <= width else line[: width - 1] + "…"
