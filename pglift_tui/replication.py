"""Streaming replication as seen from the standby's side: its primary, slot and secret.

What a standby needs to remember outside its data directory lives in a record
under the state directory: which primary it follows, whether we made its slot
(and must drop it with the standby), and where its passfile is. The passfile is
kept outside the data directory too, so no file that `pg_basebackup` of this
instance could copy, and no configuration file, holds the replication password.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from . import passwords
from .exceptions import ConfigurationError, Error
from .fs import ensure_private_dir
from .settings import Settings

if TYPE_CHECKING:
    from psycopg import Connection

CONNECT_TIMEOUT = 5
#: Walsenders `pg_basebackup -X stream` uses at once: the base backup and its WAL stream.
BASEBACKUP_WALSENDERS = 2
_LOCAL_HOSTS = ("", "localhost", "127.0.0.1", "::1")


class ReplicationError(Error):
    """The primary refused what a standby needs, in its own words."""


@dataclass
class StandbyRecord:
    """What we know of a standby that its data directory does not say."""

    primary_conninfo: str
    #: Where the primary is, parsed once from the conninfo: to spot a diverged former primary.
    primary_host: str
    primary_port: int
    slot: str | None = None
    slot_created: bool = False
    passfile: str | None = None
    promoted_at: float | None = None

    @property
    def primary_is_local(self) -> bool:
        return self.primary_host.startswith("/") or self.primary_host in _LOCAL_HOSTS


def records_dir(settings: Settings) -> Path:
    return settings.state_dir / "standbys"


def record_path(settings: Settings, qualname: str) -> Path:
    return records_dir(settings) / f"{qualname}.json"


def passfile_path(settings: Settings, qualname: str) -> Path:
    return records_dir(settings) / f"{qualname}.pgpass"


def load(settings: Settings, qualname: str) -> StandbyRecord | None:
    try:
        data = json.loads(record_path(settings, qualname).read_text(encoding="utf-8"))
        return StandbyRecord(**data)
    except (OSError, ValueError, TypeError):
        return None


def _write_private(path: Path, text: str) -> None:
    """Replace `path` with `text` in a 0600 file: it names a passfile, a slot, a primary."""
    tmp = path.with_name(f".{path.name}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        os.fchmod(f.fileno(), 0o600)  # O_CREAT's mode does not apply to a file left there
        f.write(text)
    os.replace(tmp, path)


def save(settings: Settings, qualname: str, record: StandbyRecord) -> None:
    ensure_private_dir(records_dir(settings))
    _write_private(record_path(settings, qualname), json.dumps(asdict(record)))


def forget(settings: Settings, qualname: str) -> None:
    """Remove the record and passfile of a dropped instance."""
    for path in (record_path(settings, qualname), passfile_path(settings, qualname)):
        path.unlink(missing_ok=True)


def all_records(settings: Settings) -> Iterator[tuple[str, StandbyRecord]]:
    """(qualname, record) of every standby we made, promoted ones included."""
    try:
        names = os.listdir(records_dir(settings))
    except OSError:
        return
    for name in names:
        if name.endswith(".json"):
            record = load(settings, name[:-5])
            if record is not None:
                yield name[:-5], record


def write_passfile(settings: Settings, qualname: str, password: str) -> Path:
    """A 0600 passfile for this standby only; its conninfo names it (`passfile=`)."""
    try:
        passwords.check_passfile_line(password)
    except ValueError as exc:
        raise ConfigurationError(f"standby.password: {exc}") from None
    ensure_private_dir(records_dir(settings))
    path = passfile_path(settings, qualname)
    # libpq's passfile: ':' separates fields and '\\' escapes; a line break cannot be
    # written at all (the model refuses it), so one line holds the whole password.
    escaped = password.replace("\\", "\\\\").replace(":", "\\:")
    _write_private(path, f"*:*:*:*:{escaped}\n")
    return path


def standby_conninfo(conninfo: str, *, passfile: Path | None, application_name: str) -> str:
    """The `primary_conninfo` a standby runs with: the user's, plus passfile and name."""
    from psycopg.conninfo import conninfo_to_dict, make_conninfo

    extra: dict[str, Any] = {}
    if passfile is not None:
        extra["passfile"] = str(passfile)
    if "application_name" not in conninfo_to_dict(conninfo):
        extra["application_name"] = application_name
    return make_conninfo(conninfo, **extra)


def primary_address(conninfo: str) -> tuple[str, int]:
    from psycopg.conninfo import conninfo_to_dict

    params = conninfo_to_dict(conninfo)
    host = str(params.get("host") or params.get("hostaddr") or os.environ.get("PGHOST", ""))
    port = str(params.get("port") or os.environ.get("PGPORT") or 5432)
    return host.split(",")[0], int(port.split(",")[0])


def _connect(conninfo: str, password: str | None) -> Connection[Any]:
    """A physical replication connection, as a standby or pg_basebackup opens one."""
    import psycopg

    extra: dict[str, Any] = {"replication": "true", "connect_timeout": CONNECT_TIMEOUT}
    if password is not None:
        extra["password"] = password
    try:
        return psycopg.connect(conninfo, autocommit=True, **extra)
    except psycopg.OperationalError as exc:
        raise ReplicationError(
            f"the primary refused a replication connection: {_server_words(exc)}",
            hint="check standby.primary_conninfo, standby.password and the primary's pg_hba.conf",
        ) from None


