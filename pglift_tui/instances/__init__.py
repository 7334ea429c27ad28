"""The instances API of pglift, re-implemented: see ../shared/spec/instances-api.txt.

`exists` and `init` are plain functions, `stopped` an async context manager, `ls`
an async iterator, the rest coroutines, as the spec has them.
"""

from ._apply import apply, drop
from ._configure import configure, pending_restart, settings
from ._create import init
from ._lifecycle import reload, restart, start, stop, stopped
from ._query import exists, get, ls
from ._replication import promote
from ._upgrade import Step, Upgraded, upgrade, upgrade_async
from ._upgrade_parts import analyze_in_stages

__all__ = [
    "Step",
    "Upgraded",
    "analyze_in_stages",
    "apply",
    "configure",
    "drop",
    "exists",
    "get",
    "init",
    "ls",
    "pending_restart",
    "promote",
    "reload",
    "restart",
    "settings",
    "start",
    "stop",
    "stopped",
    "upgrade",
    "upgrade_async",
]
