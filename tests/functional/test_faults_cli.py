"""The first hour at the command line: drop asks, versions fail early, waits are said."""

from __future__ import annotations

import contextlib
import json
import os
import pty
import select
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
import yaml

from pglift_tui import instances

from ..conftest import MakeInstance, lock_holder
from .faults import cli, cli_env, site_file, wait_until


def _in_a_terminal(settings: Any, *args: str, answer: str) -> tuple[int, str]:
    """Run the CLI on a pseudo-terminal, type `answer` at its prompt; (exit code, all it printed)."""
    master, slave = pty.openpty()
    proc = subprocess.Popen(
        [sys.executable, "-m", "pglift_tui", *args],
        env=cli_env(settings),
        stdin=slave,
        stdout=slave,
        stderr=slave,
    )
    os.close(slave)
    seen = b""

    def read() -> None:
        nonlocal seen
        ready, _, _ = select.select([master], [], [], 0.05)
        if ready:
            with contextlib.suppress(OSError):  # the child closed the terminal
                seen += os.read(master, 4096)

    try:
        wait_until(lambda: read() or b"to confirm: " in seen or proc.poll() is not None, "the prompt")
        os.write(master, answer.encode() + b"\n")
        proc.wait(timeout=60)
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and select.select([master], [], [], 0.05)[0]:
            try:
                chunk = os.read(master, 4096)
            except OSError:
                break
            if not chunk:
                break
            seen += chunk
    finally:
        proc.kill()
        os.close(master)
    return proc.returncode, seen.decode(errors="replace").replace("\r\n", "\n")


async def test_drop_asks_on_a_terminal_and_needs_yes_in_a_script(
    settings: Any, make_instance: MakeInstance
) -> None:
    instance = await make_instance(state="stopped")
    refused = cli(settings, "drop", "main", stdin=None)
    assert refused.returncode == 2
    assert "not dropping 15/main without a confirmation" in refused.stderr and "--yes" in refused.stderr
    assert instances.exists("main", "15", settings)

    code, out = _in_a_terminal(settings, "drop", "main", answer="mian")
    assert code == 1 and "not confirmed: 15/main was not dropped" in out, out
    assert f"data directory {instance.datadir}" in out  # what would go, said before asking
    assert instances.exists("main", "15", settings)

    code, out = _in_a_terminal(settings, "drop", "main", answer="main")
    assert code == 0, out
    assert f"dropped 15/main: removed data directory {instance.datadir}; WAL directory" in out
    assert not instances.exists("main", "15", settings)

    await make_instance("other")  # it ran: it has logs
    done = cli(settings, "drop", "other", "--yes")
    assert done.returncode == 0 and done.stdout.startswith("dropped 15/other: removed data directory")
    assert "log file(s)" in done.stdout


async def test_versions_are_refused_before_any_lookup(settings: Any, make_instance: MakeInstance) -> None:
    await make_instance(state="stopped")
    for args in (
        ("get", "main", "--version", "99"),
        ("ls", "--version", "99"),
        ("start", "main", "--version", "99"),
    ):
        done = cli(settings, *args)
        assert done.returncode == 2, (args, done.stderr)
        assert "PostgreSQL 99 is not installed (available: 15)" in done.stderr
    done = cli(settings, "get", "main", "--version", "abc")
    assert done.returncode == 2 and "invalid version 'abc'" in done.stderr


def test_a_default_version_not_installed_is_refused_at_load(settings: Any) -> None:
    site = site_file(settings)
    data = yaml.safe_load(site.read_text())
    data["postgresql"]["default_version"] = "99"
    site.write_text(yaml.safe_dump(data))
    env = {**os.environ, "PGLIFT_TUI_SETTINGS": str(site)}
    done = subprocess.run([sys.executable, "-m", "pglift_tui", "ls"], env=env, capture_output=True, text=True)
    assert done.returncode == 2
    assert (
        f"invalid settings in {site}: postgresql.default_version: PostgreSQL 99 is not installed"
        in done.stderr
    )


def test_an_invalid_version_in_the_environment_names_the_variable(settings: Any) -> None:
    env = cli_env(settings) | {"PGLIFT_TUI_POSTGRESQL__DEFAULT_VERSION": "abc"}
    done = subprocess.run([sys.executable, "-m", "pglift_tui", "ls"], env=env, capture_output=True, text=True)
    assert done.returncode == 2
    assert (
        "postgresql.default_version (from PGLIFT_TUI_POSTGRESQL__DEFAULT_VERSION): invalid version 'abc'"
        in done.stderr
    )


