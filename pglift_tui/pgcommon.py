"""postgresql-common's clusters, read from their files the way its own tools find them.

Facts from postgresql-common 248 (PgCommon.pm, pg_ctlcluster, pg_lsclusters), read,
not copied: a cluster is `ROOT/VERSION/NAME/` holding a `postgresql.conf` (a file, or
a dangling symlink), VERSION like `15` or `9.6`; ROOT is `/etc/postgresql` unless
`PG_CLUSTER_CONF_ROOT` says otherwise (`settings.default_debian_root`). The data
directory is the configuration's `data_directory`, else the `pgdata` symlink of the
configuration directory, else that directory itself when it holds PG_VERSION.
ALTER SYSTEM's `postgresql.auto.conf` in the data directory is read over the files.
`start.conf` says auto, manual or disabled (auto when absent); the log of early
messages is the `log` symlink of the configuration directory, else
`/var/log/postgresql/postgresql-V-NAME.log`; the socket directory is
`unix_socket_directories`' first entry, else /var/run/postgresql when postgres owns
both it and the data directory, else /tmp.

Nothing here runs a program or connects: the dashboard lists clusters at every
refresh, and `pg_lsclusters` (Perl) costs about 30 ms for one. A parsed cluster is
kept while the stats of every file and directory it was read from are unchanged.
"""

from __future__ import annotations

import functools
import os
import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from . import conf
from .exceptions import ConfigurationError

DEFAULT_ROOT = Path("/etc/postgresql")
#: Where the Debian packages put each major version's programs.
BINROOT = "/usr/lib/postgresql"
RUN_DIR = "/var/run/postgresql"
LOG_DIR = "/var/log/postgresql"
#: pg_ctl.conf and other files a cluster does not have come from here (PGSYSCONFDIR).
COMMON_CONFDIR = "/etc/postgresql-common"
DEFAULT_PORT = 5432
#: Files changed this recently are read again at the next call (mtime granularity).
_RECENT_NS = 2_000_000_000

StartConf = Literal["auto", "manual", "disabled"]
_VERSION_RE = re.compile(r"\d+\.?\d+")
_START_RE = re.compile(r"(auto|manual|disabled)")
_TRUE = ("on", "true", "yes", "1")
_STRFTIME = {
    "Y": r"\d{4}",
    "y": r"\d{2}",
    "m": r"\d{2}",
    "d": r"\d{2}",
    "H": r"\d{2}",
    "M": r"\d{2}",
    "S": r"\d{2}",
    "j": r"\d{3}",
    "a": r"[A-Za-z]+",
    "b": r"[A-Za-z]+",
    "u": r"\d",
    "w": r"\d",
    "%": "%",
}


@dataclass(frozen=True)
class Cluster:
    """One cluster as its files describe it."""

    version: str
    name: str
    configdir: str
    #: Effective assignments: postgresql.conf with its includes, then postgresql.auto.conf.
    config: Mapping[str, conf.Entry]
    datadir: str | None
    port: int
    socketdir: str
    #: None when start.conf holds something else (then `problem` says what).
    start: StartConf | None
    #: Where pg_ctlcluster sends the server's output (its `-l`).
    logfile: str
    owner_uid: int | None
    pg_ctl_options: str
    #: Every file and directory the configuration was read from.
    sources: tuple[str, ...]
    #: Why the cluster could not be read completely, in words.
    problem: str | None = None

    @property
    def config_file(self) -> str:
        return f"{self.configdir}/postgresql.conf"

    @property
    def conf_d(self) -> str:
        return f"{self.configdir}/conf.d"

    def value(self, name: str) -> str | None:
        entry = self.config.get(name)
        return entry.value if entry is not None else None

    def log_files(self) -> list[Path]:
        """The server's logs, oldest first: pg_ctlcluster's file, then the collector's."""
        found = [Path(self.logfile)] if os.path.exists(self.logfile) else []
        if (self.value("logging_collector") or "off").lower() not in _TRUE or not self.datadir:
            return found
        directory = self.value("log_directory") or "log"
        if not os.path.isabs(directory):
            directory = os.path.join(self.datadir, directory)
        pattern = strftime_regex(self.value("log_filename") or "postgresql-%Y-%m-%d_%H%M%S.log")
        try:
            names = [n for n in os.listdir(directory) if pattern.fullmatch(n)]
        except OSError:
            return found
        dated = []
        for name in names:
            path = os.path.join(directory, name)
            try:
                dated.append((os.stat(path).st_mtime, path))
            except OSError:
                continue
        return found + [Path(path) for _, path in sorted(dated) if path != self.logfile]


