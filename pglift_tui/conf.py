"""Reading and editing postgresql.conf the way the server reads it.

Edits keep the operator's comments and line order: a parameter that is set is
changed where it stands, a new one is appended, a removed one is deleted. Files are
replaced atomically with their mode kept, so a crash never leaves half a file.
"""

from __future__ import annotations

import functools
import os
import re
import tempfile
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from .exceptions import ConfigurationError
from .models.interface import ConfigValue

_NAME = r"([A-Za-z_][A-Za-z0-9_$]*(?:\.[A-Za-z_][A-Za-z0-9_$]*)*)"
#: One line that assigns a parameter (or includes a file).
_LINE_RE = re.compile(r"^[ \t]*" + _NAME + r"(.*)$", re.M)
#: The same over a whole file with "\n" put in front: a pattern that starts with a
#: literal lets the engine jump from newline to newline, so initdb's 30 kB of
#: commented defaults cost 49 µs instead of 139 µs (`^` in multiline mode is tried at
#: every character). Comments and blank lines never match.
_ACTIVE_RE = re.compile(r"\n[ \t]*" + _NAME + r"([^\n]*)")
_QUOTED_RE = re.compile(r"'((?:[^'\\]|''|\\.)*)'")
_ESCAPES = {"b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t"}
_INCLUDES = ("include", "include_if_exists", "include_dir")
_MAX_DEPTH = 10


@dataclass(frozen=True)
class Entry:
    name: str
    value: str
    path: Path
    lineno: int


def _unescape(body: str) -> str:
    if "'" not in body and "\\" not in body:
        return body  # most quoted values: nothing to undo
    out: list[str] = []
    i = 0
    while i < len(body):
        c = body[i]
        if c == "'" and body[i + 1 : i + 2] == "'":
            out.append("'")
            i += 2
        elif c == "\\" and i + 1 < len(body):
            nxt = body[i + 1]
            if nxt in "01234567":
                digits = re.match(r"[0-7]{1,3}", body[i + 1 :])
                assert digits is not None
                out.append(chr(int(digits.group(), 8)))
                i += 1 + len(digits.group())
                continue
            out.append(_ESCAPES.get(nxt, nxt))
            i += 2
        else:
            out.append(c)
            i += 1
    return "".join(out)


def _value(rest: str, path: Path, lineno: int) -> str:
    """The value after a parameter name: `= 'quoted'`, `= bare` or `bare`."""
    rest = rest.strip()
    if rest.startswith("="):
        rest = rest[1:].lstrip()
    if rest.startswith("'"):
        match = _QUOTED_RE.match(rest)
        if match is None:
            raise ConfigurationError(f"{path}:{lineno}: unterminated quoted string")
        return _unescape(match.group(1))
    token = re.match(r"[^\s#]*", rest)
    value = token.group() if token else ""
    if not value:
        raise ConfigurationError(f"{path}:{lineno}: missing value")
    return value


def _assignments(text: str) -> Iterator[tuple[str, str, int]]:
    """(lowercased name, rest of line, line number) of each active line."""
    padded = "\n" + text
    lineno, counted = 0, 0
    for match in _ACTIVE_RE.finditer(padded):
        lineno += padded.count("\n", counted, match.start() + 1)  # the line's own newline counted
        counted = match.start() + 1
        yield match.group(1).lower(), match.group(2), lineno


def _entries(path: Path, depth: int, seen: list[Path] | None = None) -> Iterator[Entry]:
    if depth > _MAX_DEPTH:
        raise ConfigurationError(f"{path}: includes nested more than {_MAX_DEPTH} deep")
    if seen is not None:
        seen.append(path)
    text = path.read_text(encoding="utf-8", errors="replace")
    for name, rest, lineno in _assignments(text):
        value = _value(rest, path, lineno)
        if name in _INCLUDES:
            target = Path(value) if os.path.isabs(value) else path.parent / value
            if name == "include_dir":
                if seen is not None:
                    seen.append(target)  # its mtime moves when a file is added or removed
                if target.is_dir():
                    for child in sorted(target.glob("*.conf")):
                        if not child.name.startswith("."):
                            yield from _entries(child, depth + 1, seen)
            elif target.exists() or name == "include":
                yield from _entries(target, depth + 1, seen)
            elif seen is not None:
                seen.append(target)  # include_if_exists: its appearance changes the result
            continue
        yield Entry(name, value, path, lineno)


