"""postgresql-common's clusters (Debian, Ubuntu): listed from their files, operated by pg_ctlcluster.

Their users expect `pg_ctlcluster` to act on them: it honours start.conf and
pg_ctl.conf, writes the log where they look for it and knows about systemd. So the
actions go through it (`debian_ops`), under our lock and journal; what it cannot
know, we check first: that the pid file names the cluster's real postmaster
(`pg_lsclusters` believes any process whose command line says postgres, so a reused
PID fools it and `pg_ctl stop` would signal the stranger), and who else supervises
the server. Creating, dropping and upgrading a cluster stay postgresql-common's own
tools' work; the refusal names the tool.
"""

from __future__ import annotations

import functools
import os
import pwd
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, ClassVar

from .. import pgcommon, postmasters
from ..exceptions import InstanceNotFound
from ..models.interface import InstanceListItem, ManagerName
from ..pgcommon import Cluster
from ..settings import Settings
from ..status import PidFile, PostmasterStatus, status
from . import Outcome, Refusal, ServerFiles

#: The file of conf.d that `configure` writes: postgresql-common's postgresql.conf
#: includes conf.d/ last, so operators' own edits of postgresql.conf stay theirs.
CONF_D_FILE = "pglift-tui.conf"
#: Actions postgresql-common does with its own tools, and the command to use.
TOOLS = {
    "create": "pg_createcluster {v} {n}",
    "drop": "pg_dropcluster {v} {n}",
    "upgrade": "pg_upgradecluster {v} {n}",
    "promote": "pg_ctlcluster {v} {n} promote",
}
#: Actions that go through pg_ctlcluster (start.conf `disabled` refuses all but stop).
CTL_ACTIONS = ("start", "stop", "restart", "reload")


@functools.lru_cache(maxsize=64)
def user_name(uid: int) -> str:
    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:
        return str(uid)


def bindir(version: str) -> Path:
    return Path(pgcommon.BINROOT, version, "bin")


def cluster_status(cluster: Cluster) -> PostmasterStatus:
    """Running, not running or crashed, with the proof our own instances get.

    A data directory we may read: its pid file, and the process is that directory's
    postmaster (`status.status`). Another user's, closed to us: the pid in its
    external_pid_file (postgresql-common's, world-readable), and the process must be
    a postmaster of that owner naming this data directory or configuration file.
    """
    if cluster.datadir is None:
        return PostmasterStatus("not running", reason=cluster.problem)
    if os.access(cluster.datadir, os.X_OK):
        return status(cluster.datadir)
    path = cluster.value("external_pid_file")
    if path == "(none)":
        return PostmasterStatus("not running", reason="its data directory is closed to us")
    # pg_ctlcluster passes this one on the command line when the file sets none.
    path = path or f"{pgcommon.RUN_DIR}/{cluster.version}-{cluster.name}.pid"
    try:
        with open(path, encoding="ascii", errors="replace") as f:
            pid = int(f.readline().strip())
    except FileNotFoundError:
        return PostmasterStatus("not running")
    except (OSError, ValueError):
        return PostmasterStatus("crashed", reason=f"{path} names no process")
    found = postmasters.prove_by_argv(pid, cluster.owner_uid, (cluster.datadir, cluster.config_file))
    if isinstance(found, str):
        return PostmasterStatus("crashed", reason=f"{path}: {found}")
    pidfile = PidFile(
        pid=pid,
        datadir=cluster.datadir,
        start_time=int(found.started),
        port=cluster.port,
        socket_dir=cluster.socketdir,
        listen_address=None,
        phase="ready",  # line 8 of a pid file we may not read: the phase is not known
    )
    return PostmasterStatus("running", pidfile)


def list_item(cluster: Cluster) -> InstanceListItem:
    st = cluster_status(cluster)
    port = cluster.port
    started_at = supervisor = None
    if st.status == "running" and st.pidfile is not None:
        port = st.pidfile.port or port
        started_at = datetime.fromtimestamp(st.pidfile.start_time, tz=UTC)
        supervisor = postmasters.supervisor(st.pidfile.pid, cluster.version, cluster.name)
    datadir = cluster.datadir or cluster.configdir
    standby = os.path.exists(datadir + "/standby.signal")
    owner = cluster.owner_uid
    return InstanceListItem.model_construct(
        name=cluster.name,
        version=cluster.version,
        port=port,
        datadir=Path(datadir),
        status=st.status,
        pid=st.pid,
        phase=st.phase,
        role="standby" if standby else "primary",
        started_at=started_at,
        diverged_by=None,
        superseded_by=None,
        manager="debian",
        owner=user_name(owner) if owner is not None and owner != os.geteuid() else None,
        supervisor=supervisor,
        host=None,
    )