def strftime_regex(template: str) -> re.Pattern[str]:
    """A pattern for the names `log_filename` produces (its strftime escapes)."""
    parts = re.split(r"(%.)", template)
    return re.compile(
        "".join(
            _STRFTIME.get(p[1], ".+") if p.startswith("%") and len(p) == 2 else re.escape(p) for p in parts
        )
    )


def version_key(version: str) -> tuple[float, str]:
    return float(version), version


def cluster_dirs(root: Path | str) -> list[tuple[str, str]]:
    """(version, name) of every cluster under `root`, ordered as pg_lsclusters orders them."""
    root = str(root)
    try:
        versions = [v for v in os.listdir(root) if _VERSION_RE.fullmatch(v)]
    except OSError:
        return []
    found = []
    for version in sorted(versions, key=version_key):
        try:
            names = os.listdir(f"{root}/{version}")
        except OSError:
            continue
        for name in sorted(names):
            conf_file = f"{root}/{version}/{name}/postgresql.conf"
            if os.path.lexists(conf_file):  # a file, or a dangling symlink: still a cluster
                found.append((version, name))
    return found


def read_start_conf(configdir: str) -> tuple[StartConf | None, str | None]:
    """start.conf's mode (auto when absent) and, for an invalid file, why."""
    path = f"{configdir}/start.conf"
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            lines = f.read().splitlines()
    except FileNotFoundError:
        return "auto", None
    except OSError as exc:
        return None, f"cannot read {path}: {exc.strerror}"
    for line in lines:
        text = line.split("#", 1)[0].strip()
        if not text:
            continue
        match = _START_RE.match(text)
        if match is None:
            return None, f"{path}: invalid mode {text!r}, must be auto, manual or disabled"
        return match.group(1), None  # type: ignore[return-value]
    return "auto", None


def _datadir(configdir: str, config: Mapping[str, conf.Entry]) -> str | None:
    entry = config.get("data_directory")
    if entry is not None and entry.value:
        return entry.value
    try:
        return os.readlink(f"{configdir}/pgdata")
    except OSError:
        pass
    if os.path.isfile(f"{configdir}/PG_VERSION"):
        return os.path.realpath(configdir) if os.path.islink(configdir) else configdir
    return None


def default_socketdir(datadir: str | None) -> str:
    """postgresql-common's default: /var/run/postgresql for its owner's clusters, else /tmp."""
    try:
        run_uid = os.stat(RUN_DIR).st_uid
    except OSError:
        return "/tmp"  # noqa: S108 (the server's own default, not a file we create)
    if datadir is not None:
        try:
            if os.stat(datadir).st_uid != run_uid:
                return "/tmp"  # noqa: S108
        except OSError:
            pass
    return RUN_DIR


def _pg_ctl_options(configdir: str, seen: list[Path]) -> str:
    path = Path(configdir, "pg_ctl.conf")
    if not os.path.exists(path):
        path = Path(COMMON_CONFDIR, "pg_ctl.conf")
    try:
        entry = conf.read_files(path, None, seen=seen).get("pg_ctl_options")
    except (OSError, ConfigurationError):
        return ""
    return entry.value if entry is not None else ""


def _at_least_94(version: str) -> bool:
    return float(version) >= 9.4


