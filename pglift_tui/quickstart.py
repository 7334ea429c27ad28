"""Install and run pglift-tui from a checkout, with Python's standard library only.

    python3 -m pglift_tui.quickstart demo   # install, then open the dashboard on demo instances
    python3 -m pglift_tui.quickstart test   # install with test extras, then lint, type-check, test

PostgreSQL refuses to run as root. Typed by root, both commands install where the
`postgres` system user can read (as Debian's pg_ctlcluster, they then run as that
user), and `demo` links /usr/local/bin/pglift-tui to a small wrapper that runs
pglift-tui as postgres when root types it; typed by anyone else, they install into
`.venv` in the checkout.
"""

from __future__ import annotations

import os
import pwd
import shutil
import subprocess
import sys
from pathlib import Path

CHECKOUT = Path(__file__).resolve().parent.parent
SYSTEM_USER = "postgres"
ROOT_VENV = Path("/opt/pglift-tui")
#: What root types: a wrapper that runs pglift-tui as the postgres user.
ROOT_WRAPPER = ROOT_VENV / "pglift-tui-as-postgres"
ROOT_LINK = Path("/usr/local/bin/pglift-tui")
SYSTEM_PYTHON = Path("/usr/bin/python3")
#: What a child run as another user keeps from root's environment.
KEEP_ENV = ("TERM", "COLORTERM", "NO_COLOR", "LANG", "LC_ALL", "LC_CTYPE", "TZ", "PIP_INDEX_URL", "PIP_CERT")
CACHES = (".venv", ".git", "__pycache__", ".pytest_cache", ".mypy_cache", ".ruff_cache")


def say(text: str) -> None:
    print(f"quickstart: {text}", file=sys.stderr, flush=True)


def run(argv: list[str], cwd: Path | None = None) -> None:
    say(" ".join(argv))
    subprocess.run(argv, check=True, cwd=cwd)


