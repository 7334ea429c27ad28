"""The CLI over many hosts: `--inventory FILE` on ls, get, check and the life-cycle commands.

Each host answers through its channel (`remote.fleet`); what the hosts that answered
said is printed, and every host that did not is named on stderr with ssh's words:
`ls` then exits 1, `check` says UNKNOWN (CRITICAL still wins). An action goes to the
one host holding NAME (`--host` when several do), and its outcome or error reads and
exits exactly as it would on that host.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .cli_report import EXIT_FAILED
from .exceptions import Error

if TYPE_CHECKING:  # imported when used: `pglift-tui ls` without --inventory must not pay for it
    from .remote.fleet import Fleet


def add_options(parser: argparse.ArgumentParser, *, host: bool, dest: str = "inventory") -> None:
    parser.add_argument(
        "--inventory", dest=dest, action="append", type=Path, metavar="FILE",
        help="an Ansible inventory: act on its hosts over ssh (repeatable)",
    )  # fmt: skip
    parser.add_argument(
        "--limit",
        metavar="PATTERN",
        help="with --inventory: only these hosts or groups (as Ansible's --limit)",
    )
    if host:
        parser.add_argument("--host", metavar="NAME", help="with --inventory: the host NAME is on")


def fleet(args: argparse.Namespace) -> Fleet:
    from .remote.fleet import Fleet, hosts_of

    return Fleet(hosts_of(args.inventory, args.limit))


def _unreachable(failed: dict[str, Error]) -> None:
    for name in sorted(failed):
        print(f"error: {failed[name].message.removeprefix(f'host {name}: ')} (host {name})"
              if not failed[name].message.startswith(f"host {name}") else f"error: {failed[name].message}",
              file=sys.stderr)  # fmt: skip


async def ls(args: argparse.Namespace, print_table: Any) -> int:
    group = fleet(args)
    try:
        items, failed = await group.ls(args.pg_version)
    finally:
        await group.close()
    if args.json:
        print(json.dumps([item.model_dump(mode="json") for item in items], indent=2))
    else:
        rows = [("HOST", "NAME", "VERSION", "PORT", "STATUS", "ROLE", "PID", "MANAGER", "DATADIR")]
        for item in items:
            rows.append((item.host or "", item.name, item.version, str(item.port), item.state_word, item.role,
                         str(item.pid or ""), item.manager, str(item.datadir)))  # fmt: skip
        print_table(rows)
    _unreachable(failed)
    return EXIT_FAILED if failed else 0


async def get(args: argparse.Namespace) -> int:
    group = fleet(args)
    try:
        channel, item = await group.resolve(
            args.name, version=args.pg_version, manager=args.manager, host=args.host
        )
        data = await channel.call("get", {"key": item.key.split(":", 1)[1]})
    finally:
        await group.close()
    if args.json:
        print(json.dumps(data, indent=2, default=str))
    else:
        import yaml

        print(yaml.safe_dump(data, sort_keys=False, default_flow_style=False), end="")
    return 0


async def lifecycle(args: argparse.Namespace) -> int:
    """start, stop, restart, reload, promote on the host holding NAME (`Host.run` there)."""
    from .managers import Outcome
    from .remote import protocol

    group = fleet(args)
    try:
        channel, item = await group.resolve(
            args.name, version=args.pg_version, manager=args.manager, host=args.host
        )
        options = {key: getattr(args, key) for key in ("mode", "timeout") if hasattr(args, key)}
        far_key = item.key.split(":", 1)[1]
        answer = await channel.call("run", {"action": args.command, "key": far_key, "options": options})
    finally:
        await group.close()
    outcome: Outcome = protocol.load(answer, Outcome)
    print(f"{item.host}: {outcome.word}")
    for line in outcome.lines:
        print(f"  {line}")
    return 0


# -- check -----------------------------------------------------------------------------------
def _qualified(host: str, reports: list[Any]) -> list[Any]:
    """Reports with their instances named host:key, as the fleet's rows are."""
    from dataclasses import replace

    return [
        replace(r, instance=f"{host}:{r.instance}",
                findings=tuple(replace(f, instance=f"{host}:{f.instance}") for f in r.findings))
        for r in reports
    ]  # fmt: skip


def check(args: argparse.Namespace) -> int:
    """`check --inventory`: the worst state of every host; a host that did not answer is
    UNKNOWN (a CRITICAL elsewhere still wins), named in the status line."""
    import asyncio

    from .exceptions import InstanceNotFound
    from .health import Report
    from .health import command as health_command
    from .remote import protocol

    async def run() -> tuple[list[Report], dict[str, Error], dict[str, list[Report]]]:
        group = fleet(args)
        try:
            failed = await group.open()
            answers, errors = await group.each("check", {"name": args.name, "version": args.pg_version})
        finally:
            await group.close()
        if args.name is not None:  # a host without that instance has nothing to say of it
            missing = {n for n, e in errors.items() if isinstance(e, InstanceNotFound)}
            if missing and (answers or len(missing) < len(errors)):
                errors = {n: e for n, e in errors.items() if n not in missing}
        by_host = {name: protocol.load(data, list[Report]) for name, data in answers.items()}
        reports = [r for name in group.names() for r in _qualified(name, by_host.get(name, []))]
        return reports, failed | errors, by_host

    try:
        reports, failed, by_host = asyncio.run(run())
    except KeyboardInterrupt:
        return health_command.UNKNOWN
    except Exception as exc:
        message = exc.message if isinstance(exc, Error) else (str(exc).strip() or type(exc).__name__)
        if not args.json:
            print(f"{health_command.SERVICE} UNKNOWN: {message.splitlines()[0].replace('|', '/')}")
        print(f"error: {message}", file=sys.stderr)
        if isinstance(exc, Error) and exc.hint:
            print(f"hint: {exc.hint}", file=sys.stderr)
        return health_command.UNKNOWN
    code, line = health_command.status_line(reports)
    if failed:
        code = code if code == health_command.CRITICAL else health_command.UNKNOWN
        _, _, rest = line.partition(": ")
        down = "; ".join(f"{name} unreachable: {failed[name].message}" for name in sorted(failed))
        line = f"{health_command.SERVICE} {health_command.STATES[code]}: {down.replace('|', '/')}; {rest}"
    if args.json:
        found = [{"host": name, **f.as_dict()} for name in by_host for r in by_host[name] for f in r.findings]
        found += [
            {"host": name, "instance": None, "manager": None, "check": "unreachable", "severity": "unknown",
             "message": failed[name].message, "value": None, "threshold": None, "unit": None}
            for name in sorted(failed)
        ]  # fmt: skip
        print(json.dumps(found, indent=2))
    else:
        print(line)
    _unreachable(failed)
    return code


def dashboard(args: argparse.Namespace, paths: Sequence[Path]) -> Any:
    """The dashboard's source over the inventory's hosts."""
    from .remote.fleet import hosts_of
    from .tui.remote_source import RemoteSource

    return RemoteSource(hosts_of(paths, args.limit), refresh=args.refresh)
