"""Settings: defaults with no file, the site file, and errors naming file and field."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from pydantic import ValidationError

from pglift_tui import binaries
from pglift_tui.exceptions import ConfigurationError
from pglift_tui.settings import Settings


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    for var in (
        "XDG_DATA_HOME",
        "XDG_CONFIG_HOME",
        "XDG_STATE_HOME",
        "XDG_RUNTIME_DIR",
        "PGLIFT_TUI_SETTINGS",
    ):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    return tmp_path


def test_defaults_work_with_no_file(home: Path) -> None:
    settings = Settings.load()
    assert settings.prefix == home / ".local/share/pglift-tui"
    assert settings.state_dir == home / ".local/state/pglift-tui"
    assert settings.source == home / ".config/pglift-tui/settings.yaml"
    run = str(settings.run_prefix)
    assert run.startswith((f"/run/user/{os.getuid()}/", f"/tmp/pglift-tui-{os.getuid()}"))
    assert settings.postgresql.auth.local == "peer"
    assert settings.postgresql.auth.host == "scram-sha-256"
    assert settings.socket_directory == settings.run_prefix / "postgresql"
    assert settings.logdir == settings.prefix / "log/postgresql"


def test_runtime_dir_is_used_when_there_is_one(
    home: Path, monkeypatch: pytest.MonkeyPatch, short_tmp: Path
) -> None:
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(short_tmp))
    assert Settings().run_prefix == short_tmp / "pglift-tui"


def test_site_file_from_environment(home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    site = home / "site.yaml"
    site.write_text("prefix: /srv/pg\npostgresql:\n  surole:\n    name: admin\n")
    monkeypatch.setenv("PGLIFT_TUI_SETTINGS", str(site))
    settings = Settings.load()
    assert settings.prefix == Path("/srv/pg")
    assert settings.postgresql.surole.name == "admin"
    assert settings.source == site


def test_environment_overrides_the_file(home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    site = home / "site.yaml"
    site.write_text("prefix: /srv/pg\n")
    monkeypatch.setenv("PGLIFT_TUI_PREFIX", "/srv/other")
    assert Settings.load(site).prefix == Path("/srv/other")


def test_missing_explicit_file(home: Path) -> None:
    with pytest.raises(ConfigurationError, match=r"nowhere\.yaml does not exist"):
        Settings.load(home / "nowhere.yaml")


def test_malformed_yaml_names_file_and_line(home: Path) -> None:
    site = home / "site.yaml"
    site.write_text("prefix: /srv\npostgresql:\n  auth: [unclosed\n")
    with pytest.raises(ConfigurationError, match=rf"{site} is not valid YAML at line \d+"):
        Settings.load(site)


@pytest.mark.parametrize(
    ("text", "field", "words"),
    [
        ("postgresql:\n  auth:\n    local: trust\n", "postgresql.auth.local", "trust"),
        ("postgresql:\n  auth:\n    host: peer\n", "postgresql.auth.host", "scram-sha-256"),
        (
            "postgresql:\n  versions:\n    - {version: '15', bindir: /nowhere}\n",
            "postgresql.versions.0.bindir",
            "no 'postgres'",
        ),
        (
            "postgresql:\n  versions:\n    - {version: fifteen, bindir: /usr}\n",
            "postgresql.versions.0.version",
            "major",
        ),
        ("postgresql:\n  datadir: pgsql/{name}\n", "postgresql.datadir", "{version}"),
        ("postgresql:\n  datadir: ../{version}/{name}\n", "postgresql.datadir", ".."),
        ("lock_timeout: -1\n", "lock_timeout", "greater than or equal"),
        ("run_prefix: /" + "x" * 100 + "\n", "run_prefix", "longer than 107"),
    ],
)
def test_invalid_field_names_file_and_field(home: Path, text: str, field: str, words: str) -> None:
    site = home / "site.yaml"
    site.write_text(text)
    with pytest.raises(ConfigurationError) as excinfo:
        Settings.load(site)
    message = str(excinfo.value)
    assert str(site) in message
    assert field in message
    assert words in message


def test_not_a_mapping(home: Path) -> None:
    site = home / "site.yaml"
    site.write_text("- a\n- b\n")
    with pytest.raises(ConfigurationError, match="must hold a mapping"):
        Settings.load(site)


def test_keys_we_do_not_handle_are_reported(home: Path) -> None:
    site = home / "site.yaml"
    site.write_text("pgbackrest: {}\npostgresql:\n  backuprole: {name: b}\n  auth: {hostssl: trust}\n")
    assert Settings.load(site).ignored_keys == (
        "pgbackrest",
        "postgresql.backuprole",
        "postgresql.auth.hostssl",
    )


def test_binaries_are_discovered_with_the_version_read_from_them() -> None:
    found = {v.version: v.bindir for v in binaries.discover()}
    assert found["15"] == Path("/usr/lib/postgresql/15/bin")
    assert binaries.major_of(Path("/usr/lib/postgresql/15/bin")) == "15"


def test_default_version_is_the_newest_or_the_configured_one(tmp_path: Path) -> None:
    settings = Settings(postgresql={"versions": [{"version": "15", "bindir": "/usr/lib/postgresql/15/bin"}]})
    assert binaries.default_version(settings) == "15"
    # A default that is not installed is refused when the settings are made, not at first use.
    with pytest.raises(ValidationError, match=r"default_version\n.*PostgreSQL 16 is not installed .*: 15"):
        Settings(
            postgresql={
                "versions": [{"version": "15", "bindir": "/usr/lib/postgresql/15/bin"}],
                "default_version": "16",
            }
        )
