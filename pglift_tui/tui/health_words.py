"""A row's health in a few words: the worst finding as a mark and what it is about.

The mark tells the severity without colour (NO_COLOR): `‼` critical, `!` warning,
`·` when all is acknowledged. Values are bucketed (minutes, whole percents, sizes)
so a row in steady trouble is not redrawn at every refresh.
"""

from __future__ import annotations

from ..health import Finding
from ..monitor import InstanceView
from .amounts import size

MARKS = {"critical": "‼", "warning": "!"}
#: Rank of each severity for sorting and the jump key (lower is worse).
RANK = {"critical": 0, "warning": 1, None: 2}


def _duration(seconds: float) -> str:
    if seconds < 60:
        return f"{seconds:.0f}s"
    if seconds < 3600:
        return f"{seconds // 60:.0f}m"
    return f"{seconds / 3600:.0f}h"


def short(finding: Finding) -> str:
    """`idle xact 12m`, `slot 3.0GB`, `down`: what the column has room for."""
    value = finding.value
    unit = finding.unit or ""

    def amount() -> str:
        if value is None:
            return ""
        if unit == "s":
            return _duration(value)
        if unit == "B":
            return size(value)
        if unit == "%":
            return f"{value:.0f}%"
        return f"{value:g}"

    words = {
        "down": "down",
        "unreachable": "no answer",
        "connections": f"conn {amount()}",
        "long_query": f"query {amount()}",
        "idle_in_transaction": f"idle xact {amount()}",
        "blocked": f"blocked {amount()}",
        "wraparound": f"wraparound {amount()}",
        "replication_lag": f"lag {amount()}",
        "slot_retained_wal": f"slot {amount()}",
        "disk_space": f"disk {amount()} free",
        "archive_failing": "archiving fails",
        "checksum_failures": f"checksums {amount()}",
        "log_errors": f"log errors {amount()}",
        "pending_restart": "restart pending",
    }
    return words.get(finding.check, finding.check).strip()


def severity(view: InstanceView) -> str | None:
    """The worst severity not acknowledged."""
    troubles = view.troubles
    return troubles[0].severity if troubles else None


def cell_text(view: InstanceView) -> tuple[str, str]:
    """(text, style) of the health cell."""
    troubles = view.troubles
    if troubles:
        first = troubles[0]
        more = f" +{len(troubles) - 1}" if len(troubles) > 1 else ""
        return f"{MARKS[first.severity]} {short(first)}{more}", first.severity
    if view.findings:
        return f"· {len(view.findings)} ack'd", "dim"
    return "", ""


def lines(view: InstanceView) -> list[str]:
    """Each finding in full, for the note on the selected row."""
    found = []
    for finding in view.findings:
        muted = " (acknowledged)" if finding.ident in view.muted else ""
        found.append(f"{MARKS[finding.severity]} {finding.message}{muted}")
    return found
