"""The `pglift-tui` command: the dashboard, and a small CLI for scripts over the same core.

Exit codes: 0 done; 1 the operation failed; 2 bad usage or input (arguments,
manifest, settings, version, a configuration the server refuses, a taken port);
3 no such instance; 4 the instance is busy; 128+N stopped by signal N (after the
command undid what it had begun). Errors go to stderr as "error: what went wrong"
and "hint: how to fix it", never as a traceback (PGLIFT_TUI_DEBUG=1 adds it).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
from collections.abc import Callable, Coroutine, Sequence
from pathlib import Path
from typing import Any

from . import cli_args, cli_fleet, cli_report
from .cli_report import EXIT_FAILED, EXIT_USAGE
from .exceptions import ConfigurationError, Error, InstanceStateError
from .health import command as health_command
from .settings import Settings


def _resolve(args: argparse.Namespace, settings: Settings) -> Any:
    """The one server called NAME across managers (`Host.resolve`), and the Host."""
    from . import binaries
    from .exceptions import InstanceNotFound
    from .host import Host

    if args.pg_version is not None:
        _check_version(settings, args.pg_version)
    host = Host(settings)
    try:
        return host, host.resolve(args.name, version=args.pg_version, manager=getattr(args, "manager", None))
    except InstanceNotFound:
        if args.pg_version is not None:
            binaries.check_version(settings, args.pg_version)  # a version not installed is bad usage
        raise


def _settings(args: argparse.Namespace) -> Settings:
    if args.demo:
        from . import demo

        return demo.settings()
    return Settings.load(args.settings)


def _instance(args: argparse.Namespace, settings: Settings) -> Any:
    """The instance the arguments name; an invalid or missing version is refused first (exit 2)."""
    from . import binaries
    from .models.system import Instance

    if args.pg_version is not None:
        _check_version(settings, args.pg_version)
        binaries.check_version(settings, args.pg_version)
    return Instance.system_lookup(args.name, args.pg_version, settings)


def _check_version(settings: Settings, version: str) -> None:
    from .exceptions import InvalidVersion

    if not version.isdigit():
        raise InvalidVersion(f"invalid version {version!r}", hint="give a major version such as '15'")


def _print_table(rows: Sequence[Sequence[str]]) -> None:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    for row in rows:
        print("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip())


async def _ls(args: argparse.Namespace, settings: Settings) -> int:
    from . import binaries
    from .host import Host

    if args.pg_version is not None:
        _check_version(settings, args.pg_version)
        binaries.check_version(settings, args.pg_version)
    items = Host(settings).ls(version=args.pg_version)
    if args.json:
        print(json.dumps([item.model_dump(mode="json") for item in items], indent=2))
        return 0
    if not items:
        _say_where_we_looked(args, settings)
    rows = [("NAME", "VERSION", "PORT", "STATUS", "ROLE", "PID", "MANAGER", "DATADIR")]
    for item in items:
        status = item.state_word
        rows.append(
            (
                item.name,
                item.version,
                str(item.port) if item.port else "?",
                status,
                item.role,
                str(item.pid or ""),
                item.manager,
                str(item.datadir),
            )
        )
    _print_table(rows)
    return 0


def _say_where_we_looked(args: argparse.Namespace, settings: Settings) -> None:
    """An empty list: where it looked, and how to see something (on stderr: stdout stays a table)."""
    if args.demo:
        print(
            f"notice: no demo instances under {settings.prefix}; `pglift-tui --demo` makes them",
            file=sys.stderr,
        )
        return
    path = settings.source or Settings.default_file()
    source = f"settings file {path}" if path.exists() else f"no settings file at {path}"
    print(
        f"notice: no instances under {settings.srvdir} ({source}); "
        "`pglift-tui --demo ls` shows the demo's, `pglift-tui --settings FILE ls` another site's",
        file=sys.stderr,
    )


async def _get(args: argparse.Namespace, settings: Settings) -> int:
    host, item = _resolve(args, settings)
    data = await host.describe(item)
    if args.json:
        print(json.dumps(data, indent=2))
    else:
        import yaml

        print(yaml.safe_dump(data, sort_keys=False), end="")
    return 0


def _read_manifest(path: Path) -> Any:
    import yaml
    from pydantic import ValidationError

    from .models.interface import Instance

    where = "stdin" if str(path) == "-" else str(path)
    from .settings import yaml_error

    try:
        text = sys.stdin.read() if str(path) == "-" else path.read_text(encoding="utf-8")
        data = yaml.safe_load(text)
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) else "not UTF-8 text"
        raise ConfigurationError(f"cannot read manifest {where}: {reason}") from None
    except yaml.YAMLError as exc:
        # Never the text of the line: it may be the one holding a password.
        raise ConfigurationError(
            f"manifest {where} is not valid YAML{yaml_error(exc)}", hint="fix the syntax and apply again"
        ) from None
    try:
        return Instance.model_validate(data)
    except ValidationError as exc:
        problems = "; ".join(
            ".".join(map(str, e["loc"])) + ": " + e["msg"].removeprefix("Value error, ") for e in exc.errors()
        )
        raise ConfigurationError(f"invalid manifest {where}: {problems}") from None


async def _apply(args: argparse.Namespace, settings: Settings) -> int:
    from . import instances

    result = await instances.apply(settings, _read_manifest(args.file))
    if args.json:
        print(json.dumps(result.model_dump(mode="json"), indent=2))
        return 0
    print(result.change_state or "unchanged")
    for name, (old, new) in result.diff.items():
        print(f"  {name}: {old!r} -> {new!r}")
    if result.pending_restart:
        print("pending restart: some changes apply only after a restart")
    return 0


async def _lifecycle(args: argparse.Namespace, settings: Settings) -> int:
    """start, stop, restart, reload, promote, drop: through `Host.run`, whoever manages NAME."""
    host, item = _resolve(args, settings)
    options = {key: getattr(args, key) for key in ("mode", "force", "timeout") if hasattr(args, key)}
    plan = await _confirm_drop(args, host, item) if args.command == "drop" else []
    outcome = await host.run(args.command, item.key, **options)
    if plan and outcome.changed:
        print(f"dropped {item.key}: removed " + "; ".join(plan))
    else:
        print(outcome.word)
    for line in outcome.lines:
        print(f"  {line}")
    return 0


async def _confirm_drop(args: argparse.Namespace, host: Any, item: Any) -> list[str]:
    """What a drop of one of ours removes, once the operator typed the name (or said --yes)."""
    from .instances._apply import removal_plan

    if item.manager != "pglift":
        return []  # refused by its manager, with the tool to use
    instance = host.pglift.instance(item)
    plan = removal_plan(instance)
    if not args.yes:
        if not sys.stdin.isatty():
            raise ConfigurationError(
                f"not dropping {instance} without a confirmation: stdin is not a terminal",
                hint=f"to drop it from a script, add --yes: pglift-tui drop {instance.name} --yes",
            )
        print(f"drop {instance}: this deletes for good", file=sys.stderr)
        for line in plan:
            print(f"  - {line}", file=sys.stderr)
        print(f"type its name ({instance.name}) to confirm: ", end="", file=sys.stderr, flush=True)
        answer = (await asyncio.to_thread(sys.stdin.readline)).strip()
        if answer != instance.name:
            raise Error(
                f"not confirmed: {instance} was not dropped", hint="type the name exactly, or use --yes"
            )
    return list(plan)


async def _demo(args: argparse.Namespace, settings: Settings) -> int:
    from . import demo

    if args.reset:
        dropped = await demo.reset(settings)
        print(f"demo removed ({', '.join(dropped) or 'no instances'})")
        return 0
    made = await demo.ensure(settings)
    if made:
        print(f"demo instances created: {', '.join(made)}", file=sys.stderr)
    return 0


def _dashboard(args: argparse.Namespace, settings: Settings | None) -> int:
    """The dashboard on a terminal; the instance table when output is not one.

    `settings` None: over the inventory's hosts (`--inventory`), not this host.
    """
    inventory = args.dashboard_inventory
    if not (sys.stdin.isatty() and sys.stdout.isatty()):
        listing = argparse.Namespace(pg_version=None, json=False, demo=args.demo, inventory=inventory,
                                     limit=args.limit)  # fmt: skip
        if settings is None:
            return cli_report.run(cli_fleet.ls(listing, _print_table))
        return cli_report.run(_ls(listing, settings))
    from .instances._action import refuse_root
    from .tui.app import DashboardApp
    from .tui.source import LiveSource

    if settings is not None:
        refuse_root()
    if args.refresh <= 0:
        raise ConfigurationError(
            f"invalid refresh interval {args.refresh:g}", hint="give a number of seconds above 0"
        )
    source = cli_fleet.dashboard(args, inventory) if settings is None else LiveSource(settings)
    app = DashboardApp(source, refresh=args.refresh, read_only=args.read_only, theme=args.theme)
    if args.demo and settings is not None:
        from . import demo

        demo.start_workload(settings)
    app.run()
    return 0


async def _upgrade(args: argparse.Namespace, settings: Settings) -> int:
    from . import instances

    def show(step: instances.Step) -> None:
        if step.state == "running":
            print(f"{step.name}…", file=sys.stderr)
        else:
            print(f"{step.name} {step.state} in {step.elapsed:.1f} s", file=sys.stderr)

    host, item = _resolve(args, settings)
    refusal = host.can("upgrade", item)
    if item.manager != "pglift" and refusal is not None:
        raise InstanceStateError(f"{item.key}: cannot upgrade: {refusal.reason}")
    upgraded = await instances.upgrade_async(
        _instance(args, settings),
        version=args.to_version,
        name=args.new_name,
        port=args.port,
        jobs=args.jobs,
        mode=args.mode,
        force=args.force,
        analyze=args.analyze,
        on_step=show,
    )
    new = upgraded.instance
    for warning in upgraded.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    print(f"upgraded to {new.version}/{new.name} on port {new.port} ({new.state})")
    if upgraded.analyze_advice:
        print(f"advice from pg_upgrade: {upgraded.analyze_advice}")
    return 0


async def _fleet_command(args: argparse.Namespace) -> int:
    if args.command == "ls":
        return await cli_fleet.ls(args, _print_table)
    if args.command == "get":
        return await cli_fleet.get(args)
    return await cli_fleet.lifecycle(args)


COMMANDS: dict[str, Callable[[argparse.Namespace, Settings], Coroutine[Any, Any, int]]] = {
    "upgrade": _upgrade,
    "ls": _ls,
    "get": _get,
    "apply": _apply,
    "start": _lifecycle,
    "stop": _lifecycle,
    "restart": _lifecycle,
    "reload": _lifecycle,
    "promote": _lifecycle,
    "drop": _lifecycle,
}


def main(argv: Sequence[str] | None = None) -> int:
    parser = cli_args.parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:
        if exc.code and health_command.is_check(parser, sys.argv[1:] if argv is None else argv):
            return health_command.usage_unknown()
        raise
    if args.command == "check":  # exit codes of its own: the monitoring-plugins convention
        if args.inventory:
            return cli_fleet.check(args)
        return health_command.main(args, _settings)
    if args.command == "serve":  # errors are answers on the wire, not lines on stderr
        from .remote import stdio

        return stdio.main(lambda: _settings(args))
    if args.reset and not args.demo:
        print("error: --reset only applies to --demo", file=sys.stderr)
        return EXIT_USAGE
    if getattr(args, "inventory", None) or (args.command is None and args.dashboard_inventory):
        # The near end runs no PostgreSQL and reads no local settings: ssh does the rest.
        try:
            if args.command is None:
                return _dashboard(args, None)
            return cli_report.run(_fleet_command(args))
        except KeyboardInterrupt:
            return 130
        except Exception as exc:
            return cli_report.report(exc)
    if os.geteuid() == 0:
        print("error: pglift-tui must not run as root: PostgreSQL refuses to run as root", file=sys.stderr)
        print(f"hint: {cli_report.root_hint()}", file=sys.stderr)
        return EXIT_FAILED
    cli_report.show_notices()
    try:
        settings = _settings(args)
        if settings.ignored_keys:
            keys = ", ".join(settings.ignored_keys)
            print(f"notice: {settings.source}: not used by pglift-tui: {keys}", file=sys.stderr)
        if args.command is None:
            if args.demo:
                cli_report.run(_demo(args, settings))
                if args.reset:
                    return 0
            return _dashboard(args, settings)
        return cli_report.run(COMMANDS[args.command](args, settings))
    except KeyboardInterrupt:
        return 130
    except Exception as exc:
        return cli_report.report(exc)