def test_an_empty_ls_says_where_it_looked(settings: Any) -> None:
    done = cli(settings, "ls")
    assert done.returncode == 0
    assert f"no instances under {settings.prefix}/srv" in done.stderr
    assert str(site_file(settings)) in done.stderr and "pglift-tui --demo ls" in done.stderr
    assert json.loads(cli(settings, "ls", "--json").stdout) == []


async def test_a_cli_action_waiting_on_a_lock_says_so(settings: Any, make_instance: MakeInstance) -> None:
    await make_instance()
    holder = lock_holder(settings, "15-main", "upgrade")
    waiter = subprocess.Popen(
        [sys.executable, "-m", "pglift_tui", "stop", "main"],
        env=cli_env(settings, lock_timeout=60),
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert waiter.stderr is not None
        line = waiter.stderr.readline()  # said while it waits: the holder has not let go yet
        assert line.startswith(f"notice: waiting for 15/main: upgrade by pid {holder.pid} (")
        assert waiter.poll() is None
        holder.communicate("go\n")
        assert waiter.wait(timeout=60) == 0
    finally:
        holder.kill()
        waiter.kill()
    assert [i.status async for i in instances.ls(settings)] == ["not running"]


def test_one_demo_workload_whoever_opens_the_demo(settings: Any) -> None:
    code = (
        "import sys\n"
        "from pglift_tui import demo\n"
        "from pglift_tui.settings import Settings\n"
        f"s = Settings(prefix={str(settings.prefix)!r}, run_prefix={str(settings.run_prefix)!r})\n"
        "print(demo.start_workload(s) is not None, flush=True)\n"
        "sys.stdin.readline()\n"
    )

    def opened() -> subprocess.Popen[str]:
        return subprocess.Popen(
            [sys.executable, "-c", code], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
        )

    def started(proc: subprocess.Popen[str]) -> str:
        assert proc.stdout is not None
        return proc.stdout.readline().strip()

    first, second = opened(), None
    try:
        assert started(first) == "True"
        second = opened()
        assert started(second) == "False"  # the first one drives the load
    finally:
        first.communicate("")
        if second is not None:
            second.communicate("")
    third = opened()
    try:
        assert started(third) == "True"  # the first is gone: the next dashboard takes over
    finally:
        third.communicate("")


@pytest.mark.slow
def test_demo_reset_removes_the_directories_it_made(short_tmp: Path) -> None:
    home, runtime = short_tmp / "home", short_tmp / "run"
    home.mkdir()
    runtime.mkdir(mode=0o700)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PGLIFT_TUI_", "XDG_"))}
    env |= {"HOME": str(home), "XDG_RUNTIME_DIR": str(runtime)}

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "pglift_tui", *args], env=env, capture_output=True, text=True, check=False
        )

    made = run("--demo")  # not a terminal: makes the demo, prints its table
    assert made.returncode == 0, made.stderr
    assert (home / ".local/share/pglift-tui/demo").is_dir() and (runtime / "pglift-tui/demo").is_dir()
    assert len(made.stdout.splitlines()) == 6
    reset = run("--demo", "--reset")
    assert reset.returncode == 0, reset.stderr
    assert not (home / ".local/share/pglift-tui").exists()
    assert not (runtime / "pglift-tui").exists()


def test_root_is_refused_with_a_hint_that_names_what_postgres_cannot_reach(
    short_tmp: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """As root: the hint is a pasteable runuser command, or says what stands in its way."""
    from pglift_tui import cli

    program = short_tmp / "bin" / "pglift-tui"  # under a 0700 directory: postgres cannot reach it
    program.parent.mkdir()
    program.write_text("")
    monkeypatch.setattr(os, "geteuid", lambda: 0)
    monkeypatch.setattr(sys, "argv", [str(program), "--demo", "--reset"])
    assert cli.main(["--demo", "--reset"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: pglift-tui must not run as root")
    assert f"hint: the postgres user cannot reach {program}" in err
    assert "python3 -m pglift_tui.quickstart demo" in err
