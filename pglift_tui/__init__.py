"""pglift-tui: a live dashboard and an async core for the PostgreSQL instances of a host.

This module stays free of third-party imports: the quick-start bootstrap
(`python3 -m pglift_tui.quickstart`) imports it before any dependency is installed.
"""

__version__ = "0.1.0"
