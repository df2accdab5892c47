"""Apache Superset engine spec for runs:// databases.

Superset loads this module through the `superset.db_engine_specs` entry point; nothing in
`runs_dialect` imports it (it imports Superset). Time grains are SQLite datetime expressions,
because the driver evaluates them in SQLite, where timestamps are UTC text
'YYYY-MM-DD HH:MM:SS.ffffff'.

The people who add databases are not the people whose credentials Superset holds: options that
would make Superset act with its own identity or reach a host of the URL's choosing (see
`runs_dialect.url.shared_server_refusals`) are refused, in the URL and in the connect_args of a
database's extra or encrypted extra alike, unless `RUNS_URL_ALLOWLIST` in superset_config.py
allows them, e.g. `RUNS_URL_ALLOWLIST = {"endpoint": ["http://127.0.0.1:8471"]}`.

SQL Lab runs INSERT, UPDATE and DELETE when the database allows DML: a statement without a
result set answers one row, its rowcount. "Upload CSV" and "Upload Columnar" append into the
tables the API writes (`runs`), one batchCreate per 1000 rows; what the API cannot honour
(replacing a table, creating one, writing the DataFrame index) is refused saying what to choose.
JSON columns (labels) are JSON text in results, and so in CSV exports.

A dashboard of several charts over one dataset sends the same listings once per chart. Add
`cache_ttl=SECONDS` to the SQLAlchemy URI (`runs://p/l/t?cache_ttl=60`) and the charts of the
database share one time-to-live cache of API listings and gets (off by default; a write through
the driver empties it for what it wrote). See the README's Superset section.
"""

from __future__ import annotations

import importlib
import json
import logging
import re
from datetime import datetime, timezone
from typing import Any

from sqlalchemy import types
from sqlalchemy.engine.url import URL
from sqlalchemy.exc import ArgumentError
from superset.constants import TimeGrain
from superset.db_engine_specs.base import BaseEngineSpec
from superset.utils.core import GenericDataType

from runs_dbapi.catalog import TABLES
from runs_dbapi.exceptions import NotSupportedError
from runs_dbapi.statements import LocalSQLite
from runs_dialect.url import parse_url, shared_server_refusals

logger = logging.getLogger(__name__)

ALLOWLIST_SETTING = "RUNS_URL_ALLOWLIST"
# The one-column result SQL Lab shows for a statement without a result set (INSERT, UPDATE and
# DELETE without RETURNING): how many rows it wrote.
ROWCOUNT_COLUMN = "rowcount"

try:  # Superset parses and re-renders SQL Lab statements with sqlglot: ours are the driver's
    # SQLite, whose json_extract means the value under every sqlglot release (Superset pins an
    # older one that would rewrite it as `->`, which yields JSON text).
    from superset.sql.parse import SQLGLOT_DIALECTS

    SQLGLOT_DIALECTS.setdefault("runs", LocalSQLite)
except ImportError:  # pragma: no cover - older Superset releases
    pass

_DAY = "DATETIME({col}, 'start of day')"
_WEEK_STARTING_SUNDAY = "DATETIME({col}, 'start of day', -STRFTIME('%w', {col}) || ' days')"
_WEEK_STARTING_MONDAY = (
    "DATETIME({col}, 'start of day', '-' || ((STRFTIME('%w', {col}) + 6) % 7) || ' days')"
)
_QUARTER = (
    "DATETIME({col}, 'start of month', "
    "PRINTF('-%d month', (STRFTIME('%m', {col}) - 1) % 3))"
)


def _minutes(step: int) -> str:
    return ("DATETIME(STRFTIME('%Y-%m-%dT%H:%M:00', {col}), "
            f"PRINTF('-%d minutes', CAST(STRFTIME('%M', {{col}}) AS INTEGER) % {step}))")


def _seconds(step: int) -> str:
    return ("DATETIME(STRFTIME('%Y-%m-%dT%H:%M:%S', {col}), "
            f"PRINTF('-%d seconds', CAST(STRFTIME('%S', {{col}}) AS INTEGER) % {step}))")


