"""The fleet's pure pieces: reading Ansible's YAML inventories, --limit, the wire's values
and errors, and the ssh command line."""

from __future__ import annotations

import datetime as dt
import decimal
from pathlib import Path

import pytest

from pglift_tui.cli_report import EXIT_BUSY, EXIT_NOT_FOUND, EXIT_USAGE, report
from pglift_tui.exceptions import CommandError, InstanceBusy, InstanceNotFound
from pglift_tui.health import Finding
from pglift_tui.inspect import Overview
from pglift_tui.models.interface import InstanceListItem
from pglift_tui.monitor import InstanceView
from pglift_tui.remote import inventory, protocol, transport
from pglift_tui.remote.inventory import InventoryError

INVENTORY = """
all:
  vars:
    ansible_user: ops
    pglift_tui_command: /opt/pglift-tui/bin/pglift-tui
  hosts:
    lone:
  children:
    db:
      vars:
        ansible_port: 2222
        pglift_tui_settings: /etc/pglift-tui/site.yaml
      hosts:
        db[01:03].example.org:
        db09.example.org:
          ansible_host: 10.0.0.9
          ansible_port: 22
      children:
        replicas:
          vars: {ansible_user: replica-ops}
          hosts:
            db02.example.org:
    web:
      hosts:
        www1: {ansible_ssh_common_args: "-o ProxyJump=bastion -o 'User=x y'"}
"""


def load(tmp_path: Path, text: str) -> inventory.Inventory:
    path = tmp_path / "inventory.yaml"
    path.write_text(text)
    return inventory.load([path], use_ansible=False)


def test_yaml_inventory_groups_ranges_and_inherited_vars(tmp_path: Path) -> None:
    found = {h.name: h for h in load(tmp_path, INVENTORY).hosts}
    assert list(found) == [
        "lone", "db01.example.org", "db02.example.org", "db03.example.org", "db09.example.org", "www1",
    ]  # fmt: skip
    lone = found["lone"]
    assert (lone.address, lone.port, lone.user, lone.settings) == ("lone", None, "ops", None)
    assert lone.command == "/opt/pglift-tui/bin/pglift-tui"
    db1 = found["db01.example.org"]
    assert (db1.port, db1.user, db1.settings) == (2222, "ops", "/etc/pglift-tui/site.yaml")
    assert found["db02.example.org"].user == "replica-ops"  # the deeper group wins
    assert found["db02.example.org"].groups == {"all", "db", "replicas"}
    db9 = found["db09.example.org"]
    assert (db9.address, db9.port) == ("10.0.0.9", 22)  # the host's own vars win
    assert found["www1"].ssh_args == ("-o", "ProxyJump=bastion", "-o", "User=x y")
    assert found["www1"].command == "/opt/pglift-tui/bin/pglift-tui"


def test_limit_as_ansible_has_it(tmp_path: Path) -> None:
    inv = load(tmp_path, INVENTORY)

    def names(pattern: str) -> list[str]:
        return [h.name for h in inventory.limit(inv, pattern)]

    assert names("db") == ["db01.example.org", "db02.example.org", "db03.example.org", "db09.example.org"]
    assert names("db:!replicas") == ["db01.example.org", "db03.example.org", "db09.example.org"]
    assert names("db0[13]*,web") == ["db01.example.org", "db03.example.org", "www1"]
    assert names("all:&replicas") == ["db02.example.org"]
    assert names("~^db0[9]") == ["db09.example.org"]
    assert names("!db") == ["lone", "www1"]
    with pytest.raises(InventoryError, match="selects no host") as excinfo:
        inventory.limit(inv, "nosuch")
    assert "lone" in str(excinfo.value.hint)


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("[web]\nweb1 ansible_host=10.0.0.1\n", "ansible-core"),
        ("all: [a, b]\n", "not a mapping"),
        ("all:\n  hosts:\n    a: {ansible_port: http}\n", "ansible_port is not a number: http"),
        ("all:\n  hosts:\n    a: {ansible_host: '{{ lookup(1) }}'}\n", "is a template"),
        ("all:\n  hosts:\n    a:\n  groups: {}\n", "has groups"),
        ("all:\n  vars: {x: 1}\n", "lists no host"),
        ("web:\n  hosts:\n    'w[1:x]':\n", "invalid host range"),
    ],
)
def test_a_bad_inventory_names_the_file_and_the_problem(tmp_path: Path, text: str, words: str) -> None:
    with pytest.raises(InventoryError) as excinfo:
        load(tmp_path, text)
    said = f"{excinfo.value.message} {excinfo.value.hint}"
    assert str(tmp_path / "inventory.yaml") in said
    assert words in said


