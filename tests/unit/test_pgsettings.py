"""Values checked against pg_settings rows, as the edit form does before configure."""

from __future__ import annotations

from typing import Any

import pytest

from pglift_tui.pgsettings import check

WORK_MEM = {"name": "work_mem", "vartype": "integer", "context": "user", "unit": "kB",
            "min_val": "64", "max_val": "2147483647", "enumvals": None}  # fmt: skip
SHARED_BUFFERS = {"name": "shared_buffers", "vartype": "integer", "context": "postmaster", "unit": "8kB",
                  "min_val": "16", "max_val": "1073741823", "enumvals": None}  # fmt: skip
WAL_LEVEL = {"name": "wal_level", "vartype": "enum", "context": "postmaster", "unit": None,
             "min_val": None, "max_val": None, "enumvals": ["minimal", "replica", "logical"]}  # fmt: skip
BLOCK_SIZE = {"name": "block_size", "vartype": "integer", "context": "internal", "unit": None,
              "min_val": "8192", "max_val": "8192", "enumvals": None}  # fmt: skip


@pytest.mark.parametrize(
    ("row", "value", "applies"),
    [(WORK_MEM, "16MB", "reload"), (WORK_MEM, "4096", "reload"), (SHARED_BUFFERS, "1GB", "restart"),
     (WAL_LEVEL, "Logical", "restart")],
)  # fmt: skip
def test_valid_values(row: dict[str, Any], value: str, applies: str) -> None:
    assert check(row, value).applies == applies


@pytest.mark.parametrize(
    ("row", "value", "error"),
    [(WORK_MEM, "32kB", "between 64 and 2147483647 kB"), (WORK_MEM, "lots", "takes a number"),
     (WORK_MEM, "16 parsecs", "unit 'parsecs' is not valid"), (SHARED_BUFFERS, "64kB", "between 16"),
     (WAL_LEVEL, "archive", "one of: minimal, replica, logical"), (BLOCK_SIZE, "4096", "cannot be set")],
)  # fmt: skip
def test_invalid_values_say_why(row: dict[str, Any], value: str, error: str) -> None:
    with pytest.raises(ValueError, match=error):
        check(row, value)
