"""A creation that fails leaves nothing behind, and bad input changes nothing."""

from __future__ import annotations

import socket
from pathlib import Path
from typing import Any

import psutil
import pytest
from pydantic import ValidationError

from pglift_tui import instances
from pglift_tui.exceptions import CommandError, ConfigurationError, InvalidVersion, PortInUse
from pglift_tui.models import interface, system

from ..conftest import free_port
from .pg import tree


def _postgres_processes_under(path: Path) -> list[int]:
    found = []
    for proc in psutil.process_iter(["cmdline"]):
        if any(str(path) in arg for arg in proc.info["cmdline"] or []):
            found.append(proc.pid)
    return found


def _snapshot(settings: Any) -> tuple[set[str], set[str], set[str]]:
    for path in (settings.prefix, settings.run_prefix):
        Path(path).mkdir(parents=True, exist_ok=True)
    return tree(settings.prefix), tree(settings.run_prefix), tree(Path(settings.prefix).parent / "r")


@pytest.mark.parametrize(
    ("fields", "error", "words"),
    [
        ({"settings": {"work_mem": "bogus"}}, ConfigurationError, "work_mem"),
        ({"locale": "xx_YY"}, CommandError, "initdb"),
        ({"settings": {"shared_preload_libraries": "no_such_lib"}}, CommandError, "no_such_lib"),
    ],
    ids=["bad-setting", "initdb-fails", "first-start-fails"],
)
async def test_failed_creation_leaves_nothing(
    settings: Any, fields: dict[str, Any], error: type, words: str
) -> None:
    before = _snapshot(settings)
    manifest = interface.Instance.model_validate({"name": "doomed", "port": free_port(), **fields})
    with pytest.raises(error) as excinfo:
        await instances.apply(settings, manifest)
    text = str(excinfo.value) + " ".join(getattr(excinfo.value, "log_lines", []))
    assert words in text
    assert _snapshot(settings) == before
    assert not instances.exists("doomed", "15", settings)
    assert _postgres_processes_under(settings.prefix) == []


async def test_failed_start_carries_the_server_log(settings: Any) -> None:
    manifest = interface.Instance(
        name="doomed", port=free_port(), settings={"shared_preload_libraries": "no_such_lib"}
    )
    with pytest.raises(CommandError) as excinfo:
        await instances.apply(settings, manifest)
    assert any("FATAL" in line and "no_such_lib" in line for line in excinfo.value.log_lines)
    assert excinfo.value.message.startswith("instance 15/doomed could not start: could not access file")
    assert excinfo.value.hint and str(settings.logdir) in excinfo.value.hint


async def test_failed_creation_keeps_a_directory_that_was_there(settings: Any) -> None:
    kept = Path(settings.prefix) / "srv" / "pgsql" / "15" / "doomed"
    kept.mkdir(parents=True)
    manifest = interface.Instance(name="doomed", port=free_port(), settings={"work_mem": "bogus"})
    with pytest.raises(ConfigurationError):
        await instances.apply(settings, manifest)
    assert kept.is_dir()
    assert list(kept.iterdir()) == []


async def test_port_held_by_a_tcp_listener_is_refused(settings: Any) -> None:
    port = free_port()
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", port))
        listener.listen()
        before = _snapshot(settings)
        with pytest.raises(PortInUse, match=f"port {port} .*TCP listener"):
            await instances.apply(settings, interface.Instance(name="x", port=port))
    assert _snapshot(settings) == before


async def test_port_of_a_stopped_instance_is_refused(settings: Any, make_instance: Any) -> None:
    other = await make_instance("other", state="stopped")
    with pytest.raises(PortInUse, match="instance 15/other"):
        await instances.apply(settings, interface.Instance(name="x", port=other.port))
    assert not instances.exists("x", "15", settings)


async def test_port_with_a_socket_file_is_refused(settings: Any) -> None:
    port = free_port()
    settings.socket_directory.mkdir(parents=True, mode=0o700)
    path = settings.socket_directory / f".s.PGSQL.{port}"
    with socket.socket(socket.AF_UNIX) as sock:
        sock.bind(str(path))
        with pytest.raises(PortInUse, match="socket file"):
            await instances.apply(settings, interface.Instance(name="x", port=port))


@pytest.mark.parametrize(
    ("fields", "words"),
    [
        ({"name": "../escape"}, "invalid instance name"),
        ({"name": ".hidden"}, "invalid instance name"),
        ({"name": "-dash"}, "invalid instance name"),
        ({"name": "x" * 64}, "invalid instance name"),
        ({"name": "a/b"}, "invalid instance name"),
        ({"name": "ok", "port": 80}, "1024 to 65535"),
        ({"name": "ok", "port": 70000}, "1024 to 65535"),
        ({"name": "ok", "settings": {"port": 5000}}, "port field"),
        ({"name": "ok", "settings": {"application_name": "a\nb"}}, "newline"),
        ({"name": "ok", "settings": {"bad name": 1}}, "parameter name"),
        ({"name": "ok", "version": "fifteen"}, "major version"),
        ({"name": "ok", "unknown_field": 1}, "unknown_field"),
    ],
)
def test_bad_manifests_are_refused_with_the_reason(fields: dict[str, Any], words: str) -> None:
    with pytest.raises(ValidationError, match=words):
        interface.Instance.model_validate(fields)


async def test_unknown_version_is_refused_before_anything(settings: Any) -> None:
    before = _snapshot(settings)
    with pytest.raises(InvalidVersion, match=r"PostgreSQL 11 is not installed .*available: 15"):
        await instances.apply(settings, interface.Instance(name="x", version="11", port=free_port()))
    assert _snapshot(settings) == before


async def test_missing_binaries_are_named(settings: Any, short_tmp: Path) -> None:
    fake = short_tmp / "fakebin"
    fake.mkdir()
    (fake / "postgres").write_text("")
    broken = settings.model_copy(
        update={
            "postgresql": settings.postgresql.model_copy(
                update={
                    "versions": (
                        system.binaries.PostgreSQLVersion.model_construct(version="15", bindir=fake),
                    )
                }
            )
        }
    )
    with pytest.raises(InvalidVersion, match="lacks initdb, pg_ctl"):
        await instances.apply(broken, interface.Instance(name="x", port=free_port()))
