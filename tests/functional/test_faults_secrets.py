"""Faults: secrets that try to escape (as SQL, in a conninfo, in an error, in a file's mode)."""

from __future__ import annotations

import stat
from pathlib import Path
from typing import Any

import psycopg
import pytest
from pydantic import ValidationError

from pglift_tui import replication
from pglift_tui.models import interface

from ..conftest import MakeInstance
from .faults import cli
from .pg import query, wait_for


def _payload(marker: Path) -> str:
    """A password that ends the statement in single-user mode, then runs a program.

    Dollar quotes, since a literal's quotes are doubled; a quote too, for initdb's own
    ALTER USER, which it sends in single-user mode as well.
    """
    return f"x';\n\nCOPY (SELECT 1) TO PROGRAM $$touch {marker}$$;\n\n"


def _holding(root: Path, secret: str) -> list[Path]:
    return [p for p in root.rglob("*") if p.is_file() and secret.encode() in p.read_bytes()]


async def _tcp_login(instance: Any, user: str, password: str) -> str:
    async with await psycopg.AsyncConnection.connect(
        host="127.0.0.1", port=instance.port, user=user, dbname="postgres", password=password
    ) as cnx:
        cur = await cnx.execute("SELECT current_user")
        row = await cur.fetchone()
        assert row is not None
        return str(row[0])


async def test_role_passwords_are_never_run_as_sql(
    settings: Any, short_tmp: Path, make_instance: MakeInstance
) -> None:
    marker = short_tmp / "pwned"
    secret = _payload(marker)
    try:
        instance = await make_instance(surole_password=secret, replrole_password=secret)
    finally:
        assert not marker.exists(), "the password ran as SQL"
    # Each role got exactly that password, stored as a SCRAM verifier only.
    assert await _tcp_login(instance, "postgres", secret) == "postgres"
    assert await _tcp_login(instance, "replication", secret) == "replication"
    rows = await query(
        instance, "SELECT rolname, rolpassword FROM pg_authid WHERE rolpassword IS NOT NULL ORDER BY 1"
    )
    assert [r["rolname"] for r in rows] == ["postgres", "replication"]
    assert all(r["rolpassword"].startswith("SCRAM-SHA-256$4096:") for r in rows)
    for root in (settings.prefix, settings.run_prefix, settings.state_dir):
        assert _holding(Path(root), secret) == [], root


async def test_a_standby_password_with_separators_streams_and_stays_private(
    settings: Any, make_instance: MakeInstance
) -> None:
    secret = "we:ird\\pa;ss'wo\"rd *:*"
    primary = await make_instance("prim", replrole_password=secret)
    standby = await make_instance(
        "stby",
        standby={
            "primary_conninfo": f"host=127.0.0.1 port={primary.port} user=replication",
            "password": secret,
        },
    )

    async def streaming() -> bool:
        rows = await query(primary, "SELECT count(*) AS n FROM pg_stat_replication WHERE state = 'streaming'")
        return bool(rows[0]["n"] == 1)

    await wait_for(streaming, what="the standby to stream")
    for path in replication.records_dir(settings).iterdir():
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path
    passfile = replication.passfile_path(settings, standby.qualname)
    assert _holding(Path(settings.state_dir), secret) == []  # escaped in the passfile, never in clear
    assert replication.read_passfile(replication.load(settings, standby.qualname)) == secret  # type: ignore[arg-type]
    assert passfile.exists()
    for root in (settings.prefix, settings.run_prefix):
        assert _holding(Path(root), secret) == [], root


@pytest.mark.parametrize(
    "conninfo",
    [
        "host=h user=u password=s3cret",
        "host=h user=u password='s3 cret'",
        "host = h  password = s3cret",
        "postgresql://u@h/db?password=s3cret",
        "postgresql://u@h/db?sslmode=disable&password=s3cret",
        "postgresql://u:s3cret@h/db",
        "postgres://u:s3cret@h:5432",
        "postgresql://u@h/db?pass%77ord=s3cret",
        "postgresql://u@h/db?%70assword=s3cret",
    ],
)
def test_a_password_in_primary_conninfo_is_refused_in_every_form(conninfo: str) -> None:
    with pytest.raises(ValidationError, match="must not hold a password") as info:
        interface.Standby(primary_conninfo=conninfo)
    assert "s3cret" not in str(info.value)


@pytest.mark.parametrize(
    ("conninfo", "words"),
    [
        ("host=h s3cret", 'missing "=" after "…"'),
        ("postgresql://u:s3%zzcret@h", "invalid percent-encoded token"),
        ("host='s3cret", "unterminated quoted string"),
    ],
)
def test_a_conninfo_that_does_not_parse_is_refused_with_the_parsers_words(conninfo: str, words: str) -> None:
    with pytest.raises(ValidationError, match="primary_conninfo does not parse") as info:
        interface.Standby(primary_conninfo=conninfo)
    assert words in str(info.value)
    assert "s3" not in str(info.value).split("does not parse", 1)[1]


@pytest.mark.parametrize(
    ("fields", "words"),
    [
        ({"surole_password": ""}, "empty password"),
        ({"replrole_password": "a\0b"}, "NUL"),
        ({"standby": {"primary_conninfo": "host=h", "password": "line\nbreak"}}, "line break"),
        ({"standby": {"primary_conninfo": "host=h", "password": "cr\r"}}, "line break"),
    ],
)
def test_passwords_that_cannot_be_kept_safely_are_refused(fields: dict[str, Any], words: str) -> None:
    with pytest.raises(ValidationError, match=words):
        interface.Instance.model_validate({"name": "x", **fields})


@pytest.mark.parametrize(
    "text",
    [
        'name: main\nsurole_password: "s3cret-in-line\nport: 5433\n',
        "name: main\nsurole_password: !s3cret-tag\n",
        "name: main\n  surole_password: s3cret: nested\n",
        "name: main\nsurole_password: [s3cret\n",
    ],
    ids=["unterminated-quote", "tag", "bad-indent", "unclosed-flow"],
)
def test_a_yaml_error_names_the_place_never_the_line(settings: Any, short_tmp: Path, text: str) -> None:
    manifest = short_tmp / "m.yaml"
    manifest.write_text(text)
    done = cli(settings, "apply", "-f", str(manifest))
    assert done.returncode == 2, done.stderr
    assert f"manifest {manifest} is not valid YAML at line" in done.stderr
    assert "column" in done.stderr
    assert "s3cret" not in done.stderr
    piped = cli(settings, "apply", "-f", "-", stdin=text)
    assert piped.returncode == 2 and "s3cret" not in piped.stderr and "stdin" in piped.stderr


def test_a_yaml_error_in_the_settings_file_never_shows_the_line(short_tmp: Path) -> None:
    import os
    import subprocess
    import sys

    site = short_tmp / "settings.yaml"
    for text in ('prefix: "/srv/s3cret\nrun_prefix: /x\n', "prefix: !s3cret\n", "a:\n  b: s3cret: c\n"):
        site.write_text(text)
        env = {**os.environ, "PGLIFT_TUI_SETTINGS": str(site)}
        done = subprocess.run(
            [sys.executable, "-m", "pglift_tui", "ls"], env=env, capture_output=True, text=True, check=False
        )
        assert done.returncode == 2, done.stderr
        assert f"settings file {site} is not valid YAML at line" in done.stderr
        assert "s3cret" not in done.stderr
