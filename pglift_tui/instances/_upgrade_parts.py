"""The pieces of an upgrade: what the new cluster must match, pg_upgrade, what to keep.

`_upgrade` puts them in order and undoes them on failure.
"""

from __future__ import annotations

import json
import shutil
import time
from pathlib import Path
from typing import Any, Literal

from .. import cmd, conf, ctl, db, names
from ..exceptions import CommandError, InstanceStateError
from ..models import system
from ..models.interface import ConfigValue
from ._action import action

Mode = Literal["copy", "link", "clone"]
UPGRADE_TIMEOUT = 24 * 3600
#: Written by the base settings for each instance: never carried from the old one.
_OWN = ("port", "cluster_name", "log_directory", "log_filename", "unix_socket_directories")


async def cluster_facts(instance: system.Instance, running: bool) -> dict[str, Any]:
    """template0's locale, encoding and provider, and the checksum setting: initdb must match."""
    query = (
        "SELECT to_jsonb(d) AS db, pg_encoding_to_char(d.encoding) AS encoding_name,"
        " current_setting('data_checksums')::bool AS checksums"
        " FROM pg_database d WHERE datname = 'template0'"
    )
    if running:
        async with db.connect(instance) as cnx:
            row = await (await cnx.execute(query)).fetchone()
            assert row is not None
            return {**row["db"], "encoding_name": row["encoding_name"], "checksums": row["checksums"]}
    # Stopped: ask a single-user backend, which opens no socket at all.
    hint = "could not read the old cluster's locale"
    found = await ctl.single_user(instance, query, dbname="template1", hint=hint)
    if "db" not in found:
        raise InstanceStateError(f"instance {instance}: template0 could not be read", hint=hint)
    return {
        **json.loads(found["db"]),
        "encoding_name": found.get("encoding_name"),
        "checksums": found.get("checksums") == "t",
    }


def initdb_argv(new: system.BaseInstance, facts: dict[str, Any]) -> list[str]:
    pg = new.settings.postgresql
    argv = [
        str(new.bindir / "initdb"),
        "-D",
        str(new.datadir),
        "--no-sync",  # pg_upgrade syncs the whole new cluster at its end
        f"--auth-local={pg.auth.local}",
        f"--auth-host={pg.auth.host}",
        f"--username={pg.surole.name}",
        f"--encoding={facts['encoding_name']}",
        f"--lc-collate={facts['datcollate']}",
        f"--lc-ctype={facts['datctype']}",
    ]
    provider = {"c": "libc", "i": "icu", "b": "builtin"}.get(str(facts.get("datlocprovider", "c")), "libc")
    argv.append(f"--locale-provider={provider}")
    icu = facts.get("datlocale") or facts.get("daticulocale")
    if provider == "icu" and icu:
        argv.append(f"--icu-locale={icu}")
    elif provider == "builtin" and icu:
        argv.append(f"--builtin-locale={icu}")
    if new.waldir != new.datadir / "pg_wal":
        argv.append(f"--waldir={new.waldir}")
    if facts["checksums"]:
        argv.append("--data-checksums")
    elif int(new.version) >= 18:
        argv.append("--no-data-checksums")  # on by default since 18: pg_upgrade would refuse
    return argv


async def known_parameters(new: system.BaseInstance) -> set[str]:
    out = (await cmd.run([str(new.bindir / "postgres"), "--describe-config"], timeout=30)).stdout
    return {line.split("\t", 1)[0].lower() for line in out.splitlines() if line}


def carried(values: dict[str, str], known: set[str]) -> tuple[dict[str, ConfigValue], list[str]]:
    """The old configuration the new version understands, and the parameters it does not."""
    kept: dict[str, ConfigValue] = {}
    dropped = []
    for key, value in values.items():
        if key in _OWN or key in names.RESERVED_PARAMS:
            continue
        if "." in key or key in known:  # dotted: an extension's, checked by the server itself
            kept[key] = conf.typed(value)
        else:
            dropped.append(key)
    return kept, dropped


def pg_upgrade_argv(
    old: system.Instance, new: system.BaseInstance, old_port: int, new_port: int, jobs: int | None, mode: Mode
) -> list[str]:
    argv = [
        str(new.bindir / "pg_upgrade"),
        f"--old-bindir={old.bindir}",
        f"--new-bindir={new.bindir}",
        f"--old-datadir={old.datadir}",
        f"--new-datadir={new.datadir}",
        f"--old-port={old_port}",
        f"--new-port={new_port}",
        f"--username={new.settings.postgresql.surole.name}",
        f"--{mode}",
    ]
    if jobs is not None:
        argv.append(f"--jobs={jobs}")
    return argv


async def run_pg_upgrade(argv: list[str], workdir: Path) -> cmd.Result:
    """Run pg_upgrade; on failure, say what it said (on stdout, before "Failure, exiting")."""
    try:
        return await cmd.run(argv, timeout=UPGRADE_TIMEOUT, cwd=workdir)
    except CommandError as exc:
        lines = [
            line.strip()
            for line in (exc.stdout + "\n" + exc.stderr).splitlines()
            if line.strip() and not line.startswith("---") and "Failure, exiting" not in line
        ]
        reason = " ".join(lines[-3:]) if lines else exc.message
        raise CommandError(argv, exc.returncode, reason, exc.stdout) from None


def keep_logs(new: system.BaseInstance) -> Path | None:
    """Move pg_upgrade's output directory out of the new data directory before it goes."""
    output = new.datadir / "pg_upgrade_output.d"
    if not output.is_dir():
        return None
    kept = new.logdir / f"{new.qualname}-pg_upgrade-{time.strftime('%Y%m%d_%H%M%S')}"
    shutil.move(str(output), kept)
    return kept


def restore_control(old: system.Instance) -> None:
    """After a failed --link run, pg_control.old is the old cluster's: put it back."""
    control = old.datadir / "global" / "pg_control"
    renamed = control.with_name("pg_control.old")
    if renamed.exists() and not control.exists():
        renamed.rename(control)


async def collation_drift(instance: system.Instance) -> list[str]:
    """Databases whose recorded collation version differs from the library's: indexes to rebuild."""
    query = (
        "SELECT datname FROM pg_database WHERE datcollversion IS DISTINCT FROM"
        " pg_database_collation_actual_version(oid) ORDER BY datname"
    )
    try:
        async with db.connect(instance) as cnx:
            rows = await (await cnx.execute(query)).fetchall()
    except Exception as exc:
        return [f"could not compare collation versions: {exc}"]
    if not rows:
        return []
    dbs = ", ".join(row["datname"] for row in rows)
    return [
        f"the collation library version differs for {dbs}: indexes on text may need REINDEX, "
        "then ALTER DATABASE ... REFRESH COLLATION VERSION"
    ]


async def analyze_in_stages(instance: system.Instance) -> None:
    """pg_upgrade's advice: statistics in stages, so the planner is usable within minutes."""
    argv = [
        str(instance.bindir / "vacuumdb"),
        "--all",
        "--analyze-in-stages",
        f"--host={instance.live_socket_directory()}",
        f"--port={instance.port}",
        f"--username={instance.settings.postgresql.surole.name}",
    ]
    if int(instance.version) >= 18:
        argv.append("--missing-stats-only")  # 18's pg_upgrade carries most statistics over
    async with action(instance, "analyze"):
        await cmd.run(argv, timeout=UPGRADE_TIMEOUT)
