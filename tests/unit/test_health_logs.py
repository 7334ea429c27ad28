"""What a server's logs gained since the last look (offsets, windows, bounds), and its disks."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from pglift_tui.health import logs
from pglift_tui.health.logs import LogWatch
from pglift_tui.settings import Settings

PREFIX = "2025-01-01 10:00:00.000 UTC [42] "


def line(level: str, text: str) -> str:
    return f"{PREFIX}{level}:  {text}\n"


def append(path: Path, *lines: str) -> None:
    with open(path, "a") as f:
        f.write("".join(lines))


def test_the_first_look_starts_at_the_end_then_counts_what_is_new(tmp_path: Path) -> None:
    log = tmp_path / "15-main-2025-01-01_100000.log"
    append(log, line("FATAL", "old news"), line("LOG", "checkpoint"))
    watch = LogWatch()
    assert watch.look("15/main", [log], 300, now=1000).total == 0
    append(log, line("FATAL", 'role "x" does not exist'), line("ERROR", "division by zero"),
           line("LOG", "x ERROR:  not at a level's place"), "\tERROR:  a continuation line\n")  # fmt: skip
    counts = watch.look("15/main", [log], 300, now=1001)
    assert (counts.error, counts.fatal, counts.panic) == (1, 1, 0)
    assert counts.last == "ERROR:  division by zero"
    # Counted once, and still counted within the window.
    assert watch.look("15/main", [log], 300, now=1200).total == 2
    assert watch.look("15/main", [log], 300, now=1302).total == 0


def test_a_line_being_written_waits_for_its_end(tmp_path: Path) -> None:
    log = tmp_path / "a.log"
    log.write_text("")
    watch = LogWatch()
    watch.look("k", [log], 300, now=0)
    append(log, f"{PREFIX}PANIC:  half")
    assert watch.look("k", [log], 300, now=1).total == 0
    append(log, " a line\n")
    counts = watch.look("k", [log], 300, now=2)
    assert (counts.panic, counts.last) == (1, "PANIC:  half a line")


def test_new_truncated_and_replaced_files_are_read_from_their_start(tmp_path: Path) -> None:
    first = tmp_path / "15-main-2025-01-01_100000.log"
    append(first, line("LOG", "start"))
    watch = LogWatch()
    watch.look("k", [first], 300, now=0)
    second = tmp_path / "15-main-2025-01-02_100000.log"  # rotation: a new file since the last look
    append(second, line("FATAL", "in the new file"))
    assert watch.look("k", [first, second], 300, now=1).fatal == 1
    first.write_text(line("ERROR", "after truncation"))  # shorter than the offset kept
    assert watch.look("k", [first, second], 300, now=2).error == 1
    os.unlink(second)
    append(tmp_path / "other", line("ERROR", "replaced"))
    os.rename(tmp_path / "other", second)  # another inode under the same name
    assert watch.look("k", [first, second], 300, now=3).error == 2
    assert watch.look("k", [first], 300, now=4).error == 2  # a file gone is forgotten
    assert list(watch.state["k"]["files"]) == [str(first)]


def test_reading_is_bounded_however_much_was_written(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(logs, "MAX_READ", 4096)
    log = tmp_path / "flood.log"
    log.write_text("")
    watch = LogWatch()
    watch.look("k", [log], 300, now=0)
    flood = line("ERROR", "x" * 50)
    append(log, flood * 1000)  # 86 kB
    counts = watch.look("k", [log], 300, now=1)
    assert counts.skipped and 0 < counts.error <= 4096 // len(flood)
    assert watch.state["k"]["files"][str(log)][1] == log.stat().st_size


def test_scan_keeps_the_state_in_a_private_file_shared_by_processes(tmp_path: Path) -> None:
    settings = Settings(prefix=tmp_path / "p", run_prefix=tmp_path / "r", state_dir=tmp_path / "s")
    log = tmp_path / "x.log"
    log.write_text("")
    assert logs.scan(settings, {"15/a": [log]}, window=300, now=0)["15/a"].total == 0
    append(log, line("FATAL", "one"))
    assert logs.scan(settings, {"15/a": [log]}, window=300, now=1)["15/a"].fatal == 1
    # Another look (another process: the state is read back from the file) does not count it twice.
    assert logs.scan(settings, {"15/a": [log]}, window=300, now=2)["15/a"].fatal == 1
    path = settings.state_dir / logs.STATE_FILE
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    logs.scan(settings, {"15/b": [log]}, window=300, now=3, complete=True)
    assert set(logs.store.load(path)) == {"15/b"}
    path.write_text("{not json")  # damaged: starts over, from the end of the files
    assert logs.scan(settings, {"15/a": [log]}, window=300, now=4)["15/a"].total == 0


def test_disk_space_once_per_file_system_named_as_df_names_it(tmp_path: Path) -> None:
    import subprocess

    from pglift_tui.health import disk

    (tmp_path / "data").mkdir()
    (tmp_path / "wal").mkdir()
    [fs] = disk.measure({"data": tmp_path / "data", "WAL": tmp_path / "wal", "gone": tmp_path / "nope"})
    df = subprocess.run(
        ["df", "--output=target,avail,size", "-B1", str(tmp_path)], capture_output=True, text=True, check=True
    ).stdout.split()
    assert (fs.mount, fs.holds, fs.label) == (df[-3], ("data", "WAL"), "data and WAL")
    assert fs.total == int(df[-1]) and 0 <= fs.free_percent <= 100


def test_what_a_stop_or_an_operator_writes_is_not_trouble(tmp_path: Path) -> None:
    log = tmp_path / "15-main-start.log"
    log.write_text("")
    watch = LogWatch()
    watch.look("15/main", [log], 300, 1000.0)  # the first look starts at the end
    log.write_text(
        "2026-12-01 10:00:00 UTC [10] FATAL:  terminating connection due to administrator command\n"
        "2026-12-01 10:00:00 UTC [11] FATAL:  the database system is shutting down\n"
        "2026-12-01 10:00:01 UTC [12] FATAL:  the database system is starting up\n"
        "2026-12-01 10:00:02 UTC [13] ERROR:  canceling statement due to user request\n"
        '2026-12-01 10:00:03 UTC [14] ERROR:  relation "nope" does not exist\n'
    )
    counts = watch.look("15/main", [log], 300, 1001.0)
    assert (counts.error, counts.fatal, counts.panic) == (1, 0, 0)
