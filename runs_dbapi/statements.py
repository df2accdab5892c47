"""SQL text to sqlglot trees, with parameters bound into the tree (never into the text)."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import date, datetime, time, timezone
from decimal import Decimal
from typing import Any

import sqlglot
from sqlglot import exp
from sqlglot.dialects.dialect import Dialect
from sqlglot.dialects.sqlite import SQLite
from sqlglot.errors import ParseError, TokenError
from sqlglot.tokens import TokenType

from .exceptions import NotSupportedError, ProgrammingError


def _json_extract(args: list[exp.Expression]) -> exp.Expression:
    if len(args) == 2:
        return exp.JSONExtractScalar(this=args[0], expression=args[1])
    return exp.Anonymous(this="JSON_EXTRACT", expressions=args)


class LocalSQLite(SQLite):  # type: ignore[misc]  # sqlglot is untyped here
    """SQLite as the local evaluator runs it, the same under every sqlglot release.

    sqlglot releases disagree on `json_extract(x, p)`: some turn it into `x -> p`, which SQLite
    answers with JSON text ('"nlp"') rather than the value. Here it always means the value, and
    is written back as `json_extract`.
    """

    class Parser(SQLite.Parser):  # type: ignore[misc]
        FUNCTIONS = {**SQLite.Parser.FUNCTIONS, "JSON_EXTRACT": _json_extract}

    class Generator(SQLite.Generator):  # type: ignore[misc]
        TRANSFORMS = {
            **SQLite.Generator.TRANSFORMS,
            exp.JSONExtractScalar: lambda self, e: self.func("JSON_EXTRACT", e.this,
                                                             e.expression),
        }


DIALECT = LocalSQLite  # the local evaluator's dialect, so functions parse as they will run


def canonical_time(moment: datetime) -> str:
    """The text form timestamps take in local evaluation: UTC, sortable, SQLite-native."""
    if moment.tzinfo is not None:
        moment = moment.astimezone(timezone.utc).replace(tzinfo=None)
    return moment.strftime("%Y-%m-%d %H:%M:%S.%f")


POSITIONAL_PREFIX = "_p"


def number_positional_markers(sql: str) -> str:
    """Turn each `?` marker into `:_p0`, `:_p1`, ... in text order.

    The tree does not keep source order (a CTE's markers come last in it), so positions are
    taken from sqlglot's tokenizer, which skips `?` inside literals and comments.
    """
    try:
        tokens = Dialect.get_or_raise(DIALECT).tokenize(sql)
    except TokenError as error:
        raise token_error(sql, error) from None
    markers = [t for t in tokens if t.token_type == TokenType.PLACEHOLDER and t.text == "?"]
    for index in range(len(markers) - 1, -1, -1):
        token = markers[index]
        sql = f"{sql[:token.start]}:{POSITIONAL_PREFIX}{index}{sql[token.end + 1:]}"
    return sql


def _line_column(sql: str, offset: int) -> str:
    line = sql.count("\n", 0, offset) + 1
    return f"line {line}, column {offset - (sql.rfind(chr(10), 0, offset) + 1) + 1}"


def token_error(sql: str, error: TokenError) -> ProgrammingError:
    """A tokenizing error with its position: where an unterminated quote opens, if there is
    one, else the end of the text the tokenizer quoted."""
    opened: tuple[int, str] | None = None
    index = 0
    while index < len(sql):
        char = sql[index]
        if opened is None:
            if char in "'\"`":
                opened = (index, char)
            elif sql.startswith("--", index):
                index = sql.find("\n", index)
                if index < 0:
                    break
            elif sql.startswith("/*", index):
                end = sql.find("*/", index + 2)
                if end < 0:
                    return ProgrammingError(
                        f"SQL syntax error at {_line_column(sql, index)}: unterminated comment; "
                        "close it with */")
                index = end + 1
        elif char == opened[1]:
            if sql.startswith(char * 2, index):
                index += 1  # a doubled quote stands for itself
            else:
                opened = None
        index += 1
    if opened is not None:
        start, quote_char = opened
        return ProgrammingError(
            f"SQL syntax error at {_line_column(sql, start)}: unterminated quoted text "
            f"starting {sql[start:start + 20]!r}; close it with {quote_char} (and double any "
            f"{quote_char} inside it)")
    stop = getattr(error, "end", None)
    where = f" at {_line_column(sql, stop)}" if isinstance(stop, int) and stop <= len(sql) else ""
    return ProgrammingError(f"SQL syntax error{where}: {error}")


def parse(sql: str) -> exp.Expression:
    """Parse one statement; a syntax error names the line and column."""
    if not isinstance(sql, str):
        raise ProgrammingError(f"SQL must be a string, not {type(sql).__name__}")
    try:
        trees = [t for t in sqlglot.parse(number_positional_markers(sql), read=DIALECT)
                 if t is not None]
    except ParseError as error:
        detail = error.errors[0] if error.errors else {}
        where = (f" at line {detail.get('line')}, column {detail.get('col')}"
                 if detail.get("line") else "")
        reason = detail.get("description") or str(error)
        raise ProgrammingError(f"SQL syntax error{where}: {reason}") from None
    except TokenError as error:
        raise token_error(sql, error) from None
    if not trees:
        raise ProgrammingError("Empty statement: nothing to execute.")
    if len(trees) > 1:
        raise ProgrammingError(
            f"{len(trees)} statements given; execute() runs one statement at a time."
        )
    tree = trees[0]
    if isinstance(tree, exp.Command):
        raise NotSupportedError(f"Unsupported statement: {tree.sql(dialect=DIALECT)[:60]!r}.")
    return tree


def literal(value: Any) -> exp.Expression:
    """A Python parameter value as a SQL literal node."""
    if value is None:
        return exp.Null()
    if isinstance(value, bool):
        return exp.Literal.number(int(value))
    if isinstance(value, (int, float, Decimal)):
        return exp.Literal.number(value)
    if isinstance(value, str):
        return exp.Literal.string(value)
    if isinstance(value, datetime):
        return exp.Literal.string(canonical_time(value))
    if isinstance(value, (date, time)):
        return exp.Literal.string(value.isoformat())
    if isinstance(value, (bytes, bytearray, memoryview)):
        return exp.HexString(this=bytes(value).hex())
    if isinstance(value, (dict, list)):
        return exp.Literal.string(json.dumps(value, separators=(",", ":")))
    raise ProgrammingError(
        f"Unsupported parameter type {type(value).__name__}: {value!r}; pass None, bool, int, "
        "float, Decimal, str, bytes, date, time, datetime, or a dict or list (sent as JSON)")


def bind(tree: exp.Expression, parameters: Sequence[Any] | Mapping[str, Any] | None
         ) -> exp.Expression:
    """Replace `?` (positional, numbered by `parse`) or `:name` markers with literal nodes."""
    placeholders = list(tree.find_all(exp.Placeholder))
    if not placeholders:
        if parameters:
            raise ProgrammingError(
                f"The statement has no parameter markers but {len(parameters)} parameters were "
                "given."
            )
        return tree
    mapping = parameter_mapping(placeholders, parameters)
    tree = tree.copy()
    for marker in list(tree.find_all(exp.Placeholder)):
        marker.replace(literal(mapping[str(marker.this)]))
    return tree


def parameter_mapping(placeholders: Sequence[exp.Placeholder],
                      parameters: Sequence[Any] | Mapping[str, Any] | None) -> Mapping[str, Any]:
    """Marker name -> value, after checking that the parameters fit the markers."""
    positional = [p for p in placeholders if str(p.this or "").startswith(POSITIONAL_PREFIX)]
    if positional and len(positional) != len(placeholders):
        raise ProgrammingError("Mixing `?` and `:name` parameter markers is not supported.")
    if positional:
        if parameters is None or isinstance(parameters, (Mapping, str, bytes)):
            raise ProgrammingError(
                f"The statement has {len(placeholders)} `?` markers: pass a sequence of "
                f"{len(placeholders)} parameters."
            )
        values = list(parameters)
        if len(values) != len(placeholders):
            raise ProgrammingError(
                f"The statement has {len(placeholders)} `?` markers but {len(values)} "
                "parameters were given."
            )
        mapping: Mapping[str, Any] = {f"{POSITIONAL_PREFIX}{i}": v for i, v in enumerate(values)}
    elif isinstance(parameters, Mapping):
        mapping = parameters
    else:
        raise ProgrammingError("Named parameter markers (:name) need a mapping of parameters.")
    for marker in placeholders:
        if str(marker.this) not in mapping:
            raise ProgrammingError(f"No value was given for parameter :{marker.this}.")
    return mapping
