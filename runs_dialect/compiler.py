"""SQL as the driver reads it: SQLite's syntax (its local evaluator), parameters as `?`.

The driver parses statements with sqlglot's SQLite dialect and evaluates what the API does not
answer in SQLite, so the SQLite compiler is the base; the changes are where the driver (not
SQLite) reads the statement: RETURNING names plain columns, division is true division whatever
the operands, and JSON values are read with `->` and `->>` (`labels ->> '$.team' = 'nlp'` is
what the driver pushes down to the API as the filter `labels.team = "nlp"`).

There is no DDL: the tables are the API's collections. `RunsDDLCompiler` refuses every DDL
construct with NotSupportedError saying why and what to do instead (pandas' to_sql replacing a
table, a new table, Alembic's operations and version table), before anything is sent.
"""

from __future__ import annotations

from typing import Any, cast

from sqlalchemy import types as sqltypes
from sqlalchemy.dialects.sqlite.base import (
    SQLiteCompiler,
    SQLiteIdentifierPreparer,
    SQLiteTypeCompiler,
)
from sqlalchemy.exc import CompileError
from sqlalchemy.sql import expression
from sqlalchemy.sql.compiler import DDLCompiler
from sqlalchemy.sql.elements import BindParameter

from runs_dbapi.catalog import TABLES
from runs_dbapi.exceptions import NotSupportedError
from runs_dbapi.sqlfunctions import PYTHON_FLAGS

from .compat import SQLALCHEMY_2

# Columns pandas' to_sql adds for the DataFrame index when index=True (its default).
PANDAS_INDEX_COLUMNS = ("index", "level_0")


def ddl_refusal(statement: Any, client: str = "") -> str:
    """Why a DDL construct (CREATE TABLE, DROP TABLE, Alembic's ALTER ...) cannot run, and what
    to do instead. `client` names who sent it ("Alembic"), when known."""
    kind = type(statement).__name__
    element = getattr(statement, "element", None)
    table = (getattr(statement, "table_name", None) or getattr(element, "name", None)
             or getattr(getattr(element, "table", None), "name", None) or "")
    words = {"CreateTable": "CREATE TABLE", "DropTable": "DROP TABLE",
             "CreateIndex": "CREATE INDEX", "DropIndex": "DROP INDEX",
             "AddColumn": "ADD COLUMN", "DropColumn": "DROP COLUMN",
             "ColumnType": "ALTER COLUMN", "ColumnName": "RENAME COLUMN",
             "RenameTable": "RENAME TABLE"}
    what = f"{client + ' ' if client else ''}{words.get(kind, kind)}{' ' + table if table else ''}"
    tables = ", ".join(TABLES)
    reason = (f"{what}: runs:// tables ({tables}) are the Vertex AI API's collections, with the "
              "API's fixed schema; nothing creates, drops or alters them (no DDL).")
    if table == "alembic_version":
        return (f"{reason} Alembic's version table cannot be created either: use the runs:// "
                "database to compare models (alembic check, compare_metadata), not to stamp "
                "or run migrations.")
    if client:
        return f"{reason} Migrations cannot change these tables."
    if kind == "DropTable" and table in TABLES:
        return (f"{reason} pandas: to_sql(..., if_exists=\"replace\") drops the table first; "
                "pass if_exists=\"append\" to add rows (pandas 3's if_exists=\"delete_rows\" "
                "deletes the runs the connection's path selects, then appends).")
    if kind == "CreateTable" and table not in TABLES:
        writable = next(t.name for t in TABLES.values() if t.writable)
        return (f"{reason} pandas: to_sql writes into an existing table: to_sql({writable!r}, "
                "engine, if_exists=\"append\", index=False).")
    return reason


class RunsDDLCompiler(DDLCompiler):
    """No DDL reaches the API: every construct is refused when it is compiled."""

    def __init__(self, dialect: Any, statement: Any, *args: Any, **kw: Any) -> None:
        if statement is not None:
            raise NotSupportedError(ddl_refusal(statement))
        cast(Any, super()).__init__(dialect, statement, *args, **kw)


