"""SQL text to sqlglot trees, with parameters bound into the tree (never into the text)."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from datetime import date, datetime, time
from decimal import Decimal
from typing import Any

from sqlglot import exp
from sqlglot.dialects.dialect import Dialect
from sqlglot.dialects.sqlite import SQLite
from sqlglot.errors import ParseError, TokenError
from sqlglot.tokens import Token, TokenType

from .exceptions import NotSupportedError, ProgrammingError
from .names import name_outputs
from .timestamps import canonical_time


def _arrow(operator: str) -> Any:
    def sql(self: Any, expression: exp.Expression) -> str:
        subject = expression.this
        text = self.sql(subject)
        if isinstance(subject, (exp.Binary, exp.Unary)) and not isinstance(
                subject, (exp.JSONExtract, exp.JSONExtractScalar)):
            text = f"({text})"
        return f"{text} {operator} {self.sql(expression, 'expression')}"
    return sql


class LocalSQLite(SQLite):  # type: ignore[misc]  # sqlglot is untyped here
    """SQLite as the local evaluator runs it, the same under every sqlglot release.

    sqlglot releases disagree on `json_extract(x, p)` (some turn it into `x -> p`, which SQLite
    answers with JSON text rather than the value) and rewrite the paths of `->` and `->>` (a
    bare key `'k'` becomes `'$.k'`). Here `json_extract` stays a plain function call and the
    arrows keep their operand as written, so SQLite gives its own answer to each.
    """

    def to_json_path(self, path: exp.Expression | None) -> exp.Expression | None:
        return path

    class Tokenizer(SQLite.Tokenizer):  # type: ignore[misc]
        # EXECUTE is the seed's EXEC, whose parameters are read from the tokens: not a command
        # whose rest sqlglot would keep as one string.
        COMMANDS = SQLite.Tokenizer.COMMANDS - {TokenType.EXECUTE}

    class Parser(SQLite.Parser):  # type: ignore[misc]
        FUNCTIONS = {
            **SQLite.Parser.FUNCTIONS,
            "JSON_EXTRACT": lambda args: exp.Anonymous(this="json_extract", expressions=args),
        }

        def _parse_types(self, *args: Any, **kwargs: Any) -> Any:
            # SQLite's CAST reads the type name as written (its affinity: NUMERIC keeps 1 an
            # integer, STRING is NUMERIC too, DATE is no function); sqlglot's names differ
            # (NUMERIC becomes REAL, STRING TEXT, DATE a call): keep the spelling.
            start = self._index
            node = super()._parse_types(*args, **kwargs)
            tokens = self._tokens[start:self._index]
            if isinstance(node, exp.DataType) and tokens and all(
                    t.token_type not in (TokenType.STRING, TokenType.IDENTIFIER) for t in tokens):
                node.meta["spelled"] = " ".join(t.text for t in tokens)
            return node

    class Generator(SQLite.Generator):  # type: ignore[misc]
        def tablealias_sql(self, expression: exp.TableAlias) -> str:
            # SQLite names a CTE's columns (`WITH n(i) AS ...`), though not a table's: some
            # sqlglot releases drop the list for both.
            if isinstance(expression.parent, exp.CTE) and expression.columns:
                columns = self.expressions(expression, key="columns", flat=True)
                return f"{self.sql(expression, 'this')}({columns})"
            return str(super().tablealias_sql(expression))

        def cast_sql(self, expression: exp.Cast, safe_prefix: str | None = None) -> str:
            spelled = cast_type_name(expression)
            if spelled is None or safe_prefix:
                return str(super().cast_sql(expression, safe_prefix))
            return f"CAST({self.sql(expression, 'this')} AS {spelled})"

        TRANSFORMS = {
            **SQLite.Generator.TRANSFORMS,
            exp.JSONExtract: _arrow("->"),
            exp.JSONExtractScalar: _arrow("->>"),
        }


DIALECT = LocalSQLite  # the local evaluator's dialect, so functions parse as they will run


def cast_type_name(cast: exp.Expression) -> str | None:
    """The type name of a CAST as the statement spelled it, if it was read from one."""
    to = cast.args.get("to")
    spelled = to.meta.get("spelled") if isinstance(to, exp.DataType) else None
    return str(spelled) if spelled else None


POSITIONAL_PREFIX = "_p"


MAX_VARIABLE_NUMBER = 250000  # SQLite's largest `?NNN` (SQLITE_MAX_VARIABLE_NUMBER's ceiling)


def tokenize(sql: str) -> list[Token]:
    """The one tokenization of a statement: its tokens serve every later step (EXEC's reader,
    the parser, output names), each with its place in `sql`."""
    if not isinstance(sql, str):
        raise ProgrammingError(f"SQL must be a string, not {type(sql).__name__}")
    try:
        return list(Dialect.get_or_raise(DIALECT).tokenize(sql))
    except TokenError as error:
        raise token_error(sql, error) from None


def number_positional_markers(sql: str, tokens: Sequence[Token]) -> list[Token]:
    """The tokens with each `?` marker as `:_p0`, `:_p1`, ... (its number less one), and
    `?NNN` as `:_p0NNN` (the digits as written), numbered as SQLite numbers them; a renamed
    marker keeps the place of what the user wrote.

    SQLite's rules: `?NNN` is parameter NNN (used twice, it binds the same value); a bare `?`
    is one more than the largest number assigned before it; the statement takes as many
    parameters as the largest number. The tree does not keep source order (a CTE's markers
    come last in it), so numbers are given here, in token order (the tokenizer skips `?`
    inside literals and comments).
    """
    renamed: list[Token] = []
    largest = 0
    index = 0
    while index < len(tokens):
        token = tokens[index]
        index += 1
        if token.token_type != TokenType.PLACEHOLDER or token.text != "?":
            renamed.append(token)
            continue
        end = token.end
        following = tokens[index] if index < len(tokens) else None
        if (following is not None and following.token_type == TokenType.NUMBER
                and following.start == token.end + 1 and following.text.isdigit()):
            number = int(following.text)
            if not 1 <= number <= MAX_VARIABLE_NUMBER:
                raise ProgrammingError(
                    f"Parameter marker {sql[token.start:following.end + 1]}: variable number "
                    f"must be between ?1 and ?{MAX_VARIABLE_NUMBER}")
            name = f"{POSITIONAL_PREFIX}0{following.text}"
            end = following.end
            index += 1
        else:
            number = largest + 1
            name = f"{POSITIONAL_PREFIX}{number - 1}"
        largest = max(largest, number)
        renamed += [Token(TokenType.COLON, ":", token.line, token.col, token.start, token.start),
                    Token(TokenType.VAR, name, token.line, token.col, token.start, end)]
    return renamed


def _marker_number(name: str) -> tuple[int, bool] | None:
    """The number of a positional marker's name, and whether it was written `?NNN`: `_p0` is
    (1, False), `_p01` (1, True)."""
    body = name[len(POSITIONAL_PREFIX):]
    if not name.startswith(POSITIONAL_PREFIX) or not body.isdigit():
        return None
    if len(body) > 1 and body[0] == "0":
        return int(body[1:]), True
    return int(body) + 1, False


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


STATEMENT_KEYWORDS = ("SELECT", "WITH", "INSERT", "UPDATE", "DELETE", "VALUES", "EXEC",
                      "EXPLAIN")
CLAUSE_KEYWORDS = ("FROM", "WHERE", "GROUP", "ORDER", "BY", "LIMIT", "OFFSET", "HAVING", "JOIN",
                   "SELECT", "INTO", "VALUES", "SET", "AND", "OR", "NOT", "LIKE", "BETWEEN",
                   "RETURNING", "DISTINCT", "UNION", "AS", "ON", "IN", "IS", "NULL")
# What a parser class missing a part means to a person, by the class's name.
_MISSING = {"Where": "a condition after WHERE", "Limit": "a number after LIMIT",
            "Offset": "a number after OFFSET", "Having": "a condition after HAVING",
            "Table": "a table name", "From": "a table after FROM", "Join": "a table after JOIN",
            "Order": "an expression after ORDER BY", "Group": "an expression after GROUP BY"}


def syntax_error(sql: str, tokens: Sequence[Token], detail: Mapping[str, Any]
                 ) -> ProgrammingError:
    """A parse error for people: where, the text around it, and what was expected (never a
    parser class name); a misspelt keyword gets the nearest one."""
    from .suggest import nearest  # noqa: PLC0415 - only for errors

    first = tokens[0] if tokens else None
    if first is not None and first.text.upper() not in STATEMENT_KEYWORDS and \
            first.token_type not in (TokenType.L_PAREN, TokenType.EXECUTE):
        guess = nearest(first.text, STATEMENT_KEYWORDS, cutoff=0.5)
        return ProgrammingError(
            f"SQL syntax error at {_line_column(sql, first.start)}: {first.text!r} does not "
            "begin a statement" + (f"; did you mean {guess}?" if guess else "; statements "
                                   "begin with SELECT, WITH, INSERT, UPDATE, DELETE or EXEC"))
    description = str(detail.get("description") or "invalid syntax")
    highlight = str(detail.get("highlight") or "")
    missing = re.match(r"Required keyword: '\w+' missing for <class '[\w.]*?(\w+)'>",
                       description)
    if missing is not None:
        what = "expected " + _MISSING.get(missing.group(1), "an expression") + (
            f" (before {highlight!r})" if highlight and missing.group(1) not in _MISSING else "")
    elif description.startswith("Invalid expression") or "Unexpected token" in description:
        what = f"unexpected {highlight!r}" if highlight else "unexpected end of the statement"
    else:
        what = re.sub(r"<class '[\w.]*?(\w+)'>", r"\1", description)
    # A misspelt keyword just before the error (`SELECT * FORM runs`).
    before = [t for t in tokens if t.end < _offset(sql, detail)][-1:]
    if highlight.isidentifier() and highlight.upper() not in CLAUSE_KEYWORDS and \
            nearest(highlight, CLAUSE_KEYWORDS, cutoff=0.75) is not None:
        before = [t for t in tokens if t.text == highlight][:1] or before
    if before and before[0].token_type == TokenType.VAR and \
            before[0].text.upper() not in CLAUSE_KEYWORDS:
        guess = nearest(before[0].text, CLAUSE_KEYWORDS, cutoff=0.75)
        if guess is not None:
            what += f"; did you mean {guess} instead of {before[0].text!r}?"
    context = (str(detail.get("start_context") or "") + highlight +
               str(detail.get("end_context") or "")).strip()
    where = f" at line {detail.get('line')}, column {detail.get('col')}" \
        if detail.get("line") else ""
    near = f" (in: {' '.join(context.split())!r})" if context else ""
    return ProgrammingError(f"SQL syntax error{where}: {what}{near}")


def _offset(sql: str, detail: Mapping[str, Any]) -> int:
    """The offset in `sql` of an error's line and column (its end, past the highlight)."""
    line, col = detail.get("line"), detail.get("col")
    if not isinstance(line, int) or not isinstance(col, int):
        return len(sql)
    start = 0
    for _ in range(line - 1):
        start = sql.find("\n", start) + 1
    return start + col - len(str(detail.get("highlight") or ""))


