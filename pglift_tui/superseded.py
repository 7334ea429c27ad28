"""The mark an upgrade leaves on the old instance, so it is not started by accident.

After `pg_upgrade --link` (or once the new instance has run), starting the old one
would corrupt one of the two; even after a copy it would mean two servers for one
database. The mark is a small file in the old data directory, so it goes wherever
the directory goes, and `ls` sees it with one stat.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any

MARK = "pglift-tui.superseded"


def write(datadir: Path, *, by: str, mode: str) -> None:
    path = datadir / MARK
    path.write_text(json.dumps({"by": by, "at": time.time(), "mode": mode}), encoding="utf-8")


def read(datadir: Path | str) -> dict[str, Any] | None:
    try:
        with open(os.path.join(datadir, MARK), encoding="utf-8") as f:
            data = json.load(f)
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def clear(datadir: Path) -> None:
    (datadir / MARK).unlink(missing_ok=True)
