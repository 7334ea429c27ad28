"""The command line for scripts: output, exit codes and errors on stderr."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import yaml

from ..conftest import free_port, write_site


def cli(settings: Any, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    site = Path(settings.prefix).parent / "settings.yaml"
    if not site.exists():
        write_site(settings)
    env = {**os.environ, "PGLIFT_TUI_SETTINGS": str(site)}
    return subprocess.run(
        [sys.executable, "-m", "pglift_tui", *args],
        env=env,
        capture_output=True,
        text=True,
        input=stdin,
        check=False,
    )


def test_apply_ls_get_stop_start_from_the_command_line(settings: Any, short_tmp: Path) -> None:
    port = free_port()
    manifest = short_tmp / "main.yaml"
    manifest.write_text(yaml.safe_dump({"name": "main", "port": port, "settings": {"work_mem": "6MB"}}))
    done = cli(settings, "apply", "-f", str(manifest), "--json")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["change_state"] == "created"
    assert cli(settings, "apply", "-f", str(manifest)).stdout.strip() == "unchanged"

    listed = json.loads(cli(settings, "ls", "--json").stdout)
    assert [(i["name"], i["port"], i["status"], i["role"]) for i in listed] == [
        ("main", port, "running", "primary")
    ]
    table = cli(settings, "ls").stdout.splitlines()
    assert table[0].split()[:4] == ["NAME", "VERSION", "PORT", "STATUS"]

    got = json.loads(cli(settings, "get", "main", "--json").stdout)
    assert got["settings"]["work_mem"] == "6MB"
    assert "surole_password" not in got
    assert yaml.safe_load(cli(settings, "get", "main").stdout)["port"] == port

    assert cli(settings, "stop", "main", "--mode", "fast").returncode == 0
    assert json.loads(cli(settings, "ls", "--json").stdout)[0]["status"] == "not running"
    assert cli(settings, "start", "main").returncode == 0
    assert cli(settings, "restart", "main").returncode == 0
    assert cli(settings, "reload", "main").returncode == 0


def test_exit_codes_and_messages(settings: Any, short_tmp: Path) -> None:
    missing = cli(settings, "start", "nothere")
    assert missing.returncode == 3
    assert missing.stderr.startswith("error: instance 'nothere' not found")
    assert "hint:" in missing.stderr

    bad = short_tmp / "bad.yaml"
    bad.write_text("name: ../x\nport: 99\n")
    invalid = cli(settings, "apply", "-f", str(bad))
    assert invalid.returncode == 2
    assert "invalid manifest" in invalid.stderr and "name" in invalid.stderr and "port" in invalid.stderr

    unknown = cli(settings, "ls", "--version", "9")
    assert unknown.returncode == 2
    assert "PostgreSQL 9 is not installed" in unknown.stderr

    usage = cli(settings, "frobnicate")
    assert usage.returncode == 2


def test_manifest_from_stdin(settings: Any) -> None:
    text = yaml.safe_dump({"name": "piped", "port": free_port(), "state": "stopped"})
    done = cli(settings, "apply", "-f", "-", stdin=text)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "created"


def test_broken_settings_file_names_file_and_field(short_tmp: Path) -> None:
    site = short_tmp / "settings.yaml"
    site.write_text("postgresql:\n  auth:\n    local: trust\n")
    env = {**os.environ, "PGLIFT_TUI_SETTINGS": str(site)}
    done = subprocess.run([sys.executable, "-m", "pglift_tui", "ls"], env=env, capture_output=True, text=True)
    assert done.returncode == 2
    assert str(site) in done.stderr
    assert "postgresql.auth.local" in done.stderr
    assert "trust" in done.stderr


def test_without_a_terminal_the_dashboard_prints_the_table(settings: Any, short_tmp: Path) -> None:
    manifest = short_tmp / "m.yaml"
    manifest.write_text(yaml.safe_dump({"name": "quiet", "port": free_port(), "state": "stopped"}))
    assert cli(settings, "apply", "-f", str(manifest)).returncode == 0
    done = cli(settings)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[1].split()[:4] == [
        "quiet",
        "15",
        str(yaml.safe_load(manifest.read_text())["port"]),
        "stopped",
    ]


def test_standby_promote_and_drop_from_the_command_line(settings: Any, short_tmp: Path) -> None:
    port, standby_port = free_port(), free_port()
    (short_tmp / "p.yaml").write_text(f"name: prim\nport: {port}\n")
    assert cli(settings, "apply", "-f", str(short_tmp / "p.yaml")).returncode == 0
    sockets = settings.run_prefix / "postgresql"
    (short_tmp / "s.yaml").write_text(
        f"name: stby\nport: {standby_port}\n"
        f"standby:\n  primary_conninfo: host={sockets} port={port} user=replication\n  slot: stby\n"
    )
    assert cli(settings, "apply", "-f", str(short_tmp / "s.yaml")).returncode == 0
    listed = {row["name"]: row["role"] for row in json.loads(cli(settings, "ls", "--json").stdout)}
    assert listed == {"prim": "primary", "stby": "standby"}

    refused = cli(settings, "promote", "prim")
    assert refused.returncode == 1
    assert "a primary: there is nothing to promote" in refused.stderr
    refused = cli(settings, "drop", "prim", "--yes")
    assert refused.returncode == 1
    assert "live standby(s): stby" in refused.stderr

    assert cli(settings, "promote", "stby").returncode == 0
    got = yaml.safe_load(cli(settings, "get", "stby").stdout)
    assert got["standby"]["status"] == "promoted"
    assert cli(settings, "drop", "stby", "--yes").returncode == 0
    assert cli(settings, "drop", "prim", "--yes").returncode == 0
    assert json.loads(cli(settings, "ls", "--json").stdout) == []