def test_two_files_merge_and_the_later_wins(tmp_path: Path) -> None:
    first, second = tmp_path / "a.yaml", tmp_path / "b.yaml"
    first.write_text("all:\n  hosts:\n    a: {ansible_port: 2201}\n    b:\n")
    second.write_text("all:\n  hosts:\n    a: {ansible_user: z}\n    c:\n")
    found = {h.name: h for h in inventory.load([first, second], use_ansible=False).hosts}
    assert list(found) == ["a", "b", "c"]
    assert (found["a"].port, found["a"].user) == (2201, "z")


def test_ssh_never_prompts_and_keeps_our_options_first(tmp_path: Path) -> None:
    host = inventory.InventoryHost(
        "db1", "10.0.0.1", port=2222, user="ops", key_file="/k", ssh_args=("-o", "BatchMode=no"),
        settings="/etc/x y.yaml",
    )  # fmt: skip
    argv = transport.ssh_argv(host, tmp_path)
    assert argv.index("BatchMode=yes") < argv.index("BatchMode=no")  # ssh keeps the first value
    assert argv[-2:] == [
        "10.0.0.1",
        "env 'PGLIFT_TUI_SETTINGS=/etc/x y.yaml' sh -c 'pglift-tui serve --stdio'",
    ]
    assert argv[argv.index("-p") : argv.index("-p") + 2] == ["-p", "2222"]
    assert f"ControlPath={tmp_path}/%C" in argv
    assert transport.environment()["SSH_ASKPASS_REQUIRE"] == "never"


def test_views_cross_the_wire_whole_and_secrets_never() -> None:
    item = InstanceListItem(
        name="main", version="15", port=5433, datadir=Path("/srv/15/main"), status="running", pid=42,
        started_at=dt.datetime(2026, 1, 2, 3, 4, 5, tzinfo=dt.UTC), phase="ready",
    )  # fmt: skip
    finding = Finding("15/main", "pglift", "long_query", "warning", "pid 7: 400 s", 400.0, 300.0, "s")
    view = InstanceView(item, connections=3, tps=(0.0, 1.5), findings=(finding,),
                        muted=frozenset({finding.ident}))  # fmt: skip
    data = protocol.dump(view, InstanceView, exclude_defaults=True)
    assert protocol.load(data, InstanceView) == view
    overview = Overview(True, facts={"started_at": item.started_at, "size": decimal.Decimal("1.5"),
                                     "age": dt.timedelta(seconds=3)})  # fmt: skip
    assert protocol.load(protocol.dump(overview, Overview), Overview) == overview
    assert protocol.decode(protocol.encode(({"a": (1, None)}, True), tuples=True)) == ({"a": (1, None)}, True)

    from pglift_tui.models.interface import Instance

    manifest = Instance(name="x", surole_password="s3cret-pass")  # type: ignore[arg-type]
    assert "s3cret" not in str(protocol.dump(manifest, Instance))


@pytest.mark.parametrize(
    ("error", "code"),
    [
        (InstanceNotFound("15/x not found", hint="list"), EXIT_NOT_FOUND),
        (InstanceBusy("busy: stop by pid 4"), EXIT_BUSY),
        (InventoryError("bad inventory"), EXIT_USAGE),
        (CommandError(["pg_ctl"], 1, "FATAL: no", log_lines=["FATAL: x"]), 1),
    ],
)
def test_an_error_comes_back_as_the_same_error(
    error: Exception, code: int, capsys: pytest.CaptureFixture[str]
) -> None:
    _, message, data = protocol.error_data(error)
    rebuilt = protocol.rebuild({"code": protocol.CORE_ERROR, "message": message, "data": data}, "host db1")
    assert rebuilt.message.startswith("host db1: ")
    assert report(rebuilt) == code
    assert "host db1:" in capsys.readouterr().err
    if isinstance(error, CommandError):
        assert isinstance(rebuilt, CommandError) and rebuilt.log_lines == ["FATAL: x"]
