"""A new value for a parameter, checked against the server's own pg_settings row.

The edit form says what is wrong as the operator types (type, unit, enum values,
bounds) rather than after a reload; `configure` then has the server check the
whole file again (`postgres -C`) before anything is written.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

#: Multipliers to the smallest unit of each kind, as postgresql.conf accepts them.
MEMORY = {"B": 1, "kB": 1024, "MB": 1024**2, "GB": 1024**3, "TB": 1024**4}
TIME = {"us": 1, "ms": 1000, "s": 1000**2, "min": 60 * 1000**2, "h": 3600 * 1000**2, "d": 86400 * 1000**2}
BOOL_WORDS = {"on", "off", "true", "false", "yes", "no", "1", "0", "tru", "fal", "of"}
_NUMBER_UNIT = re.compile(r"\s*(-?\d+(?:\.\d+)?)\s*([a-zA-Z]*)\s*")


@dataclass(frozen=True)
class Checked:
    name: str
    value: str
    #: "reload" when the server takes it live, "restart" when it waits for one.
    applies: str


def _base(unit: str | None) -> tuple[dict[str, int] | None, float]:
    """The unit family of a pg_settings unit ("8kB", "ms", ...) and its size in that family."""
    if not unit:
        return None, 1.0
    match = re.fullmatch(r"(\d*)([a-zA-Z]+)", unit)
    if match is None:
        return None, 1.0
    factor = int(match[1] or 1)
    for family in (MEMORY, TIME):
        if match[2] in family:
            return family, factor * family[match[2]]
    return None, 1.0


def _in_setting_units(text: str, row: dict[str, Any]) -> tuple[float, bool]:
    """The number in the setting's own unit, and whether a unit was written."""
    match = _NUMBER_UNIT.fullmatch(text)
    if match is None:
        raise ValueError(f"{row['name']} takes a number" + (f" (unit {row['unit']})" if row["unit"] else ""))
    number, unit = float(match[1]), match[2]
    family, size = _base(row["unit"])
    if not unit:
        return number, False
    if family is None or unit not in family:
        valid = ", ".join(family) if family else "none"
        raise ValueError(f"{row['name']}: unit {unit!r} is not valid here (valid units: {valid})")
    return number * family[unit] / size, True


def check(row: dict[str, Any], value: str) -> Checked:
    """`value` for the parameter of `row` (a pg_settings row), or ValueError saying why not."""
    name, kind, context = row["name"], row["vartype"], row["context"]
    text = value.strip()
    if context == "internal":
        raise ValueError(f"{name} is fixed when the cluster is built and cannot be set")
    if kind == "bool":
        if text.lower() not in BOOL_WORDS:
            raise ValueError(f"{name} takes on or off")
    elif kind == "enum":
        allowed = list(row["enumvals"] or [])
        if text.lower() not in [a.lower() for a in allowed]:
            raise ValueError(f"{name} takes one of: {', '.join(allowed)}")
    elif kind in ("integer", "real"):
        number, with_unit = _in_setting_units(text, row)
        if kind == "integer" and not with_unit and number != int(number):
            raise ValueError(f"{name} takes a whole number")
        low, high = float(row["min_val"]), float(row["max_val"])
        if not low <= number <= high:
            unit = f" {row['unit']}" if row["unit"] else ""
            raise ValueError(f"{name} must be between {row['min_val']} and {row['max_val']}{unit}")
    applies = "restart" if context == "postmaster" else "reload"
    return Checked(name, text, applies)
