"""Transitions and acknowledgements: journaled once, across processes, muted until news."""

from __future__ import annotations

import itertools
import json
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from pglift_tui import journal
from pglift_tui.exceptions import InstanceStateError
from pglift_tui.health import Finding, Report, state
from pglift_tui.settings import Settings


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(prefix=tmp_path / "p", run_prefix=tmp_path / "r", state_dir=tmp_path / "s")


def report(*found: tuple[str, str], instance: str = "15/main") -> Report:
    findings = tuple(
        Finding(instance, "pglift", check, severity, f"{check} is {severity}", 1.0, 0.0, "s")  # type: ignore[arg-type]
        for check, severity in found
    )
    return Report(instance, "pglift", Path(f"/srv/{instance}"), (), findings)


def changes(transitions: list[state.Transition]) -> list[tuple[str, str, str | None, str | None]]:
    return [(t.check, t.change, t.previous, t.severity) for t in transitions]


def test_raised_changed_cleared_and_quiet_in_between(settings: Settings) -> None:
    assert state.record(settings, [report()]) == []
    assert not (settings.state_dir / state.STATE_FILE).exists()  # nothing to keep, nothing written
    assert changes(state.record(settings, [report(("long_query", "warning"))], now=10)) == [
        ("long_query", "raised", None, "warning")
    ]
    assert state.record(settings, [report(("long_query", "warning"))], now=11) == []
    assert changes(
        state.record(settings, [report(("long_query", "critical"), ("blocked", "warning"))], now=12)
    ) == [
        ("long_query", "changed", "warning", "critical"),
        ("blocked", "raised", None, "warning"),
    ]
    assert changes(state.record(settings, [report(("blocked", "warning"))], now=13)) == [
        ("long_query", "cleared", "critical", None)
    ]
    [active] = state.active(settings)
    assert (active.check, active.since, active.acknowledged) == ("blocked", 12, False)
    events = state.history(settings)
    assert [e.action for e in events] == [
        "health cleared",
        "health raised",
        "health changed",
        "health raised",
    ]
    assert events[2].message == "long_query is critical" and events[2].details["previous"] == "warning"
    assert events[2].datadir == "/srv/15/main" and events[2].details["unit"] == "s"
    assert stat.S_IMODE((settings.state_dir / state.STATE_FILE).stat().st_mode) == 0o600


def test_instances_not_looked_at_keep_their_state_unless_the_look_was_complete(settings: Settings) -> None:
    state.record(
        settings,
        [report(("down", "critical"), instance="15/a"), report(("down", "critical"), instance="15/b")],
    )
    assert state.record(settings, [report(instance="15/a")]) != []  # only a was looked at
    assert [a.instance for a in state.active(settings)] == ["15/b"]
    assert state.record(settings, [], complete=True) == []  # b was dropped: forgotten, not "cleared"
    assert state.active(settings) == []


def test_an_acknowledgement_mutes_until_the_severity_changes_or_it_clears(settings: Settings) -> None:
    state.record(settings, [report(("long_query", "warning"))])
    with pytest.raises(InstanceStateError, match="no critical long_query finding to acknowledge"):
        state.acknowledge(settings, "15/main", "long_query", "critical")
    with pytest.raises(InstanceStateError, match="it is not raised now"):
        state.acknowledge(settings, "15/other", "long_query", "warning")
    assert state.acknowledge(settings, "15/main", "long_query", "warning")
    muted = ("pglift", "15/main", "long_query", "warning")
    assert state.acknowledged(settings) == {muted}
    state.record(settings, [report(("long_query", "warning"))])
    assert state.acknowledged(settings) == {muted}  # same trouble, still muted
    state.record(settings, [report(("long_query", "critical"))])
    assert state.acknowledged(settings) == frozenset()
    state.acknowledge(settings, "15/main", "long_query", "critical")
    state.record(settings, [report()])
    state.record(settings, [report(("long_query", "critical"))])
    assert state.acknowledged(settings) == frozenset()  # back again: news
    acks = [e for e in state.history(settings) if e.action == "health acknowledged"]
    assert [e.details["severity"] for e in acks] == ["critical", "warning"]


WRITER = """
import sys
from pathlib import Path
from pglift_tui.health import Finding, Report, state
from pglift_tui.settings import Settings
root = Path(sys.argv[1])
s = Settings(prefix=root / "p", run_prefix=root / "r", state_dir=root / "s")
sys.stdin.readline()
for i in range(50):
    f = Finding("15/main", "pglift", "long_query", "critical" if i % 2 else "warning", "m")
    state.record(s, [Report("15/main", "pglift", Path("/d"), (), (f,))])
"""


def test_two_processes_looking_at_once_journal_each_change_once(settings: Settings, tmp_path: Path) -> None:
    procs = [
        subprocess.Popen([sys.executable, "-c", WRITER, str(tmp_path)], stdin=subprocess.PIPE, text=True)
        for _ in range(2)
    ]
    for proc in procs:
        assert proc.stdin is not None
        proc.stdin.write("go\n")
        proc.stdin.close()
    assert [proc.wait() for proc in procs] == [0, 0]
    events = list(reversed(state.history(settings)))
    # Whatever the interleaving, the journal tells one consistent story: each line follows the last.
    assert events[0].action == "health raised"
    for before, after in itertools.pairwise(events):
        assert after.action == "health changed"
        assert after.details["previous"] == before.details["severity"] != after.details["severity"]
    assert len(events) >= 50


def test_old_journal_lines_still_read_and_secrets_stay_out(settings: Settings) -> None:
    settings.state_dir.mkdir(mode=0o700)
    old = {"time": 1.0, "user": "u", "pid": 1, "instance": "15/main", "datadir": "/d", "action": "start",
           "result": "ok", "duration": 0.5, "error": None, "details": {}}  # fmt: skip
    settings.journal_file.write_text(json.dumps(old) + "\n")
    f = Finding("15/main", "pglift", "long_query", "warning", "pid 1: ALTER ROLE a PASSWORD 'sekrit'")
    state.record(settings, [Report("15/main", "pglift", Path("/d"), (), (f,))])
    events = journal.read(settings)
    assert [(e.action, e.message) for e in events] == [
        ("health raised", "pid 1: ALTER ROLE a PASSWORD '********'"),
        ("start", None),
    ]
    assert b"sekrit" not in settings.journal_file.read_bytes()


@pytest.mark.parametrize(
    "module",
    ["pglift_tui.health", "pglift_tui.health.runner", "pglift_tui.health.state", "pglift_tui.health.command"],
)
def test_health_is_core_and_asks_nothing_at_import(module: str) -> None:
    loaded = "sorted(m.split('.')[0] for m in sys.modules if m.startswith(('textual', 'psycopg')))"
    code = f"import sys, {module}; print({loaded})"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
