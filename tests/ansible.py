"""ansible-core, for the tests of inventories read by `ansible-inventory` (INI, scripts).

Installed from PyPI into a virtualenv of its own under the user's cache, as the
`fleet` extra would install it for an operator, never into the product's test
environment: there, ansible-inventory on the PATH would make every fleet test read
its inventory through Ansible, and the YAML reader would go untested.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ANSIBLE = Path.home() / ".cache" / "pglift-tui" / "ansible-core"


def ensure_ansible() -> Path:
    """The bin directory holding ansible-inventory, created on first use."""
    bindir = ANSIBLE / "bin"
    if not (bindir / "ansible-inventory").exists():
        subprocess.run([sys.executable, "-m", "venv", "--clear", str(ANSIBLE)], check=True)
        subprocess.run(
            [str(bindir / "python"), "-m", "pip", "install", "--quiet", "ansible-core"], check=True
        )
    return bindir
