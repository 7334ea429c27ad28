"""`python -m pglift_tui`: the same as the `pglift-tui` command."""

from .cli import main

raise SystemExit(main())
