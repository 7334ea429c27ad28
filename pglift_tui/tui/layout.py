"""Which of the table's columns a terminal's width has room for, and how wide each is.

The least important columns give way first; a wide column that gave way may leave its
narrow form (the manager's first letter); room left goes to the health words, then to
names, then to the sparkline. A pure function of the width: the same width, the same
layout.
"""

from __future__ import annotations

from ..probe import HISTORY
from . import format as fmt

Layout = list[tuple[int, int]]  # (index in fmt.COLUMNS, width)


def columns_for(width: int, *, show_hosts: bool) -> Layout:
    keys = [c.key for c in fmt.COLUMNS]
    narrow = {keys.index(short): keys.index(wide) for short, wide in fmt.NARROW.items()}
    hidden = set(narrow) | (set() if show_hosts else {keys.index("host")})
    chosen = [i for i in range(len(fmt.COLUMNS)) if i not in hidden]

    def needed(indexes: list[int]) -> int:
        return sum(fmt.COLUMNS[i].width for i in indexes) + len(indexes) - 1

    def fit() -> None:
        while needed(chosen) > width and len(chosen) > 1:
            chosen.remove(min(chosen, key=lambda i: fmt.COLUMNS[i].priority))

    fit()
    chosen.extend(short for short, wide in narrow.items() if wide not in chosen)
    chosen.sort()
    fit()
    spare = max(0, width - needed(chosen))
    extras = {"health": min(spare, 10) if keys.index("health") in chosen else 0}
    extras["name"] = min(spare - extras["health"], 12)
    tps_width = fmt.COLUMNS[keys.index("tps")].width
    extras["tps"] = min(spare - extras["name"] - extras["health"], HISTORY - tps_width)
    return [(i, fmt.COLUMNS[i].width + extras.get(fmt.COLUMNS[i].key, 0)) for i in chosen]
