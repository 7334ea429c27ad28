"""How a screen runs a row of the action table: the targets, the verdict, the ask, the dispatch.

The table's screen and an instance's detail screen share this: a key calls
`act(name)`; `check_action` hides the row under --read-only and dims it when the
row's manager refuses it (the reason is told when the key is pressed anyway); the
row's ask gathers the options in a worker; the Dispatcher runs it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from textual import events
from textual.binding import Binding

from ..managers import Refusal
from . import actions
from .asks import ASKS, AskContext
from .workers import RoutedWorkers

if TYPE_CHECKING:
    from textual.screen import Screen

    from ..monitor import InstanceView
    from .app import DashboardApp


class ActionRunner(RoutedWorkers):
    """Mixed into a Screen that shows rows of the action table."""

    SCREEN: actions.ScreenName
    read_only: bool
    #: What the keys offered when the footer was last drawn (see `refresh_offered`).
    _offered: tuple[bool | None, ...] | None = None

    # -- what each screen says ------------------------------------------------------------
    def targets(self, spec: actions.Action) -> list[str]:
        raise NotImplementedError

    def known_views(self) -> Mapping[str, InstanceView]:
        raise NotImplementedError

    def ask_context(self, spec: actions.Action, keys: list[str]) -> AskContext:
        app = self._app()
        return AskContext(app, spec, keys, self.known_views(), app.source)

    def screen_refusal(self, spec: actions.Action) -> Refusal | None:
        """A screen's own reason not to offer a row (no row selected, another tab)."""
        return None

    def submitted(self, spec: actions.Action) -> None:
        """The rows were handed to the dispatcher (the table clears its marks)."""

    # -- shared ------------------------------------------------------------------------------
    def _app(self) -> DashboardApp:
        screen: Screen[Any] = self  # type: ignore[assignment]
        return screen.app  # type: ignore[return-value]

    def refusal(self, spec: actions.Action) -> Refusal | None:
        """Why `spec` is not offered now on this screen's target; None when it is."""
        if spec.core is None or spec.core == "create":
            return None
        own = self.screen_refusal(spec)
        if own is not None:
            return own
        keys = self.targets(spec)
        if len(keys) > 1:
            return None  # marked rows: each says its own result
        if not keys:
            return Refusal("no instance selected")
        key = keys[0]
        job = self._app().dispatcher.running.get(key)
        if job is not None:
            return Refusal(f"busy: {job.spec.progress or job.spec.name} in progress")
        view = self.known_views().get(key)
        if view is None:
            return Refusal("not listed (yet)")
        return self._app().source.can(spec.core, view.item)

    def check_act(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """check_action for the rows that call the core: hidden, dimmed or offered."""
        if not actions.allowed(action, parameters, read_only=self.read_only):
            return False
        if action != "act":
            return True
        spec = actions.BY_NAME[str(parameters[0])]
        if spec.tabs and self.screen_refusal(spec) is not None:
            return False
        return True if self.refusal(spec) is None else None

    def offered(self) -> tuple[bool | None, ...]:
        """Each `act` key's verdict now: hidden, dimmed or offered."""
        screen: Screen[Any] = self  # type: ignore[assignment]
        return tuple(
            self.check_act("act", (binding.action[5:-2],))
            for binding in screen.BINDINGS
            if isinstance(binding, Binding) and binding.action.startswith("act(")
        )

    def refresh_offered(self) -> None:
        """Redraw the footer when what its keys offer changed, only then: Textual rebuilds
        the whole footer on every `refresh_bindings` (measured: 3-10 ms a time with 1,000
        rows, on every refresh whose selected row's figures moved)."""
        now = self.offered()
        if now != self._offered:
            self._offered = now
            screen: Screen[Any] = self  # type: ignore[assignment]
            screen.refresh_bindings()

    def action_act(self, name: str) -> None:
        spec = actions.BY_NAME[name]
        keys = self.targets(spec)
        screen: Screen[Any] = self  # type: ignore[assignment]
        screen.run_worker(self._act(spec, keys), name=f"ask:{name}", group="ask", exit_on_error=False)

    async def _act(self, spec: actions.Action, keys: list[str]) -> None:
        ask = ASKS[spec.ask] if spec.ask else None
        asked = await ask(self.ask_context(spec, keys)) if ask else [(key, {}) for key in keys]
        if not asked:
            return
        app = self._app()
        for key, why in app.dispatcher.submit(self, spec, asked).items():  # type: ignore[arg-type]
            app.notify(f"{key}: {why}", severity="warning")
        self.submitted(spec)

    def explain_key(self, event: events.Key) -> None:
        """A dimmed key pressed anyway: say why it does nothing (words, so NO_COLOR shows it)."""
        screen: Screen[Any] = self  # type: ignore[assignment]
        for binding in screen.BINDINGS:
            if not isinstance(binding, Binding) or event.key not in binding.key.split(","):
                continue
            if not binding.action.startswith("act("):
                continue
            name = binding.action[5:-2]
            spec = actions.BY_NAME[name]
            if self.check_act("act", (name,)) is None:
                refusal = self.refusal(spec)
                if refusal is not None:
                    target = ", ".join(self.targets(spec)) or "here"
                    self._app().notify(f"{spec.label}: {target} is {refusal.reason}"
                                       if refusal.noop else f"{spec.label} on {target}: {refusal.reason}",
                                       severity="warning", timeout=4)  # fmt: skip
                    event.stop()
            return
