"""What exists on disk: instances as directories laid out by the settings' templates.

`BaseInstance` is a place (it may not exist yet); `PostgreSQLInstance` is a data
directory that holds a cluster; `Instance` is what operations act on. Every path is
checked to stay under the template's root once symlinks are resolved.
"""

from __future__ import annotations

import glob
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Self

from .. import binaries, conf, names
from ..exceptions import ConfigurationError, InstanceNotFound, InvalidName, InvalidVersion
from ..settings import Settings
from ..status import PostmasterStatus, status


def template_root(settings: Settings, template: str) -> Path:
    """The fixed part of a template, before its first placeholder."""
    base = Path(template.split("{", 1)[0])
    return base if base.is_absolute() else settings.srvdir / base


def template_path(settings: Settings, template: str, version: str, name: str) -> Path:
    """A datadir or waldir template filled in, refused if it resolves outside its root."""
    raw = Path(template.format(version=version, name=name))
    path = raw if raw.is_absolute() else settings.srvdir / raw
    root = os.path.realpath(template_root(settings, template))
    resolved = os.path.realpath(path)
    if os.path.commonpath([root, resolved]) != root:
        raise InvalidName(
            f"instance {version}/{name}: {path} resolves to {resolved}, outside {root}",
            hint="remove the symbolic link that leads out of the instances directory",
        )
    return path


def template_regex(settings: Settings, template: str) -> re.Pattern[str]:
    """A pattern matching filled-in `template` paths, capturing version and name."""
    path = str(template_path_glob(settings, template))
    parts = re.split(r"(\*)", re.escape(path.replace("*", "\0")).replace("\0", "*"))
    order = re.findall(r"\{(version|name)\}", template)
    it = iter(order)
    regex = "".join(f"(?P<{next(it)}>[^/]+)" if part == "*" else part.replace("\\*", "*") for part in parts)
    return re.compile(regex + r"\Z")


def template_path_glob(settings: Settings, template: str) -> Path:
    raw = Path(template.format(version="*", name="*"))
    return raw if raw.is_absolute() else settings.srvdir / raw


def find_datadirs(settings: Settings) -> list[tuple[str, str, str]]:
    """(version, name, datadir) of every data directory the template can produce.

    Paths stay strings here: `ls` runs this at every refresh of the dashboard, and
    pathlib objects cost more than the system calls behind them.
    """
    pattern = template_path_glob(settings, settings.postgresql.datadir)
    regex = template_regex(settings, settings.postgresql.datadir)
    found = []
    for path in sorted(glob.glob(glob.escape(str(pattern)).replace("[*]", "*"))):
        match = regex.match(path)
        if match is None or not names.NAME_RE.fullmatch(match["name"]):
            continue
        if match["version"].isdigit() and os.path.isfile(path + "/PG_VERSION"):
            found.append((match["version"], match["name"], path))
    return found


@dataclass(frozen=True)
class BaseInstance:
    """An instance's place on disk, whether or not it exists yet."""

    name: str
    version: str
    settings: Settings = field(compare=False, repr=False, hash=False)

    def __post_init__(self) -> None:
        try:
            names.check_name(self.name)
        except ValueError as exc:
            raise InvalidName(str(exc), hint="pick another name") from None
        if not self.version.isdigit():
            raise InvalidVersion(
                f"invalid version {self.version!r}", hint="give a major version such as '15'"
            )

    @classmethod
    def get(cls, name: str, version: str | None, settings: Settings) -> Self:
        """The place of `name` for `version` (default: the settings' default version)."""
        if version is None:
            version = binaries.default_version(settings)
        else:
            binaries.check_version(settings, version)
        return cls(name, version, settings)

    def __str__(self) -> str:
        return f"{self.version}/{self.name}"

    @property
    def qualname(self) -> str:
        return f"{self.version}-{self.name}"

    @property
    def datadir(self) -> Path:
        return template_path(self.settings, self.settings.postgresql.datadir, self.version, self.name)

    @property
    def waldir(self) -> Path:
        return template_path(self.settings, self.settings.postgresql.waldir, self.version, self.name)

    @property
    def bindir(self) -> Path:
        return binaries.bindir(self.settings, self.version)

    @property
    def logdir(self) -> Path:
        return self.settings.logdir

    @property
    def startup_log(self) -> Path:
        """Where the server's stderr goes before its logging collector takes over."""
        return self.logdir / f"{self.qualname}-start.log"

    def log_files(self) -> list[Path]:
        """This instance's server logs: `{qualname}-start.log` and the collector's dated files.

        An exact pattern, not `{qualname}-*`: the logs of `15/main-foo` are not `15/main`'s.
        """
        pattern = re.compile(re.escape(self.qualname) + r"-(start|\d{4}-\d{2}-\d{2}_\d{6})\.log")
        try:
            names = os.listdir(self.logdir)
        except OSError:
            return []
        return sorted(self.logdir / name for name in names if pattern.fullmatch(name))

    def exists(self) -> bool:
        return (self.datadir / "PG_VERSION").is_file()