def refusal(action: str, item: InstanceListItem, cluster: Cluster | None) -> Refusal | None:
    """Whether `action` may run on the cluster now, as pg_ctlcluster and its users see it."""
    if action in TOOLS:
        command = TOOLS[action].format(v=item.version, n=item.name)
        if action == "drop" and item.status == "running":
            command += " --stop"
        return Refusal(f"a Debian cluster: {action} it with postgresql-common's `{command}`")
    if cluster is None:
        return Refusal("its configuration directory is gone")
    if item.owner is not None:
        return Refusal(
            f"owned by {item.owner}: listed read-only; run pglift-tui as {item.owner} to operate it "
            f"(runuser -u {item.owner} -- pglift-tui)"
        )
    running = item.status == "running"
    if action == "signal":
        return None if running else Refusal("not running")
    if item.supervisor in ("patroni", "pacemaker"):
        return Refusal(f"run by {item.supervisor}: operate it through {item.supervisor}, not behind its back")
    if item.supervisor and item.supervisor.startswith("systemd ") and action in ("start", "stop", "restart"):
        unit = item.supervisor.split(" ", 1)[1]
        return Refusal(f"run by systemd: use `sudo systemctl {action} {unit}`")
    if action == "start" and running:
        return Refusal("already running", noop=True)
    if action == "stop" and not running:
        return Refusal("already stopped", noop=True)
    if cluster.problem is not None:
        return Refusal(f"pg_ctlcluster cannot read it: {cluster.problem}")
    if cluster.start == "disabled" and action != "stop":
        return Refusal(
            f"start.conf says disabled: pg_ctlcluster refuses all but stop; "
            f"set auto or manual in {cluster.configdir}/start.conf"
        )
    if action in ("start", "restart", "configure") and not (bindir(item.version) / "postgres").exists():
        return Refusal(
            f"PostgreSQL {item.version}'s server is not installed (no {bindir(item.version)}/postgres)"
        )
    if action == "reload":
        return None if running else Refusal("not running")
    return None


class DebianManager:
    """The clusters under postgresql-common's configuration root."""

    name: ClassVar[ManagerName] = "debian"

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.root = settings.discovery.debian_conf_root
        self.clusters = pgcommon.clusters_at(str(self.root))

    def discover(self) -> list[InstanceListItem]:
        return [list_item(cluster) for cluster in self.clusters.all()]

    def cluster(self, item: InstanceListItem) -> Cluster:
        cluster = self.clusters.get(item.version, item.name)
        if cluster is None:
            raise InstanceNotFound(
                f"{item.key} not found in {self.root}",
                hint="it may have been dropped meanwhile; list with ls",
            )
        return cluster

    def can(self, action: str, item: InstanceListItem) -> Refusal | None:
        return refusal(action, item, self.clusters.get(item.version, item.name))

    async def run(self, action: str, item: InstanceListItem, options: dict[str, Any]) -> Outcome:
        from . import debian_ops

        return await debian_ops.run(self, action, item, self.cluster(item), options)

    def conninfo(self, item: InstanceListItem, **extra: Any) -> str:
        """The cluster's own socket and port, as the OS user we run as (peer)."""

        from .. import db, locks

        cluster = self.cluster(item)
        st = cluster_status(cluster)
        socketdir, port = cluster.socketdir, cluster.port
        if st.status == "running" and st.pidfile is not None:
            socketdir = st.pidfile.socket_dir or socketdir
            port = st.pidfile.port or port
        return db.socket_conninfo(socketdir, port, locks.os_user(), **extra)

    def files(self, item: InstanceListItem) -> ServerFiles:
        cluster = self.cluster(item)
        datadir = Path(cluster.datadir or cluster.configdir)
        waldir = None
        wal = datadir / "pg_wal"
        if os.path.islink(wal):
            waldir = Path(os.readlink(wal))

        def log_files() -> list[Path]:
            now = self.clusters.get(item.version, item.name)
            return now.log_files() if now is not None else []

        return ServerFiles(
            datadir=datadir,
            waldir=waldir,
            config_file=Path(cluster.config_file),
            edit_via=f"conf.d/{CONF_D_FILE}",
            log_files=log_files,
        )

    async def describe(self, item: InstanceListItem) -> dict[str, Any]:
        return await describe(self, item, self.cluster(item))


DESCRIBE = (
    "SELECT current_setting('data_checksums')::bool AS data_checksums, datcollate AS locale,"
    " pg_encoding_to_char(encoding) AS encoding,"
    " (SELECT coalesce(bool_or(pending_restart), false) FROM pg_settings) AS pending_restart"
    " FROM pg_database WHERE datname = 'template1'"
)


async def describe(manager: DebianManager, item: InstanceListItem, cluster: Cluster) -> dict[str, Any]:
    """What we know of the cluster, in the manifest's shape where it fits, and its own facts."""
    import psycopg

    from .. import conf, db, locks, names

    running = item.status == "running"
    data: dict[str, Any] = {
        "name": cluster.name,
        "version": cluster.version,
        "port": item.port,
        "settings": {
            key: conf.typed(entry.value)
            for key, entry in sorted(cluster.config.items())
            if key not in names.RESERVED_PARAMS
        },
        "state": "started" if running else "stopped",
        "manager": "debian",
    }
    facts: dict[str, Any] = {
        "configdir": cluster.configdir,
        "datadir": cluster.datadir,
        "start_conf": cluster.start,
        "owner": user_name(cluster.owner_uid) if cluster.owner_uid is not None else None,
        "supervisor": item.supervisor,
        "socket_directory": cluster.socketdir,
        "log_file": cluster.logfile,
        "settings_file": f"{cluster.conf_d}/{CONF_D_FILE}",
        "role": item.role,
    }
    if cluster.problem:
        facts["problem"] = cluster.problem
    if running:
        try:
            async with db.connect_to(manager.conninfo(item)) as cnx:
                cur = await cnx.execute(DESCRIBE)
                row = await cur.fetchone()
            if row is not None:
                data.update(row)
        except psycopg.Error as exc:
            why = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
            facts["unreachable"] = f"cannot connect as {locks.os_user()}: {why}"
    data["debian"] = facts
    return data
