"""`RunsDialect`: SQLAlchemy over `runs_dbapi`, for Core, the ORM, pandas and Apache Superset.

Reflection answers from the driver's catalog (no API call); statements go to the driver as
SQLite-flavoured SQL with `?` parameters. Works with SQLAlchemy 1.4 and 2.x.
"""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Callable
from types import ModuleType
from typing import TYPE_CHECKING, Any, TypeVar

from sqlalchemy.engine import default
from sqlalchemy.engine.url import URL
from sqlalchemy.exc import ArgumentError, NoSuchTableError

from runs_dbapi.catalog import SCHEMA_ALIASES, TABLES, Table
from runs_dbapi.exceptions import InterfaceError
from runs_dbapi.paths import check_connection_path

from .compat import SQLALCHEMY_2
from .compiler import RunsCompiler, RunsDDLCompiler, RunsIdentifierPreparer, RunsTypeCompiler
from .types import COLSPECS, ISCHEMA_NAMES, sqlalchemy_type
from .url import parse_url

if TYPE_CHECKING:  # SQLAlchemy 2's types; annotations only, so 1.4 never imports them
    from sqlalchemy.engine.interfaces import ReflectedPrimaryKeyConstraint, ReflectedTableComment

DEFAULT_SCHEMA = "aiplatform"
AUTOCOMMIT = "AUTOCOMMIT"
# Columns whose value the API assigns, reflected with a server default so that the ORM leaves
# them out of its INSERTs and fetches them by RETURNING. The text is never sent (there is no
# DDL); it is what code generators write, so it is SQL: not FetchedValue(), which sqlacodegen
# renders without importing it.
SERVER_DEFAULTS = {
    "name": "'assigned by the API'",
    "etag": "'assigned by the API'",
    "createTime": "CURRENT_TIMESTAMP",
    "updateTime": "CURRENT_TIMESTAMP",
}
# The probe do_ping runs when the connection knows a project and location: one cheap API call.
PING_PROBE = "SELECT name FROM tensorboards LIMIT 1"


_R = TypeVar("_R")


def cached(method: Callable[..., _R]) -> Callable[..., _R]:
    """Cache a reflection answer in the inspector's `info_cache`, as `reflection.cache` does.

    (SQLAlchemy 1.4's `reflection.cache` rebuilds the signature from the annotations' text,
    which fails on postponed annotations.)
    """

    @functools.wraps(method)
    def wrapper(self: Any, connection: Any, *args: Any, **kw: Any) -> _R:
        info_cache = kw.get("info_cache")
        if info_cache is None:
            return method(self, connection, *args, **kw)
        key = (
            method.__name__,
            tuple(str(a) for a in args if isinstance(a, str)),
            tuple((k, str(v) if isinstance(v, str) else v) for k, v in sorted(kw.items())
                  if k not in ("info_cache", "unreflectable")),
        )
        if key not in info_cache:
            info_cache[key] = method(self, connection, *args, **kw)
        answer: _R = info_cache[key]
        return answer

    return wrapper


def _table(table_name: str, schema: str | None) -> Table:
    table = TABLES.get(table_name) if _schema_known(schema) else None
    if table is None:
        raise NoSuchTableError(f"{schema}.{table_name}" if schema else table_name)
    return table


def _schema_known(schema: str | None) -> bool:
    return schema is None or schema in SCHEMA_ALIASES


