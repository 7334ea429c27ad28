"""Faults: bad input in every field, through the command line an operator types.

Each must be refused with an error that names the field (and, where one exists,
the fix), with the documented exit code, changing nothing on disk.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import yaml

from ..conftest import PG15, MakeInstance
from .faults import cli, files

#: (manifest, exit code, words the error must hold); "main" exists, the others do not.
BAD_MANIFESTS: list[tuple[Any, int, str]] = [
    ({"name": "../x"}, 2, "name: invalid instance name '../x'"),
    ({"name": ""}, 2, "name: invalid instance name"),
    ({"name": "x" * 64}, 2, "name: invalid instance name"),
    ({"name": "-x"}, 2, "name: invalid instance name"),
    ({"name": "a b"}, 2, "name: invalid instance name"),
    ({"name": "new", "port": 80}, 2, "port: invalid port 80: choose one from 1024 to 65535"),
    ({"name": "new", "port": 70000}, 2, "port: invalid port 70000"),
    ({"name": "new", "port": "abc"}, 2, "port: Input should be a valid integer"),
    ({"name": "new", "version": "fifteen"}, 2, "version: invalid version 'fifteen'"),
    ({"name": "new", "version": "99"}, 2, "PostgreSQL 99 is not installed (available: 15)"),
    ({"name": "new", "state": "bogus"}, 2, "state: Input should be 'started', 'stopped'"),
    ({"name": "new", "settings": {"bad name": 1}}, 2, "invalid parameter name 'bad name'"),
    ({"name": "new", "settings": {"port": 5000}}, 2, "set the manifest's port field instead"),
    ({"name": "new", "settings": {"work_mem": {"a": 1}}}, 2, "dict values are not allowed"),
    ({"name": "new", "settings": {"application_name": "a\nb"}}, 2, "cannot hold a newline"),
    ({"name": "new", "locale": "C;rm -rf /"}, 2, "locale: invalid value"),
    ({"name": "new", "standby": {"primary_conninfo": "host=h", "slot": "Bad-Slot"}}, 2, "invalid slot name"),
    ({"name": "new", "unknown_field": 1}, 2, "unknown_field: Extra inputs are not permitted"),
    ([1, 2], 2, "Input should be a valid dictionary"),
    ("just text", 2, "Input should be a valid dictionary"),
    ({"name": "main", "settings": {"work_mem": "bogus"}}, 2, 'invalid value for parameter "work_mem"'),
    ({"name": "main", "settings": {"no_such_parameter": 1}}, 2, "unrecognized configuration parameter"),
    ({"name": "main", "settings": {"shared_buffers": "-5"}}, 2, "shared_buffers"),
    ({"name": "new", "encoding": "NOPE"}, 1, "initdb"),
]


def _disk(settings: Any) -> dict[str, set[str]]:
    """Everything under the prefix and the run prefix, and the state dir but its journal."""
    state = {p for p in files(Path(settings.state_dir)) if p != "journal.jsonl"}
    return {"prefix": files(Path(settings.prefix)), "run": files(Path(settings.run_prefix)), "state": state}


async def test_bad_manifests_are_refused_and_change_nothing(
    settings: Any, short_tmp: Path, make_instance: MakeInstance
) -> None:
    main = await make_instance(state="stopped")
    conf_before = (main.datadir / "postgresql.conf").read_bytes()
    before = _disk(settings)
    manifest = short_tmp / "bad.yaml"
    for data, code, words in BAD_MANIFESTS:
        manifest.write_text(yaml.safe_dump(data))
        done = cli(settings, "apply", "-f", str(manifest))
        assert (data, done.returncode) == (data, code), done.stderr
        assert done.stderr.startswith("error: ") and words in done.stderr, (data, done.stderr)
        assert "Traceback" not in done.stderr
        assert _disk(settings) == before, data
    assert (main.datadir / "postgresql.conf").read_bytes() == conf_before


#: (settings file, words the error must hold): each names the file and the field.
BAD_SETTINGS: list[tuple[Any, str]] = [
    ({"postgresql": {"auth": {"local": "trust"}}}, "postgresql.auth.local: 'trust' lets anyone connect"),
    ({"postgresql": {"auth": {"host": "nope"}}}, "postgresql.auth.host: Input should be"),
    (
        {"postgresql": {"versions": [{"version": "abc", "bindir": str(PG15)}]}},
        "is not a PostgreSQL major version",
    ),
    (
        {"postgresql": {"versions": [{"version": "15", "bindir": "/nowhere"}]}},
        "no 'postgres' program in /nowhere",
    ),
    ({"postgresql": {"default_version": "abc"}}, "postgresql.default_version: invalid version 'abc'"),
    ({"postgresql": {"datadir": "pgsql/{name}"}}, "must contain both {version} and {name}"),
    ({"postgresql": {"datadir": "../{version}/{name}"}}, "must not contain '..'"),
    ({"lock_timeout": -1}, "lock_timeout: Input should be greater than or equal to 0"),
    ({"run_prefix": "/tmp/" + "x" * 120}, "longer than 107 bytes"),
    ({"prefix": ["a", "b"]}, "prefix: Input is not a valid path"),
    (["a list"], "must hold a mapping of keys"),
]


def test_bad_settings_files_are_refused_naming_file_and_field(short_tmp: Path) -> None:
    site = short_tmp / "settings.yaml"
    base = {
        "prefix": str(short_tmp / "p"),
        "run_prefix": str(short_tmp / "r"),
        "state_dir": str(short_tmp / "s"),
    }
    env = {k: v for k, v in os.environ.items() if not k.startswith("PGLIFT_TUI_")}
    env["PGLIFT_TUI_SETTINGS"] = str(site)
    for data, words in BAD_SETTINGS:
        site.write_text(yaml.safe_dump(base | data if isinstance(data, dict) else data))
        done = subprocess.run(
            [sys.executable, "-m", "pglift_tui", "ls"], env=env, capture_output=True, text=True, check=False
        )
        assert done.returncode == 2, (data, done.stderr)
        assert str(site) in done.stderr and words in done.stderr, (data, done.stderr)
        assert "Traceback" not in done.stderr
        assert sorted(p.name for p in short_tmp.iterdir()) == ["settings.yaml"], data