def read_files(
    config_file: Path, auto_file: Path | None, *, seen: list[Path] | None = None
) -> dict[str, Entry]:
    """Effective assignments of `config_file` (with includes), then `auto_file` when it exists.

    `seen` collects every file and directory the result depends on, so a caller can
    tell from their stats whether it is still current.
    """
    found: dict[str, Entry] = {}
    for entry in _entries(config_file, 0, seen):
        found[entry.name] = entry
    if auto_file is not None:
        if auto_file.exists():
            for entry in _entries(auto_file, 0, seen):
                found[entry.name] = entry
        elif seen is not None:
            seen.append(auto_file)
    return found


def read(datadir: Path) -> dict[str, Entry]:
    """Effective assignments of postgresql.conf (with includes) then postgresql.auto.conf."""
    return read_files(datadir / "postgresql.conf", datadir / "postgresql.auto.conf")


def _at_line_start(text: bytes, index: int) -> bool:
    start = text.rfind(b"\n", 0, index) + 1
    return not text[start:index].strip(b" \t")


def _scan_port(datadir: str) -> str | None:
    """The port's value, found with `str.find` rather than a full parse.

    `ls` needs the port of every stopped instance; initdb's 30 kB file has about
    fifteen active lines, and this scan of bytes costs a twentieth of parsing them
    all. Any include directive falls back to the full parse, which follows includes.
    """
    found = None
    for name in ("postgresql.conf", "postgresql.auto.conf"):
        path = os.path.join(datadir, name)
        try:
            with open(path, "rb") as f:
                lowered = f.read().lower()  # ASCII only: positions do not move
        except FileNotFoundError:
            continue
        if any(_at_line_start(lowered, i) for i in _occurrences(lowered, b"include")):
            entry = read(Path(datadir)).get("port")
            return entry.value if entry else None
        for i in _occurrences(lowered, b"port"):
            after = lowered[i + 4 : i + 5]
            if (after.isalnum() or after == b"_") or not _at_line_start(lowered, i):
                continue
            end = lowered.find(b"\n", i)
            line = lowered[i + 4 : end if end >= 0 else len(lowered)]
            found = _value(line.decode(errors="replace"), Path(path), 0)
    return found


def _occurrences(text: bytes, word: bytes) -> Iterator[int]:
    index = text.find(word)
    while index >= 0:
        yield index
        index = text.find(word, index + len(word))


@functools.lru_cache(maxsize=1024)
def _cached_port(datadir: str, _stamp: tuple[tuple[int, int, int], ...]) -> int | None:
    value = _scan_port(datadir)
    try:
        return int(value) if value is not None else None
    except ValueError:
        return None


def configured_port(datadir: str | Path) -> int | None:
    """The port the configuration sets, cached while postgresql.conf and .auto.conf are unchanged.

    `ls` calls this for every stopped instance at every refresh: two stats instead
    of parsing 30 kB of configuration each time.
    """
    stamp = []
    for name in ("postgresql.conf", "postgresql.auto.conf"):
        try:
            st = os.stat(os.path.join(datadir, name))
        except FileNotFoundError:
            continue
        stamp.append((st.st_ino, st.st_mtime_ns, st.st_size))
    try:
        return _cached_port(str(datadir), tuple(stamp))
    except OSError:
        return None


def typed(value: str) -> ConfigValue:
    """A file value as the closest Python value, for manifests and JSON output."""
    lowered = value.lower()
    if lowered in ("on", "true"):
        return True
    if lowered in ("off", "false"):
        return False
    if re.fullmatch(r"-?\d+", value):
        return int(value)
    if re.fullmatch(r"-?(\d+\.\d*|\.\d+)([eE][-+]?\d+)?", value):
        return float(value)
    return value


