"""Site settings: where instances live and how they are made.

The keys, defaults and layout are pglift 3.x's, so that an operator can point
`PGLIFT_TUI_SETTINGS` at an existing pglift site file and operate the instances
pglift made. Keys we do not handle are ignored and reported once (`ignored_keys`).
"""

from __future__ import annotations

import os
import re
import warnings
from contextvars import ContextVar
from pathlib import Path
from typing import Any, ClassVar, Literal

import platformdirs
import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic_settings import (
    BaseSettings,
    InitSettingsSource,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
)

from .exceptions import ConfigurationError
from .health.thresholds import HealthSettings

APP = "pglift-tui"
ENV_FILE = "PGLIFT_TUI_SETTINGS"
ENV_PREFIX = "PGLIFT_TUI_"
#: Longest path of a unix socket on Linux (sun_path is 108 bytes, NUL included).
SOCKET_PATH_MAX = 107

LocalAuth = Literal["peer", "ident", "scram-sha-256", "md5", "password", "reject"]
HostAuth = Literal["scram-sha-256", "md5", "password", "reject"]

_file_data: ContextVar[dict[str, Any] | None] = ContextVar("_file_data", default=None)


def default_prefix() -> Path:
    return platformdirs.user_data_path(APP)


def default_run_prefix() -> Path:
    """The user's runtime directory, or a private directory in /tmp without one.

    A shell opened with `su` or `runuser` has no XDG_RUNTIME_DIR, and /run/user/UID
    may not exist; the fallback is checked for ownership when it is created.
    """
    with warnings.catch_warnings():
        # Without XDG_RUNTIME_DIR, platformdirs warns and suggests /tmp/runtime-UID.
        warnings.simplefilter("ignore")
        runtime = platformdirs.user_runtime_path(APP)
    parent = runtime.parent
    try:
        st = parent.stat()
    except OSError:
        pass
    else:
        if st.st_uid == os.getuid() and os.access(parent, os.W_OK | os.X_OK):
            return runtime
    # Checked for ownership and mode by fs.ensure_private_dir before any use.
    return Path(f"/tmp/{APP}-{os.getuid()}")  # noqa: S108


def default_state_dir() -> Path:
    return platformdirs.user_state_path(APP)


