"""Which PostgreSQL versions are installed, and where their programs are.

Configured versions are taken as written; otherwise the usual package locations and
`pg_config` on PATH are searched, and the major version is read from the binaries
themselves (a directory name can lie, `postgres --version` does not).
"""

from __future__ import annotations

import functools
import glob
import re
import shutil
import subprocess
from pathlib import Path

from .exceptions import InvalidVersion
from .settings import PostgreSQLVersion, Settings

#: Programs every operation may need; looked for in a version's bindir.
REQUIRED = ("postgres", "initdb", "pg_ctl")
_PATTERNS = ("/usr/lib/postgresql/*/bin", "/usr/pgsql-*/bin")
_VERSION_RE = re.compile(r"\(PostgreSQL\) (\d+)(?:\.\d+)?")


def major_of(bindir: Path) -> str | None:
    """The major version of the server in `bindir`, or None if there is none."""
    postgres = bindir / "postgres"
    if not postgres.is_file():
        return None
    try:
        out = subprocess.run(
            [str(postgres), "--version"], capture_output=True, text=True, timeout=10, check=True
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    match = _VERSION_RE.search(out)
    return match.group(1) if match else None


@functools.cache
def discover() -> tuple[PostgreSQLVersion, ...]:
    """Installed versions, newest first; cached for the life of the process."""
    candidates: list[Path] = []
    for pattern in _PATTERNS:
        candidates.extend(Path(p) for p in sorted(glob.glob(pattern)))
    pg_config = shutil.which("pg_config")
    if pg_config:
        try:
            out = subprocess.run(
                [pg_config, "--bindir"], capture_output=True, text=True, timeout=10, check=True
            ).stdout.strip()
        except (OSError, subprocess.SubprocessError):
            out = ""
        if out:
            candidates.append(Path(out))
    found: dict[str, PostgreSQLVersion] = {}
    for bindir in candidates:
        major = major_of(bindir)
        if major and major not in found:
            found[major] = PostgreSQLVersion(version=major, bindir=bindir)
    return tuple(sorted(found.values(), key=lambda v: int(v.version), reverse=True))


def available(settings: Settings) -> tuple[PostgreSQLVersion, ...]:
    """Configured versions if any, else discovered ones; newest first."""
    configured = settings.postgresql.versions
    if configured:
        return tuple(sorted(configured, key=lambda v: int(v.version), reverse=True))
    return discover()


def default_version(settings: Settings) -> str:
    versions = available(settings)
    wanted = settings.postgresql.default_version
    if wanted is not None:
        return check_version(settings, wanted)
    if not versions:
        raise InvalidVersion(
            "no PostgreSQL installation found (looked in "
            + ", ".join(_PATTERNS)
            + " and for pg_config on PATH)",
            hint="install PostgreSQL server packages or list them in postgresql.versions",
        )
    return versions[0].version


def bindir(settings: Settings, version: str) -> Path:
    """The bin directory of `version`, checked to hold the programs we run."""
    versions = available(settings)
    for v in versions:
        if v.version == version:
            missing = [p for p in REQUIRED if not (v.bindir / p).is_file()]
            if missing:
                raise InvalidVersion(
                    f"PostgreSQL {version} in {v.bindir} lacks {', '.join(missing)}",
                    hint="install the server package of that version",
                )
            return v.bindir
    known = ", ".join(v.version for v in versions) or "none"
    raise InvalidVersion(
        f"PostgreSQL {version} is not installed (available: {known})",
        hint="install it, list it in postgresql.versions, or pick an available version",
    )


def check_version(settings: Settings, version: str) -> str:
    """`version` if it is installed; InvalidVersion naming the installed ones if not."""
    bindir(settings, version)
    return version
