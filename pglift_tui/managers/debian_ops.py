"""The actions on a Debian cluster: pg_ctlcluster under our lock and journal, conf.d, signals.

`pg_ctlcluster` is what postgresql-common's users run, so it is what runs here, with
the same `PG_CLUSTER_CONF_ROOT`. Around it, what it does not do: the status is
proven before anything is signalled (a stale pid file naming a live stranger is
removed, never obeyed), a restart is preceded by the server's own check of the
configuration (`postgres -C`), a reload is followed by reading `pg_file_settings`
back (`pg_ctl reload` exits 0 on garbage), and a failed start carries the server's
log lines. Settings are written to `conf.d/pglift-tui.conf`, checked by the server
before they replace the file.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from contextlib import AsyncExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import psycopg

from .. import conf, ctl, db, inspect, locks, names, pgcommon
from ..cmd import Result
from ..cmd import run as run_command
from ..exceptions import CommandError, ConfigurationError, InstanceStateError
from ..instances._action import Record, action
from ..instances._action import _journal as journal_action
from ..instances._configure import pending_restart
from ..instances._lifecycle import RELOAD_TIMEOUT, _rejected, check_server_configuration, poll_until
from ..models.interface import Diff, InstanceListItem
from ..pgcommon import Cluster
from ..settings import Settings
from . import Outcome, lock_qualname
from .debian import CONF_D_FILE, bindir, cluster_status

if TYPE_CHECKING:
    from .debian import DebianManager

#: pg_ctlcluster start waits up to 30 s for the socket, then probes with psql.
CTL_TIMEOUT = 180
HEADER = (
    "# Written by pglift-tui (configure): settings changed from its dashboard or command line.\n"
    "# postgresql.conf includes conf.d/ after its own lines, so these win over it;\n"
    "# ALTER SYSTEM (postgresql.auto.conf) wins over both.\n"
)


@dataclass(frozen=True)
class ClusterTarget:
    """A Debian cluster as our lock, journal and pid-file helpers see it."""

    settings: Settings
    qualname: str
    datadir: Path
    label: str

    def __str__(self) -> str:
        return self.label


@dataclass
class Ctx:
    manager: DebianManager
    item: InstanceListItem
    cluster: Cluster
    target: ClusterTarget
    record: Record

    @property
    def what(self) -> str:
        return f"cluster {self.item.version}/{self.item.name}"

    def fresh(self) -> Cluster:
        """The cluster as its files say now (after we changed one)."""
        self.cluster = self.manager.cluster(self.item)
        return self.cluster


def ctl_env(root: Path) -> dict[str, str]:
    """Our environment, with postgresql-common's root as its tools must see it.

    pg_ctlcluster skips its systemd redirect whenever PG_CLUSTER_CONF_ROOT is set at
    all, so it is passed only for a root other than the default.
    """
    env = dict(os.environ)
    env.pop("PG_CLUSTER_CONF_ROOT", None)
    if Path(root) != pgcommon.DEFAULT_ROOT:
        env["PG_CLUSTER_CONF_ROOT"] = str(root)
    return env


async def pg_ctlcluster(ctx: Ctx, verb: str, *options: str) -> Result:
    program = shutil.which("pg_ctlcluster") or "/usr/bin/pg_ctlcluster"
    argv = [program, *options, ctx.cluster.version, ctx.cluster.name, verb]
    return await run_command(argv, env=ctl_env(ctx.manager.root), check=False, timeout=CTL_TIMEOUT)


def _failed(result: Result) -> CommandError:
    return CommandError(result.argv, result.returncode, result.stderr, result.stdout)


async def _start_with(ctx: Ctx, verb: str, *options: str) -> None:
    """`pg_ctlcluster start` or `restart`; a failure carries what the server logged."""
    before = ctl.log_sizes(ctx.cluster.log_files())
    result = await pg_ctlcluster(ctx, verb, *options)
    if result.returncode == 0:
        return
    if result.returncode == 2 and cluster_status(ctx.cluster).status == "running":
        ctx.record.unchanged()
        return
    lines = ctl.new_log_lines(ctx.fresh().log_files(), before)
    raise ctl.start_failed(_failed(result), lines, ctx.what, f"the server log is {ctx.cluster.logfile}")


async def _clear_stale(ctx: Ctx) -> None:
    """Before a start: a pid file that names no postmaster of the cluster goes, proven first."""
    st = cluster_status(ctx.cluster)
    if st.status == "crashed":
        await ctl.wait_orphans(ctx.target)
        ctx.record.details["stale_pidfile"] = ctl.clear_stale_pidfile(ctx.target) or st.reason
    ctl.clear_stale_socket(ctx.target, Path(ctx.cluster.socketdir), ctx.cluster.port)


def _systemd_note(ctx: Ctx) -> tuple[str, ...]:
    if Path(ctx.manager.root) != pgcommon.DEFAULT_ROOT or not os.path.isdir("/run/systemd/system"):
        return ()
    unit = f"postgresql@{ctx.cluster.version}-{ctx.cluster.name}"
    return (f"not running as a systemd service: `sudo systemctl start {unit}` would make it one",)


async def _start(ctx: Ctx, options: dict[str, Any]) -> Outcome:
    if cluster_status(ctx.cluster).status == "running":
        ctx.record.unchanged()
        return Outcome("already running", changed=False)
    await _clear_stale(ctx)
    await _start_with(ctx, "start")
    if ctx.record.result == "unchanged":
        return Outcome("already running", changed=False)
    return Outcome("started", lines=_systemd_note(ctx))


async def _stop(ctx: Ctx, options: dict[str, Any]) -> Outcome:
    mode = options.get("mode", "fast")
    ctx.record.details["mode"] = mode
    if cluster_status(ctx.cluster).status != "running":
        ctx.record.unchanged()  # a pid file naming a stranger included: nothing is signalled
        return Outcome("already stopped", changed=False)
    result = await pg_ctlcluster(ctx, "stop", "-m", mode)
    if result.returncode == 2:
        ctx.record.unchanged()
        return Outcome("already stopped", changed=False)
    if result.returncode != 0:
        error = _failed(result)
        error.hint = "sessions may hold a smart stop; retry with mode fast or immediate"
        raise error
    if cluster_status(ctx.cluster).status == "running":
        raise InstanceStateError(f"{ctx.what} is still running after pg_ctlcluster stop")
    return Outcome(f"stopped ({mode})")


async def _restart(ctx: Ctx, options: dict[str, Any]) -> Outcome:
    mode = options.get("mode", "fast")
    ctx.record.details["mode"] = mode
    datadir = Path(ctx.cluster.datadir or "")
    await check_server_configuration(bindir(ctx.cluster.version), datadir, ctx.what, ctx.cluster.config_file)
    if cluster_status(ctx.cluster).status != "running":
        await _clear_stale(ctx)
        await _start_with(ctx, "start")
    else:
        await _start_with(ctx, "restart", "-m", mode)
    return Outcome("restarted")


@dataclass(frozen=True)
class Reloaded:
    pending_restart: bool = False
    lines: tuple[str, ...] = ()


async def _reload_checked(ctx: Ctx) -> Reloaded:
    """`pg_ctlcluster reload`, then the server's own verdict on its files."""
    info = ctx.manager.conninfo(ctx.item)
    async with AsyncExitStack() as stack:
        try:
            cnx = await stack.enter_async_context(db.connect_to(info))
        except psycopg.Error as exc:
            result = await pg_ctlcluster(ctx, "reload")
            if result.returncode != 0:
                raise _failed(result) from None
            why = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            return Reloaded(lines=(f"reload not verified: cannot connect as {locks.os_user()}: {why}",))
        cur = await cnx.execute("SELECT pg_conf_load_time() AS t")
        before = (await cur.fetchone() or {})["t"]
        result = await pg_ctlcluster(ctx, "reload")
        if result.returncode != 0:
            raise _failed(result)

        async def reloaded() -> bool:
            cur = await cnx.execute("SELECT pg_conf_load_time() AS t")
            return bool((await cur.fetchone() or {})["t"] != before)

        timeout = InstanceStateError(
            f"{ctx.what} did not reload within {RELOAD_TIMEOUT:g} s", hint="check the server log"
        )
        await poll_until(reloaded, RELOAD_TIMEOUT, timeout)
        rejected = await _rejected(cnx)
        pending = await pending_restart(cnx)
    if rejected:
        try:
            await _check(ctx, ctx.cluster.config_file)
        except ConfigurationError as exc:
            rejected.append(exc.message.split(": ", 1)[-1])
        raise ConfigurationError(
            f"{ctx.what}: the server rejected its configuration: " + "; ".join(rejected),
            hint="it keeps running with its previous values; fix the file and reload again",
        )
    return Reloaded(pending)