@dataclass(frozen=True)
class PostgreSQLInstance(BaseInstance):
    """A data directory holding a PostgreSQL cluster."""

    @classmethod
    def system_lookup(cls, name: str, version: str | None, settings: Settings) -> Self:
        """The existing instance `name` (of `version`, or the only one of that name)."""
        try:
            names.check_name(name)
        except ValueError as exc:
            raise InvalidName(str(exc)) from None
        if version is None:
            versions = sorted({v for v, n, _ in find_datadirs(settings) if n == name}, key=int)
            if len(versions) > 1:
                raise InstanceNotFound(
                    f"instance {name!r} exists in versions {', '.join(versions)}",
                    hint="give the version too",
                )
            if not versions:
                raise InstanceNotFound(f"instance {name!r} not found", hint="list instances with ls")
            version = versions[0]
        instance = cls(name, version, settings)
        try:
            on_disk = (instance.datadir / "PG_VERSION").read_text().strip()
        except OSError:
            raise InstanceNotFound(
                f"instance {version}/{name} not found in {instance.datadir}",
                hint="list instances with ls",
            ) from None
        if on_disk != version:
            raise ConfigurationError(
                f"instance {version}/{name}: {instance.datadir} holds a PostgreSQL {on_disk} cluster"
            )
        return instance

    @property
    def port(self) -> int:
        """The configured port; the server default 5432 when none is set."""
        return conf.configured_port(self.datadir) or names.DEFAULT_PORT

    def status(self) -> PostmasterStatus:
        return status(self.datadir)

    @property
    def standby_signal(self) -> Path:
        return self.datadir / "standby.signal"

    @property
    def socket_directory(self) -> str | None:
        """The configured socket directory, as pglift's model has it (a property).

        The first entry of `unix_socket_directories` that is a path (entries starting
        with '@' are Linux abstract sockets); None when the setting is not there.
        """
        entry = conf.read(self.datadir).get("unix_socket_directories")
        if entry is None:
            return None
        for part in entry.value.split(","):
            directory = part.strip()
            if directory and not directory.startswith("@"):
                return directory
        return None

    def live_socket_directory(self, st: PostmasterStatus | None = None) -> Path:
        """Where to find the server's socket now: its pid file says, else its configuration.

        `st` is the status the caller already read, to spare reading the pid file again.
        Without either, the settings' socket directory, where we make our instances'.
        """
        st = st or self.status()
        if st.pidfile is not None and st.pidfile.socket_dir and st.status == "running":
            return Path(st.pidfile.socket_dir)
        configured = self.socket_directory
        return Path(configured) if configured else self.settings.socket_directory


@dataclass(frozen=True)
class Instance(PostgreSQLInstance):
    """The system instance operations act on."""

    @property
    def postgresql(self) -> PostgreSQLInstance:
        """pglift's `instance.postgresql`: here the instance is its own cluster."""
        return self