class RunsCompiler(SQLiteCompiler):
    def visit_insert(self, insert_stmt: Any, *args: Any, **kw: Any) -> str:
        """pandas' to_sql writes the DataFrame index as a column `index` unless told not to:
        say so, rather than leave the driver to report an unknown column."""
        table = TABLES.get(getattr(insert_stmt.table, "name", ""))
        if table is not None:
            for name in self._inserted_names(insert_stmt):
                if name in PANDAS_INDEX_COLUMNS and table.column(name) is None:
                    raise CompileError(
                        f"INSERT into {table.name}: {table.name} has no column {name!r}, which "
                        "pandas' to_sql adds for the DataFrame index: pass index=False "
                        "(and if_exists=\"append\").")
        return str(cast(Any, super()).visit_insert(insert_stmt, *args, **kw))

    def _inserted_names(self, insert_stmt: Any) -> set[str]:
        """The column names an INSERT writes: its values, or the execution's parameters."""
        names = {str(key) for key in (self.column_keys or ())}
        values: list[Any] = [getattr(insert_stmt, "_values", None) or {}]
        for rows in getattr(insert_stmt, "_multi_values", None) or ():
            values.extend(row for row in rows[:1] if isinstance(row, dict))
        for mapping in values:
            names.update(getattr(key, "key", None) or getattr(key, "name", None) or str(key)
                         for key in mapping)
        if not (self.column_keys or any(values)):
            names.update(c.name for c in insert_stmt.table.columns)  # all columns are written
        return names

    def visit_truediv_binary(self, binary: Any, operator: Any, **kw: Any) -> str:
        # 15 / 10 is 1.5 whatever the operand types (SQLite alone would say 1).
        left = self.process(binary.left, **kw)
        right = self.process(binary.right, **kw)
        return f"{left} / ({right} + 0.0)"

    def visit_floordiv_binary(self, binary: Any, operator: Any, **kw: Any) -> str:
        # FLOOR, not SQLite's truncation toward zero: -15 // 10 is -2.
        left = self.process(binary.left, **kw)
        right = self.process(binary.right, **kw)
        floored = f"FLOOR({left} / ({right} + 0.0))"
        if binary.type._type_affinity is sqltypes.Integer:
            return f"CAST({floored} AS INTEGER)"
        return floored

    def visit_json_getitem_op_binary(self, binary: Any, operator: Any,
                                     _cast_applied: bool = False, **kw: Any) -> str:
        return self._json_extract(binary, **kw)

    def visit_json_path_getitem_op_binary(self, binary: Any, operator: Any,
                                          _cast_applied: bool = False, **kw: Any) -> str:
        return self._json_extract(binary, **kw)

    def _json_extract(self, binary: Any, **kw: Any) -> str:
        """`labels['team']` as JSON is `labels -> '$.team'` (JSON text); as a scalar
        (`.as_string()`, ...) it is `labels ->> '$.team'`, which the driver pushes down."""
        left = self.process(binary.left, **kw)
        path = self.process(binary.right, **kw)
        operator = "->" if binary.type._type_affinity is sqltypes.JSON else "->>"
        return f"({left} {operator} {path})"

    def visit_regexp_match_op_binary(self, binary: Any, operator: Any, **kw: Any) -> str:
        return self._regexp_match(binary, "REGEXP", **kw)

    def visit_not_regexp_match_op_binary(self, binary: Any, operator: Any, **kw: Any) -> str:
        return self._regexp_match(binary, "NOT REGEXP", **kw)

    def visit_regexp_replace_op_binary(self, binary: Any, operator: Any, **kw: Any) -> str:
        """`regexp_replace(value, pattern, replacement)`: the driver replaces every match."""
        value = self.process(binary.left, **kw)
        pattern, replacement = binary.right.clauses
        flagged = self._flagged(binary, self.process(pattern, **kw))
        return f"regexp_replace({value}, {flagged}, {self.process(replacement, **kw)})"

    def _regexp_match(self, binary: Any, operator: str, **kw: Any) -> str:
        left = self.process(binary.left, **kw)
        return f"{left} {operator} {self._flagged(binary, self.process(binary.right, **kw))}"

    @staticmethod
    def _flagged(binary: Any, pattern: str) -> str:
        """The pattern with `flags=` as Python's inline flags: `('(?i)' || ?)`. (SQLAlchemy's
        SQLite compiler drops them silently; the driver's regular expressions are Python's.)"""
        flags = binary.modifiers.get("flags")
        if isinstance(flags, BindParameter):  # SQLAlchemy 1.4 accepts an expression too
            flags = flags.value
        if not flags:
            return pattern
        if not isinstance(flags, str) or not set(flags) <= PYTHON_FLAGS:
            raise CompileError(
                f"regular expression flags {flags!r}: the runs dialect takes Python's inline "
                f"flag letters ({''.join(sorted(PYTHON_FLAGS))}), e.g. flags='i'")
        return f"('(?{flags})' || {pattern})"

    def returning_clause(self, stmt: Any, returning_cols: Any, **kw: Any) -> str:
        """RETURNING plain column names: the driver evaluates them over the written runs."""
        if SQLALCHEMY_2:
            kw["include_table"] = False
            return str(cast(Any, super()).returning_clause(stmt, returning_cols, **kw))
        # SQLAlchemy 1.4: its SQLite compiler has no RETURNING; render it as its PostgreSQL
        # compiler does, with plain column names.
        compiler: Any = self
        columns = [
            compiler._label_select_column(
                None, column, True, False, {"include_table": False},
                fallback_label_name=column._non_anon_label,
            )
            for column in cast(Any, expression)._select_iterables(returning_cols)
        ]
        return "RETURNING " + ", ".join(columns)


class RunsTypeCompiler(SQLiteTypeCompiler):
    """Type names as SQLite (and so the driver's CAST) reads them."""


class RunsIdentifierPreparer(SQLiteIdentifierPreparer):
    """Quotes SQLite's reserved words and any name that is not all lower case (`"createTime"`)."""
