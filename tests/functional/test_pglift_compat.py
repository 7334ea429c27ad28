"""Same ground as pglift: instances made by the real pglift 3.3 are listed and operated.

pglift is installed into a test-only virtualenv (never a dependency of the product),
driven through its own CLI, and asked afterwards what it sees.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest
import yaml

from pglift_tui import instances
from pglift_tui.models import interface, system
from pglift_tui.settings import Settings

from ..conftest import PG15, free_port
from ..peer import ensure_pglift
from .pg import show


@pytest.fixture(scope="session")
def pglift() -> Path:
    return ensure_pglift() / "pglift"


def run_pglift(pglift: Path, config_dir: Path, *args: str) -> str:
    env = {**os.environ, "PGLIFT_CONFIG_DIR": str(config_dir)}
    done = subprocess.run(
        [str(pglift), "--non-interactive", *args], env=env, capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


async def test_pglift_instances_are_listed_and_operated(pglift: Path, short_tmp: Path) -> None:
    config_dir = short_tmp / "config"
    config_dir.mkdir()
    site = {
        "prefix": str(short_tmp / "p"),
        "run_prefix": str(short_tmp / "r"),
        "postgresql": {
            "versions": [{"version": "15", "bindir": str(PG15)}],
            "dumps_directory": "dumps/{version}-{name}",
        },
        "cli": {"log_level": "INFO"},
    }
    (config_dir / "settings.yaml").write_text(yaml.safe_dump(site))
    port = free_port()
    run_pglift(pglift, config_dir, "site-configure", "install")
    run_pglift(pglift, config_dir, "instance", "create", "compat", "--port", str(port))

    settings = Settings.load(config_dir / "settings.yaml")
    assert set(settings.ignored_keys) == {"postgresql.dumps_directory", "cli"}
    assert settings.state_dir != short_tmp  # ours stays out of pglift's prefix unless asked
    settings = settings.model_copy(update={"state_dir": short_tmp / "s"})

    items = [item async for item in instances.ls(settings)]
    assert [(i.name, i.version, i.port, i.status, i.phase) for i in items] == [
        ("compat", "15", port, "running", "ready")
    ]
    instance = system.Instance.system_lookup("compat", None, settings)
    assert await show(instance, "port") == str(port)

    await instances.stop(instance)
    listed = json.loads(run_pglift(pglift, config_dir, "instance", "list", "-o", "json"))
    assert [(i["name"], i["status"]) for i in listed] == [("compat", "not_running")]

    await instances.start(instance)
    manifest = interface.Instance(name="compat", version="15", settings={"work_mem": "12MB"})
    result = await instances.apply(settings, manifest)
    assert result.diff == {"work_mem": (None, "12MB")}
    assert await show(instance, "work_mem") == "12MB"
    seen = json.loads(run_pglift(pglift, config_dir, "instance", "get", "compat", "-o", "json"))
    assert seen["settings"]["work_mem"] == "12MB"
    assert seen["state"] == "started"

    await instances.drop(instance)
    assert json.loads(run_pglift(pglift, config_dir, "instance", "list", "-o", "json")) == []