def normalized(value: ConfigValue) -> str | None:
    """The text PostgreSQL would read, with boolean spellings folded, for comparisons."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "on" if value else "off"
    text = str(value)
    lowered = text.lower()
    if lowered in ("on", "true", "yes"):
        return "on"
    if lowered in ("off", "false", "no"):
        return "off"
    return text


def render(value: ConfigValue) -> str:
    """A value as a postgresql.conf token: numbers bare, everything else quoted."""
    if isinstance(value, bool):
        return "on" if value else "off"
    if isinstance(value, int | float):
        return str(value)
    text = str(value)
    if any(c in text for c in "\n\r\0"):
        raise ConfigurationError("a configuration value cannot hold a newline or a NUL byte")
    return "'" + text.replace("\\", "\\\\").replace("'", "''") + "'"


def main_file_values(datadir: Path) -> dict[str, str]:
    """Assignments written in postgresql.conf itself (not its includes): the managed set."""
    return file_values(datadir / "postgresql.conf")


def file_values(path: Path) -> dict[str, str]:
    """Assignments written in the configuration file `path` itself, includes not followed."""
    text = path.read_text(encoding="utf-8", errors="replace")
    values: dict[str, str] = {}
    for name, rest, lineno in _assignments(text):
        if name not in _INCLUDES:
            values[name] = _value(rest, path, lineno)
    return values


def edit(text: str, changes: Mapping[str, ConfigValue]) -> str:
    """`text` with each parameter of `changes` set (or removed, for None).

    The last active line of a parameter is rewritten in place, keeping its trailing
    comment; earlier duplicates are dropped so the file says one thing once.
    """
    lines = text.splitlines(keepends=True)
    where: dict[str, list[int]] = {}
    for i, line in enumerate(lines):
        match = _LINE_RE.match(line)
        if match and match.group(1).lower() in changes:
            where.setdefault(match.group(1).lower(), []).append(i)
    drop: set[int] = set()
    appended: list[str] = []
    for name, value in changes.items():
        seen = where.get(name, [])
        if value is None:
            drop.update(seen)
            continue
        new = f"{name} = {render(value)}"
        if not seen:
            appended.append(new + "\n")
            continue
        *earlier, last = seen
        drop.update(earlier)
        # Where the comment starts is found with quoted text blanked (a '#' inside
        # quotes is no comment); the comment itself is taken from the line as written.
        original = lines[last].rstrip("\n")
        comment = re.search(r"\s+#.*$", _strip_value(original))
        lines[last] = new + (original[comment.start() :] if comment else "") + "\n"
    kept = [line for i, line in enumerate(lines) if i not in drop]
    if kept and not kept[-1].endswith("\n"):
        kept[-1] += "\n"
    return "".join(kept + appended)


def _strip_value(line: str) -> str:
    """The line with its quoted value blanked, so a '#' inside quotes is not a comment."""
    return _QUOTED_RE.sub(lambda m: "'" + "x" * (len(m.group()) - 2) + "'", line.rstrip("\n"))


@contextmanager
def staged(path: Path, text: str) -> Iterator[Path]:
    """A complete new version of `path` beside it, renamed over it if the block succeeds.

    The mode of the old file is kept (0600 for a new one); a failure in the block,
    such as the server refusing the candidate, leaves the old file untouched.
    """
    try:
        mode = os.stat(path).st_mode & 0o7777
    except FileNotFoundError:
        mode = 0o600
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                f.write(text)
                f.flush()
                os.fchmod(f.fileno(), mode)
                os.fsync(f.fileno())
        except OSError as exc:  # a full disk: say which file could not be written
            raise OSError(exc.errno, exc.strerror, str(path)) from exc
        yield Path(tmp)
        os.replace(tmp, path)
    except BaseException:
        os.unlink(tmp)
        raise
    dirfd = os.open(path.parent, os.O_DIRECTORY)
    try:
        os.fsync(dirfd)
    finally:
        os.close(dirfd)


def write_atomic(path: Path, text: str) -> None:
    """Replace `path` with `text` in one rename, keeping its mode."""
    with staged(path, text):
        pass
