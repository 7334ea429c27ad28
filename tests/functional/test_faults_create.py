"""Faults: creations cut off (signals, a full disk, a denied directory) or racing each other.

Each real `pglift-tui apply` here is a process sent a real signal at a real step,
found by watching for that step's traces on disk (initdb's `base/`, the server's
pid file), never after a sleep.
"""

from __future__ import annotations

import shutil
import signal
import subprocess
import threading
from pathlib import Path
from typing import Any

import pytest
import yaml

from pglift_tui import instances, journal, locks
from pglift_tui.exceptions import InstanceAlreadyExists
from pglift_tui.models import interface, system

from ..conftest import free_port
from .faults import cli, files, processes_using, spawn, wait_until


def _manifest(short_tmp: Path, name: str = "main", **fields: Any) -> Path:
    path = short_tmp / f"{name}.yaml"
    fields.setdefault("port", free_port())
    path.write_text(yaml.safe_dump({"name": name, "surole_password": "s3cret-pw", **fields}))
    return path


def _layout(settings: Any) -> dict[str, set[str]]:
    """What exists in the prefix and run prefix (the state dir keeps its journal)."""
    return {"prefix": files(Path(settings.prefix)), "run": files(Path(settings.run_prefix))}


def _leftover_secrets(settings: Any, before: set[str] | None = None) -> list[str]:
    """Password files: in /tmp (made since `before` was listed), or in our run directory."""
    found = {str(p) for p in Path("/tmp").glob("pglift-tui-pw-*")} - (before or set())
    found |= {str(p) for p in Path(settings.run_prefix).rglob("*.pw")}
    return sorted(found)


def _tmp_secrets() -> set[str]:
    return {str(p) for p in Path("/tmp").glob("pglift-tui-pw-*")}


STEPS = {
    # initdb is writing the cluster: its base/ directory is there.
    "initdb": lambda instance: (instance.datadir / "base").is_dir(),
    # the first start: the server wrote its pid file.
    "start": lambda instance: (instance.datadir / "postmaster.pid").exists(),
}


@pytest.mark.parametrize(
    ("signum", "step"),
    [
        (signal.SIGTERM, "initdb"),
        (signal.SIGTERM, "start"),
        (signal.SIGINT, "initdb"),
        (signal.SIGHUP, "start"),
    ],
    ids=["sigterm-initdb", "sigterm-start", "sigint-initdb", "sighup-start"],
)
def test_a_signal_during_creation_rolls_it_back(
    settings: Any, short_tmp: Path, signum: signal.Signals, step: str
) -> None:
    before, secrets = _layout(settings), _tmp_secrets()
    instance = system.BaseInstance("main", "15", settings)
    proc = spawn(settings, "apply", "-f", str(_manifest(short_tmp)))
    try:
        wait_until(lambda: STEPS[step](instance) or proc.poll() is not None, f"the {step} step")
        assert proc.poll() is None, "the creation ended before the signal"
        proc.send_signal(signum)
        _, err = proc.communicate(timeout=60)
    finally:
        proc.kill()
    assert proc.returncode == 128 + signum, err
    assert f"error: interrupted by {signum.name}" in err
    assert "Traceback" not in err
    assert _layout(settings) == before
    assert _leftover_secrets(settings, secrets) == []
    assert processes_using(Path(settings.prefix)) == []
    assert not list((Path(settings.state_dir) / "creating").glob("*.json"))
    [event] = journal.read(settings, limit=1)
    assert (event.action, event.result) == ("create", "failed")


@pytest.mark.parametrize("step", ["initdb", "start"])
async def test_a_creation_killed_outright_is_flagged_and_apply_finishes_it(
    settings: Any, short_tmp: Path, step: str
) -> None:
    manifest, secrets = _manifest(short_tmp), _tmp_secrets()
    instance = system.BaseInstance("main", "15", settings)
    proc = spawn(settings, "apply", "-f", str(manifest))
    try:
        wait_until(lambda: STEPS[step](instance) or proc.poll() is not None, f"the {step} step")
        assert proc.poll() is None, "the creation ended before the kill"
        proc.kill()
        proc.wait()
    finally:
        proc.kill()
    # What the killed process ran (initdb, or a server) lives on for a while; initdb ends on its own.
    wait_until(lambda: not _initdb_running(instance), "initdb to end")
    if (instance.datadir / "PG_VERSION").exists():
        listed = yaml.safe_load(cli(settings, "ls", "--json").stdout)
        assert [(i["name"], bool(i["incomplete"])) for i in listed] == [("main", True)]
        assert "incomplete" in cli(settings, "ls").stdout
        got = cli(settings, "get", "main")
        assert (
            got.returncode == 1 and "is incomplete" in got.stderr and "apply its manifest again" in got.stderr
        )
        started = cli(settings, "start", "main")
        assert started.returncode == 1 and "is incomplete" in started.stderr

    again = cli(settings, "apply", "-f", str(manifest))
    assert again.returncode == 0, again.stderr
    assert again.stdout.strip() == "created"
    listed = yaml.safe_load(cli(settings, "ls", "--json").stdout)
    assert [(i["name"], i["status"], i["incomplete"]) for i in listed] == [("main", "running", None)]
    created = system.Instance.system_lookup("main", "15", settings)
    roles = await _roles(created)
    assert "replication" in roles  # made whole: not initdb's half instance adopted
    assert (created.datadir / "pg_hba.conf").read_text().startswith("# pg_hba.conf written by pglift-tui")
    assert _leftover_secrets(settings, secrets) == []
    events = [e for e in journal.read(settings, limit=5) if e.result == "ok"]
    assert "was cut off" in events[0].details["recovered"]