class RunsDialect(default.DefaultDialect):
    """`runs://PROJECT/LOCATION/TENSORBOARD/EXPERIMENT?options` (see runs_dialect.url)."""

    name = "runs"
    driver = "rest"
    supports_statement_cache = True  # must be on each class itself, subclasses included

    default_paramstyle = "qmark"
    statement_compiler = RunsCompiler
    ddl_compiler = RunsDDLCompiler  # refuses DDL, saying why (the tables are the API's)
    type_compiler = RunsTypeCompiler  # SQLAlchemy 1.4's name
    type_compiler_cls = RunsTypeCompiler
    preparer = RunsIdentifierPreparer
    colspecs = COLSPECS
    ischema_names = ISCHEMA_NAMES

    # What the driver really does.
    supports_alter = False
    supports_sequences = False
    supports_native_boolean = False  # booleans travel as 1 and 0
    supports_native_decimal = False
    supports_native_enum = False
    supports_native_uuid = False
    supports_identity_columns = False
    supports_comments = True  # reflected from the catalog's field descriptions
    inline_comments = False
    supports_default_values = False  # INSERT needs displayName: no DEFAULT VALUES
    supports_default_metavalue = False
    supports_empty_insert = False
    supports_multivalues_insert = True  # VALUES (...), (...) is one batchCreate
    supports_server_side_cursors = False
    supports_simple_order_by_label = True
    supports_cast = True  # read by SQLAlchemy's SQLite compiler, which ours extends
    supports_is_distinct_from = True
    postfetch_lastrowid = False  # IDs are strings; RETURNING name gives them back
    requires_name_normalize = False
    # A row count is the number of runs the API created, patched or deleted.
    supports_sane_rowcount = True
    supports_sane_multi_rowcount = True
    # INSERT, UPDATE and DELETE ... RETURNING are evaluated over the written runs.
    insert_returning = True
    update_returning = True
    delete_returning = True
    # SQLAlchemy 2: executemany of INSERT ... RETURNING as multi-row VALUES, up to one
    # batchCreate's worth of rows per statement; plain executemany (pandas) stays the driver's
    # executemany, which batches by itself.
    use_insertmanyvalues = True
    use_insertmanyvalues_wo_returning = False
    insertmanyvalues_page_size = TABLES["runs"].batch_max
    if not SQLALCHEMY_2:
        # SQLAlchemy 1.4's names for RETURNING support.
        implicit_returning = True
        full_returning = True

    def __init__(
        self,
        json_serializer: Callable[[Any], str] | None = None,
        json_deserializer: Callable[[str], Any] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self._json_serializer = json_serializer
        self._json_deserializer = json_deserializer

    # -- the DBAPI -----------------------------------------------------------------------------

    @classmethod
    def import_dbapi(cls) -> ModuleType:  # SQLAlchemy 2
        import runs_dbapi  # noqa: PLC0415 - SQLAlchemy asks when an engine is made

        return runs_dbapi

    @classmethod
    def dbapi(cls) -> ModuleType:  # type: ignore[override]  # SQLAlchemy 1.4
        return cls.import_dbapi()

    def create_connect_args(self, url: URL) -> tuple[list[Any], dict[str, Any]]:
        return [], parse_url(url)

    def _get_server_version_info(self, connection: Any) -> tuple[int, ...] | None:
        return None

    def _get_default_schema_name(self, connection: Any) -> str:
        return DEFAULT_SCHEMA

    def do_ping(self, dbapi_connection: Any) -> bool:
        """One API call when the connection knows where to look (so a wrong endpoint, project
        or credential fails here); `SELECT 1` otherwise. A tensorboard or experiment the URL
        names must exist: one that does not raises ProgrammingError naming it (a path that does
        not exist is not an empty table), so Superset's connection test fails on it."""
        raw = getattr(dbapi_connection, "dbapi_connection", None) or dbapi_connection
        defaults = getattr(raw, "defaults", {})
        if defaults.get("projectsId") and defaults.get("locationsId") and (
                defaults.get("tensorboardsId") or defaults.get("experimentsId")):
            check_connection_path(raw.client, defaults)
            return True
        probe = PING_PROBE if defaults.get("projectsId") and defaults.get("locationsId") else (
            "SELECT 1")
        cursor = raw.cursor()
        try:
            cursor.execute(probe)
            cursor.fetchall()
        finally:
            cursor.close()
        return True

    def is_disconnect(self, e: Exception, connection: Any, cursor: Any) -> bool:
        return isinstance(e, InterfaceError) and "closed" in str(e)

    # -- transactions: the API has none; writes take effect when executed ---------------------

    def do_begin(self, dbapi_connection: Any) -> None:
        pass

    def do_commit(self, dbapi_connection: Any) -> None:
        pass

    def do_rollback(self, dbapi_connection: Any) -> None:
        pass

    def get_isolation_level(self, dbapi_connection: Any) -> str:  # type: ignore[override]
        return AUTOCOMMIT

    def get_default_isolation_level(self, dbapi_conn: Any) -> str:  # type: ignore[override]
        return AUTOCOMMIT

    def get_isolation_level_values(self, dbapi_conn: Any) -> list[str]:  # type: ignore[override]
        return [AUTOCOMMIT]

    def set_isolation_level(self, dbapi_connection: Any, level: str) -> None:
        if level != AUTOCOMMIT:
            raise ArgumentError(
                f"Isolation level {level!r} is not available: the API has no transactions, "
                "every statement takes effect at once (AUTOCOMMIT)."
            )

    def reset_isolation_level(self, dbapi_connection: Any) -> None:
        pass

    # -- reflection: from the catalog, no API call ---------------------------------------------

    @cached
    def get_schema_names(self, connection: Any, **kw: Any) -> list[str]:
        return [DEFAULT_SCHEMA]

    @cached
    def get_table_names(self, connection: Any, schema: str | None = None,
                        **kw: Any) -> list[str]:
        return list(TABLES) if _schema_known(schema) else []

    @cached
    def get_view_names(self, connection: Any, schema: str | None = None,
                       **kw: Any) -> list[str]:
        return []

    def get_temp_table_names(self, connection: Any, schema: str | None = None,
                             **kw: Any) -> list[str]:
        return []

    def get_temp_view_names(self, connection: Any, schema: str | None = None,
                            **kw: Any) -> list[str]:
        return []

    def get_sequence_names(self, connection: Any, schema: str | None = None,
                           **kw: Any) -> list[str]:
        return []

    def has_sequence(self, connection: Any, sequence_name: str, schema: str | None = None,
                     **kw: Any) -> bool:
        return False

    @cached
    def has_table(self, connection: Any, table_name: str, schema: str | None = None,
                  **kw: Any) -> bool:
        return _schema_known(schema) and table_name in TABLES

    @cached
    def get_columns(self, connection: Any, table_name: str, schema: str | None = None,
                    **kw: Any) -> list[Any]:
        table = _table(table_name, schema)
        columns = []
        for column in table.columns:
            columns.append({
                "name": column.name,
                "type": sqlalchemy_type(column.type),
                "nullable": not (column.path_parameter or column.name == "name"),
                "default": SERVER_DEFAULTS.get(column.name),
                "autoincrement": False,
                "comment": column.description or None,
            })
        return columns

    @cached
    def get_pk_constraint(self, connection: Any, table_name: str, schema: str | None = None,
                          **kw: Any) -> ReflectedPrimaryKeyConstraint:
        # A resource's name identifies its row (UPDATE/DELETE ... WHERE name = ? address it);
        # a data point, its series and step.
        return {"constrained_columns": list(_table(table_name, schema).key_columns),
                "name": None}

    @cached
    def get_foreign_keys(self, connection: Any, table_name: str, schema: str | None = None,
                         **kw: Any) -> list[Any]:
        _table(table_name, schema)
        return []

    @cached
    def get_indexes(self, connection: Any, table_name: str, schema: str | None = None,
                    **kw: Any) -> list[Any]:
        _table(table_name, schema)
        return []

    @cached
    def get_unique_constraints(self, connection: Any, table_name: str,
                               schema: str | None = None, **kw: Any) -> list[Any]:
        _table(table_name, schema)
        return []

    @cached
    def get_check_constraints(self, connection: Any, table_name: str,
                              schema: str | None = None, **kw: Any) -> list[Any]:
        _table(table_name, schema)
        return []

    @cached
    def get_table_comment(self, connection: Any, table_name: str, schema: str | None = None,
                          **kw: Any) -> ReflectedTableComment:
        return {"text": _table(table_name, schema).description or None}

    @cached
    def get_table_options(self, connection: Any, table_name: str, schema: str | None = None,
                          **kw: Any) -> dict[str, Any]:
        _table(table_name, schema)
        return {}

    def get_view_definition(self, connection: Any, view_name: str, schema: str | None = None,
                            **kw: Any) -> str:
        raise NoSuchTableError(view_name)


dialect = RunsDialect  # `runs://` and `runs+rest://` (its one driver) both load this class

# Alembic finds a dialect's migration implementation by the dialect's name among the classes
# defined so far: define ours whenever Alembic is installed (it is optional).
with contextlib.suppress(ImportError):  # Alembic not installed
    from . import alembic as _alembic  # noqa: F401