async def _reload(ctx: Ctx, options: dict[str, Any]) -> Outcome:
    if cluster_status(ctx.cluster).status != "running":
        raise InstanceStateError(f"{ctx.what} is not running", hint="start it first")
    reloaded = await _reload_checked(ctx)
    return Outcome("configuration reloaded", lines=reloaded.lines)


async def _check(ctx: Ctx, config_file: str) -> None:
    datadir = Path(ctx.cluster.datadir or "")
    await check_server_configuration(bindir(ctx.cluster.version), datadir, ctx.what, config_file)


async def _check_candidate(ctx: Ctx, candidate: Path) -> None:
    """Have the server parse the configuration as it will be once `candidate` replaces our file.

    A mirror of the configuration directory by symbolic links, our conf.d file
    replaced by the candidate: postgresql.conf's relative includes resolve in the
    mirror, so the server reads exactly the files it will read after the rename.
    """
    configdir, conf_d = ctx.cluster.configdir, ctx.cluster.conf_d
    with tempfile.TemporaryDirectory(prefix="pglift-tui-check-") as tmp:
        for entry in os.listdir(configdir):
            if entry != "conf.d":
                os.symlink(f"{configdir}/{entry}", f"{tmp}/{entry}")
        os.mkdir(f"{tmp}/conf.d")
        for entry in os.listdir(conf_d):
            if entry != CONF_D_FILE and not entry.startswith("."):
                os.symlink(f"{conf_d}/{entry}", f"{tmp}/conf.d/{entry}")
        os.symlink(candidate, f"{tmp}/conf.d/{CONF_D_FILE}")
        main = f"{tmp}/postgresql.conf"
        seen: list[Path] = []
        conf.read_files(Path(main), None, seen=seen)
        if Path(f"{tmp}/conf.d/{CONF_D_FILE}") not in seen:
            # conf.d is included by an absolute path: read the candidate after everything.
            main = f"{tmp}/check.conf"
            text = f"include {conf.render(f'{tmp}/postgresql.conf')}\ninclude {conf.render(str(candidate))}\n"
            Path(main).write_text(text)
        await _check(ctx, main)