class _Section(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


class PostgreSQLVersion(_Section):
    """One installed PostgreSQL major version and where its binaries are."""

    version: str
    bindir: Path

    @field_validator("version", mode="before")
    @classmethod
    def _major(cls, value: object) -> str:
        text = str(value)
        if not text.isdigit() or not 9 < int(text) < 100:
            raise ValueError(f"{text!r} is not a PostgreSQL major version; write it like '15'")
        return text

    @field_validator("bindir")
    @classmethod
    def _has_postgres(cls, value: Path) -> Path:
        if not (value / "postgres").is_file():
            raise ValueError(f"no 'postgres' program in {value}; point bindir at a PostgreSQL bin directory")
        return value


def _refuse_trust(value: object) -> object:
    if value == "trust":
        raise ValueError(
            "'trust' lets anyone connect as any role without a password; use peer or scram-sha-256"
        )
    return value


class AuthSettings(_Section):
    local: LocalAuth = "peer"
    host: HostAuth = "scram-sha-256"

    _no_trust = field_validator("local", "host", mode="before")(_refuse_trust)


class SuRoleSettings(_Section):
    name: str = "postgres"


class InitdbSettings(_Section):
    """Defaults for initdb; a manifest's own values win."""

    locale: str | None = None
    encoding: str | None = None
    data_checksums: bool | None = None


class PostgreSQLSettings(_Section):
    versions: tuple[PostgreSQLVersion, ...] = ()
    default_version: str | None = None
    datadir: str = "pgsql/{version}/{name}/data"
    waldir: str = "pgsql/{version}/{name}/wal"
    logpath: Path = Path("postgresql")
    socket_directory: Path = Path("postgresql")
    auth: AuthSettings = AuthSettings()
    surole: SuRoleSettings = SuRoleSettings()
    replrole: str = "replication"
    initdb: InitdbSettings = InitdbSettings()

    @field_validator("datadir", "waldir")
    @classmethod
    def _template(cls, value: str) -> str:
        if "{name}" not in value or "{version}" not in value:
            raise ValueError(f"{value!r} must contain both {{version}} and {{name}}")
        if ".." in Path(value).parts:
            raise ValueError(f"{value!r} must not contain '..'")
        return value

    @field_validator("default_version", mode="before")
    @classmethod
    def _default_major(cls, value: object) -> object:
        if value is None:
            return None
        text = str(value)
        if not text.isdigit() or not 9 < int(text) < 100:
            raise ValueError(f"invalid version {text!r}: write a major version such as '15'")
        return text

    @field_validator("default_version")
    @classmethod
    def _default_installed(cls, value: str | None, info: ValidationInfo) -> str | None:
        """Checked once, at load: a default that is not installed fails every later command."""
        if value is None:
            return None
        versions = info.data.get("versions")
        if versions is None:
            return value  # `versions` itself is invalid: that error is reported
        if not versions:
            from .binaries import discover

            versions = discover()
        known = sorted((v.version for v in versions), key=int)
        if value not in known:
            raise ValueError(
                f"PostgreSQL {value} is not installed (available: {', '.join(known) or 'none'}); "
                "pick an installed version or list it in postgresql.versions"
            )
        return value


def default_debian_root() -> Path:
    """postgresql-common's configuration root, found as its own tools find it.

    PgCommon.pm takes `PG_CLUSTER_CONF_ROOT` when it is true in Perl's sense (set,
    not empty and not "0"), else /etc/postgresql.
    """
    value = os.environ.get("PG_CLUSTER_CONF_ROOT")
    return Path(value) if value and value != "0" else Path("/etc/postgresql")


class DiscoverySettings(_Section):
    """Which servers besides ours the host-wide listing looks for."""

    #: postgresql-common's clusters (pg_createcluster), read from their files.
    debian: bool = True
    #: Running postmasters no known layout owns, from the process table (read-only).
    unmanaged: bool = True
    debian_conf_root: Path = Field(default_factory=default_debian_root)


class Settings(BaseSettings):
    """Where instances live and how they are made; every default works with no file."""

    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, env_nested_delimiter="__", extra="ignore")

    prefix: Path = Field(default_factory=default_prefix)
    run_prefix: Path = Field(default_factory=default_run_prefix)
    state_dir: Path = Field(default_factory=default_state_dir)
    #: How long an action waits for another one on the same instance to end.
    lock_timeout: float = Field(default=10.0, ge=0)
    postgresql: PostgreSQLSettings = PostgreSQLSettings()
    #: Thresholds of the health checks (`pglift-tui check`, the dashboard's health column).
    health: HealthSettings = HealthSettings()
    discovery: DiscoverySettings = Field(default_factory=DiscoverySettings)

    #: Keys of the site file this model does not handle (pglift's satellites, ...).
    ignored_keys: tuple[str, ...] = Field(default=(), exclude=True)
    #: The file these settings were read from, for error messages.
    source: Path | None = Field(default=None, exclude=True)

    TOP_LEVEL_ONLY: ClassVar[frozenset[str]] = frozenset({"ignored_keys", "source"})

    @model_validator(mode="after")
    def _socket_fits(self) -> Settings:
        sock = self.socket_directory / ".s.PGSQL.65535"
        if len(os.fsencode(sock)) > SOCKET_PATH_MAX:
            raise ValueError(
                f"run_prefix: socket path {sock} is longer than {SOCKET_PATH_MAX} bytes; "
                "choose a shorter run_prefix"
            )
        return self

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # Code, then environment, then the site file: as pglift does.
        file_settings = InitSettingsSource(settings_cls, init_kwargs=_file_data.get() or {})
        return init_settings, env_settings, file_settings

    @property
    def socket_directory(self) -> Path:
        return self.run_prefix / self.postgresql.socket_directory

    @property
    def logdir(self) -> Path:
        return self.prefix / "log" / self.postgresql.logpath

    @property
    def srvdir(self) -> Path:
        return self.prefix / "srv"

    @property
    def lockdir(self) -> Path:
        return self.run_prefix / "locks"

    @property
    def journal_file(self) -> Path:
        return self.state_dir / "journal.jsonl"

    @classmethod
    def default_file(cls) -> Path:
        """The site file: `PGLIFT_TUI_SETTINGS`, else the user's config directory."""
        env = os.environ.get(ENV_FILE)
        if env:
            return Path(env)
        return platformdirs.user_config_path(APP) / "settings.yaml"

    @classmethod
    def load(cls, path: Path | None = None) -> Settings:
        """Read the site file over the defaults; errors name the file and the field."""
        explicit = path is not None or bool(os.environ.get(ENV_FILE))
        path = path or cls.default_file()
        data = _read_yaml(path, required=explicit)
        ignored = tuple(_unknown_keys(cls, data))
        token = _file_data.set(data)
        try:
            settings = cls()
        except ValidationError as exc:
            raise ConfigurationError(
                _describe(exc, path), hint=f"fix {path} or the {ENV_PREFIX}* environment"
            ) from None
        finally:
            _file_data.reset(token)
        return settings.model_copy(update={"ignored_keys": ignored, "source": path})