def _initdb_running(instance: Any) -> bool:
    return any("initdb" in " ".join(cmd) for cmd in _cmdlines(processes_using(instance.datadir)))


def _cmdlines(pids: list[int]) -> list[list[str]]:
    import psutil

    out = []
    for pid in pids:
        try:
            out.append(psutil.Process(pid).cmdline())
        except psutil.Error:
            continue
    return out


async def _roles(instance: Any) -> set[str]:
    from .pg import query

    return {row["rolname"] for row in await query(instance, "SELECT rolname FROM pg_roles")}


def test_a_directory_that_was_there_and_is_not_empty_is_never_touched(settings: Any, short_tmp: Path) -> None:
    datadir = Path(settings.prefix) / "srv/pgsql/15/main/data"
    datadir.mkdir(parents=True)
    (datadir / "precious").write_text("the operator's")
    done = cli(settings, "apply", "-f", str(_manifest(short_tmp)))
    assert done.returncode == 1
    assert "is not empty but holds no cluster" in done.stderr and "hint:" in done.stderr
    kept = {"pgsql", "pgsql/15", "pgsql/15/main", "pgsql/15/main/data", "pgsql/15/main/data/precious"}
    assert files(Path(settings.prefix) / "srv") == kept
    with pytest.raises(InstanceAlreadyExists, match="not empty"):
        instances.init(system.BaseInstance("main", "15", settings), interface.Instance(name="main"))
    assert (datadir / "precious").read_text() == "the operator's"


def test_a_denied_directory_is_an_error_line_not_a_traceback(settings: Any, short_tmp: Path) -> None:
    parent = Path(settings.prefix) / "srv/pgsql/15"
    parent.mkdir(parents=True)
    parent.chmod(0o500)
    try:
        done = cli(settings, "apply", "-f", str(_manifest(short_tmp)))
    finally:
        parent.chmod(0o700)
    assert done.returncode == 1, done.stderr
    assert done.stderr.startswith("error: Permission denied: ")
    assert "hint:" in done.stderr and "Traceback" not in done.stderr
    assert files(Path(settings.prefix) / "srv") == {"pgsql", "pgsql/15"}


def test_two_init_at_once_make_one_cluster(settings: Any) -> None:
    """Both wait on the lock (held here); released, one makes the cluster, the other finds it."""
    instance = system.BaseInstance("main", "15", settings)
    manifest = interface.Instance(name="main")
    waiting: set[int] = set()
    original = locks._Lock.try_acquire

    def spied(self: Any) -> bool:
        taken = original(self)
        if not taken:
            waiting.add(threading.get_ident())
        return taken

    results: list[Any] = []

    def run() -> None:
        try:
            results.append(instances.init(instance, manifest)[1])
        except Exception as exc:
            results.append(exc)

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(locks._Lock, "try_acquire", spied)
        with locks.instance_lock_sync(settings, instance.qualname, "test"):
            threads = [threading.Thread(target=run) for _ in range(2)]
            for thread in threads:
                thread.start()
            wait_until(lambda: len(waiting) == 2, "both init() to wait on the lock")
        for thread in threads:
            thread.join()
    assert sorted(map(repr, results)) == ["False", "True"]
    assert instance.exists() and (instance.datadir / "global" / "pg_control").is_file()


def _unshare_works() -> bool:
    done = subprocess.run(["unshare", "-rm", "true"], capture_output=True, check=False)
    return done.returncode == 0


@pytest.mark.skipif(shutil.which("unshare") is None or not _unshare_works(), reason="needs user namespaces")
def test_a_full_disk_during_creation(settings: Any, short_tmp: Path) -> None:
    """The prefix on a 24 MB tmpfs, mounted in user namespaces (no root needed): initdb fills it."""
    import os
    import sys

    prefix = Path(settings.prefix)
    prefix.mkdir(parents=True)
    manifest = _manifest(short_tmp)
    script = (
        f"mount -t tmpfs -o size=24m tmpfs {prefix} || exit 99; unshare --user --map-user={os.getuid()} "
        f"--map-group={os.getgid()} {sys.executable} -m pglift_tui apply -f {manifest}; rc=$?; "
        f"echo LEFT: $(find {prefix} | wc -l) >&2; exit $rc"
    )
    from .faults import cli_env

    done = subprocess.run(
        ["unshare", "-rm", "sh", "-c", script],
        env=cli_env(settings),
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 1, done.stderr
    assert "No space left on device" in done.stderr
    assert done.stderr.startswith("error: ") and "Traceback" not in done.stderr
    assert done.stderr.strip().endswith("LEFT: 1"), done.stderr  # only the mount point itself
    assert not instances.exists("main", "15", settings)
