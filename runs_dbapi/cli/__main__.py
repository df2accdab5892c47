"""`python -m runs_dbapi.cli`: what the `runs-sql` console script runs."""

from runs_dbapi.cli import main

raise SystemExit(main())
