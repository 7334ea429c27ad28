"""Inventories only Ansible reads (INI, a dynamic script), through the real `ansible-inventory`."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from pglift_tui.remote import inventory
from pglift_tui.remote.inventory import InventoryError

from ..ansible import ensure_ansible
from ..sshd import hosts  # noqa: F401  (the fixture)
from .test_fleet import make


@pytest.fixture(scope="module")
def ansible_bin() -> Path:
    return ensure_ansible()


def test_ini_and_script_inventories_mean_what_they_mean_to_ansible(ansible_bin: Path, tmp_path: Path) -> None:
    program = str(ansible_bin / "ansible-inventory")
    ini = tmp_path / "hosts.ini"
    ini.write_text(
        "[db]\n"
        "db1 ansible_host=10.0.0.1\n"
        "db2 ansible_host=10.0.0.2 ansible_port=2200\n"
        "[db:vars]\n"
        "ansible_port=2222\n"
        "pglift_tui_settings=/etc/pglift-tui/site.yaml\n"
        "[web]\n"
        "www1\n"
        "[all:vars]\n"
        "ansible_user=ops\n"
    )
    found = {h.name: h for h in inventory.load([ini], ansible=program).hosts}
    assert set(found) == {"db1", "db2", "www1"}
    assert (found["db1"].address, found["db1"].port, found["db1"].user) == ("10.0.0.1", 2222, "ops")
    assert found["db2"].port == 2200  # the host's own wins
    assert found["db1"].settings == "/etc/pglift-tui/site.yaml" and found["www1"].settings is None
    assert [h.name for h in inventory.limit(inventory.load([ini], ansible=program), "db:!db2")] == ["db1"]

    script = tmp_path / "dynamic.py"
    script.write_text(
        f"#!{sys.executable}\n"
        "import json\n"
        "print(json.dumps({'pg': {'hosts': ['a', 'b'], 'vars': {'ansible_user': 'dyn'}},\n"
        "                  '_meta': {'hostvars': {'a': {'ansible_port': 2201}}}}))\n"
    )
    script.chmod(0o755)
    dynamic = {h.name: h for h in inventory.load([script], ansible=program).hosts}
    assert (dynamic["a"].port, dynamic["a"].user, dynamic["b"].user) == (2201, "dyn", "dyn")

    broken = tmp_path / "broken.ini"
    broken.write_text("[db\ndb1 ansible_host=\n")
    with pytest.raises(InventoryError, match=str(broken)):
        inventory.load([broken], ansible=program)


async def test_ls_over_an_ini_inventory(ansible_bin: Path, hosts: Any) -> None:  # noqa: F811
    fleet = hosts(2)
    for name in fleet.names():
        await make(fleet[name])
    described = yaml.safe_load(fleet.inventory.read_text())["all"]
    common = described["vars"]
    lines = ["[pg]"]
    for name, host_vars in described["hosts"].items():
        lines.append(name + " " + " ".join(f"{k}={v}" for k, v in host_vars.items()))
    lines.append("[all:vars]")
    lines += [f"{k}={v!r}" if " " in str(v) else f"{k}={v}" for k, v in common.items()]
    ini = fleet.root / "hosts.ini"
    ini.write_text("\n".join(lines) + "\n")
    env = {**os.environ, "PATH": f"{ansible_bin}:{os.environ['PATH']}"}
    done = subprocess.run(
        [sys.executable, "-m", "pglift_tui", "ls", "--inventory", str(ini), "--json"],
        capture_output=True, text=True, check=False, env=env, timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert sorted(i["host"] for i in json.loads(done.stdout)) == ["h2", "h3"]
