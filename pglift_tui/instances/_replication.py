"""Standbys made with pg_basebackup, the replication role of primaries, and promote.

A standby is checked against its primary before anything is copied (authentication,
room in max_wal_senders, version, slot) so a refusal leaves nothing behind, and the
primary's own words reach the operator. Its password goes to a 0600 passfile outside
the data directory that `primary_conninfo` names: not to argv, not to a
configuration file (`pg_basebackup -R` with PGPASSWORD would write it to
postgresql.auto.conf).
"""

from __future__ import annotations

import asyncio
import logging
import os
import time

from .. import cmd, conf, ctl, db, passwords, replication
from ..exceptions import InstanceStateError
from ..models import interface, system
from ..replication import PrimaryCheck, StandbyRecord
from ._action import action
from ._lifecycle import poll_until

logger = logging.getLogger(__name__)

BASEBACKUP_TIMEOUT = 24 * 3600
PROMOTE_TIMEOUT = 60


def _password(standby: interface.Standby) -> str | None:
    return standby.password.get_secret_value() if standby.password else None


async def check_primary(instance: system.BaseInstance, standby: interface.Standby) -> PrimaryCheck:
    """Ask the primary everything pg_basebackup will need; may create the slot."""
    return await asyncio.to_thread(
        replication.check_primary,
        standby.primary_conninfo,
        _password(standby),
        standby.slot,
        instance.version,
    )


def basebackup_argv(instance: system.BaseInstance, conninfo: str, slot: str | None) -> list[str]:
    argv = [
        str(instance.bindir / "pg_basebackup"),
        f"--pgdata={instance.datadir}",
        "--wal-method=stream",
        "--checkpoint=fast",
        "--no-password",  # never prompt on the terminal; the passfile or peer answers
        f"--dbname={conninfo}",
    ]
    if instance.waldir != instance.datadir / "pg_wal":
        argv.append(f"--waldir={instance.waldir}")
    if slot is not None:
        argv.append(f"--slot={slot}")
    return argv


async def clone(instance: system.BaseInstance, standby: interface.Standby, check: PrimaryCheck) -> None:
    """Copy the primary with pg_basebackup and remember what the standby follows."""
    settings = instance.settings
    password = _password(standby)
    passfile = replication.write_passfile(settings, instance.qualname, password) if password else None
    host, port = replication.primary_address(standby.primary_conninfo)
    replication.save(
        settings,
        instance.qualname,
        StandbyRecord(
            primary_conninfo=standby.primary_conninfo,
            primary_host=host,
            primary_port=port,
            slot=standby.slot,
            slot_created=check.slot_created,
            passfile=str(passfile) if passfile else None,
        ),
    )
    env = {k: v for k, v in os.environ.items() if k != "PGPASSWORD"}
    if passfile is not None:
        env["PGPASSFILE"] = str(passfile)
    await cmd.run(
        basebackup_argv(instance, standby.primary_conninfo, standby.slot), env=env, timeout=BASEBACKUP_TIMEOUT
    )


def configure_standby(instance: system.BaseInstance, standby: interface.Standby) -> None:
    """primary_conninfo (naming the passfile) and the slot in postgresql.conf, and standby.signal.

    The copy brings the primary's postgresql.auto.conf: a primary_conninfo there would
    win over ours, so it goes.
    """
    settings = instance.settings
    passfile = replication.passfile_path(settings, instance.qualname)
    conninfo = replication.standby_conninfo(
        standby.primary_conninfo,
        passfile=passfile if passfile.exists() else None,
        application_name=instance.name,
    )
    main = instance.datadir / "postgresql.conf"
    values = {"primary_conninfo": conninfo, "primary_slot_name": standby.slot}
    conf.write_atomic(main, conf.edit(main.read_text(encoding="utf-8"), values))
    auto = instance.datadir / "postgresql.auto.conf"
    if auto.exists():
        text = auto.read_text(encoding="utf-8")
        cleaned = conf.edit(text, {"primary_conninfo": None, "primary_slot_name": None})
        if cleaned != text:
            conf.write_atomic(auto, cleaned)
    (instance.datadir / "standby.signal").touch(mode=0o600)


async def undo_clone(
    instance: system.BaseInstance, standby: interface.Standby, check: PrimaryCheck | None
) -> None:
    """After a failed creation: drop the slot if we made it, forget the record and passfile."""
    if check is not None and check.slot_created and standby.slot is not None:
        try:
            await asyncio.to_thread(
                replication.drop_slot, standby.primary_conninfo, _password(standby), standby.slot
            )
        except Exception as exc:  # the creation's own error matters more
            logger.warning("could not drop slot %s on the primary: %s", standby.slot, exc)
    replication.forget(instance.settings, instance.qualname)


async def create_replrole(instance: system.BaseInstance, manifest: interface.Instance) -> None:
    """The replication role, made in single-user mode before the server first starts.

    No server needs to run (a manifest may ask for a stopped instance, with settings
    that would not even start), and nothing listens meanwhile. Single-user mode ends
    a statement at a blank line even inside a quoted literal, so no password goes
    there as text: only its SCRAM verifier, checked to be nothing else
    (passwords.verifier).
    """
    from psycopg import sql

    role = instance.settings.postgresql.replrole
    query = sql.SQL("CREATE ROLE {} LOGIN REPLICATION").format(sql.Identifier(role))
    if manifest.replrole_password is not None:
        secret = passwords.verifier(manifest.replrole_password.get_secret_value(), role)
        query = sql.SQL("{} PASSWORD {}").format(query, sql.Literal(secret))
    await ctl.single_user(
        instance, query.as_string(None), hint=f"could not create the replication role {role!r}"
    )


