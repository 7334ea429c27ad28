"""Small pieces of the core: names, auth files, journal, locks, root refusal, import hygiene."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from pglift_tui import hba, journal, locks
from pglift_tui.exceptions import CommandError, Error, InstanceBusy
from pglift_tui.instances._action import refuse_root
from pglift_tui.settings import Settings

CORE_MODULES = [
    "pglift_tui",
    "pglift_tui.instances",
    "pglift_tui.settings",
    "pglift_tui.models.interface",
    "pglift_tui.models.system",
    "pglift_tui.db",
    "pglift_tui.exceptions",
    "pglift_tui.status",
    "pglift_tui.cli",
    "pglift_tui.demo",
    "pglift_tui.journal",
]


@pytest.mark.parametrize("module", CORE_MODULES)
def test_the_core_never_imports_textual(module: str) -> None:
    loaded = "sorted(m for m in sys.modules if m.split('.')[0] == 'textual')"
    code = f"import sys, {module}; print(json.dumps({loaded}))"
    out = subprocess.run(
        [sys.executable, "-c", "import json; " + code], capture_output=True, text=True, check=True
    ).stdout
    assert json.loads(out) == []


def test_settings_and_ls_path_do_not_import_psycopg() -> None:
    code = "import sys, pglift_tui.instances, pglift_tui.cli; print('psycopg' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"


def test_root_is_refused_with_the_fix(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(os, "geteuid", lambda: 0)
    with pytest.raises(Error, match="must not run as root") as excinfo:
        refuse_root()
    assert "runuser -u postgres" in str(excinfo.value.hint)


def test_auth_files_never_trust(tmp_path: Path) -> None:
    settings = Settings(prefix=tmp_path)
    text = hba.pg_hba(settings)
    assert "trust" not in text
    rows = [line.split() for line in text.splitlines() if not line.startswith("#")]
    assert ["local", "all", "all", "peer", "map=pglift_tui"] in rows
    assert ["host", "all", "all", "127.0.0.1/32", "scram-sha-256"] in rows
    ident = [
        line.split() for line in hba.pg_ident(settings, "alice").splitlines() if not line.startswith("#")
    ]
    assert ident == [
        ["pglift_tui", "alice", "postgres"],
        ["pglift_tui", "alice", "replication"],
        ["pglift_tui", "/^(.*)$", "\\1"],
    ]
    replication_rows = [r for r in rows if r[1] == "replication"]
    assert ["host", "replication", "all", "127.0.0.1/32", "scram-sha-256"] in replication_rows
    assert ["local", "replication", "all", "peer", "map=pglift_tui"] in replication_rows


def test_command_error_keeps_argv_and_says_what_failed() -> None:
    error = CommandError(["/usr/bin/initdb", "-D", "/x"], 1, "initdb: error: invalid locale\n")
    assert str(error) == "initdb failed with exit code 1: initdb: error: invalid locale"
    assert error.argv == ["/usr/bin/initdb", "-D", "/x"]


def _event(**fields: object) -> journal.Event:
    base: dict[str, object] = {
        "time": 0, "user": "u", "pid": 1, "instance": "15/a", "datadir": "/d", "action": "x", "result": "ok",
        "duration": 0.1,
    }  # fmt: skip
    return journal.Event.model_validate(base | fields)


def test_journal_appends_reads_newest_first_and_redacts(tmp_path: Path) -> None:
    settings = Settings(prefix=tmp_path, state_dir=tmp_path / "state")
    for i in range(5):
        error = "conninfo password=hunter2 failed" if i == 4 else None
        journal.append(settings, _event(time=i, datadir=f"/d{i % 2}", action=f"a{i}", error=error))
    events = journal.read(settings)
    assert [e.action for e in events] == ["a4", "a3", "a2", "a1", "a0"]
    assert events[0].error == "conninfo password=******** failed"
    assert [e.action for e in journal.read(settings, datadir=Path("/d1"))] == ["a3", "a1"]
    assert len(journal.read(settings, limit=2)) == 2
    assert (tmp_path / "state" / "journal.jsonl").stat().st_mode & 0o777 == 0o600
    assert "hunter2" not in (tmp_path / "state" / "journal.jsonl").read_text()


def test_journal_reads_across_chunk_boundaries(tmp_path: Path) -> None:
    settings = Settings(prefix=tmp_path, state_dir=tmp_path)
    for i in range(3000):
        journal.append(settings, _event(time=i, action="x" * 20))
    events = journal.read(settings)
    assert [e.time for e in events] == list(range(2999, -1, -1))


async def test_lock_is_reentrant_and_exclusive(tmp_path: Path) -> None:
    settings = Settings(prefix=tmp_path, run_prefix=tmp_path / "r", lock_timeout=0.2)
    async with locks.instance_lock(settings, "15-a", "outer") as outer:
        assert outer is True
        async with locks.instance_lock(settings, "15-a", "inner") as inner:
            assert inner is False
        info = locks.holder(locks.lock_path(settings, "15-a"))
        assert info is not None and info["action"] == "outer" and info["pid"] == os.getpid()
    # The same process, another task without the context: it must wait, then fail.
    import asyncio

    async def other() -> None:
        async with locks.instance_lock(settings, "15-a", "second"):
            pass

    async with locks.instance_lock(settings, "15-a", "first"):
        task = asyncio.create_task(other(), context=__import__("contextvars").Context())
        with pytest.raises(InstanceBusy, match=r"15/a: busy: first by pid \d+"):
            await task
    assert json.loads(locks.lock_path(settings, "15-a").read_text() or "null") is None


def test_journal_redacts_passwords_in_uris_too() -> None:
    for text, kept in (
        ("could not reach postgresql://u:hunter2@h/db", "postgresql://u:********@h/db"),
        ("bad postgresql://u@h/db?sslmode=x&password=hunter2&a=b", "password=********&a=b"),
        ("password: hunter2", "password: ********"),
    ):
        redacted = journal.redact(text)
        assert "hunter2" not in redacted and kept in redacted, redacted


def test_an_unexpected_error_is_two_lines_and_a_traceback_only_on_demand(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from pglift_tui import cli_report

    monkeypatch.delenv(cli_report.DEBUG_ENV, raising=False)
    assert cli_report.report(RuntimeError("boom\nsecond line")) == 1
    err = capsys.readouterr().err
    assert err.splitlines() == [
        "error: unexpected RuntimeError: boom",
        f"hint: this is a fault of pglift-tui; {cli_report.DEBUG_ENV}=1 shows where it happened",
    ]
    assert cli_report.report(PermissionError(13, "Permission denied", "/srv/x")) == 1
    assert capsys.readouterr().err.startswith("error: Permission denied: /srv/x\nhint: ")
    monkeypatch.setenv(cli_report.DEBUG_ENV, "1")
    try:
        raise RuntimeError("boom")
    except RuntimeError as exc:
        cli_report.report(exc)
    assert "Traceback (most recent call last)" in capsys.readouterr().err


def test_the_table_keeps_its_most_telling_columns_at_80_and_all_at_120() -> None:
    from pglift_tui.tui import format as fmt
    from pglift_tui.tui.layout import columns_for

    def keys(width: int, hosts: bool = False) -> list[str]:
        return [fmt.COLUMNS[i].key for i, _ in columns_for(width, show_hosts=hosts)]

    at80 = keys(80)
    assert {"name", "status", "health", "mgr", "port", "conn"} <= set(at80) and "manager" not in at80
    assert sum(w for _, w in columns_for(80, show_hosts=False)) + len(at80) - 1 <= 80
    at120 = keys(120)
    assert "manager" in at120 and "mgr" not in at120 and "tps" in at120
    assert "host" not in at120 and "host" in keys(120, hosts=True)