def _read_yaml(path: Path, *, required: bool) -> dict[str, Any]:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        if required:
            raise ConfigurationError(
                f"settings file {path} does not exist",
                hint=f"create it or unset {ENV_FILE}",
            ) from None
        return {}
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigurationError(f"cannot read settings file {path}: {exc}") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ConfigurationError(
            f"settings file {path} is not valid YAML{yaml_error(exc)}",
            hint="fix the syntax (indentation, quotes, colons)",
        ) from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigurationError(
            f"settings file {path} must hold a mapping of keys, not a {type(data).__name__}"
        )
    return data


#: A quoted fragment in a YAML error: maybe a piece of a value (a password), so masked,
#: unless it is one escape or punctuation character ("found character '\\t'").
_YAML_QUOTED = re.compile(r"'([^']*)'|\"([^\"]*)\"")


def yaml_error(exc: yaml.YAMLError) -> str:
    """ " at line L, column C: what is wrong", never the text of the line (it may hold a secret).

    PyYAML's own str() quotes the offending line; only its position and problem are kept.
    """
    mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
    where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
    words = [w for w in (getattr(exc, "context", None), getattr(exc, "problem", None)) if w]

    def mask(match: re.Match[str]) -> str:
        fragment = match.group(1) if match.group(1) is not None else match.group(2)
        return match.group(0) if re.fullmatch(r"\\[a-z0-9]+|[^\w\s]", fragment) else "'…'"

    problem = _YAML_QUOTED.sub(mask, ", ".join(str(w) for w in words)) or type(exc).__name__
    return f"{where}: {problem}"


def _env_name(loc: tuple[int | str, ...]) -> str:
    return ENV_PREFIX + "__".join(str(part) for part in loc).upper()


def _describe(exc: ValidationError, path: Path) -> str:
    """Each problem with its field, and the variable it came from when one set it."""
    environ = {key.upper() for key in os.environ}
    problems, from_file = [], False
    for err in exc.errors():
        field = ".".join(str(part) for part in err["loc"]) or "(top level)"
        msg = err["msg"].removeprefix("Value error, ")
        variable = _env_name(err["loc"])
        if err["loc"] and variable in environ:
            problems.append(f"{field} (from {variable}): {msg}")
        else:
            from_file = True
            problems.append(f"{field}: {msg}")
    where = f" in {path}" if from_file else ""
    return f"invalid settings{where}: " + "; ".join(problems)


def _unknown_keys(model: type[BaseModel], data: object, where: str = "") -> list[str]:
    """Dotted paths of the keys in `data` that `model` does not declare."""
    if not isinstance(data, dict):
        return []
    found: list[str] = []
    for key, value in data.items():
        path = f"{where}{key}"
        field = model.model_fields.get(str(key))
        if field is None or (not where and key in Settings.TOP_LEVEL_ONLY):
            found.append(path)
            continue
        sub = field.annotation
        if isinstance(sub, type) and issubclass(sub, BaseModel):
            found.extend(_unknown_keys(sub, value, f"{path}."))
        elif key == "versions" and isinstance(value, list):
            for i, item in enumerate(value):
                found.extend(_unknown_keys(PostgreSQLVersion, item, f"{path}.{i}."))
    return found