def parse(sql: str) -> exp.Expression:
    """Parse one statement; a syntax error names the line and column."""
    if not isinstance(sql, str):
        raise ProgrammingError(f"SQL must be a string, not {type(sql).__name__}")
    return parse_tokens(sql, tokenize(sql))


def parse_tokens(sql: str, tokens: Sequence[Token]) -> exp.Expression:
    """Parse one statement from its tokens (`tokenize(sql)`)."""
    try:
        renamed = number_positional_markers(sql, tokens)
        trees = [t for t in Dialect.get_or_raise(DIALECT).parser().parse(renamed, sql)
                 if t is not None]
    except ParseError as error:
        raise syntax_error(sql, tokens, error.errors[0] if error.errors else {}) from None
    except TokenError as error:
        raise token_error(sql, error) from None
    if not trees:
        raise ProgrammingError("Empty statement: nothing to execute.")
    if len(trees) > 1:
        raise ProgrammingError(
            f"{len(trees)} statements given; execute() runs one statement at a time."
        )
    tree = trees[0]
    name_outputs(tree, sql, tokens, renamed)
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
        # SQLite's count: the largest marker number (`?1` twice is one parameter, `?3` three).
        decoded = {str(p.this): _marker_number(str(p.this)) or (0, False) for p in positional}
        numbers = {name: number for name, (number, _) in decoded.items()}
        count = max(numbers.values())
        numbered = any(written for _, written in decoded.values())
        if (numbered and isinstance(parameters, Mapping)
                and all(written for _, written in decoded.values())):
            # As sqlite3 binds `?NNN` from a mapping: by the key "NNN".
            missing = sorted({n for n in numbers.values() if str(n) not in parameters})
            if missing:
                raise ProgrammingError(f"No value was given for parameter ?{missing[0]}.")
            return {name: parameters[str(number)] for name, number in numbers.items()}
        what = (f"takes {count} parameters (its largest marker is ?{count})" if numbered
                else f"has {count} `?` markers")
        if parameters is None or isinstance(parameters, (Mapping, str, bytes)):
            raise ProgrammingError(
                f"The statement {what}: pass a sequence of {count} parameters."
            )
        values = list(parameters)
        if len(values) != count:
            raise ProgrammingError(
                f"The statement {what} but {len(values)} parameters were given."
            )
        mapping: Mapping[str, Any] = {name: values[number - 1]
                                      for name, number in numbers.items()}
    elif isinstance(parameters, Mapping):
        mapping = parameters
    else:
        raise ProgrammingError("Named parameter markers (:name) need a mapping of parameters.")
    for marker in placeholders:
        if str(marker.this) not in mapping:
            raise ProgrammingError(f"No value was given for parameter :{marker.this}.")
    return mapping
