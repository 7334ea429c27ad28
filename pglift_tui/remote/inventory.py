"""The hosts of a fleet, from the operator's Ansible inventory.

With `ansible-inventory` on PATH (ansible-core, the `fleet` extra) the file is read by
Ansible itself (`ansible-inventory -i FILE --list`), so INI, YAML, scripts and plugins
mean what they mean to Ansible. Without it, Ansible's YAML format is read here:
`all:` / `children:` / `hosts:` / `vars:`, group variables inherited from parent to
child (a child's win, then the host's own), host ranges such as `db[01:20]`.

Only the variables that say how to reach a host are used; nothing else of the
inventory (passwords in vaults included) is read into this process's memory beyond
the parse. A bad inventory is an error naming the file and the problem.
"""

from __future__ import annotations

import fnmatch
import json
import os
import re
import shlex
import shutil
import subprocess
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..exceptions import ConfigurationError

#: The remote command when the inventory does not say: the package on the host's PATH.
DEFAULT_COMMAND = "pglift-tui"
#: Seconds ssh may take to connect, unless the host says (`pglift_tui_connect_timeout`).
CONNECT_TIMEOUT = 5.0
_RANGE = re.compile(r"\[([0-9a-zA-Z]+):([0-9a-zA-Z]+)(?::([0-9]+))?\]")
_USED = (
    "ansible_host",
    "ansible_port",
    "ansible_user",
    "ansible_ssh_private_key_file",
    "ansible_ssh_common_args",
    "pglift_tui_command",
    "pglift_tui_settings",
    "pglift_tui_connect_timeout",
)


class InventoryError(ConfigurationError):
    """An inventory that cannot be read, or a --limit that selects nothing."""


@dataclass(frozen=True)
class InventoryHost:
    """One host as ssh will reach it, named as the inventory names it."""

    name: str
    address: str
    port: int | None = None
    user: str | None = None
    key_file: str | None = None
    #: `ansible_ssh_common_args`, split as a shell would.
    ssh_args: tuple[str, ...] = ()
    #: The far end's command (a shell word list), run with `serve --stdio` appended.
    command: str = DEFAULT_COMMAND
    #: The far end's settings file, passed as PGLIFT_TUI_SETTINGS.
    settings: str | None = None
    connect_timeout: float = CONNECT_TIMEOUT
    groups: frozenset[str] = field(default=frozenset())


@dataclass
class _Tree:
    """Groups and hosts as read, before variables are resolved."""

    #: group -> its direct hosts, its children, its vars
    hosts: dict[str, list[str]] = field(default_factory=dict)
    children: dict[str, list[str]] = field(default_factory=dict)
    vars: dict[str, dict[str, Any]] = field(default_factory=dict)
    host_vars: dict[str, dict[str, Any]] = field(default_factory=dict)

    def group(self, name: str) -> None:
        self.hosts.setdefault(name, [])
        self.children.setdefault(name, [])
        self.vars.setdefault(name, {})


def expand(pattern: str) -> list[str]:
    """Ansible's host ranges: `db[01:03]` is db01, db02, db03; `[a:c]` letters."""
    match = _RANGE.search(pattern)
    if match is None:
        return [pattern]
    start, end, step = match.group(1), match.group(2), int(match.group(3) or 1)
    head, tail = pattern[: match.start()], pattern[match.end() :]
    if start.isdigit() and end.isdigit():
        width = len(start) if start.startswith("0") else 0
        values = [str(n).zfill(width) for n in range(int(start), int(end) + 1, step)]
    elif len(start) == len(end) == 1 and start.isalpha() and end.isalpha():
        values = [chr(c) for c in range(ord(start), ord(end) + 1, step)]
    else:
        raise ValueError(f"invalid host range [{start}:{end}]")
    return [name for value in values for name in expand(head + value + tail)]


def _read_yaml(path: Path, tree: _Tree) -> None:
    import yaml

    from ..settings import yaml_error

    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise InventoryError(f"cannot read inventory {path}: {exc.strerror}") from None
    except UnicodeDecodeError:
        raise InventoryError(f"inventory {path} is not UTF-8 text") from None
    except yaml.YAMLError as exc:
        raise InventoryError(f"inventory {path} is not YAML{yaml_error(exc)}", hint=_NEEDS_ANSIBLE) from None
    if data is None:
        return
    if not isinstance(data, dict):
        raise InventoryError(
            f"inventory {path} is not a YAML inventory (no group at its top)", hint=_NEEDS_ANSIBLE
        )
    tree.group("all")
    for name, body in data.items():
        _group(path, tree, str(name), body, [])
        if str(name) != "all" and str(name) not in tree.children["all"]:
            tree.children["all"].append(str(name))


_NEEDS_ANSIBLE = (
    "this reads Ansible's YAML inventories; INI files, scripts and plugins need ansible-core "
    "(pip install 'pglift-tui[fleet]', which provides ansible-inventory)"
)


