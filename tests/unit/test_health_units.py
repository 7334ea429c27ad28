"""Units of the health thresholds and the `health:` settings section."""

from __future__ import annotations

from pathlib import Path

import pytest

from pglift_tui.exceptions import ConfigurationError
from pglift_tui.health import HealthSettings
from pglift_tui.health.units import (
    format_duration,
    format_percent,
    format_size,
    parse_count,
    parse_duration,
    parse_percent,
    parse_size,
)
from pglift_tui.settings import Settings


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        (300, 300.0),
        (1.5, 1.5),
        ("300", 300.0),
        ("30s", 30.0),
        ("5min", 300.0),
        ("5 min", 300.0),
        ("5MIN", 300.0),
        ("1h30min", 5400.0),
        ("1h 30min 10s", 5410.0),
        ("500ms", 0.5),
        ("2d", 172800.0),
        ("1.5h", 5400.0),
        ("2 minutes", 120.0),
        ("0", 0.0),
    ],
)
def test_durations(text: object, seconds: float) -> None:
    assert parse_duration(text) == pytest.approx(seconds)


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("5m", "'m' is ambiguous; write 'min' for minutes"),
        ("5 parsecs", "unknown unit 'parsecs'; use ms, s, min, h or d"),
        ("-5s", "is negative"),
        (-1, "is negative"),
        ("", "an empty value is not a duration"),
        ("soon", "is not a duration; write it like '30s'"),
        (True, "is not a duration"),
        (float("inf"), "is not a duration"),
        ([5], "is not a duration"),
    ],
)
def test_bad_durations(text: object, words: str) -> None:
    with pytest.raises(ValueError, match=words.replace("(", r"\(")):
        parse_duration(text)


@pytest.mark.parametrize(
    ("text", "size"),
    [
        (1024, 1024),
        ("1024", 1024),
        ("1kB", 1024),
        ("1KB", 1024),
        ("16MB", 16 * 1024**2),
        ("1 GB", 1024**3),
        ("1.5GB", 3 * 1024**3 // 2),
        ("2TB", 2 * 1024**4),
        ("10B", 10),
        ("512MiB", 512 * 1024**2),
    ],
)
def test_sizes(text: object, size: int) -> None:
    assert parse_size(text) == size


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("1 GB 2 MB", "give one size with one unit"),
        ("3 parsecs", "unknown unit 'parsecs'"),
        ("-1GB", "negative"),
    ],
)
def test_bad_sizes(text: str, words: str) -> None:
    with pytest.raises(ValueError, match=words):
        parse_size(text)


def test_percentages_and_counts() -> None:
    assert [parse_percent(v) for v in (80, "80", "80%", "80 %", "12.5%", 0)] == [80, 80, 80, 80, 12.5, 0]
    for bad, words in (("101%", "above 100%"), ("80s", "not a percentage"), (-1, "negative")):
        with pytest.raises(ValueError, match=words):
            parse_percent(bad)
    assert [parse_count(v) for v in (1, "10", 3.0)] == [1, 10, 3]
    for bad, words in (
        (0, "always reached; use enabled: false"),
        (1.5, "whole number"),
        ("x", "not a count"),
    ):
        with pytest.raises(ValueError, match=words):
            parse_count(bad)


def test_values_in_words() -> None:
    assert [format_duration(s) for s in (0, 0.5, 9.96, 42, 363, 7500, 280000)] == [
        "0 s", "0.5 s", "10 s", "42 s", "6 min 3 s", "2 h 5 min", "3 d 5 h",
    ]  # fmt: skip
    assert [format_size(b) for b in (0, 512, 1024, 16 * 1024**2, 1.25 * 1024**3, 5 * 1024**5)] == [
        "0 B", "512 B", "1 kB", "16 MB", "1.2 GB", "5120 TB",
    ]  # fmt: skip
    assert [format_percent(p) for p in (80, 43.3, 4.25, 0.5, 0.000123)] == [
        "80%",
        "43%",
        "4.2%",
        "0.5%",
        "0.00012%",
    ]


def test_defaults_and_an_entry_given_in_part() -> None:
    health = HealthSettings()
    assert (health.long_query.warning, health.long_query.critical) == (300, 1800)
    assert (health.disk_space.warning, health.disk_space.critical) == (10, 5)
    assert health.replication_lag.unit == "s" and health.timeout == 2
    # Keys not given keep their defaults; null means never at that level.
    health = HealthSettings.model_validate(
        {
            "long_query": {"warning": "1min"},
            "connections": {"critical": None},
            "log_errors": {"enabled": False},
        }
    )
    assert (health.long_query.warning, health.long_query.critical) == (60, 1800)
    assert (health.connections.warning, health.connections.critical) == (80, None)
    assert not health.log_errors.enabled and health.log_errors.window == 300


def test_replication_lag_as_a_duration_or_a_size() -> None:
    as_size = HealthSettings.model_validate({"replication_lag": {"warning": "64MB", "critical": "1GB"}})
    assert as_size.replication_lag.unit == "B"
    assert (as_size.replication_lag.warning, as_size.replication_lag.critical) == (64 * 1024**2, 1024**3)
    as_time = HealthSettings.model_validate({"replication_lag": {"warning": 30, "critical": "2min"}})
    assert as_time.replication_lag.unit == "s" and as_time.replication_lag.critical == 120
    with pytest.raises(ValueError, match="warning is a size but critical is a duration"):
        HealthSettings.model_validate({"replication_lag": {"warning": "64MB"}})


def test_severity_at_or_beyond_a_level() -> None:
    health = HealthSettings()
    assert [health.long_query.severity(s) for s in (299, 300, 1799, 1800)] == [
        None,
        "warning",
        "warning",
        "critical",
    ]
    # Free space: the lower, the worse.
    levels = [health.disk_space.severity(p) for p in (50, 10, 6, 5, 0)]
    assert levels == [None, "warning", "warning", "critical", "critical"]


@pytest.mark.parametrize(
    ("health", "words"),
    [
        ({"long_query": {"warning": "1h"}}, "health.long_query: warning (1 h) is above critical (30 min)"),
        ({"disk_space": {"warning": "2%"}}, "health.disk_space: warning (2%) is below critical (5%)"),
        ({"blocked": {"warning": "5 parsecs"}}, "health.blocked.warning: '5 parsecs': unknown unit"),
        ({"connections": {"critical": -3}}, "health.connections.critical: -3 is negative"),
        ({"log_errors": {"warnig": 3}}, "health.log_errors.warnig: Extra inputs are not permitted"),
        ({"timeout": 0}, "health.timeout: Input should be greater than 0"),
        ({"down": {"warning": 1}}, "health.down.warning: Extra inputs are not permitted"),
    ],
)
def test_a_bad_threshold_names_file_and_field(tmp_path: Path, health: dict[str, object], words: str) -> None:
    import yaml

    site = tmp_path / "settings.yaml"
    site.write_text(yaml.safe_dump({"health": health}))
    with pytest.raises(ConfigurationError) as excinfo:
        Settings.load(site)
    assert excinfo.value.message.startswith(f"invalid settings in {site}: ")
    assert words in excinfo.value.message
    assert excinfo.value.hint == f"fix {site} or the PGLIFT_TUI_* environment"


def test_the_environment_sets_one_threshold(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    site = tmp_path / "settings.yaml"
    site.write_text("health:\n  long_query: {warning: 2min}\n")
    monkeypatch.setenv("PGLIFT_TUI_HEALTH__LONG_QUERY__CRITICAL", "1h")
    health = Settings.load(site).health
    assert (health.long_query.warning, health.long_query.critical) == (120, 3600)
