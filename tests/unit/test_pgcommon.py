"""postgresql-common's layout read from files, and who may operate what: the pure parts.

Supervisors (systemd units, Patroni, pacemaker) cannot be set up by an unprivileged
test, so their cgroup reading and the refusals they lead to are checked here on the
text /proc gives and on list items; everything else runs on real clusters in
tests/functional.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from pglift_tui import pgcommon, postmasters
from pglift_tui.managers.debian import refusal
from pglift_tui.models.interface import InstanceListItem
from pglift_tui.settings import default_debian_root


@pytest.mark.parametrize(
    ("value", "root"),
    [(None, "/etc/postgresql"), ("", "/etc/postgresql"), ("0", "/etc/postgresql"), ("/srv/pgc", "/srv/pgc")],
)
def test_the_conf_root_is_taken_as_perl_takes_it(
    value: str | None, root: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    if value is None:
        monkeypatch.delenv("PG_CLUSTER_CONF_ROOT", raising=False)
    else:
        monkeypatch.setenv("PG_CLUSTER_CONF_ROOT", value)
    assert default_debian_root() == Path(root)


def cluster_dir(root: Path, name: str = "main", text: str = "") -> Path:
    configdir = root / "15" / name
    (configdir / "conf.d").mkdir(parents=True)
    datadir = root.parent / f"data-{name}"
    datadir.mkdir(exist_ok=True)
    conf = f"data_directory = '{datadir}'\nport = 5555\ninclude_dir = 'conf.d'\n{text}"
    (configdir / "postgresql.conf").write_text(conf)
    return configdir


def test_clusters_are_found_and_ordered_as_pg_lsclusters_does(tmp_path: Path) -> None:
    root = tmp_path / "etc"
    for version, name in (("9.6", "old"), ("15", "b"), ("15", "a"), ("13", "x")):
        (root / version / name).mkdir(parents=True)
        (root / version / name / "postgresql.conf").write_text("")
    (root / "15" / "noconf").mkdir()
    (root / "15" / "dangling").mkdir()
    (root / "15" / "dangling" / "postgresql.conf").symlink_to(tmp_path / "nowhere")
    (root / "notaversion").mkdir()
    assert pgcommon.cluster_dirs(root) == [
        ("9.6", "old"),
        ("13", "x"),
        ("15", "a"),
        ("15", "b"),
        ("15", "dangling"),
    ]
    assert pgcommon.cluster_dirs(tmp_path / "missing") == []


def test_start_conf(tmp_path: Path) -> None:
    assert pgcommon.read_start_conf(str(tmp_path)) == ("auto", None)
    (tmp_path / "start.conf").write_text("# auto: automatically start\n\n  manual  # by hand\n")
    assert pgcommon.read_start_conf(str(tmp_path)) == ("manual", None)
    (tmp_path / "start.conf").write_text("sometimes\n")
    start, problem = pgcommon.read_start_conf(str(tmp_path))
    assert start is None and problem is not None and "must be auto, manual or disabled" in problem


def test_a_cluster_is_read_again_only_when_one_of_its_files_changed(tmp_path: Path) -> None:
    root = tmp_path / "etc"
    configdir = cluster_dir(root)
    past = 1_000_000_000
    for path in (configdir / "postgresql.conf", configdir / "conf.d", configdir):
        os.utime(path, (past, past))
    clusters = pgcommon.Clusters(root)
    first = clusters.get("15", "main")
    assert first is not None and first.port == 5555 and first.start == "auto"
    assert clusters.get("15", "main") is first  # unchanged files: not parsed again
    (configdir / "conf.d" / "port.conf").write_text("port = 5556\n")
    again = clusters.get("15", "main")
    assert again is not None and again.port == 5556
    assert again.config["port"].path == configdir / "conf.d" / "port.conf"
    assert [c.name for c in clusters.all()] == ["main"]


def test_a_broken_configuration_is_listed_with_the_reason(tmp_path: Path) -> None:
    configdir = cluster_dir(tmp_path / "etc", text="work_mem = 'unterminated\n")
    cluster = pgcommon.read_cluster(tmp_path / "etc", "15", "main")
    assert cluster.problem is not None and "unterminated quoted string" in cluster.problem
    assert cluster.port == 5432 and str(configdir) in cluster.problem


def test_log_file_names_from_log_filename() -> None:
    pattern = pgcommon.strftime_regex("postgresql-%Y-%m-%d_%H%M%S.log")
    assert pattern.fullmatch("postgresql-2024-05-01_120000.log")
    assert not pattern.fullmatch("postgresql-2024-05-01_120000.log.gz")
    assert pgcommon.strftime_regex("pg-%a.log").fullmatch("pg-Mon.log")


@pytest.mark.parametrize(
    ("cgroup", "found"),
    [
        (b"0::/system.slice/patroni.service\n", "patroni"),
        (b"12:pids:/system.slice/pacemaker.service/x\n", "pacemaker"),
        (
            b"0::/system.slice/system-postgresql.slice/postgresql@15-main.service\n",
            "systemd postgresql@15-main",
        ),
        (b"0::/system.slice/system-postgresql.slice/postgresql@15-other.service\n", None),
        (b"0::/user.slice/user-1000.slice/session-3.scope\n", None),
    ],
)
def test_supervisors_from_the_cgroup(cgroup: bytes, found: str | None) -> None:
    assert postmasters.supervisor_in_cgroup(cgroup, "15", "main") == found


def item(**fields: object) -> InstanceListItem:
    base: dict[str, object] = {
        "name": "main",
        "version": "15",
        "port": 5432,
        "datadir": Path("/d"),
        "status": "running",
        "pid": 1234,
        "manager": "debian",
    }
    return InstanceListItem.model_validate(base | fields)


def test_a_supervised_cluster_is_not_operated_behind_its_supervisor(tmp_path: Path) -> None:
    cluster_dir(tmp_path / "etc")
    cluster = pgcommon.read_cluster(tmp_path / "etc", "15", "main")
    patroni = item(supervisor="patroni")
    for action in ("start", "stop", "restart", "reload", "configure"):
        found = refusal(action, patroni, cluster)
        assert found is not None and "run by patroni" in found.reason
    assert refusal("signal", patroni, cluster) is None
    systemd = item(supervisor="systemd postgresql@15-main")
    for action in ("stop", "restart"):
        found = refusal(action, systemd, cluster)
        assert found is not None and f"sudo systemctl {action} postgresql@15-main" in found.reason
    assert refusal("reload", systemd, cluster) is None
    assert refusal("stop", item(), cluster) is None