class RunsEngineSpec(BaseEngineSpec):  # type: ignore[misc]
    """Vertex AI TensorBoard runs (runs_dialect), over the REST API."""

    engine = "runs"
    engine_name = "Vertex AI TensorBoard runs"
    engine_aliases = {"runs+rest"}
    default_driver = "rest"
    drivers = {"rest": "Vertex AI REST API (runs_dbapi)"}
    sqlalchemy_uri_placeholder = (
        "runs://project/location/tensorboard/experiment?credentials_info=...")
    disable_ssh_tunneling = True
    # Uploads append into the tables the API writes (df_to_sql); nothing else.
    supports_file_upload = True
    supports_dynamic_schema = False
    supports_catalog = False
    supports_multivalues_insert = True
    # Options a URL may not use without the administrator's leave: validate_database_uri.

    # JSON columns come back as dicts and lists; Superset would write them with str() (Python
    # text, `{'team': 'nlp'}`) in results and CSV exports. They are JSON text instead.
    column_type_mappings = (
        (re.compile(r"^json", re.IGNORECASE), types.JSON(), GenericDataType.STRING),
    )
    column_type_mutators = {
        types.JSON: lambda value: (json.dumps(value) if isinstance(value, (dict, list))
                                   else value),
    }

    _time_grain_expressions = {
        None: "{col}",
        TimeGrain.SECOND: "DATETIME(STRFTIME('%Y-%m-%dT%H:%M:%S', {col}))",
        TimeGrain.FIVE_SECONDS: _seconds(5),
        TimeGrain.THIRTY_SECONDS: _seconds(30),
        TimeGrain.MINUTE: "DATETIME(STRFTIME('%Y-%m-%dT%H:%M:00', {col}))",
        TimeGrain.FIVE_MINUTES: _minutes(5),
        TimeGrain.TEN_MINUTES: _minutes(10),
        TimeGrain.FIFTEEN_MINUTES: _minutes(15),
        TimeGrain.THIRTY_MINUTES: _minutes(30),
        TimeGrain.HALF_HOUR: _minutes(30),
        TimeGrain.HOUR: "DATETIME(STRFTIME('%Y-%m-%dT%H:00:00', {col}))",
        TimeGrain.SIX_HOURS: (
            "DATETIME(STRFTIME('%Y-%m-%dT%H:00:00', {col}), "
            "PRINTF('-%d hours', CAST(STRFTIME('%H', {col}) AS INTEGER) % 6))"
        ),
        TimeGrain.DAY: _DAY,
        TimeGrain.WEEK: _WEEK_STARTING_SUNDAY,
        TimeGrain.WEEK_STARTING_SUNDAY: _WEEK_STARTING_SUNDAY,
        TimeGrain.WEEK_STARTING_MONDAY: _WEEK_STARTING_MONDAY,
        TimeGrain.WEEK_ENDING_SATURDAY: "DATETIME({col}, 'start of day', 'weekday 6')",
        TimeGrain.WEEK_ENDING_SUNDAY: "DATETIME({col}, 'start of day', 'weekday 0')",
        TimeGrain.MONTH: "DATETIME({col}, 'start of month')",
        TimeGrain.QUARTER: _QUARTER,
        TimeGrain.QUARTER_YEAR: _QUARTER,
        TimeGrain.YEAR: "DATETIME({col}, 'start of year')",
    }

    @staticmethod
    def _options(uri: URL | str) -> dict[str, Any]:
        try:
            return parse_url(uri)
        except ArgumentError as error:
            raise ValueError(str(error)) from None

    @classmethod
    def _refuse(cls, options: dict[str, Any]) -> None:
        """ValueError (Superset shows its text) naming each refused option and the setting."""
        # Flask's current_app: the configuration of the Superset serving this request.
        allowed = importlib.import_module("flask").current_app.config.get(ALLOWLIST_SETTING)
        try:
            refusals = shared_server_refusals(options, allowed, setting=ALLOWLIST_SETTING)
        except ArgumentError as error:
            raise ValueError(str(error)) from None
        if refusals:
            raise ValueError(" ".join(refusals))

    @classmethod
    def validate_database_uri(cls, sqlalchemy_uri: URL) -> None:
        super().validate_database_uri(sqlalchemy_uri)
        cls._refuse(cls._options(sqlalchemy_uri))

    @classmethod
    def adjust_engine_params(cls, uri: URL, connect_args: dict[str, Any],
                             catalog: str | None = None, schema: str | None = None
                             ) -> tuple[URL, dict[str, Any]]:
        """The URL's options with the connect_args of the database's extra, checked alike."""
        uri, connect_args = super().adjust_engine_params(uri, connect_args, catalog, schema)
        cls._refuse({**cls._options(uri), **connect_args})
        return uri, connect_args

    @classmethod
    def update_params_from_encrypted_extra(cls, database: Any, params: dict[str, Any]) -> None:
        """The encrypted extra's connect_args are checked as the URL's options are."""
        super().update_params_from_encrypted_extra(database, params)
        connect_args = params.get("connect_args") or {}
        if connect_args:
            cls._refuse({**cls._options(database.sqlalchemy_uri_decrypted), **connect_args})

    @classmethod
    def epoch_to_dttm(cls) -> str:
        return "DATETIME({col}, 'unixepoch')"

    @classmethod
    def convert_dttm(cls, target_type: str, dttm: datetime,
                     db_extra: dict[str, Any] | None = None) -> str | None:
        """A datetime literal in the text form timestamps have in the driver (UTC)."""
        sqla_type = cls.get_sqla_column_type(target_type)
        if isinstance(sqla_type, (types.String, types.DateTime)):
            if dttm.tzinfo is not None:
                dttm = dttm.astimezone(timezone.utc).replace(tzinfo=None)
            return f"'{dttm.strftime('%Y-%m-%d %H:%M:%S.%f')}'"
        return None

    @classmethod
    def fetch_data(cls, cursor: Any, limit: int | None = None) -> list[tuple[Any, ...]]:
        """A statement without a result set (DML without RETURNING) answers its rowcount as
        one row, where Superset's own specs (PostgreSQL, Oracle, MSSQL) answer no rows: SQL Lab
        then shows how many runs an UPDATE changed, rather than fetching from no result set."""
        if not cursor.description:
            if cursor.rowcount is None or cursor.rowcount < 0:
                return []
            # The DB-API cursor is the driver's own: SQL Lab reads its description next.
            cursor.description = [(ROWCOUNT_COLUMN, "INTEGER", None, None, None, None, False)]
            return [(cursor.rowcount,)]
        data: list[tuple[Any, ...]] = super().fetch_data(cursor, limit)
        return data

    @classmethod
    def df_to_sql(cls, database: Any, table: Any, df: Any,
                  to_sql_kwargs: dict[str, Any]) -> None:
        """Upload CSV / Columnar / Excel: append the file's rows into a table the API writes.

        The tables are the API's collections: none can be created, replaced or dropped, so
        "Replace" and a new table name are refused, and so are "Fail" (the table always
        exists) and the DataFrame index (no such column); each refusal says what to choose.
        Rows go out through pandas' multi-row INSERT: one batchCreate per 1000 rows.
        """
        cls.check_upload(table.table, table.schema, to_sql_kwargs)
        logger.info("upload: appending %d rows into %s", len(df), table.table)
        super().df_to_sql(database, table, df, {**to_sql_kwargs, "if_exists": "append"})

    @staticmethod
    def check_upload(name: str, schema: str | None, to_sql_kwargs: dict[str, Any]) -> None:
        """NotSupportedError (Superset shows its text) for an upload the API cannot honour."""
        writable = sorted(t.name for t in TABLES.values() if t.writable)
        choices = " or ".join(writable)
        target = TABLES.get(name)
        if schema and schema.lower() not in ("aiplatform", "google.aiplatform"):
            raise NotSupportedError(
                f"Uploads go into schema aiplatform, not {schema!r}: choose schema aiplatform "
                f"and table {choices}.")
        if target is None:
            raise NotSupportedError(
                f"Cannot upload into a new table {name!r}: runs:// tables are the Vertex AI "
                f"API's collections and none can be created. Choose table {choices} and "
                "'Append' (the file's columns are the table's: displayName, description, "
                "labels as JSON, runsId, and experimentsId unless the URL names one).")
        if not target.writable:
            raise NotSupportedError(
                f"Table {name} is read only through the API: uploads append into {choices}.")
        if_exists = to_sql_kwargs.get("if_exists", "fail")
        if if_exists == "replace":
            raise NotSupportedError(
                f"'Replace' would drop table {name}, which is the API's collection and cannot "
                f"be dropped: choose 'Append' to add the file's rows (to replace runs, DELETE "
                "them in SQL Lab first).")
        if if_exists not in ("append", "fail"):
            raise NotSupportedError(f"If table exists {if_exists!r}: choose 'Append'.")
        if if_exists == "fail":
            raise NotSupportedError(
                f"Table {name} always exists (it is the API's collection): choose 'Append' "
                "under 'If table already exists' to add the file's rows.")
        if to_sql_kwargs.get("index"):
            raise NotSupportedError(
                f"{name} has no column for the DataFrame index: leave 'Dataframe index' "
                "unchecked.")