def _group(path: Path, tree: _Tree, name: str, body: Any, parents: list[str]) -> None:
    where = " > ".join([*parents, name])
    if name in parents:
        raise InventoryError(f"inventory {path}: group {name!r} contains itself ({where})")
    tree.group(name)
    if body is None:
        return
    if not isinstance(body, dict):
        raise InventoryError(f"inventory {path}: group {where} is not a mapping of hosts, vars and children")
    unknown = set(body) - {"hosts", "vars", "children"}
    if unknown:
        raise InventoryError(
            f"inventory {path}: group {where} has {', '.join(sorted(map(str, unknown)))}",
            hint="a group holds only hosts:, vars: and children:",
        )
    hosts, variables, children = body.get("hosts") or {}, body.get("vars") or {}, body.get("children") or {}
    for value, what in ((hosts, "hosts"), (variables, "vars"), (children, "children")):
        if not isinstance(value, dict):
            raise InventoryError(f"inventory {path}: {what} of group {where} is not a mapping")
    tree.vars[name].update(variables)
    for pattern, host_vars in hosts.items():
        if host_vars is not None and not isinstance(host_vars, dict):
            raise InventoryError(
                f"inventory {path}: host {pattern} in group {where}: its vars are not a mapping"
            )
        try:
            names = expand(str(pattern))
        except ValueError as exc:
            raise InventoryError(f"inventory {path}: host {pattern} in group {where}: {exc}") from None
        for host in names:
            if host not in tree.hosts[name]:
                tree.hosts[name].append(host)
            tree.host_vars.setdefault(host, {}).update(host_vars or {})
    for child, child_body in children.items():
        if str(child) not in tree.children[name]:
            tree.children[name].append(str(child))
        _group(path, tree, str(child), child_body, [*parents, name])


