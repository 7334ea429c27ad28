"""What each action asks the operator before it runs: the dialogs of the action table.

An ask runs in a worker (dialogs are awaited with `push_screen_wait`, and reading the
installed versions or a server's settings happens off the event loop) and returns
the (key, options) of each target, or None when the operator said no. The safe
answer is always the default.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ..models.interface import item_key
from .dialogs.confirm import ConfirmDialog
from .dialogs.create import CreateDialog
from .dialogs.drop import DropDialog
from .dialogs.edit_setting import EditSettingDialog
from .dialogs.stop import StopDialog
from .dialogs.upgrade import UpgradeDialog
from .messages import ActionProgress

if TYPE_CHECKING:
    from textual.app import App

    from ..detail import Detail
    from ..monitor import InstanceView
    from .actions import Action
    from .source import Source

Asked = list[tuple[str, dict[str, Any]]]


@dataclass
class AskContext:
    app: App[Any]
    spec: Action
    #: The rows it applies to: the marked ones for a bulk action, else the cursor's.
    keys: list[str]
    views: Mapping[str, InstanceView]
    source: Source
    #: On the detail screen: what it reads from, and the pid of the selected session.
    detail: Detail | None = None
    selected: str | None = None
    pid: int | None = None


def _name(ctx: AskContext, key: str) -> str:
    view = ctx.views.get(key)
    return view.item.name if view is not None else key.rpartition("/")[2]


def _standbys(ctx: AskContext, key: str) -> int:
    view = ctx.views.get(key)
    return (view.standbys or 0) if view is not None else 0


async def confirm(ctx: AskContext) -> Asked | None:
    spec = ctx.spec
    title = f"{spec.label} {', '.join(ctx.keys)}?"
    if await ctx.app.push_screen_wait(ConfirmDialog(title, spec.description)):
        return [(key, {}) for key in ctx.keys]
    return None


async def stop_mode(ctx: AskContext) -> Asked | None:
    mode = await ctx.app.push_screen_wait(StopDialog(ctx.keys))
    return None if mode is None else [(key, {"mode": mode}) for key in ctx.keys]


async def typed_name(ctx: AskContext) -> Asked | None:
    key = ctx.keys[0]
    standbys = _standbys(ctx, key)
    if await ctx.app.push_screen_wait(DropDialog(key, _name(ctx, key), standbys=standbys)):
        # The operator was told of the live standbys and typed the name anyway.
        return [(key, {"force": standbys > 0})]
    return None


async def upgrade(ctx: AskContext) -> Asked | None:
    key = ctx.keys[0]
    view = ctx.views[key]
    version = view.item.version
    versions = await asyncio.to_thread(ctx.source.versions)  # may run `postgres --version`
    newer = sorted((v for v in versions if int(v) > int(version)), key=int, reverse=True)
    if not newer:
        ctx.app.notify(
            f"{key}: no PostgreSQL newer than {version} is installed; install its server package first",
            title="nothing to upgrade to",
            severity="warning",
        )
        return None
    standbys = _standbys(ctx, key)
    choice = await ctx.app.push_screen_wait(UpgradeDialog(key, newer, standbys=standbys))
    if choice is None:
        return None
    app = ctx.app

    def step(event: Any) -> None:  # called on the core's thread: post_message is thread-safe
        app.post_message(ActionProgress(key, event.name, event.state, event.elapsed))

    options = {"version": choice.version, "mode": choice.mode, "analyze": choice.analyze}
    return [(key, {**options, "force": standbys > 0, "on_step": step})]


async def create(ctx: AskContext) -> Asked | None:
    ports = [view.item.port for view in ctx.views.values()]
    versions = await asyncio.to_thread(ctx.source.versions)
    hosts = [h.name for h in ctx.source.hosts() if h.state == "connected"]
    dialog = CreateDialog(versions, max(ports) + 1 if ports else 5432, hosts=hosts)
    manifest = await ctx.app.push_screen_wait(dialog)
    if manifest is None:
        return None
    key = item_key(dialog.host, "pglift", manifest.version or versions[0], manifest.name)
    return [(key, {"manifest": manifest})]


async def setting(ctx: AskContext) -> Asked | None:
    assert ctx.detail is not None
    rows = {row["name"]: row for row in await ctx.detail.settings()}
    checked = await ctx.app.push_screen_wait(EditSettingDialog(rows, ctx.selected or ""))
    if checked is None:
        return None
    return [(ctx.keys[0], {"settings": {checked.name: checked.value}})]


async def backend(ctx: AskContext) -> Asked | None:
    if ctx.pid is None:
        ctx.app.notify("Select a session first.", severity="warning")
        return None
    terminate = dict(ctx.spec.fixed).get("terminate", False)
    if terminate:
        title, body = (
            f"Terminate backend {ctx.pid}?",
            "This ends the session: its open transaction rolls back.",
        )
    else:
        title, body = (
            f"Cancel the query of backend {ctx.pid}?",
            "This stops its current query; the session stays.",
        )
    if await ctx.app.push_screen_wait(ConfirmDialog(title, body)):
        return [(ctx.keys[0], {"pid": ctx.pid})]
    return None


async def acknowledge(ctx: AskContext) -> Asked | None:
    """The findings shown on the row, listed: the ones muted are the ones seen."""
    key = ctx.keys[0]
    view = ctx.views[key]
    troubles = view.troubles
    body = "\n".join(f"{f.severity}: {f.message}" for f in troubles)
    body += "\n\nThey stay muted until their severity changes, or they clear and come back."
    if await ctx.app.push_screen_wait(
        ConfirmDialog(f"Acknowledge {len(troubles)} finding(s) of {key}?", body)
    ):
        return [(key, {"findings": [(f.check, f.severity) for f in troubles]})]
    return None


ASKS: dict[str, Callable[[AskContext], Awaitable[Asked | None]]] = {
    "confirm": confirm,
    "stop_mode": stop_mode,
    "typed_name": typed_name,
    "upgrade": upgrade,
    "create": create,
    "setting": setting,
    "backend": backend,
    "acknowledge": acknowledge,
}
