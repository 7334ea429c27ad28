"""What a user asks for (manifests) and what they are shown (results, list items).

Secrets are `SecretStr` and excluded from every dump, so JSON output, journals and
screens cannot leak them by accident.
"""

from __future__ import annotations

import re
from datetime import datetime
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator

from .. import names, passwords

State = Literal["started", "stopped", "restarted", "absent"]
Status = Literal["running", "not running", "crashed"]
Phase = Literal["starting", "ready", "standby", "stopping"]
Role = Literal["primary", "standby"]
#: Who made a server and operates it: pglift's layout (ours), postgresql-common
#: (Debian's pg_createcluster), or nobody we know (a postmaster found running).
ManagerName = Literal["pglift", "debian", "unmanaged"]
ConfigValue = str | bool | int | float | None
#: What PostgreSQL accepts as a replication slot name.
SLOT_RE = re.compile(r"[a-z0-9_]{1,63}")
#: {parameter: (old, new)}; None on a side means "not set".
Diff = dict[str, tuple[ConfigValue, ConfigValue]]


class Standby(BaseModel):
    """A streaming replica of `primary_conninfo`; status and lag are filled by `get`."""

    # Errors never quote the input: it may be a password, or a conninfo holding one.
    model_config = ConfigDict(extra="forbid", hide_input_in_errors=True)

    primary_conninfo: str
    password: SecretStr | None = Field(default=None, exclude=True)
    slot: str | None = None
    status: Literal["demoted", "promoted"] | None = Field(default=None, json_schema_extra={"readOnly": True})
    #: WAL the primary has written that this standby has not replayed yet, in bytes:
    #: receive lag (not yet received) plus replay lag (received, not yet replayed).
    replication_lag: int | None = Field(default=None, json_schema_extra={"readOnly": True})
    receive_lag_bytes: int | None = Field(default=None, json_schema_extra={"readOnly": True})
    replay_lag_bytes: int | None = Field(default=None, json_schema_extra={"readOnly": True})
    #: How long the unreceived WAL has been waiting, from the primary's last report.
    receive_lag_seconds: float | None = Field(default=None, json_schema_extra={"readOnly": True})
    #: Age of the last replayed transaction while received WAL awaits replay; 0 when caught up.
    replay_lag_seconds: float | None = Field(default=None, json_schema_extra={"readOnly": True})

    @field_validator("slot")
    @classmethod
    def _slot(cls, value: str | None) -> str | None:
        if value is not None and not SLOT_RE.fullmatch(value):
            raise ValueError(f"invalid slot name {value!r}: use 1 to 63 lower-case letters, digits or '_'")
        return value

    @field_validator("primary_conninfo")
    @classmethod
    def _no_password(cls, value: str) -> str:
        names.check_conninfo(value)
        return value

    @field_validator("password")
    @classmethod
    def _passfile_line(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None:
            passwords.check_passfile_line(value.get_secret_value())
        return value


class Instance(BaseModel):
    """The manifest of an instance: the state it should be in."""

    # Errors never quote the input: it may be a password, or a conninfo holding one.
    model_config = ConfigDict(extra="forbid", hide_input_in_errors=True)

    name: str
    version: str | None = None
    port: int | None = None
    settings: dict[str, Any] = Field(default_factory=dict)
    state: State = "started"
    surole_password: SecretStr | None = Field(default=None, exclude=True)
    replrole_password: SecretStr | None = Field(default=None, exclude=True)
    data_checksums: bool | None = None
    locale: str | None = None
    encoding: str | None = None
    standby: Standby | None = None
    restart_on_changes: bool = False
    pending_restart: bool = Field(default=False, json_schema_extra={"readOnly": True})

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        return names.check_name(value)

    @field_validator("version", mode="before")
    @classmethod
    def _version(cls, value: object) -> object:
        if value is None:
            return None
        text = str(value)
        if not text.isdigit():
            raise ValueError(f"invalid version {text!r}: give a major version such as '15'")
        return text

    @field_validator("port")
    @classmethod
    def _port(cls, value: int | None) -> int | None:
        return None if value is None else names.check_port(value)

    @field_validator("settings")
    @classmethod
    def _settings(cls, value: dict[str, Any]) -> dict[str, Any]:
        return names.check_settings(value)

    @field_validator("surole_password", "replrole_password")
    @classmethod
    def _password(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None:
            passwords.check(value.get_secret_value())
        return value

    @field_validator("locale", "encoding")
    @classmethod
    def _plain(cls, value: str | None) -> str | None:
        if value is not None and not all(c.isalnum() or c in "._-@" for c in value):
            raise ValueError(f"invalid value {value!r}: letters, digits and '._-@' only")
        return value


class InstanceApplyResult(BaseModel):
    change_state: Literal["created", "changed", "dropped"] | None = None
    diff: Diff = Field(default_factory=dict)
    pending_restart: bool = False


class InstanceListItem(BaseModel):
    """One row of `ls`, made from files on disk only: no connection, no process spawned."""

    name: str
    version: str
    port: int
    datadir: Path
    status: Status
    pid: int | None = None
    phase: Phase | None = None
    role: Role = "primary"
    #: When the running server started, as its pid file says.
    started_at: datetime | None = None
    #: For a running primary: the standby of it that was promoted since (two histories now).
    diverged_by: str | None = None
    #: The instance an upgrade made from this one, which stays stopped (`start` refuses it).
    superseded_by: str | None = None
    #: Why the instance is not whole: its creation was cut off (apply it again, or drop it).
    incomplete: str | None = None
    #: Who made it and operates it (see `pglift_tui.managers`).
    manager: ManagerName = "pglift"
    #: The OS user owning the data directory, when it is not the user running us.
    owner: str | None = None
    #: What supervises it besides us (a systemd unit, Patroni, pacemaker): not operated behind its back.
    supervisor: str | None = None
    #: The host it was listed on, by its inventory name; None for this host.
    host: str | None = None

    @property
    def key(self) -> str:
        """The one identity of a server across managers and hosts ("15/main" for ours here)."""
        return item_key(self.host, self.manager, self.version, self.name)

    @property
    def state_word(self) -> str:
        """The one word for its state wherever it is shown (the dashboard, the CLI's table);
        JSON keeps pglift's `status` ("not running")."""
        if self.incomplete:
            return "incomplete"
        if self.status == "running":
            return self.phase if self.phase in ("starting", "stopping") else "running"
        if self.status == "crashed":
            return "crashed"
        return "superseded" if self.superseded_by else "stopped"


class PGSetting(BaseModel):
    """A row of the server's `pg_settings` view."""

    name: str
    setting: str | None
    unit: str | None = None
    context: str
    source: str
    pending_restart: bool = False


def item_key(host: str | None, manager: ManagerName, version: str, name: str) -> str:
    """Built in one place: `[host:][manager:]version/name`, ours on this host as pglift has it."""
    key = f"{version}/{name}" if manager == "pglift" else f"{manager}:{version}/{name}"
    return f"{host}:{key}" if host else key
