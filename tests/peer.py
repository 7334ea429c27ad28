"""pglift 3.3, the peer we measure against and check compatibility with.

Installed from PyPI into a virtualenv of its own under the user's cache, never into
the product's environment: it is a yardstick, not a dependency.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

PEER = Path.home() / ".cache" / "pglift-tui" / "peer-pglift-3.3"


def ensure_pglift() -> Path:
    """The bin directory of the peer virtualenv, created on first use."""
    bindir = PEER / "bin"
    if not (bindir / "pglift").exists():
        subprocess.run([sys.executable, "-m", "venv", "--clear", str(PEER)], check=True)
        subprocess.run(
            [str(bindir / "python"), "-m", "pip", "install", "--quiet", "pglift==3.3.*", "pglift-cli==3.3.*"],
            check=True,
        )
    return bindir