async def live_standbys(instance: system.Instance) -> list[str]:
    """The standbys streaming from this running primary, as its pg_stat_replication says."""
    if instance.status().status != "running" or instance.standby_signal.exists():
        return []
    async with db.connect(instance) as cnx:
        cur = await cnx.execute(
            "SELECT application_name, coalesce(host(client_addr), 'local socket') AS client, state"
            " FROM pg_stat_replication WHERE state <> 'backup' ORDER BY application_name"
        )
        return [f"{r['application_name'] or '?'} ({r['client']}, {r['state']})" for r in await cur.fetchall()]


async def refuse_cutting_off(instance: system.Instance, what: str, force: bool) -> None:
    if force:
        return
    standbys = await live_standbys(instance)
    if standbys:
        raise InstanceStateError(
            f"instance {instance} has {len(standbys)} live standby(s): {', '.join(standbys)}; "
            f"to {what} it would cut them off",
            hint=f"promote or drop them first, or {what} with force=True",
        )


async def forget_standby(instance: system.Instance) -> str | None:
    """Before a standby (or promoted standby) is dropped: drop the slot we made for it.

    Returns why the slot could not be dropped, if so: the drop goes on (the primary
    may be gone for good), and the journal keeps the reason.
    """
    problem = await _release_slot(instance)
    if problem:
        logger.warning("%s", problem)
    replication.forget(instance.settings, instance.qualname)
    return problem


def standby_model(instance: system.Instance) -> interface.Standby | None:
    """The standby section of `get`, without lag: from standby.signal and our record."""
    record = replication.load(instance.settings, instance.qualname)
    if instance.standby_signal.exists():
        slot = conf.read(instance.datadir).get("primary_slot_name")
        conninfo = record.primary_conninfo if record else _configured_conninfo(instance)
        return interface.Standby(
            primary_conninfo=conninfo,
            slot=slot.value if slot and slot.value else None,
            status="demoted",
        )
    if record is not None and record.promoted_at is not None:
        return interface.Standby(
            primary_conninfo=record.primary_conninfo, slot=record.slot, status="promoted"
        )
    return None


def _configured_conninfo(instance: system.Instance) -> str:
    """A standby we did not make: its primary_conninfo, any password in it left out."""
    from psycopg.conninfo import conninfo_to_dict, make_conninfo

    entry = conf.read(instance.datadir).get("primary_conninfo")
    if entry is None or not entry.value:
        return ""
    params = {k: v for k, v in conninfo_to_dict(entry.value).items() if k != "password"}
    return make_conninfo("", **params)


async def promote(instance: system.Instance) -> None:
    """Promote a running standby; return once the server accepts writes.

    Under the instance's lock, so two promotes at once promote once: the second finds
    a primary and is refused.
    """
    settings = instance.settings
    async with action(instance, "promote") as record:
        if not instance.standby_signal.exists():
            previous = replication.load(settings, instance.qualname)
            if previous is not None and previous.promoted_at is not None:
                when = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(previous.promoted_at))
                raise InstanceStateError(
                    f"instance {instance} was already promoted at {when}: it is a primary now",
                    hint="there is nothing to promote",
                )
            raise InstanceStateError(
                f"instance {instance} is a primary, not a standby: there is nothing to promote"
            )
        if instance.status().status != "running":
            raise InstanceStateError(
                f"instance {instance} is not running: a standby is promoted while it runs",
                hint="start it, then promote it",
            )
        async with db.connect(instance) as cnx:
            await cnx.execute("SELECT pg_promote(true, %s)", (PROMOTE_TIMEOUT,))

            async def promoted() -> bool:
                cur = await cnx.execute("SELECT pg_is_in_recovery() AS r")
                row = await cur.fetchone()
                return row is not None and not row["r"] and not instance.standby_signal.exists()

            await poll_until(
                promoted,
                PROMOTE_TIMEOUT,
                InstanceStateError(
                    f"instance {instance} still in recovery {PROMOTE_TIMEOUT} s after promotion began",
                    hint="look at its log; it may still be replaying WAL",
                ),
            )
        replication.mark_promoted(settings, instance.qualname)
        problem = await _release_slot(instance)
        if problem:
            record.details["warning"] = problem


async def _release_slot(instance: system.Instance) -> str | None:
    """Drop the slot we made for this standby, lest it retain WAL on the primary forever.

    Also on promotion: a promoted standby streams from that slot no more.
    """
    settings = instance.settings
    record = replication.load(settings, instance.qualname)
    if record is None or not record.slot_created or not record.slot:
        return None
    try:
        await asyncio.to_thread(
            replication.drop_slot, record.primary_conninfo, replication.read_passfile(record), record.slot
        )
    except Exception as exc:
        return f"slot {record.slot!r} left on the primary: {exc}"
    record.slot_created = False
    replication.save(settings, instance.qualname, record)
    return None