def _wanted(ctx: Ctx, settings: dict[str, Any]) -> dict[str, Any]:
    for key in settings:
        if key.lower() in names.RESERVED_PARAMS:
            raise ConfigurationError(
                f"parameter {key!r} is not set from here on a Debian cluster",
                hint=f"edit {ctx.cluster.config_file} (postgresql-common's tools read it there)",
            )
    try:
        return names.check_settings(settings)
    except ValueError as exc:
        raise ConfigurationError(str(exc)) from None


async def _configure(ctx: Ctx, options: dict[str, Any]) -> Outcome:
    """Settings written to conf.d/pglift-tui.conf, checked by the server, then reloaded."""
    wanted = _wanted(ctx, dict(options["settings"]))
    cluster = ctx.cluster
    if os.path.normpath(cluster.conf_d) not in {os.path.normpath(p) for p in cluster.sources}:
        raise ConfigurationError(
            f"{ctx.what}: {cluster.config_file} does not include conf.d/",
            hint="add include_dir = 'conf.d' to it (postgresql-common's default), then retry",
        )
    path = Path(cluster.conf_d, CONF_D_FILE)
    text = path.read_text(encoding="utf-8") if path.exists() else HEADER
    ours = conf.file_values(path) if path.exists() else {}
    diff: Diff = {}
    for key, new in wanted.items():
        if new is None:
            if key in ours:
                diff[key] = (conf.typed(ours[key]), None)
            continue
        current = cluster.value(key)
        if conf.normalized(current) != conf.normalized(new):
            diff[key] = (None if current is None else conf.typed(current), new)
    ctx.record.details["changed"] = sorted(diff)
    if not diff:
        ctx.record.unchanged()
        return Outcome("unchanged", changed=False, data=(diff, False))
    os.makedirs(cluster.conf_d, mode=0o755, exist_ok=True)
    with conf.staged(path, conf.edit(text, {key: new for key, (_, new) in diff.items()})) as candidate:
        await _check_candidate(ctx, candidate)
    cluster = ctx.fresh()
    lines = [_overridden(cluster, key, path) for key, (_, new) in diff.items() if new is not None]
    notes = [line for line in lines if line]
    if cluster_status(cluster).status != "running":
        return Outcome("changed (applies at the next start)", lines=tuple(notes), data=(diff, False))
    reloaded = await _reload_checked(ctx)
    notes.extend(reloaded.lines)
    word = "changed; a restart is pending" if reloaded.pending_restart else "changed and reloaded"
    return Outcome(word, lines=tuple(notes), data=(diff, reloaded.pending_restart))


def _overridden(cluster: Cluster, key: str, ours: Path) -> str:
    """Why a value written to our file does not take effect, when a later file sets it too."""
    entry = cluster.config.get(key)
    if entry is None or os.path.normpath(entry.path) == os.path.normpath(ours):
        return ""
    fix = f"ALTER SYSTEM RESET {key}" if entry.path.name == "postgresql.auto.conf" else "remove it there"
    return f"{key} is also set in {entry.path}:{entry.lineno}, read later, which wins: {fix}"


async def _signal(
    manager: DebianManager, item: InstanceListItem, target: ClusterTarget, options: dict[str, Any]
) -> Outcome:
    """Cancel a query or end a session, over the cluster's socket; journaled, without the lock."""
    pid, terminate = int(options["pid"]), bool(options.get("terminate"))
    started = time.monotonic()
    async with db.connect_to(manager.conninfo(item)) as cnx:
        done = await inspect.signal_backend(cnx, pid, terminate=terminate)
    record = Record("terminate" if terminate else "cancel", details={"pid": pid})
    if not done:
        record.unchanged()
    journal_action(target, record, started, None)
    word = ("terminated" if terminate else "query cancelled") if done else "gone already"
    return Outcome(f"backend {pid} {word}", changed=done)


OPS = {
    "start": _start,
    "stop": _stop,
    "restart": _restart,
    "reload": _reload,
    "configure": _configure,
}


async def run(
    manager: DebianManager, verb: str, item: InstanceListItem, cluster: Cluster, options: dict[str, Any]
) -> Outcome:
    datadir = Path(cluster.datadir or cluster.configdir)
    target = ClusterTarget(manager.settings, lock_qualname(item), datadir, item.key)
    if verb == "signal":
        return await _signal(manager, item, target, options)
    async with action(target, verb) as record:
        return await OPS[verb](Ctx(manager, item, cluster, target, record), options)
