"""Alembic's migration implementation for runs://, registered by the dialect's name.

Alembic looks up `DefaultImpl` subclasses by `__dialect__` when a MigrationContext is made; this
module is imported by `runs_dialect.base` whenever Alembic is installed, so that
`MigrationContext.configure(connection)` and `alembic check` (autogenerate's comparison of a
project's models with the reflected tables) work. The tables are the API's collections: every
DDL operation (create_table, add_column, alter_column, drop_table, create_index, the version
table) raises NotSupportedError saying why, before anything is sent. `op.execute` of DML and
`op.bulk_insert` go through the driver as any statement does.

There is no version table, and none can be made: a run of the environment (as `alembic check`
does) never tries to create it (Alembic's `dont_mutate`), so the check compares the models with
the tables and reports the differences; stamping, which would write to it, is refused.
"""

from __future__ import annotations

from typing import Any

from alembic.ddl.impl import DefaultImpl
from sqlalchemy.sql.ddl import DDLElement

from runs_dbapi.exceptions import NotSupportedError

from .compiler import ddl_refusal


class RunsImpl(DefaultImpl):
    """runs:// for Alembic: comparison works, DDL is refused."""

    __dialect__ = "runs"
    transactional_ddl = False  # the API has no transactions

    def start_migrations(self) -> None:
        # Before MigrationContext.run_migrations would create the version table.
        self.context_opts.setdefault("dont_mutate", True)
        super().start_migrations()

    def _exec(self, construct: Any, *args: Any, **kw: Any) -> Any:
        version_table = self.context_opts.get("version_table") or "alembic_version"
        if isinstance(construct, DDLElement):
            raise NotSupportedError(ddl_refusal(construct, client="Alembic"))
        if getattr(getattr(construct, "table", None), "name", None) == version_table:
            raise NotSupportedError(
                f"Alembic's version table {version_table} cannot be created or written: "
                "runs:// tables are the Vertex AI API's collections. Use the runs:// database "
                "to compare models (alembic check, compare_metadata), not to stamp or run "
                "migrations.")
        return super()._exec(construct, *args, **kw)