def _read_ansible(path: Path, program: str, tree: _Tree) -> None:
    """`ansible-inventory --list`: Ansible resolves formats and variables itself."""
    try:
        done = subprocess.run(
            [program, "-i", str(path), "--list"], capture_output=True, text=True, timeout=120, check=False
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise InventoryError(f"cannot run {program} on inventory {path}: {exc}") from None
    if done.returncode != 0 or "Unable to parse" in done.stderr or "No inventory was parsed" in done.stderr:
        lines = [line.strip() for line in done.stderr.splitlines() if line.strip()]
        why = next(
            (line for line in lines if "ERROR" in line or "WARNING" in line), lines[-1] if lines else ""
        )
        raise InventoryError(f"inventory {path}: ansible-inventory could not read it: {why}")
    try:
        data = json.loads(done.stdout)
    except ValueError:
        raise InventoryError(f"inventory {path}: ansible-inventory printed no JSON") from None
    meta = data.pop("_meta", {}).get("hostvars", {})
    for name, body in data.items():
        tree.group(name)
        tree.hosts[name].extend(h for h in body.get("hosts", []) if h not in tree.hosts[name])
        tree.children[name].extend(c for c in body.get("children", []) if c not in tree.children[name])
    for host, host_vars in meta.items():
        # Already merged by Ansible (groups, then the host): the host's word is final.
        tree.host_vars.setdefault(host, {}).update(host_vars)


def _memberships(tree: _Tree) -> dict[str, dict[str, int]]:
    """host -> {group: depth}, depth 0 for `all`, deepest path kept."""
    found: dict[str, dict[str, int]] = {}

    def walk(group: str, depth: int, seen: frozenset[str]) -> None:
        for host in tree.hosts.get(group, []):
            groups = found.setdefault(host, {})
            groups[group] = max(groups.get(group, 0), depth)
        for child in tree.children.get(group, []):
            if child not in seen:
                walk(child, depth + 1, seen | {child})

    roots = {"all"} if "all" in tree.hosts else set(tree.hosts)
    for root in roots:
        walk(root, 0, frozenset({root}))
    for host in tree.host_vars:
        found.setdefault(host, {})
    for groups in found.values():
        groups.setdefault("all", 0)
    return found


def _host(path_text: str, name: str, variables: dict[str, Any], groups: Iterable[str]) -> InventoryHost:
    def text(var: str) -> str | None:
        value = variables.get(var)
        if value is None:
            return None
        value = str(value)
        if "{{" in value or "{%" in value:
            raise InventoryError(
                f"inventory {path_text}: host {name}: {var} is a template ({value})",
                hint="templates are not rendered here: give the value itself",
            )
        return value

    def number(var: str, kind: type[int] | type[float]) -> Any:
        value = text(var)
        if value is None:
            return None
        try:
            number = kind(value)
        except ValueError:
            raise InventoryError(
                f"inventory {path_text}: host {name}: {var} is not a number: {value}"
            ) from None
        if number <= 0 or (var == "ansible_port" and number > 65535):
            raise InventoryError(f"inventory {path_text}: host {name}: {var} is out of range: {value}")
        return number

    try:
        ssh_args = tuple(shlex.split(text("ansible_ssh_common_args") or ""))
    except ValueError as exc:
        raise InventoryError(f"inventory {path_text}: host {name}: ansible_ssh_common_args: {exc}") from None
    command = text("pglift_tui_command") or DEFAULT_COMMAND
    try:
        if not shlex.split(command):
            raise ValueError("empty")
    except ValueError as exc:
        raise InventoryError(f"inventory {path_text}: host {name}: pglift_tui_command: {exc}") from None
    key = text("ansible_ssh_private_key_file")
    return InventoryHost(
        name=name,
        address=text("ansible_host") or name,
        port=number("ansible_port", int),
        user=text("ansible_user"),
        key_file=os.path.expanduser(key) if key else None,
        ssh_args=ssh_args,
        command=command,
        settings=text("pglift_tui_settings"),
        connect_timeout=number("pglift_tui_connect_timeout", float) or CONNECT_TIMEOUT,
        groups=frozenset(groups),
    )


@dataclass(frozen=True)
class Inventory:
    hosts: tuple[InventoryHost, ...]
    groups: frozenset[str]
    sources: tuple[str, ...]

    def names(self) -> list[str]:
        return [h.name for h in self.hosts]


def load(paths: Sequence[Path], *, ansible: str | None = None, use_ansible: bool = True) -> Inventory:
    """The hosts of every file in `paths`, in the order they first appear.

    `ansible`: the ansible-inventory program (default: the one on PATH, if any).
    """
    program = ansible or (shutil.which("ansible-inventory") if use_ansible else None)
    hosts: dict[str, InventoryHost] = {}
    groups: set[str] = set()
    for path in paths:
        if not path.exists():
            raise InventoryError(
                f"inventory {path} does not exist", hint="give the path of an Ansible inventory"
            )
        tree = _Tree()
        if program is not None:
            _read_ansible(path, program, tree)
        elif path.is_dir():
            raise InventoryError(f"inventory {path} is a directory", hint=_NEEDS_ANSIBLE)
        else:
            _read_yaml(path, tree)
        memberships = _memberships(tree)
        groups.update(tree.hosts)
        for name, member in memberships.items():
            merged: dict[str, Any] = {}
            if program is None:
                for group in sorted(member, key=lambda g: (member[g], g)):
                    merged.update({k: v for k, v in tree.vars.get(group, {}).items() if k in _USED})
            merged.update({k: v for k, v in tree.host_vars.get(name, {}).items() if k in _USED})
            if name in hosts:  # a host in two files: the later file's variables win
                before = hosts[name]
                merged = {**_vars_of(before), **merged}
                member = {**dict.fromkeys(before.groups, 0), **member}
            hosts[name] = _host(str(path), name, merged, member)
    if not hosts:
        listed = ", ".join(map(str, paths))
        raise InventoryError(f"inventory {listed} lists no host", hint="add hosts under all: hosts:")
    return Inventory(tuple(hosts.values()), frozenset(groups), tuple(map(str, paths)))


def _vars_of(host: InventoryHost) -> dict[str, Any]:
    """The used variables back from a host read earlier (to merge a later file over it)."""
    found: dict[str, Any] = {
        "ansible_host": host.address,
        "ansible_port": host.port,
        "ansible_user": host.user,
        "ansible_ssh_private_key_file": host.key_file,
        "ansible_ssh_common_args": shlex.join(host.ssh_args) if host.ssh_args else None,
        "pglift_tui_command": host.command,
        "pglift_tui_settings": host.settings,
        "pglift_tui_connect_timeout": host.connect_timeout,
    }
    return {k: v for k, v in found.items() if v is not None}


def limit(inventory: Inventory, pattern: str | None) -> list[InventoryHost]:
    """The hosts `pattern` selects, as Ansible's --limit: names or groups, globs (`db*`),
    `~regex`, unions with `:` or `,`, `&group` intersections, `!group` exclusions."""
    if pattern is None:
        return list(inventory.hosts)
    terms = [t.strip() for t in re.split(r"[:,]", pattern) if t.strip()]
    if not terms:
        raise InventoryError(f"--limit {pattern!r} is empty", hint="give host or group names")
    union: set[str] = set()
    selected_any = False
    for term in terms:
        if term[0] in "!&":
            continue
        union |= _match(inventory, term)
        selected_any = True
    chosen = union if selected_any else {h.name for h in inventory.hosts}
    for term in terms:
        if term.startswith("&"):
            chosen &= _match(inventory, term[1:])
        elif term.startswith("!"):
            chosen -= _match(inventory, term[1:])
    if not chosen:
        raise InventoryError(
            f"--limit {pattern!r} selects no host of the inventory",
            hint=f"hosts: {', '.join(inventory.names())}; groups: {', '.join(sorted(inventory.groups))}",
        )
    return [h for h in inventory.hosts if h.name in chosen]


def _match(inventory: Inventory, term: str) -> set[str]:
    if term in ("all", "*"):
        return {h.name for h in inventory.hosts}
    if term.startswith("~"):
        try:
            regex = re.compile(term[1:])
        except re.error as exc:
            raise InventoryError(f"--limit: invalid regular expression {term[1:]!r}: {exc}") from None
        return {
            h.name for h in inventory.hosts if regex.search(h.name) or any(regex.search(g) for g in h.groups)
        }
    return {
        h.name
        for h in inventory.hosts
        if fnmatch.fnmatchcase(h.name, term) or any(fnmatch.fnmatchcase(g, term) for g in h.groups)
    }
