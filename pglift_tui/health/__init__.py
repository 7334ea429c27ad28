"""Health at a glance: checks with thresholds, for the dashboard and monitoring systems.

The pure pieces are importable from here without connecting or reading anything:
`HEALTH_SQL` (one round trip; `with_probe` adds it to another probe's select list),
`parse(row) -> Measurements`, `disk.measure`, and `evaluate(item, measurements, disk,
log, thresholds) -> list[Finding]` (`assess` gives every reading, for perfdata). The
rest touches files or servers and is imported from its module:

- `health.logs.scan`: ERROR/FATAL/PANIC lines written lately, from the log files;
- `health.state.record`, `acknowledge`, `acknowledged`, `active`, `history`:
  transitions and acknowledgements, journaled, shared by every process;
- `health.runner.run`: every instance checked at once, bounded (what `check` runs);
- `health.command`: `pglift-tui check` in the monitoring-plugins convention.

Nothing here is imported by `pglift_tui.settings` but the thresholds, and nothing
imports psycopg until a server is asked.
"""

from .disk import FileSystem
from .evaluate import FailedStart, assess, evaluate
from .findings import CHECKS, Finding, Reading, Report, Severity, worst
from .sql import HEALTH_COLUMN, HEALTH_SQL, Measurements, Unreachable, parse, with_probe
from .thresholds import HealthSettings

__all__ = [
    "CHECKS",
    "HEALTH_COLUMN",
    "HEALTH_SQL",
    "FailedStart",
    "FileSystem",
    "Finding",
    "HealthSettings",
    "Measurements",
    "Reading",
    "Report",
    "Severity",
    "Unreachable",
    "assess",
    "evaluate",
    "parse",
    "with_probe",
    "worst",
]