def venv(path: Path, python: Path, spec: str, *, editable: bool) -> Path:
    """A virtualenv at `path` with `spec` installed from the checkout; its bin directory."""
    if not (path / "bin" / "python").exists():
        run([str(python), "-m", "venv", str(path)])
    pip = [str(path / "bin" / "python"), "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
    run([*pip, *(["-e"] if editable else []), spec], cwd=CHECKOUT)
    return path / "bin"


def system_user() -> pwd.struct_passwd:
    try:
        return pwd.getpwnam(SYSTEM_USER)
    except KeyError:
        say(f"no '{SYSTEM_USER}' user: install PostgreSQL's server package, or run this as a regular user")
        raise SystemExit(2) from None


def as_user(user: pwd.struct_passwd, argv: list[str], cwd: Path) -> int:
    """Run `argv` as `user` with a clean environment, as pg_ctlcluster does."""
    env = {key: os.environ[key] for key in KEEP_ENV if key in os.environ}
    env |= {"HOME": user.pw_dir, "USER": user.pw_name, "LOGNAME": user.pw_name, "PATH": "/usr/bin:/bin"}
    say(f"running as {user.pw_name}: {' '.join(argv)}")
    return subprocess.run(
        ["runuser", "-u", user.pw_name, "--", "env", "-i", *(f"{k}={v}" for k, v in env.items()), *argv],
        cwd=cwd,
        check=False,
    ).returncode


def wrapper(user: pwd.struct_passwd, program: Path) -> str:
    """A shell script running `program` as `user` with a clean environment, as `as_user` does."""
    keep = " ".join(f'${{{key}+"{key}=${key}"}}' for key in KEEP_ENV)
    return (
        "#!/bin/sh\n"
        "# pglift-tui typed by root: PostgreSQL refuses to run as root, so this runs it\n"
        f"# as {user.pw_name} with a clean environment (written by pglift_tui.quickstart).\n"
        'if [ "$(id -u)" = 0 ]; then\n'
        f"  exec runuser -u {user.pw_name} -- env -i HOME={user.pw_dir} USER={user.pw_name} "
        f'LOGNAME={user.pw_name} PATH=/usr/bin:/bin {keep} {program} "$@"\n'
        "fi\n"
        f'exec {program} "$@"\n'
    )


def link_for_root(user: pwd.struct_passwd, bindir: Path) -> None:
    """/usr/local/bin/pglift-tui -> the wrapper, so that root can type `pglift-tui`."""
    ROOT_WRAPPER.write_text(wrapper(user, bindir / "pglift-tui"), encoding="utf-8")
    ROOT_WRAPPER.chmod(0o755)
    if ROOT_LINK.is_symlink() or not ROOT_LINK.exists():
        ROOT_LINK.unlink(missing_ok=True)
        ROOT_LINK.symlink_to(ROOT_WRAPPER)
        say(f"{ROOT_LINK} runs pglift-tui as {user.pw_name}: `pglift-tui --demo --reset` removes the demo")
    else:
        say(f"{ROOT_LINK} exists and is not ours: left alone; type {ROOT_WRAPPER} instead")


def demo() -> int:
    if os.geteuid() == 0:
        python = SYSTEM_PYTHON if SYSTEM_PYTHON.exists() else Path(sys.executable)
        bindir = venv(ROOT_VENV, python, str(CHECKOUT), editable=False)
        user = system_user()
        link_for_root(user, bindir)
        return as_user(user, [str(bindir / "pglift-tui"), "--demo"], Path("/"))
    bindir = venv(CHECKOUT / ".venv", Path(sys.executable), str(CHECKOUT), editable=False)
    os.execv(bindir / "pglift-tui", [str(bindir / "pglift-tui"), "--demo"])  # noqa: S606


def test() -> int:
    if os.geteuid() == 0:
        user = system_user()
        # The terminal tests drive the dashboard in tmux; the fleet tests run an sshd per test host.
        if shutil.which("tmux") is None or not Path("/usr/sbin/sshd").exists():
            run(["apt-get", "update", "-q"])
            run(["apt-get", "install", "-y", "-q", "tmux", "openssh-server"])
        copy = Path(user.pw_dir) / "pglift-tui-checkout"
        say(f"copying the checkout to {copy}, which {user.pw_name} can read")
        if copy.exists():
            for child in copy.iterdir():
                if child.name != ".venv":
                    shutil.rmtree(child) if child.is_dir() and not child.is_symlink() else child.unlink()
        shutil.copytree(CHECKOUT, copy, ignore=shutil.ignore_patterns(*CACHES), dirs_exist_ok=True)
        run(["chown", "-R", f"{user.pw_uid}:{user.pw_gid}", str(copy)])
        python = SYSTEM_PYTHON if SYSTEM_PYTHON.exists() else Path(sys.executable)
        return as_user(user, [str(python), "-m", "pglift_tui.quickstart", "test"], copy)
    bindir = venv(CHECKOUT / ".venv", Path(sys.executable), ".[test]", editable=True)
    failed = []
    for step in (
        [str(bindir / "ruff"), "check", "."],
        [str(bindir / "ruff"), "format", "--check", "."],
        [str(bindir / "mypy")],
        [str(bindir / "pytest")],
    ):
        say(" ".join(step))
        if subprocess.run(step, cwd=CHECKOUT, check=False).returncode != 0:
            failed.append(Path(step[0]).name)
    if failed:
        say(f"failed: {', '.join(failed)}")
        return 1
    say("all checks passed")
    return 0


def main() -> int:
    commands = {"demo": demo, "test": test}
    if len(sys.argv) != 2 or sys.argv[1] not in commands:
        say("usage: python3 -m pglift_tui.quickstart demo|test")
        return 2
    try:
        return commands[sys.argv[1]]()
    except subprocess.CalledProcessError as exc:
        say(f"failed: {exc}")
        return 1


if __name__ == "__main__":
    raise SystemExit(main())
