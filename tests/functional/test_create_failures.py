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
        ({"settings": {"shared_preload_libraries": "no_such_lib"}}, ConfigurationError, "no_such_lib"),
        # Accepted by every check, refused by the server when it binds: 192.0.2.1 is nobody's.
        (
            {"settings": {"listen_addresses": "192.0.2.1"}},
            CommandError,
            "could not create any TCP/IP sockets",
        ),
    ],
    ids=["bad-setting", "initdb-fails", "missing-library", "first-start-fails"],
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
    manifest = interface.Instance(name="doomed", port=free_port(), settings={"listen_addresses": "192.0.2.1"})
    with pytest.raises(CommandError) as excinfo:
        await instances.apply(settings, manifest)
    assert any("could not bind" in line and "192.0.2.1" in line for line in excinfo.value.log_lines)
    assert excinfo.value.message == "instance 15/doomed could not start: could not create any TCP/IP sockets"
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
        ({"name": "ok", "settings": {"primary_conninfo": "host=x"}}, "standby.primary_conninfo"),
        ({"name": "ok", "settings": {"dblink.conninfo": "host=x password=s3cret"}}, "with a password"),
        ({"name": "ok", "settings": {"dblink.conninfo": "postgresql://x/db?password=s"}}, "with a password"),
        ({"name": "ok", "settings": {"x.api_password": "s3cret"}}, "secret"),
        ({"name": "ok", "standby": {"primary_conninfo": "postgresql://u:s3cret@h/db"}}, "password"),
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


async def test_failed_creation_empties_a_data_directory_that_was_there(settings: Any) -> None:
    datadir = Path(settings.prefix) / "srv" / "pgsql" / "15" / "doomed" / "data"
    datadir.mkdir(parents=True, mode=0o700)
    manifest = interface.Instance(name="doomed", port=free_port(), settings={"work_mem": "bogus"})
    with pytest.raises(ConfigurationError):
        await instances.apply(settings, manifest)
    assert datadir.is_dir()
    assert list(datadir.iterdir()) == []
    assert not instances.exists("doomed", "15", settings)


async def test_the_same_manifest_applied_twice_at_once_creates_once(settings: Any) -> None:
    import asyncio

    manifest = interface.Instance(name="twin", port=free_port())
    results = await asyncio.gather(instances.apply(settings, manifest), instances.apply(settings, manifest))
    assert sorted(str(r.change_state) for r in results) == ["None", "created"]
    assert system.Instance.system_lookup("twin", "15", settings).status().status == "running"


async def test_two_creations_on_one_port_at_once(settings: Any) -> None:
    import asyncio

    port = free_port()
    results = await asyncio.gather(
        instances.apply(settings, interface.Instance(name="first", port=port)),
        instances.apply(settings, interface.Instance(name="second", port=port)),
        return_exceptions=True,
    )
    assert sorted(type(r).__name__ for r in results) == ["InstanceApplyResult", "PortInUse"]
    made = [name for name in ("first", "second") if instances.exists(name, "15", settings)]
    assert len(made) == 1
    assert system.Instance.system_lookup(made[0], "15", settings).status().status == "running"
