"""Helpers of the health tests: `pglift-tui check` as a monitoring system runs it, and the core's look."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from pglift_tui.health import Finding, HealthSettings, runner

from ..conftest import write_site


def site_file(settings: Any, health: dict[str, Any] | None = None) -> Path:
    """A site settings file for `settings`, with `health` thresholds."""
    return write_site(settings, "health-site.yaml", health=health or {})


def check(
    settings: Any, *args: str, health: dict[str, Any] | None = None
) -> subprocess.CompletedProcess[str]:
    """`pglift-tui check ARGS` in a process of its own, as Nagios or Icinga would run it."""
    env = {**os.environ, "PGLIFT_TUI_SETTINGS": str(site_file(settings, health))}
    return subprocess.run(
        [sys.executable, "-m", "pglift_tui", "check", *args],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )


def check_json(
    settings: Any, *args: str, health: dict[str, Any] | None = None
) -> tuple[int, list[dict[str, Any]]]:
    done = check(settings, "--json", *args, health=health)
    assert done.returncode in (0, 1, 2), done.stdout + done.stderr
    return done.returncode, json.loads(done.stdout)


def with_health(settings: Any, health: dict[str, Any] | None) -> Any:
    return settings.model_copy(update={"health": HealthSettings.model_validate(health or {})})


async def look(settings: Any, health: dict[str, Any] | None = None, name: str | None = None) -> list[Finding]:
    """The core's findings over every instance (or one), with `health` thresholds."""
    reports = await runner.run(with_health(settings, health), name=name)
    return [f for r in reports for f in r.findings]


def only(findings: list[Any], check: str) -> Any:
    """The one finding of `check` (dicts from JSON or Finding objects)."""
    found = [f for f in findings if (f["check"] if isinstance(f, dict) else f.check) == check]
    assert len(found) == 1, findings
    return found[0]
