"""Upgrade 15 -> 18 of a ~150 MB instance: ours against raw pg_upgrade and pglift 3.3.

    python tests/bench/bench_upgrade.py [--scale 10] [--rounds 3]

Run it as an unprivileged user. Each round fills a PostgreSQL 15 instance with
`pgbench -i` (scale 10 is about 150 MB), stops it, copies its data directory for
the floor, then times, on the same data:

- raw: initdb of 18 (same options as ours), pg_upgrade --check against the running old
  server, pg_ctl stop, pg_upgrade (same mode), pg_ctl start -w: the documented
  procedure ours follows; and the bare run of an already stopped cluster, unchecked;
- ours: `instances.upgrade` (its own --check first, the real run, the first start);
- pglift 3.3: `pglift instance upgrade` (copy mode only: its CLI has no mode option
  of its own; extra arguments go to pg_upgrade, so --link is passed that way).

Medians and ratios are printed with the target of issue 7 (within 1.15x of raw);
nothing asserts a time.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from pglift_tui import instances
from pglift_tui.models import interface, system
from pglift_tui.settings import Settings
from tests.conftest import PG15, pg18_bindir
from tests.peer import ensure_pglift

PG18 = pg18_bindir()
PORT = 33100
TARGET = 1.15


def run(argv: list[str], **kwargs: Any) -> None:
    done = subprocess.run(argv, capture_output=True, text=True, check=False, **kwargs)
    if done.returncode != 0:
        raise RuntimeError(f"{argv[0]} failed: {done.stdout[-1500:]}{done.stderr[-1500:]}")


def fill(socket_dir: Path, port: int, scale: int, bindir: Path = PG15) -> None:
    argv = [str(bindir / "pgbench"), "-i", "-q", "-s", str(scale), "-h", str(socket_dir), "-p", str(port)]
    run([*argv, "-U", "postgres", "postgres"])


def raw_upgrade(old: Path, root: Path, mode: str, *, checked: bool) -> float:
    """The floor: what ours does, by hand, minus its bookkeeping.

    `checked`: the documented procedure, as ours runs it: the old server running,
    `pg_upgrade --check` against it, then it is stopped for the real run. Otherwise
    the bare minimum: the old cluster already stopped, no separate check.
    """
    new = root / "raw-new"
    work = root / "raw-work"
    work.mkdir(mode=0o700)
    old_port = PORT + 40
    pg_upgrade = [str(PG18 / "pg_upgrade"), f"--old-bindir={PG15}", f"--new-bindir={PG18}",
                  f"--old-datadir={old}", f"--new-datadir={new}", f"--old-port={old_port}",
                  "--new-port=50433", "--username=postgres", f"--{mode}", f"--socketdir={work}"]  # fmt: skip
    if checked:
        run([str(PG15 / "pg_ctl"), "start", "-D", str(old), "-w", "-s", "-l", str(root / "raw-old.log"),
             "-o", f"-p {old_port} -k {work} -c listen_addresses=''"])  # fmt: skip
    start = time.perf_counter()
    run([str(PG18 / "initdb"), "-D", str(new), "--no-sync", "--auth-local=peer", "--auth-host=scram-sha-256",
         "--username=postgres", "--encoding=UTF8", "--lc-collate=C", "--lc-ctype=C",
         "--locale-provider=libc", "--data-checksums"])  # fmt: skip
    for auth in ("pg_hba.conf", "pg_ident.conf"):  # peer with the ident map, as the old cluster
        shutil.copyfile(old / auth, new / auth)
    if checked:
        run([*pg_upgrade, "--check"], cwd=work)
        run([str(PG15 / "pg_ctl"), "stop", "-D", str(old), "-m", "fast", "-w", "-s"])
    run(pg_upgrade, cwd=work)
    run([str(PG18 / "pg_ctl"), "start", "-D", str(new), "-w", "-s", "-l", str(root / "raw.log"),
         "-o", f"-p {PORT + 50} -k {work} -c listen_addresses=localhost"])  # fmt: skip
    elapsed = time.perf_counter() - start
    run([str(PG18 / "pg_ctl"), "stop", "-D", str(new), "-m", "immediate", "-w"])
    for path in (new, work, root / "raw.log", root / "raw-old.log"):
        shutil.rmtree(path, ignore_errors=True) if path.is_dir() else path.unlink(missing_ok=True)
    return elapsed


def ours(root: Path, scale: int, mode: str, rounds: int) -> tuple[list[float], list[float], list[float]]:
    settings = Settings(
        prefix=root / "p",
        run_prefix=root / "r",
        state_dir=root / "s",
        postgresql={
            "versions": [{"version": "15", "bindir": str(PG15)}, {"version": "18", "bindir": str(PG18)}],
            "default_version": "15",
            "initdb": {"locale": "C", "encoding": "UTF8", "data_checksums": True},
        },
    )
    raw, bare, mine = [], [], []
    for i in range(rounds):
        manifest = interface.Instance(name=f"u{i}", port=PORT + i)
        asyncio.run(instances.apply(settings, manifest))
        old = system.Instance.system_lookup(f"u{i}", "15", settings)
        fill(old.live_socket_directory(), old.port, scale)
        asyncio.run(instances.stop(old))
        copy = root / "raw-old"
        shutil.copytree(old.datadir, copy, symlinks=True)
        wal = copy / "pg_wal"
        if wal.is_symlink():  # our WAL lives beside the data directory: give the copy its own
            target = wal.resolve()
            wal.unlink()
            shutil.copytree(target, wal)
        checked_copy = root / "raw-old-checked"
        shutil.copytree(copy, checked_copy, symlinks=True)
        bare.append(raw_upgrade(copy, root, mode, checked=False))
        raw.append(raw_upgrade(checked_copy, root, mode, checked=True))
        shutil.rmtree(copy)
        shutil.rmtree(checked_copy)
        # Ours starts the new instance when the old one ran: start it, as an operator's would be.
        asyncio.run(instances.start(old))
        start = time.perf_counter()
        instances.upgrade(old, mode=mode)  # type: ignore[arg-type]
        mine.append(time.perf_counter() - start)
        for version in ("18", "15"):
            asyncio.run(instances.drop(system.Instance.system_lookup(f"u{i}", version, settings)))
    return raw, bare, mine


def peer(root: Path, scale: int, rounds: int) -> list[float]:
    bindir = ensure_pglift()
    config = root / "pglift"
    config.mkdir(parents=True)
    (config / "settings.yaml").write_text(
        yaml.safe_dump(
            {
                "prefix": str(root / "pl"),
                "run_prefix": str(root / "plr"),
                "postgresql": {
                    "versions": [
                        {"version": "15", "bindir": str(PG15)},
                        {"version": "18", "bindir": str(PG18)},
                    ],
                    "default_version": "15",
                    "initdb": {"locale": "C", "encoding": "UTF8", "data_checksums": True},
                },
            }
        )
    )
    env = {**os.environ, "PGLIFT_CONFIG_DIR": str(config)}
    pglift = [str(bindir / "pglift"), "--non-interactive"]
    run([*pglift, "site-configure", "install"], env=env)
    times = []
    for i in range(rounds):
        name, port = f"pu{i}", PORT + 20 + i
        run([*pglift, "instance", "create", name, "--version=15", f"--port={port}"], env=env)
        fill(root / "plr" / "postgresql", port, scale)
        # pglift upgrades a stopped instance only and leaves the new one stopped: its
        # figure adds the stop before and the start after, as the operator must.
        start = time.perf_counter()
        run([*pglift, "instance", "stop", f"15/{name}"], env=env)
        run([*pglift, "instance", "upgrade", f"15/{name}", "--version=18", f"--port={port + 10}"], env=env)
        run([*pglift, "instance", "start", f"18/{name}"], env=env)
        times.append(time.perf_counter() - start)
        for version in ("18", "15"):
            subprocess.run([*pglift, "instance", "drop", f"{version}/{name}"], env=env, capture_output=True)
    return times


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--no-peer", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="pgtub", dir="/tmp") as tmp:
        root = Path(tmp)
        print(f"upgrade 15 -> 18, pgbench scale {args.scale}, {args.rounds} rounds (medians)")
        floors: dict[str, float] = {}
        bares: dict[str, float] = {}
        ours_copy = [0.0]
        for mode in ("copy", "link"):
            raw, bare, mine = ours(root / mode, args.scale, mode, args.rounds)
            r, b, o = statistics.median(raw), statistics.median(bare), statistics.median(mine)
            floors[mode], bares[mode] = r, b
            if mode == "copy":
                ours_copy[0] = o
            verdict = "meets" if o / r <= TARGET else "MISSES"
            print(
                f"  {mode:5} raw (check, stop, run, start) {r:5.2f} s   ours {o:5.2f} s   {o / r:.2f}x "
                f"({verdict} {TARGET}x);   bare run of a stopped cluster {b:5.2f} s ({o / b:.2f}x)"
            )
        if not args.no_peer:
            p = statistics.median(peer(root / "peer", args.scale, args.rounds))
            # pglift runs no separate --check: compare it with both floors.
            print(
                f"  copy  pglift 3.3 (stop, upgrade, start) {p:5.2f} s   {p / floors['copy']:.2f}x raw "
                f"checked, {p / bares['copy']:.2f}x bare;   ours {ours_copy[0] / p:.2f}x pglift's time"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
