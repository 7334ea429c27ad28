"""The dashboard's source over an inventory (`RemoteSource`), on real sshd and instances:
reconnection, actions and the detail screen routed to a row's host, protocol versions,
and no listening port anywhere."""

from __future__ import annotations

import asyncio
from datetime import datetime
from pathlib import Path
from typing import Any

import psutil
import pytest

from pglift_tui import __version__
from pglift_tui.exceptions import ConfigurationError, InstanceNotFound
from pglift_tui.models import interface
from pglift_tui.remote import inventory, protocol
from pglift_tui.remote.fleet import Fleet
from pglift_tui.remote.protocol import ProtocolMismatch
from pglift_tui.tui.remote_source import RemoteSource

from ..sshd import hosts  # noqa: F401  (the fixture)
from . import pg
from .pg import wait_for
from .test_fleet import answers, make


def source_of(fleet: Any, short_tmp: Path, **options: Any) -> RemoteSource:
    chosen = inventory.load([fleet.inventory], use_ansible=False).hosts
    control = short_tmp / "c"
    control.mkdir(mode=0o700, exist_ok=True)
    return RemoteSource(chosen, refresh=0.3, control=control, **options)


def listening(fleet: Any) -> set[tuple[str, int, str]]:
    """The TCP listeners of every process of the fleet: each host's sshd, what it runs
    (the far ends), and this process with its children (the ssh clients and masters).
    Only these: other processes of the machine come and go."""
    processes = [psutil.Process()]
    processes += [psutil.Process(h.proc.pid) for h in fleet.hosts.values() if h.proc is not None]
    found = set()
    for process in processes:
        try:
            family = [process, *process.children(recursive=True)]
        except psutil.NoSuchProcess:
            continue
        for member in family:
            try:
                for c in member.net_connections(kind="inet"):
                    if c.status == psutil.CONN_LISTEN:
                        found.add((c.laddr.ip, c.laddr.port, member.name()))
            except psutil.NoSuchProcess:
                continue
    return found


async def test_rows_actions_and_details_go_to_their_host(hosts: Any, short_tmp: Path) -> None:  # noqa: F811
    fleet = hosts(2)
    servers = {name: await make(fleet[name]) for name in fleet.names()}
    before = listening(fleet)
    assert {name for _, _, name in before} == {"sshd"}
    source = source_of(fleet, short_tmp)
    try:
        views = await source.snapshot()
        assert sorted(v.key for v in views) == ["h2:15/main", "h3:15/main"]
        assert all(v.item.status == "running" and v.item.host in ("h2", "h3") for v in views)
        states = {h.name: h for h in source.hosts()}
        assert {h.state for h in states.values()} == {"connected"}
        assert all(h.instances == 1 and h.error is None for h in states.values())
        assert states["h2"].groups == () and states["h2"].version == __version__

        async def measured() -> bool:
            return all(h.latency_ms is not None and h.latency_ms > 0 for h in source.hosts())

        await wait_for(measured, 10, "a ping's round trip on each host")

        item = next(v.item for v in views if v.key == "h3:15/main")
        assert source.can("start", item) is not None and source.can("start", item).noop  # type: ignore[union-attr]
        assert source.can("stop", item) is None

        outcome = await source.run("stop", "h3:15/main", mode="fast")
        assert outcome.changed
        assert servers["h3"].status().status == "not running"
        assert await answers(servers["h2"])
        # The far end pushed the change before it answered: the next snapshot shows it.
        shown = {v.key: v.item.status for v in await source.snapshot()}
        assert shown == {"h2:15/main": "running", "h3:15/main": "not running"}
        await source.run("start", "h3:15/main")
        assert await answers(servers["h3"])

        # An action's data crosses whole: configure's (diff, pending restart) stays a tuple.
        changed = await source.run("configure", "h2:15/main", settings={"work_mem": "8MB"})
        assert isinstance(changed.data, tuple) and changed.data[1] is False
        assert changed.data[0]["work_mem"][1] == "8MB"
        assert (await pg.show(servers["h2"], "work_mem")) == "8MB"
        with pytest.raises(ConfigurationError, match="a password is not sent"):
            manifest = interface.Instance(name="new", surole_password="Secret-pass-9")  # type: ignore[arg-type]
            await source.run("create", "h2:15/new", manifest=manifest)

        with pytest.raises(InstanceNotFound, match="h2: 15/nosuch not found"):
            await source.run("start", "h2:15/nosuch")

        detail = await asyncio.to_thread(source.detail, "h2:15/main")
        assert detail.key == "h2:15/main"
        overview = await detail.overview()
        assert overview.running and isinstance(overview.facts["started_at"], datetime)
        assert overview.facts["port"] == servers["h2"].port
        settings = {row["name"]: row for row in await detail.settings()}
        assert settings["port"]["setting"] == str(servers["h2"].port)
        assert [e.action for e in await detail.history(5)] == ["configure", "create"]  # h2's, newest first
        await detail.close()

        events = await asyncio.to_thread(source.events, 10)
        assert [(e.instance, e.action) for e in events[:3]] == [  # both hosts' journals, merged
            ("h2:15/main", "configure"),
            ("h3:15/main", "start"),
            ("h3:15/main", "stop"),
        ]
        serving = [p for p in psutil.Process().children(recursive=True) if p.name() == "ssh"]
        assert serving, "the channels run ssh"
        assert any("serve" in " ".join(p.cmdline()) for h in fleet.hosts.values()
                   for p in psutil.Process(h.proc.pid).children(recursive=True))  # fmt: skip
        assert listening(fleet) == before  # no port opened by any far end, nor here
    finally:
        await source.close()