def _server_words(exc: BaseException) -> str:
    """The primary's own message, without libpq's 'connection to server ... failed:' prefix."""
    text = str(exc).strip()
    for marker in ("FATAL:", "ERROR:"):
        if marker in text:
            return text.rsplit(marker, 1)[1].strip()
    return text.splitlines()[-1] if text else type(exc).__name__


@dataclass(frozen=True)
class PrimaryCheck:
    version: int
    slot_created: bool


def check_primary(conninfo: str, password: str | None, slot: str | None, version: str) -> PrimaryCheck:
    """What usually breaks, tried before anything is copied (blocking: run in a thread).

    Opens as many replication connections as `pg_basebackup` will (authentication
    and room in max_wal_senders at once), checks the major version, and makes the
    slot if it is missing: `slot_created` tells whether it is ours to drop.
    """
    from psycopg import errors, sql

    with contextlib.ExitStack() as stack:
        first = stack.enter_context(_connect(conninfo, password))
        for _ in range(BASEBACKUP_WALSENDERS - 1):
            stack.enter_context(_connect(conninfo, password))
        primary_major = first.info.server_version // 10000
        if str(primary_major) != version:
            raise ReplicationError(
                f"the primary runs PostgreSQL {primary_major}, the standby would be {version}",
                hint=f"create the standby with version {primary_major}",
            )
        if slot is None:
            return PrimaryCheck(primary_major, False)
        try:
            first.execute(
                sql.SQL("CREATE_REPLICATION_SLOT {} PHYSICAL RESERVE_WAL").format(sql.Identifier(slot))
            )
        except errors.DuplicateObject:
            return PrimaryCheck(primary_major, False)
        except errors.Error as exc:
            raise ReplicationError(
                f"the primary refused to create slot {slot!r}: {_server_words(exc)}"
            ) from None
        return PrimaryCheck(primary_major, True)


def drop_slot(conninfo: str, password: str | None, slot: str) -> None:
    """Drop a slot we made on the primary, so it retains no WAL for a standby that is gone."""
    from psycopg import errors, sql

    with _connect(conninfo, password) as cnx:
        try:
            cnx.execute(sql.SQL("DROP_REPLICATION_SLOT {}").format(sql.Identifier(slot)))
        except errors.UndefinedObject:
            return
        except errors.Error as exc:
            raise ReplicationError(
                f"the primary refused to drop slot {slot!r}: {_server_words(exc)}"
            ) from None


def read_passfile(record: StandbyRecord) -> str | None:
    """The password a standby's passfile holds, for our own connections to its primary."""
    if record.passfile is None:
        return None
    try:
        line = Path(record.passfile).read_text(encoding="utf-8").splitlines()[0]
    except (OSError, IndexError):
        return None
    return re.sub(r"\\(.)", r"\1", line.split(":", 4)[4])


def mark_promoted(settings: Settings, qualname: str) -> None:
    record = load(settings, qualname)
    if record is not None:
        record.promoted_at = time.time()
        save(settings, qualname, record)


def diverged(settings: Settings) -> dict[int, str]:
    """{port: qualname}: local primaries a standby of which was promoted since.

    If such a former primary still runs, two servers now accept writes for what was
    one history: it must not be turned into a standby blindly (it needs pg_rewind or
    a new base backup), and the dashboard says so.
    """
    return {
        record.primary_port: qualname
        for qualname, record in all_records(settings)
        if record.promoted_at is not None and record.primary_is_local
    }


LAG_QUERY = """
SELECT greatest(0, pg_wal_lsn_diff(r.latest_end_lsn, pg_last_wal_replay_lsn()))::bigint AS total,
       greatest(0, pg_wal_lsn_diff(r.latest_end_lsn, r.flushed_lsn))::bigint AS receive_bytes,
       greatest(0, pg_wal_lsn_diff(pg_last_wal_receive_lsn(), pg_last_wal_replay_lsn()))::bigint
         AS replay_bytes,
       CASE WHEN r.latest_end_lsn <= r.flushed_lsn THEN 0
            ELSE extract(epoch FROM now() - r.latest_end_time) END::float8 AS receive_seconds,
       CASE WHEN pg_last_wal_receive_lsn() = pg_last_wal_replay_lsn() THEN 0
            ELSE extract(epoch FROM now() - pg_last_xact_replay_timestamp()) END::float8 AS replay_seconds
FROM (SELECT 1) AS one LEFT JOIN pg_stat_wal_receiver AS r ON true
"""


async def lag(cnx: Any) -> dict[str, Any]:
    """The lag fields of Standby, from the standby's own views (pg_stat_wal_receiver)."""
    cur = await cnx.execute(LAG_QUERY)
    row = await cur.fetchone()
    if row is None:
        return {}
    return {
        "replication_lag": row["total"],
        "receive_lag_bytes": row["receive_bytes"],
        "replay_lag_bytes": row["replay_bytes"],
        "receive_lag_seconds": row["receive_seconds"],
        "replay_lag_seconds": row["replay_seconds"],
    }
