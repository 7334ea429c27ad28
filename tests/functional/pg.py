"""Helpers for functional tests: ask the server itself, wait on conditions."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from pglift_tui import db


async def query(instance: Any, sql: str, *params: Any, dbname: str = "postgres") -> list[dict[str, Any]]:
    async with db.connect(instance, dbname=dbname) as cnx:
        cur = await cnx.execute(sql, params or None)
        return await cur.fetchall() if cur.description else []


async def show(instance: Any, name: str) -> str:
    rows = await query(instance, "SELECT current_setting(%s) AS v", name)
    return str(rows[0]["v"])


async def wait_for(
    condition: Callable[[], Awaitable[bool]], timeout: float = 10.0, what: str = "condition"
) -> None:
    """Poll `condition` until true; fail with `what` at the deadline (no blind sleep)."""
    deadline = time.monotonic() + timeout
    while not await condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        await asyncio.sleep(0.02)


def tree(path: Path) -> set[str]:
    """Every path under `path`, relative, for before/after comparisons."""
    if not path.exists():
        return set()
    return {str(p.relative_to(path)) for p in path.rglob("*")}