async def test_a_host_that_goes_away_is_a_state_and_comes_back(hosts: Any, short_tmp: Path) -> None:  # noqa: F811
    fleet = hosts(2)
    for name in fleet.names():
        await make(fleet[name])
    source = source_of(fleet, short_tmp, backoff=(0.2, 0.5))
    try:
        assert len(await source.snapshot()) == 2
        fleet["h3"].kill()

        async def state(name: str, wanted: str) -> bool:
            return next(h for h in source.hosts() if h.name == name).state == wanted

        await wait_for(lambda: state("h3", "unreachable"), 15, "h3 to be unreachable")

        async def refused() -> bool:  # ssh's own words, from its next attempt
            return "Connection refused" in (next(h for h in source.hosts() if h.name == "h3").error or "")

        await wait_for(refused, 15, "ssh's words for h3")
        views = {v.key: v for v in await source.snapshot()}
        assert views["h3:15/main"].error is not None and "host unreachable" in views["h3:15/main"].error
        assert views["h2:15/main"].error is None
        refusal = source.can("stop", views["h3:15/main"].item)
        assert refusal is not None and "unreachable" in refusal.reason
        assert await state("h2", "connected")

        fleet["h3"].start()
        await wait_for(lambda: state("h3", "connected"), 15, "h3 to come back")
        views = {v.key: v for v in await source.snapshot()}
        assert views["h3:15/main"].error is None
    finally:
        await source.close()


async def test_both_ends_refuse_a_protocol_they_do_not_know(
    hosts: Any,  # noqa: F811
    short_tmp: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    fleet = hosts(1)
    chosen = inventory.load([fleet.inventory], use_ansible=False).hosts
    control = short_tmp / "c"
    control.mkdir(mode=0o700)
    # A newer client: the far end (protocol 1) refuses it, naming both.
    monkeypatch.setattr(protocol, "PROTOCOL", 99)
    monkeypatch.setattr(protocol, "SUPPORTED", frozenset({99}))
    group = Fleet(chosen, control=control)
    failed = await group.open()
    await group.close()
    refused = failed["h2"]
    assert isinstance(refused, ProtocolMismatch)
    assert (
        "the client speaks protocol 99" in refused.message
        and "this host speaks protocol 1" in refused.message
    )
    # A client that no longer knows protocol 1: it refuses the far end's answer itself.
    monkeypatch.setattr(protocol, "PROTOCOL", 1)
    group = Fleet(chosen, control=control)
    failed = await group.open()
    await group.close()
    refused = failed["h2"]
    assert isinstance(refused, ProtocolMismatch)
    assert "host h2 speaks protocol 1" in refused.message and "knows [99]" in refused.message


async def test_an_upgrade_on_a_host_tells_each_step_as_it_goes(hosts: Any, short_tmp: Path) -> None:  # noqa: F811
    fleet = hosts(1, pg18=True)
    await make(fleet["h2"], "app")
    source = source_of(fleet, short_tmp)
    steps: list[tuple[str, str]] = []
    try:
        await source.snapshot()
        outcome = await source.run(
            "upgrade", "h2:15/app", version="18", mode="copy", analyze=False,
            on_step=lambda step: steps.append((step.name, step.state)),
        )  # fmt: skip
        assert "upgraded to 18/app" in outcome.word
        assert steps[0][1] == "running" and all(state in ("running", "done") for _, state in steps)
        assert [name for name, state in steps if state == "done"] == ["init", "check", "copy", "start"]
        rows = {v.key: v.item for v in await source.snapshot()}
        assert rows["h2:18/app"].status == "running" and rows["h2:15/app"].superseded_by
    finally:
        await source.close()
