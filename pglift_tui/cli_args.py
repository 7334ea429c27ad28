"""The command line's grammar: every command of `pglift-tui` and its options.

Apart from cli.py, which runs them, so each stays a module one can read at once.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from . import __version__, cli_fleet
from .health import command as health_command


def parser() -> argparse.ArgumentParser:
    """Every command and option of `pglift-tui`."""
    parser = argparse.ArgumentParser(
        prog="pglift-tui",
        description="Watch and operate the PostgreSQL instances of this host.",
        epilog="Without a command, opens the dashboard.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    parser.add_argument("--settings", type=Path, help="site settings file (default: $PGLIFT_TUI_SETTINGS)")
    parser.add_argument("--demo", action="store_true", help="use (and create) the demo instances")
    parser.add_argument("--reset", action="store_true", help="with --demo: remove what the demo made")
    parser.add_argument(
        "--refresh", type=float, default=2.0, metavar="SECONDS", help="dashboard refresh interval (default 2)"
    )
    parser.add_argument(
        "--read-only", action="store_true", help="dashboard without any action that changes state"
    )
    parser.add_argument("--theme", help="Textual theme, e.g. textual-light for a light terminal")
    cli_fleet.add_options(parser, host=False, dest="dashboard_inventory")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    ls = sub.add_parser("ls", help="list instances")
    ls.add_argument("--version", dest="pg_version", metavar="V", help="only this PostgreSQL version")
    ls.add_argument("--json", action="store_true", help="JSON output")
    cli_fleet.add_options(ls, host=False)

    get = sub.add_parser("get", help="show an instance as a manifest")
    get.add_argument("name")
    get.add_argument("--version", dest="pg_version", metavar="V")
    _manager_option(get)
    get.add_argument("--json", action="store_true", help="JSON output (default: YAML)")
    cli_fleet.add_options(get, host=True)

    apply = sub.add_parser("apply", help="create, change or drop an instance from a manifest")
    apply.add_argument("-f", "--file", required=True, type=Path, help="manifest (YAML or JSON; - for stdin)")
    apply.add_argument("--json", action="store_true", help="JSON output")

    for name, text in (
        ("start", "start an instance"),
        ("stop", "stop an instance"),
        ("restart", "restart an instance"),
        ("reload", "reload an instance's configuration"),
        ("promote", "promote a standby to a primary"),
        ("drop", "drop an instance: its data, WAL and logs are deleted"),
    ):
        cmd = sub.add_parser(name, help=text)
        cmd.add_argument("name")
        cmd.add_argument("--version", dest="pg_version", metavar="V")
        _manager_option(cmd)
        if name != "drop":
            cli_fleet.add_options(cmd, host=True)
        if name in ("stop", "restart"):
            cmd.add_argument("--mode", choices=("smart", "fast", "immediate"), default="fast")
        if name == "stop":
            cmd.add_argument(
                "--timeout", type=float, default=60.0, metavar="SECONDS", help="how long to wait (default 60)"
            )
        if name == "drop":
            cmd.add_argument(
                "--force", action="store_true", help="drop a primary even though standbys stream from it"
            )
            cmd.add_argument(
                "--yes", action="store_true", help="do not ask (for scripts); without it, type the name"
            )

    up = sub.add_parser("upgrade", help="upgrade an instance to a newer major version with pg_upgrade")
    up.add_argument("name")
    up.add_argument("--version", dest="pg_version", metavar="V", help="the instance's current version")
    _manager_option(up)
    up.add_argument("--to", dest="to_version", metavar="V", help="target version (default: the newest)")
    up.add_argument("--name", dest="new_name", help="name of the new instance (default: the same)")
    up.add_argument("--port", type=int, help="port of the new instance (default: the old one's)")
    up.add_argument("--jobs", type=int, help="pg_upgrade --jobs")
    up.add_argument(
        "--mode",
        choices=("copy", "link", "clone"),
        default="copy",
        help="copy (default; the old instance stays usable), link (fast, no extra space; the old "
        "instance must never start again once the new one has), clone (reflinks, where the "
        "file system has them)",
    )
    up.add_argument("--force", action="store_true", help="even though standbys stream from it")
    up.add_argument("--analyze", action="store_true", help="then run vacuumdb --analyze-in-stages")
    health_command.add_parser(sub)
    cli_fleet.add_options(sub.choices["check"], host=False)
    serve = sub.add_parser("serve", help="answer a fleet client (pglift-tui --inventory) over ssh")
    serve.add_argument(
        "--stdio", action="store_true", required=True,
        help="JSON-RPC 2.0 on stdin and stdout, a message a line (README: Many hosts)",
    )  # fmt: skip
    return parser


def _manager_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--manager",
        choices=("pglift", "debian", "unmanaged"),
        help="whose server NAME is, when several are called so (pglift: ours; debian: pg_createcluster's)",
    )
