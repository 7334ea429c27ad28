"""The dashboard: a Textual app over the core's public API.

Only this package imports Textual; everything it shows comes from the core
(`pglift_tui.instances`, `pglift_tui.monitor`, `pglift_tui.journal`).
"""
