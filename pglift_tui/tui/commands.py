"""The command palette's entries, made from the action table."""

from __future__ import annotations

from functools import partial

from textual.command import DiscoveryHit, Hit, Hits, Provider

from . import actions


class ActionCommands(Provider):
    """Every dashboard action the screen allows now, by name."""

    def _available(self) -> list[actions.Action]:
        screen = self.screen
        return [a for a in actions.ACTIONS if screen.check_action(a.name, ()) is True]

    async def discover(self) -> Hits:
        for action in self._available():
            yield DiscoveryHit(
                action.label, partial(self.screen.run_action, action.name), help=action.description
            )

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for action in self._available():
            text = f"{action.label}: {action.description}"
            score = matcher.match(text)
            if score > 0:
                yield Hit(
                    score, matcher.highlight(text), partial(self.screen.run_action, action.name), text=text
                )
