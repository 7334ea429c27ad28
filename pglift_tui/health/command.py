"""`pglift-tui check [NAME] [--json] [--version V]`, in the monitoring-plugins convention.

Nagios, Icinga, Zabbix and Sensu run it as they run check_pgactivity: the exit code is
the state (0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN: a usage or settings error here is
UNKNOWN, unlike the other commands), the output one status line with perfdata
(`label=value[unit];warn;crit[;min;max]`, one label per instance and check), or with
`--json` the list of findings. Each run is a look: transitions are journaled.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from collections.abc import Callable, Sequence
from typing import Any

from ..exceptions import Error
from ..settings import Settings
from .findings import Finding, Reading, Report

OK, WARNING, CRITICAL, UNKNOWN = 0, 1, 2, 3
STATES = {OK: "OK", WARNING: "WARNING", CRITICAL: "CRITICAL", UNKNOWN: "UNKNOWN"}
SERVICE = "PGLIFT_TUI"


def add_parser(sub: Any) -> None:
    """The `check` subcommand, on the CLI's subparsers."""
    check = sub.add_parser(
        "check",
        help="check the instances' health (monitoring-plugins exit codes)",
        description="Exit 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN; one status line with perfdata.",
    )
    check.add_argument("name", nargs="?", help="only this instance")
    check.add_argument("--version", dest="pg_version", metavar="V", help="only this PostgreSQL version")
    check.add_argument("--json", action="store_true", help="the findings as a JSON list")


def is_check(parser: argparse.ArgumentParser, argv: Sequence[str]) -> bool:
    """Whether `argv` asks for `check`: its first positional word, past the options
    of `parser` (and their values). For a usage error to be UNKNOWN, not 2."""
    takes_value = {
        option
        for action in parser._actions  # argparse keeps no public list of them
        if action.nargs != 0 and action.option_strings
        for option in action.option_strings
    }
    words = iter(argv)
    for word in words:
        if word == "--":
            return next(words, None) == "check"
        if word.startswith("-"):
            if word in takes_value:
                next(words, None)
            continue
        return word == "check"
    return False


def usage_unknown() -> int:
    """A usage error of `check`: UNKNOWN, as monitoring systems expect (argparse said why)."""
    print(f"{SERVICE} UNKNOWN: invalid arguments (see pglift-tui check --help)")
    return UNKNOWN


def _number(value: float) -> str:
    return f"{value:.3f}".rstrip("0").rstrip(".") if value != int(value) else str(int(value))


def _level(reading: Reading, threshold: float | None) -> str:
    if threshold is None:
        return ""
    return _number(threshold) + (":" if reading.lower_is_worse else "")


def perfdata(reports: Sequence[Report]) -> str:
    """Every measured value: `15/main.long_query=12s;300;1800` (free space alerts below: `10:`)."""
    items = []
    for report in reports:
        for r in report.readings:
            if r.value is None:
                continue
            label = f"{report.instance}.{r.check}"
            if any(c in label for c in " ='"):
                label = "'" + label.replace("'", "") + "'"
            item = f"{label}={_number(r.value)}{r.unit};{_level(r, r.warning)};{_level(r, r.critical)}"
            if r.unit == "%":
                item += ";0;100"
            items.append(item.rstrip(";"))
    return " ".join(items)


def status_line(reports: Sequence[Report]) -> tuple[int, str]:
    """(exit code, the status line with perfdata)."""
    findings = sorted((f for r in reports for f in r.findings), key=lambda f: f.severity != "critical")
    criticals = sum(f.severity == "critical" for f in findings)
    code = CRITICAL if criticals else WARNING if findings else OK
    n = len(reports)
    if not findings:
        text = f"{n} instance{'s' if n != 1 else ''}, no finding" if n else "no instance to check"
    else:
        warnings = len(findings) - criticals
        troubled = len({f.instance for f in findings})
        counts = ", ".join(
            part for part in (f"{criticals} critical" if criticals else "",
                              f"{warnings} warning{'s' if warnings > 1 else ''}" if warnings else "") if part
        )  # fmt: skip
        details = "; ".join(f"{f.instance} {f.check}: {f.message}" for f in findings)
        text = f"{counts} on {troubled} of {n} instance{'s' if n != 1 else ''}: {details}"
    line = f"{SERVICE} {STATES[code]}: {text.replace('|', '/')}"
    data = perfdata(reports)
    return code, f"{line} | {data}" if data else line


async def _check(args: argparse.Namespace, settings: Settings) -> tuple[list[Report], list[Finding]]:
    from . import runner, state

    reports = await runner.run(settings, name=args.name, version=args.pg_version)
    complete = args.name is None and args.pg_version is None
    await asyncio.to_thread(state.record, settings, reports, complete=complete)
    return reports, [f for r in reports for f in r.findings]


def main(args: argparse.Namespace, load: Callable[[argparse.Namespace], Settings]) -> int:
    """Run `check`: every error, settings included, is UNKNOWN (3) with its reason."""
    try:
        from ..instances._action import refuse_root

        refuse_root()
        settings = load(args)
        if settings.ignored_keys:
            print(f"notice: {settings.source}: not used by pglift-tui: {', '.join(settings.ignored_keys)}",
                  file=sys.stderr)  # fmt: skip
        reports, findings = asyncio.run(_check(args, settings))
    except KeyboardInterrupt:
        return UNKNOWN
    except Exception as exc:
        message = exc.message if isinstance(exc, Error) else (str(exc).strip() or type(exc).__name__)
        first = message.splitlines()[0] if message else type(exc).__name__
        if not args.json:
            print(f"{SERVICE} UNKNOWN: {first.replace('|', '/')}")
        print(f"error: {message}", file=sys.stderr)
        if isinstance(exc, Error) and exc.hint:
            print(f"hint: {exc.hint}", file=sys.stderr)
        return UNKNOWN
    code, line = status_line(reports)
    if args.json:
        print(json.dumps([f.as_dict() for f in findings], indent=2))
    else:
        print(line)
    return code
