"""Many real instances, quickly: copies of one initdb'd cluster, each with its own port.

Shared by the benchmarks. The template (i000) is never started, so every copy is a
consistent, startable cluster.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import sys
from pathlib import Path

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from pglift_tui import conf, instances
from pglift_tui.models import interface, system
from pglift_tui.settings import Settings

PG15 = Path("/usr/lib/postgresql/15/bin")


class Fleet:
    def __init__(self, root: Path, base_port: int) -> None:
        self.root = root
        layout = {
            "prefix": str(root / "p"),
            "run_prefix": str(root / "r"),
            "state_dir": str(root / "s"),
            "postgresql": {"versions": [{"version": "15", "bindir": str(PG15)}]},
            # The fleet only: this machine's own clusters and postmasters stay out of the figures.
            "discovery": {"debian": False, "unmanaged": False},
        }
        self.settings = Settings.model_validate(layout)
        self.site = root / "pglift-tui.yaml"
        self.site.write_text(yaml.safe_dump(layout))
        self.names: list[str] = []
        self.next_port = base_port

    def port(self) -> int:
        self.next_port += 1
        return self.next_port

    def grow(self, n: int, running: int) -> None:
        """At least `n` instances, of which the first `running` copies are started."""
        if not self.names:
            manifest = interface.Instance(name="i000", port=self.port(), state="stopped")
            asyncio.run(instances.apply(self.settings, manifest))
            self.names.append("i000")
        template = system.Instance.system_lookup("i000", "15", self.settings)
        while len(self.names) < n:
            name = f"i{len(self.names):03d}"
            target = system.BaseInstance(name, "15", self.settings)
            target.datadir.parent.mkdir(parents=True, exist_ok=True)
            shutil.copytree(template.waldir, target.waldir, symlinks=True)
            shutil.copytree(template.datadir, target.datadir, symlinks=True)
            (target.datadir / "pg_wal").unlink()
            (target.datadir / "pg_wal").symlink_to(target.waldir)
            path = target.datadir / "postgresql.conf"
            text = conf.edit(path.read_text(), {"port": self.port(), "cluster_name": name})
            path.write_text(text.replace("15-i000-", f"15-{name}-"))
            self.names.append(name)

        async def start(names: list[str]) -> None:
            for name in names:
                await instances.start(system.Instance.system_lookup(name, "15", self.settings))

        asyncio.run(start(self.names[1 : running + 1]))  # a no-op for those already running
        os.sync()  # copying gigabytes leaves writeback that would disturb what follows

    def stop_all(self) -> None:
        async def go() -> None:
            async for item in instances.ls(self.settings):
                if item.status == "running":
                    await instances.stop(
                        system.Instance.system_lookup(item.name, item.version, self.settings)
                    )

        asyncio.run(go())
