"""The host-wide listing and the one action path, on real instances."""

from __future__ import annotations

from typing import Any

import pytest

from pglift_tui.exceptions import InstanceNotFound, InstanceStateError
from pglift_tui.host import AmbiguousName, Host


async def test_each_action_says_what_it_did(make_instance: Any, settings: Any) -> None:
    instance = await make_instance(state="stopped")
    host = Host(settings)
    assert [(i.key, i.manager, i.status) for i in host.ls()] == [("15/main", "pglift", "not running")]
    assert (await host.run("start", "15/main")).word == "started"
    assert instance.status().status == "running"
    again = await host.run("start", "15/main")
    assert (again.word, again.changed) == ("already running", False)
    assert (await host.run("stop", "15/main", mode="fast")).word == "stopped (fast)"
    assert (await host.run("stop", "15/main")).word == "already stopped"
    assert instance.status().status == "not running"


async def test_a_refusal_names_the_reason_and_changes_nothing(make_instance: Any, settings: Any) -> None:
    instance = await make_instance()
    pid = instance.status().pid
    with pytest.raises(InstanceStateError, match="nothing to promote"):
        await Host(settings).run("promote", "15/main")
    assert instance.status().pid == pid


async def test_names_resolve_and_an_unknown_key_is_not_found(make_instance: Any, settings: Any) -> None:
    await make_instance("alpha", state="stopped")
    host = Host(settings)
    assert host.resolve("alpha").key == "15/alpha"
    with pytest.raises(InstanceNotFound, match="'beta' not found"):
        host.resolve("beta")
    with pytest.raises(InstanceNotFound, match="15/beta not found"):
        await host.run("start", "15/beta")


async def test_a_name_in_two_versions_is_ambiguous(short_tmp: Any) -> None:
    from pglift_tui import instances
    from pglift_tui.models import interface

    from ..conftest import free_port, make_settings

    settings = make_settings(short_tmp, pg18=True)
    for version in ("15", "18"):
        await instances.apply(
            settings, interface.Instance(name="twin", version=version, port=free_port(), state="stopped")
        )
    host = Host(settings)
    with pytest.raises(AmbiguousName, match=r"pglift 15/twin, pglift 18/twin") as excinfo:
        host.resolve("twin")
    assert excinfo.value.hint == "give --version"
    assert host.resolve("twin", version="18").key == "18/twin"
