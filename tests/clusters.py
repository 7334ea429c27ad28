"""Real postgresql-common clusters for the tests, made by its own pg_createcluster.

Unprivileged, under a configuration root of the test's own (`PG_CLUSTER_CONF_ROOT`,
which every tool of postgresql-common honours), so the machine's /etc/postgresql is
never seen nor touched. `pg_lsclusters --json` under the same root is the client
nobody here wrote that checks what we claim.
"""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from .conftest import free_port, make_settings


@dataclass(frozen=True)
class MadeCluster:
    root: Path
    version: str
    name: str
    port: int
    datadir: Path
    sockdir: Path
    logfile: Path

    @property
    def key(self) -> str:
        return f"debian:{self.version}/{self.name}"

    @property
    def configdir(self) -> Path:
        return self.root / self.version / self.name

    def env(self) -> dict[str, str]:
        return {**os.environ, "PG_CLUSTER_CONF_ROOT": str(self.root)}

    def ctl(self, action: str) -> subprocess.CompletedProcess[str]:
        """pg_ctlcluster as an operator would type it."""
        return subprocess.run(
            ["pg_ctlcluster", self.version, self.name, action],
            env=self.env(),
            capture_output=True,
            text=True,
            check=False,
        )

    def lsclusters(self) -> dict[str, Any]:
        """This cluster as pg_lsclusters --json sees it."""
        out = subprocess.run(
            ["pg_lsclusters", "--json"], env=self.env(), capture_output=True, text=True, check=True
        ).stdout
        found = {f"{c['version']}/{c['cluster']}": c for c in json.loads(out)}
        return dict(found[f"{self.version}/{self.name}"])

    def running(self) -> bool:
        return bool(self.lsclusters()["running"])

    def psql(self, sql: str) -> str:
        """A query through psql over the cluster's own socket, as the test's user (peer)."""
        done = subprocess.run(
            ["psql", "-h", str(self.sockdir), "-p", str(self.port), "-d", "postgres", "-AXtqc", sql],
            capture_output=True,
            text=True,
            check=True,
        )
        return done.stdout.strip()


MakeCluster = Callable[..., MadeCluster]


@pytest.fixture
def debian_root(short_tmp: Path) -> Path:
    root = short_tmp / "etc"
    root.mkdir(exist_ok=True)
    return root


@pytest.fixture
def dsettings(short_tmp: Path, debian_root: Path) -> Any:
    """Settings that see the test's Debian clusters (and no process-table scan)."""
    from pglift_tui.settings import DiscoverySettings

    settings = make_settings(short_tmp)
    discovery = DiscoverySettings(debian=True, unmanaged=False, debian_conf_root=debian_root)
    return settings.model_copy(update={"discovery": discovery})


@pytest.fixture
def make_cluster(short_tmp: Path, debian_root: Path) -> MakeCluster:
    def make(name: str = "main", *, port: int | None = None, start: bool = False) -> MadeCluster:
        made = MadeCluster(
            root=debian_root,
            version="15",
            name=name,
            port=port or free_port(),
            datadir=short_tmp / "d" / name,
            sockdir=short_tmp / "s",
            logfile=short_tmp / f"{name}.log",
        )
        argv = ["pg_createcluster", made.version, name, "-d", str(made.datadir), "-p", str(made.port)]
        argv += ["-s", str(made.sockdir), "-l", str(made.logfile)]
        if start:
            argv.append("--start")
        subprocess.run(argv, env=made.env(), capture_output=True, text=True, check=True)
        return made

    return make
