"""The command palette of a screen, made from that screen's rows of the action table.

Each screen declares it in its own COMMANDS, so the palette offers what the screen
shows now: nothing of the table's actions on the events or detail screens, nothing
that changes state under --read-only, and no row the screen itself would refuse.
"""

from __future__ import annotations

from functools import partial

from textual.command import DiscoveryHit, Hit, Hits, Provider

from . import actions


class ScreenCommands(Provider):
    """The rows of the calling screen that its check_action allows now."""

    def _available(self) -> list[actions.Action]:
        screen = self.screen
        name = getattr(screen, "SCREEN", None)
        if name is None:
            return []
        read_only = bool(getattr(screen, "read_only", False))
        found = []
        for row in actions.rows(name, read_only=read_only):
            target, params = ("act", (row.name,)) if row.mutates else (row.binding or row.name, ())
            if screen.check_action(target, params) is True:
                found.append(row)
        return found

    async def discover(self) -> Hits:
        for row in self._available():
            yield DiscoveryHit(
                row.label, partial(self.screen.run_action, row.textual_action), help=row.description
            )

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for row in self._available():
            text = f"{row.label}: {row.description}"
            score = matcher.match(text)
            if score > 0:
                yield Hit(
                    score,
                    matcher.highlight(text),
                    partial(self.screen.run_action, row.textual_action),
                    text=text,
                )
