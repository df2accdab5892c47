"""Apache Superset engine spec for runs:// databases.

Superset loads this module through the `superset.db_engine_specs` entry point; nothing in
`runs_dialect` imports it (it imports Superset). Time grains are SQLite datetime expressions,
because the driver evaluates them in SQLite, where timestamps are UTC text
'YYYY-MM-DD HH:MM:SS.ffffff'.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from sqlalchemy import types
from superset.constants import TimeGrain
from superset.db_engine_specs.base import BaseEngineSpec

from runs_dbapi.statements import LocalSQLite

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
    supports_file_upload = False  # no CREATE TABLE: runs are the API's
    supports_dynamic_schema = False
    supports_catalog = False
    supports_multivalues_insert = True
    # A URL must not make Superset read a local key file or start an emulator in its process.
    disallow_uri_query_params = {"rest": {"credentials_path", "emulator"}}

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
