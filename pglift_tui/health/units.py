"""Durations, sizes and percentages as operators write them in a settings file, and back.

Thresholds are read from YAML, where `5min`, `1GB` and `80%` are strings and `300`
is a number. The units are PostgreSQL's own (`ms`, `s`, `min`, `h`, `d`; `B`, `kB`,
`MB`, `GB`, `TB`, 1024-based), so a value reads the same here as in postgresql.conf;
case does not matter, and the long words (`minutes`) are accepted too. `m` is refused:
it means minutes to some and metres or months to others.
"""

from __future__ import annotations

import math
import re

_NUMBER = r"\d+(?:\.\d+)?|\.\d+"
_PIECE = re.compile(rf"\s*({_NUMBER})\s*([a-zA-Z%]*)\s*")

DURATIONS = {
    "us": 1e-6,
    "ms": 1e-3,
    "s": 1.0,
    "sec": 1.0,
    "second": 1.0,
    "seconds": 1.0,
    "min": 60.0,
    "mins": 60.0,
    "minute": 60.0,
    "minutes": 60.0,
    "h": 3600.0,
    "hour": 3600.0,
    "hours": 3600.0,
    "d": 86400.0,
    "day": 86400.0,
    "days": 86400.0,
}
SIZES = {
    "b": 1,
    "k": 1024,
    "kb": 1024,
    "kib": 1024,
    "m": 1024**2,
    "mb": 1024**2,
    "mib": 1024**2,
    "g": 1024**3,
    "gb": 1024**3,
    "gib": 1024**3,
    "t": 1024**4,
    "tb": 1024**4,
    "tib": 1024**4,
    "p": 1024**5,
    "pb": 1024**5,
    "pib": 1024**5,
}


def _number(value: object, what: str) -> float | None:
    """A plain number given as such (not a bool, which YAML makes of `yes`), or None."""
    if isinstance(value, bool):
        raise ValueError(f"{value!r} is not a {what}")
    if isinstance(value, int | float):
        if not math.isfinite(value):
            raise ValueError(f"{value!r} is not a {what}")
        if value < 0:
            raise ValueError(f"{value!r} is negative; a {what} is 0 or more")
        return float(value)
    if not isinstance(value, str):
        raise ValueError(f"{value!r} is not a {what}")
    return None


def _pieces(text: str, what: str, example: str) -> list[tuple[float, str]]:
    stripped = text.strip()
    if stripped.startswith("-"):
        raise ValueError(f"{text!r} is negative; a {what} is 0 or more")
    pieces: list[tuple[float, str]] = []
    pos = 0
    while pos < len(stripped):
        match = _PIECE.match(stripped, pos)
        if match is None or match.end() == pos:
            raise ValueError(f"{text!r} is not a {what}; write it like {example}")
        pieces.append((float(match[1]), match[2].lower()))
        pos = match.end()
    if not pieces:
        raise ValueError(f"an empty value is not a {what}; write it like {example}")
    return pieces


def parse_duration(value: object) -> float:
    """Seconds from `300`, `"300"`, `"5min"`, `"1h 30min"` or `"500ms"`."""
    number = _number(value, "duration")
    if number is not None:
        return number
    assert isinstance(value, str)
    total = 0.0
    for amount, unit in _pieces(value, "duration", "'30s', '5min' or '1h'"):
        if unit == "m":
            raise ValueError(f"{value!r}: 'm' is ambiguous; write 'min' for minutes")
        if unit and unit not in DURATIONS:
            raise ValueError(
                f"{value!r}: unknown unit {unit!r}; use ms, s, min, h or d (as in postgresql.conf)"
            )
        total += amount * DURATIONS[unit or "s"]
    return total


def parse_size(value: object) -> int:
    """Bytes from `1048576`, `"1MB"`, `"512 kB"` or `"1.5GB"` (1024-based, as PostgreSQL)."""
    number = _number(value, "size")
    if number is not None:
        return int(number)
    assert isinstance(value, str)
    pieces = _pieces(value, "size", "'512MB' or '1GB'")
    if len(pieces) > 1:
        raise ValueError(f"{value!r}: give one size with one unit, like '1536MB'")
    amount, unit = pieces[0]
    if unit and unit not in SIZES:
        raise ValueError(f"{value!r}: unknown unit {unit!r}; use B, kB, MB, GB or TB")
    return int(amount * SIZES[unit or "b"])


def parse_percent(value: object) -> float:
    """A percentage from `80`, `"80"` or `"80%"`, from 0 to 100."""
    number = _number(value, "percentage")
    if number is None:
        assert isinstance(value, str)
        pieces = _pieces(value, "percentage", "'80%'")
        if len(pieces) > 1 or pieces[0][1] not in ("", "%"):
            raise ValueError(f"{value!r} is not a percentage; write it like '80%'")
        number = pieces[0][0]
    if number > 100:
        raise ValueError(f"{value!r} is above 100%")
    return number


def parse_count(value: object) -> int:
    """A number of events from `1` or `"1"`: at least 1 (0 would always be reached)."""
    number = _number(value, "count")
    if number is None:
        assert isinstance(value, str)
        if not value.strip().isdigit():
            raise ValueError(f"{value!r} is not a count; write a whole number like 10")
        number = float(value.strip())
    if number != int(number):
        raise ValueError(f"{value!r} is not a whole number")
    if number < 1:
        raise ValueError(f"{value!r}: a count threshold of 0 is always reached; use enabled: false instead")
    return int(number)


def format_duration(seconds: float) -> str:
    """`"45 s"`, `"6 min 3 s"`, `"2 h 5 min"`, `"3 d 4 h"`: two units at most."""
    if seconds < 10:
        return f"{seconds:.1f} s".replace(".0 s", " s")
    whole = round(seconds)
    steps = ((86400, "d"), (3600, "h"), (60, "min"), (1, "s"))
    for i, (size, unit) in enumerate(steps):
        if whole >= size:
            first, rest = divmod(whole, size)
            text = f"{first} {unit}"
            if i + 1 < len(steps):
                smaller, small_unit = steps[i + 1]
                if rest // smaller:
                    text += f" {rest // smaller} {small_unit}"
            return text
    return "0 s"


def format_size(size: float) -> str:
    """`"512 B"`, `"16 MB"`, `"1.2 GB"`: 1024-based, PostgreSQL's unit names."""
    value = float(size)
    for unit in ("B", "kB", "MB", "GB", "TB"):
        if abs(value) < 1024 or unit == "TB":
            if unit == "B" or value >= 100 or value == int(value):
                return f"{value:.0f} {unit}"
            return f"{value:.1f} {unit}"
        value /= 1024
    raise AssertionError("unreachable")


def format_percent(value: float) -> str:
    if value == int(value) or value >= 10:
        return f"{value:.0f}%"
    return f"{value:.2g}%" if value < 1 else f"{value:.1f}%"
