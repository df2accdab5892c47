"""What the runs dialect supports, for SQLAlchemy's compliance suite (sqlalchemy.testing).

Only what the driver really does is open; the suite skips tests of the rest.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.testing import exclusions
from sqlalchemy.testing.requirements import SuiteRequirements

closed = exclusions.closed
open_ = exclusions.open


class Requirements(SuiteRequirements):
    # -- no DDL: the tables are the API's resources ----------------------------------------------
    @property
    def table_reflection(self) -> Any:
        return open_()

    @property
    def temp_table_reflection(self) -> Any:
        return closed()

    @property
    def temporary_tables(self) -> Any:
        return closed()

    @property
    def views(self) -> Any:
        return closed()

    @property
    def schemas(self) -> Any:
        return closed()

    @property
    def foreign_keys(self) -> Any:
        return closed()

    @property
    def sequences(self) -> Any:
        return closed()

    @property
    def identity_columns(self) -> Any:
        return closed()

    @property
    def computed_columns(self) -> Any:
        return closed()

    @property
    def comment_reflection(self) -> Any:
        return open_()

    @property
    def autoincrement_insert(self) -> Any:
        return closed()

    @property
    def empty_inserts(self) -> Any:
        return closed()

    @property
    def empty_inserts_executemany(self) -> Any:
        return closed()

    # -- statements --------------------------------------------------------------------------------
    @property
    def returning(self) -> Any:
        return open_()

    @property
    def insert_returning(self) -> Any:
        return open_()

    @property
    def update_returning(self) -> Any:
        return open_()

    @property
    def delete_returning(self) -> Any:
        return open_()

    @property
    def insert_executemany_returning(self) -> Any:
        return open_()

    @property
    def multivalues_inserts(self) -> Any:
        return open_()

    @property
    def bound_limit_offset(self) -> Any:
        return open_()

    @property
    def window_functions(self) -> Any:
        return open_()

    @property
    def ctes(self) -> Any:
        return open_()

    @property
    def json_type(self) -> Any:
        return open_()

    # -- transactions: none in the API; statements take effect at once --------------------------
    @property
    def isolation_level(self) -> Any:
        return closed()

    @property
    def autocommit(self) -> Any:
        return closed()

    @property
    def savepoints(self) -> Any:
        return closed()

    @property
    def two_phase_transactions(self) -> Any:
        return closed()

    @property
    def independent_connections(self) -> Any:
        return open_()

    @property
    def default_schema_name_switch(self) -> Any:
        return closed()

    @property
    def server_side_cursors(self) -> Any:
        return closed()

    # -- types ---------------------------------------------------------------------------------
    @property
    def datetime_timezone(self) -> Any:
        return open_()

    @property
    def unicode_ddl(self) -> Any:
        return closed()

    @property
    def precision_numerics_enotation_large(self) -> Any:
        return closed()
