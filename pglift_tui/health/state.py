"""Transitions of findings and their acknowledgements, journaled, across processes.

What was in trouble at the last look is kept in `health.json` in the state directory;
each look compares with it and journals the differences: a trouble raised, its
severity changed, cleared. So History and the events log say when trouble started
and ended, whichever process looked (the dashboard, a monitoring system's `check`),
and a trouble two processes both see is journaled once: the comparison and the
journal lines happen under the health state's lock.

An acknowledgement mutes one finding at its severity: it stays muted until that
severity changes or the finding clears (and, if it comes back, it is news again).
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Literal

from .. import journal, locks
from ..exceptions import InstanceStateError
from ..settings import Settings
from . import store
from .findings import Finding, Report, Severity

STATE_FILE = "health.json"
Change = Literal["raised", "changed", "cleared", "acknowledged"]
#: Journal actions of the health checks, one per kind of change.
ACTIONS = {change: f"health {change}" for change in ("raised", "changed", "cleared", "acknowledged")}


@dataclass(frozen=True)
class Transition:
    """A change in an instance's troubles, as journaled."""

    instance: str
    manager: str
    check: str
    change: Change
    #: The severity now (None once cleared) and before (None when newly raised).
    severity: Severity | None
    previous: Severity | None
    message: str
    time: float


@dataclass(frozen=True)
class Active:
    """A trouble present at the last look: since when, and whether it is muted."""

    instance: str
    manager: str
    check: str
    severity: Severity
    message: str
    since: float
    acknowledged: bool


def _slot(manager: str, instance: str) -> str:
    return f"{manager}:{instance}"


def _journal(settings: Settings, t: Transition, datadir: str, extra: dict[str, Any]) -> None:
    journal.append(
        settings,
        journal.Event(
            time=t.time,
            user=locks.os_user(),
            pid=os.getpid(),
            instance=t.instance,
            datadir=datadir,
            action=ACTIONS[t.change],
            result="ok",
            duration=0.0,
            message=t.message,
            details={
                "check": t.check,
                "manager": t.manager,
                "severity": t.severity,
                "previous": t.previous,
                **extra,
            },
        ),
    )


def _numbers(f: Finding) -> dict[str, Any]:
    return {"value": f.value, "threshold": f.threshold, "unit": f.unit}


def record(
    settings: Settings, reports: Iterable[Report], *, complete: bool = False, now: float | None = None
) -> list[Transition]:
    """Compare each report with the last look at its instance, journal what changed.

    Instances without a report keep their state, unless `complete` says the reports
    cover every instance there is: then the state of the others (dropped) is forgotten.
    """
    now = time.time() if now is None else now
    path = settings.state_dir / STATE_FILE
    changes: list[Transition] = []
    with store.locked(settings):
        data = store.load(path)
        instances: dict[str, Any] = data.setdefault("instances", {})
        seen = set()
        for report in reports:
            slot = _slot(report.manager, report.instance)
            seen.add(slot)
            before: dict[str, Any] = instances.get(slot, {}).get("findings", {})
            after: dict[str, Any] = {}
            datadir = str(report.datadir)
            for f in report.findings:
                old = before.get(f.check)
                entry = {"severity": f.severity, "message": f.message, "since": now, "acknowledged": False}
                change: Change | None = "raised"
                if old is not None and old.get("severity") == f.severity:
                    entry, change = old, None  # its words as first seen: the file changes only on news
                elif old is not None:
                    entry["since"], change = old.get("since", now), "changed"
                after[f.check] = entry
                if change is not None:
                    t = Transition(f.instance, f.manager, f.check, change, f.severity,
                                   old.get("severity") if old else None, f.message, now)  # fmt: skip
                    _journal(settings, t, datadir, _numbers(f))
                    changes.append(t)
            for check, old in before.items():
                if check not in after:
                    t = Transition(report.instance, report.manager, check, "cleared", None,
                                   old.get("severity"), old.get("message", check), now)  # fmt: skip
                    _journal(settings, t, datadir, {"since": old.get("since")})
                    changes.append(t)
            if after:
                instances[slot] = {"datadir": datadir, "findings": after}
            else:
                instances.pop(slot, None)
        gone = set(instances) - seen if complete else set()
        for slot in gone:
            del instances[slot]
        if changes or gone:
            store.save(path, data)
    return changes


def acknowledge(
    settings: Settings,
    instance: str,
    check: str,
    severity: Severity,
    *,
    manager: str = "pglift",
    now: float | None = None,
) -> bool:
    """Mute the finding `check` of `instance` at `severity`; False if it was muted already.

    Refused when the last look did not see that finding at that severity (it cleared
    or changed meanwhile): what is muted is what the operator saw.
    """
    now = time.time() if now is None else now
    path = settings.state_dir / STATE_FILE
    with store.locked(settings):
        data = store.load(path)
        held = data.get("instances", {}).get(_slot(manager, instance))
        entry = (held or {}).get("findings", {}).get(check)
        if entry is None or entry.get("severity") != severity:
            now_is = f"it is {entry['severity']} now" if entry else "it is not raised now"
            raise InstanceStateError(
                f"instance {instance}: no {severity} {check} finding to acknowledge ({now_is})",
                hint="look again and acknowledge what is shown",
            )
        if entry.get("acknowledged"):
            return False
        entry["acknowledged"] = True
        entry["acknowledged_by"] = locks.os_user()
        t = Transition(instance, manager, check, "acknowledged", severity, severity, entry["message"], now)
        _journal(settings, t, held["datadir"], {"since": entry.get("since")})
        store.save(path, data)
    return True


def active(settings: Settings) -> list[Active]:
    """The troubles of the last look at each instance (no lock: the file is replaced whole)."""
    data = store.load(settings.state_dir / STATE_FILE)
    found = []
    for slot, held in data.get("instances", {}).items():
        manager, _, instance = slot.partition(":")
        for check, e in held.get("findings", {}).items():
            found.append(Active(instance, manager, check, e["severity"], e.get("message", ""),
                                float(e.get("since", 0)), bool(e.get("acknowledged"))))  # fmt: skip
    return found


def acknowledged(settings: Settings) -> frozenset[tuple[str, str, str, Severity]]:
    """(manager, instance, check, severity) of every muted finding: compare `Finding.ident`."""
    return frozenset((a.manager, a.instance, a.check, a.severity) for a in active(settings) if a.acknowledged)


def history(
    settings: Settings, *, instance: str | None = None, limit: int | None = None
) -> list[journal.Event]:
    """Health transitions and acknowledgements from the journal, newest first."""
    wanted = set(ACTIONS.values())
    events = []
    for event in journal.newest_first(settings):
        if event.action in wanted and (instance is None or event.instance == instance):
            events.append(event)
            if limit is not None and len(events) >= limit:
                break
    return events