def read_cluster(root: Path | str, version: str, name: str) -> Cluster:
    """The cluster's facts from its files (no cache: `Clusters` keeps them)."""
    configdir = f"{root}/{version}/{name}"
    seen: list[Path] = []
    problem = None
    try:
        config = conf.read_files(Path(configdir, "postgresql.conf"), None, seen=seen)
    except (OSError, ConfigurationError) as exc:
        config = {}
        problem = _why(exc, f"{configdir}/postgresql.conf")
    datadir = _datadir(configdir, config)
    if datadir and _at_least_94(version):
        auto = Path(datadir, "postgresql.auto.conf")
        try:
            if os.path.exists(auto):
                extra = conf.read_files(auto, None, seen=seen)
                config = {**config, **{k: v for k, v in extra.items() if k != "data_directory"}}
            else:
                seen.append(auto)
        except (OSError, ConfigurationError) as exc:
            problem = problem or _why(exc, str(auto))
    start, start_problem = read_start_conf(configdir)
    port = DEFAULT_PORT
    port_entry = config.get("port")
    if port_entry is not None:
        try:
            port = int(port_entry.value)
        except ValueError:
            problem = problem or f"{port_entry.path}:{port_entry.lineno}: invalid port {port_entry.value!r}"
    socket_entry = config.get("unix_socket_directories")
    first = socket_entry.value.split(",")[0].strip() if socket_entry is not None else ""
    try:
        logfile = os.readlink(f"{configdir}/log")
    except OSError:
        logfile = f"{LOG_DIR}/postgresql-{version}-{name}.log"
    owner = None
    if datadir:
        try:
            owner = os.stat(datadir).st_uid
        except OSError:
            problem = problem or f"data directory {datadir} does not exist or cannot be reached"
    elif problem is None:
        problem = f"{configdir}/postgresql.conf sets no data_directory"
    return Cluster(
        version=version,
        name=name,
        configdir=configdir,
        config=config,
        datadir=datadir,
        port=port,
        socketdir=first or default_socketdir(datadir),
        start=start,
        logfile=logfile,
        owner_uid=owner,
        pg_ctl_options=_pg_ctl_options(configdir, seen),
        sources=tuple(dict.fromkeys(str(p) for p in seen)),
        problem=problem or start_problem,
    )


def _why(exc: Exception, path: str) -> str:
    if isinstance(exc, ConfigurationError):
        return exc.message
    if isinstance(exc, OSError):
        return f"cannot read {exc.filename or path}: {exc.strerror}"
    return f"{path}: {exc}"


Stamp = tuple[int, ...]


def _stamp(path: str, stat: Callable[[str], os.stat_result] = os.stat) -> Stamp:
    try:
        st = stat(path)
    except FileNotFoundError:
        return (0,)
    except OSError:
        return (1,)
    return (st.st_ino, st.st_mtime_ns, st.st_size, st.st_uid)


def _stamps(cluster: Cluster) -> tuple[Stamp, ...]:
    """What must not change for `cluster` to still be what its files say."""
    stamps = [_stamp(path) for path in cluster.sources]
    stamps.append(_stamp(f"{cluster.configdir}/start.conf"))
    stamps.append(_stamp(f"{cluster.configdir}/log", os.lstat))
    stamps.append(_stamp(f"{cluster.configdir}/pgdata", os.lstat))
    if cluster.datadir:
        owner = _stamp(cluster.datadir)
        stamps.append(owner[:1] + owner[3:])  # inode and owner: its mtime moves at every start
    return tuple(stamps)


class Clusters:
    """The clusters under a root, re-read only when one of their files changed."""

    def __init__(self, root: Path | str) -> None:
        self.root = str(root)
        self._cache: dict[tuple[str, str], tuple[tuple[Stamp, ...], Cluster]] = {}

    def get(self, version: str, name: str) -> Cluster | None:
        """The cluster `version/name`, or None when there is none."""
        if not os.path.lexists(f"{self.root}/{version}/{name}/postgresql.conf"):
            self._cache.pop((version, name), None)
            return None
        cached = self._cache.get((version, name))
        if cached is not None and _stamps(cached[1]) == cached[0]:
            return cached[1]
        # A file written within the clock's granularity of the read may have changed
        # unseen during it: such a result is used once, not kept.
        recent = time.time_ns() - _RECENT_NS
        cluster = read_cluster(self.root, version, name)
        stamps = _stamps(cluster)
        if all(len(s) < 4 or s[1] < recent for s in stamps):
            self._cache[(version, name)] = (stamps, cluster)
        else:
            self._cache.pop((version, name), None)
        return cluster

    def all(self) -> list[Cluster]:
        found = cluster_dirs(self.root)
        for gone in set(self._cache) - set(found):
            self._cache.pop(gone, None)  # the dashboard lists from a thread of its own too
        return [c for c in (self.get(v, n) for v, n in found) if c is not None]


@functools.lru_cache(maxsize=8)
def clusters_at(root: str) -> Clusters:
    """The one cache of a root's clusters, shared by the listing and the port checks."""
    return Clusters(root)
