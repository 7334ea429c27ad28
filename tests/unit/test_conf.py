"""postgresql.conf: parsing as the server does, editing in place, quoting safely."""

from __future__ import annotations

from pathlib import Path

import pytest

from pglift_tui import conf
from pglift_tui.exceptions import ConfigurationError

SAMPLE = """\
# comment
#work_mem = 4MB                # commented out
port = 5433                     # (change requires restart)
listen_addresses='localhost'
shared_buffers 128MB
log_line_prefix = '%m [%p] it''s # not a comment'
work_mem = '1MB'
work_mem = 2MB  # the last one wins
"""


@pytest.fixture
def datadir(tmp_path: Path) -> Path:
    (tmp_path / "postgresql.conf").write_text(SAMPLE)
    return tmp_path


def test_read_follows_the_server_rules(datadir: Path) -> None:
    values = {name: entry.value for name, entry in conf.read(datadir).items()}
    assert values == {
        "port": "5433",
        "listen_addresses": "localhost",
        "shared_buffers": "128MB",
        "log_line_prefix": "%m [%p] it's # not a comment",
        "work_mem": "2MB",
    }
    assert conf.read(datadir)["work_mem"].lineno == 8


def test_line_numbers_count_every_line_first_and_last_included(tmp_path: Path) -> None:
    """Config's FILE:LINE points at the line: first line, after comments and blank
    lines, CRLF endings, a last line without its newline."""
    (tmp_path / "postgresql.conf").write_text(
        "port = 5433\r\n# a comment\r\n\r\n   # indented comment\n\twork_mem = 4MB\nmax_connections = 7",
        newline="",
    )
    found = {name: (entry.value, entry.lineno) for name, entry in conf.read(tmp_path).items()}
    assert found == {"port": ("5433", 1), "work_mem": ("4MB", 5), "max_connections": ("7", 6)}


def test_includes_and_auto_conf(datadir: Path) -> None:
    (datadir / "conf.d").mkdir()
    (datadir / "conf.d" / "10-x.conf").write_text("work_mem = '3MB'\n")
    (datadir / "extra.conf").write_text("port = 6000\n")
    with (datadir / "postgresql.conf").open("a") as f:
        f.write("include 'extra.conf'\ninclude_dir 'conf.d'\ninclude_if_exists 'missing.conf'\n")
    (datadir / "postgresql.auto.conf").write_text("shared_buffers = '256MB'\n")
    values = {name: entry.value for name, entry in conf.read(datadir).items()}
    assert (values["port"], values["work_mem"], values["shared_buffers"]) == ("6000", "3MB", "256MB")
    assert conf.configured_port(datadir) == 6000
    assert "port" in conf.main_file_values(datadir)


def test_configured_port_follows_file_changes(datadir: Path) -> None:
    assert conf.configured_port(datadir) == 5433
    conf.write_atomic(datadir / "postgresql.conf", "port = 5999\n")
    assert conf.configured_port(datadir) == 5999


def test_edit_in_place_keeps_comments_and_drops_duplicates() -> None:
    text = conf.edit(
        SAMPLE, {"work_mem": "8MB", "port": 5434, "statement_timeout": "5s", "shared_buffers": None}
    )
    lines = text.splitlines()
    assert "port = 5434                     # (change requires restart)"[:11] in lines[2]
    assert lines[2].endswith("# (change requires restart)")
    assert [line for line in lines if line.startswith("work_mem")] == [
        "work_mem = '8MB'  # the last one wins"
    ]
    assert "#work_mem = 4MB                # commented out" in lines
    assert not any(line.startswith("shared_buffers") for line in lines)
    assert lines[-1] == "statement_timeout = '5s'"


def test_edit_keeps_quotes_in_comments() -> None:
    text = conf.edit("log_line_prefix = '%m '  # keep 'this' one\n", {"log_line_prefix": "%t "})
    assert text == "log_line_prefix = '%t '  # keep 'this' one\n"


def test_render_quotes_safely() -> None:
    assert conf.render("it's \\ here") == "'it''s \\\\ here'"
    assert conf.render(True) == "on"
    assert conf.render(42) == "42"
    with pytest.raises(ConfigurationError, match="newline"):
        conf.render("a\nb")


def test_round_trip_of_a_rendered_value(tmp_path: Path) -> None:
    tricky = "a'b\\c # d"
    (tmp_path / "postgresql.conf").write_text(f"x.y = {conf.render(tricky)}\n")
    assert conf.read(tmp_path)["x.y"].value == tricky


def test_typed_and_normalized() -> None:
    assert [conf.typed(v) for v in ("on", "off", "42", "-1", "1.5", "8MB")] == [
        True,
        False,
        42,
        -1,
        1.5,
        "8MB",
    ]
    assert conf.normalized(True) == conf.normalized("on") == conf.normalized("true") == "on"
    assert conf.normalized(8) == "8"


def test_unterminated_quote_names_file_and_line(tmp_path: Path) -> None:
    (tmp_path / "postgresql.conf").write_text("port = 5432\nwork_mem = '4MB\n")
    with pytest.raises(ConfigurationError, match=r"postgresql.conf:2: unterminated"):
        conf.read(tmp_path)


def test_write_atomic_keeps_the_mode(tmp_path: Path) -> None:
    path = tmp_path / "f.conf"
    path.write_text("a = 1\n")
    path.chmod(0o640)
    conf.write_atomic(path, "a = 2\n")
    assert path.read_text() == "a = 2\n"
    assert path.stat().st_mode & 0o777 == 0o640
    assert [p.name for p in tmp_path.iterdir()] == ["f.conf"]


@pytest.mark.parametrize(
    ("text", "port"),
    [
        ("#port = 1\nport = 5433  # here\n", 5433),
        ("port=5434\n# report = 9\nsupport = 1\n", 5434),
        ("  Port 5435\n", 5435),
        ("port = 1\nport = '5436'\n", 5436),
        ("listen_addresses = 'x'\n", None),
    ],
)
def test_configured_port_scan(tmp_path: Path, text: str, port: int | None) -> None:
    (tmp_path / "postgresql.conf").write_text(text)
    assert conf.configured_port(tmp_path) == port


def test_configured_port_follows_includes(tmp_path: Path) -> None:
    (tmp_path / "extra.conf").write_text("port = 7000\n")
    (tmp_path / "postgresql.conf").write_text("port = 5432\ninclude_if_exists = 'extra.conf'\n")
    assert conf.configured_port(tmp_path) == 7000
    (tmp_path / "postgresql.auto.conf").write_text("port = 7001\n")
    assert conf.configured_port(tmp_path) == 7001
