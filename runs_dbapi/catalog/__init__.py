"""The tables the driver exposes, declared as data: columns, types, path, push-down, reads and
writes. Everything the planner, the executor, the writes, the dialect and the command line know
about a table comes from here."""

from .model import (
    BATCH_REQUESTS_COLUMN,
    BODY_PREFIX,
    BOOLEAN,
    BYTES,
    FLOAT,
    INTEGER,
    JSON,
    LIST_PARAMETERS,
    SCHEMA_ALIASES,
    STRING,
    TIMESTAMP,
    UPDATE_MASK_PARAMETER,
    BatchCreate,
    Column,
    PointReads,
    Procedure,
    Table,
    Writes,
)
from .tables import (
    EXPERIMENTS,
    PAGE_COLUMNS,
    RUNS,
    TABLES,
    TENSORBOARDS,
    TIME_SERIES,
    TIME_SERIES_DATA,
    find_table,
)

__all__ = [
    "BATCH_REQUESTS_COLUMN", "BODY_PREFIX", "BOOLEAN", "BYTES", "EXPERIMENTS", "FLOAT", "INTEGER",
    "JSON", "LIST_PARAMETERS", "PAGE_COLUMNS", "RUNS", "SCHEMA_ALIASES", "STRING", "TABLES",
    "TENSORBOARDS", "TIMESTAMP", "TIME_SERIES", "TIME_SERIES_DATA", "UPDATE_MASK_PARAMETER",
    "BatchCreate", "Column", "PointReads", "Procedure", "Table", "Writes", "find_table",
]
