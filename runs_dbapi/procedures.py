"""EXEC statements, as the seed writes them:

    EXEC google.aiplatform.runs.write @projectsId='p' --required, ... @runsId='r' @@json='{...}'

sqlglot has no grammar for EXEC, so this reads sqlglot's tokens (which already skip comments and
unescape strings) with a small parser of its own.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlglot.tokens import Token, TokenType

from .catalog import TABLES, Procedure, Table
from .exceptions import DataError, NotSupportedError, ProgrammingError
from .rest import RestClient
from .rules import check_path_value, same_resource_name
from .statements import tokenize

EXEC_KEYWORDS = ("EXEC", "EXECUTE")


@dataclass
class ExecCall:
    table: Table
    procedure: Procedure
    arguments: dict[str, Any]  # @name = value
    body: Any  # the @@json value, parsed


def is_exec(statement: str | Sequence[Token]) -> bool:
    """True when the statement (its text, or its tokens) starts with EXEC or EXECUTE (the
    tokenizer skips leading comments)."""
    tokens: Sequence[Token]
    if isinstance(statement, str):
        try:
            tokens = tokenize(statement)
        except ProgrammingError:
            return False
    else:
        tokens = statement
    if not tokens:
        return False
    first: Token = tokens[0]
    return first.token_type == TokenType.EXECUTE or (
        first.token_type == TokenType.VAR and first.text.upper() in EXEC_KEYWORDS)


class _Reader:
    def __init__(self, tokens: list[Token], parameters: Sequence[Any] | Mapping[str, Any] | None
                 ) -> None:
        # Trailing semicolons end the statement; anything after one is a second statement.
        while tokens and tokens[-1].token_type == TokenType.SEMICOLON:
            tokens = tokens[:-1]
        extra = next((t for t in tokens if t.token_type == TokenType.SEMICOLON), None)
        if extra is not None:
            raise ProgrammingError(
                f"EXEC: a second statement follows the ';' at line {extra.line}, column "
                f"{extra.col}; execute() runs one statement at a time."
            )
        self.tokens = tokens
        self.index = 1  # past EXEC
        self.parameters = parameters
        self.used = 0

    def peek(self, offset: int = 0) -> Token | None:
        position = self.index + offset
        return self.tokens[position] if position < len(self.tokens) else None

    def take(self, what: str) -> Token:
        token = self.peek()
        if token is None:
            raise ProgrammingError(f"EXEC: expected {what} at the end of the statement.")
        self.index += 1
        return token

    def value(self, name: str) -> Any:
        token = self.take(f"a value for @{name}")
        kind = token.token_type
        if kind == TokenType.STRING:
            return token.text
        if kind == TokenType.NUMBER:
            return json.loads(token.text)
        if kind == TokenType.NULL:
            return None
        if kind == TokenType.PLACEHOLDER and token.text == "?":
            return self._positional(name)
        if kind == TokenType.COLON:
            key = self.take(f"a parameter name after ':' for @{name}").text
            if not isinstance(self.parameters, Mapping) or key not in self.parameters:
                raise ProgrammingError(f"EXEC: no value was given for parameter :{key}.")
            return self.parameters[key]
        raise ProgrammingError(
            f"EXEC: @{name} needs a literal or a parameter marker, not {token.text!r} (line "
            f"{token.line}, column {token.col})."
        )

    def _positional(self, name: str) -> Any:
        values = self.parameters
        if values is None or isinstance(values, (Mapping, str, bytes)):
            raise ProgrammingError(f"EXEC: @{name}=? needs a sequence of parameters.")
        values = list(values)
        if self.used >= len(values):
            raise ProgrammingError(
                f"EXEC: more `?` markers than the {len(values)} parameters given."
            )
        self.used += 1
        return values[self.used - 1]


def parse_exec(sql: str, parameters: Sequence[Any] | Mapping[str, Any] | None,
               defaults: Mapping[str, str] | None = None,
               tokens: Sequence[Token] | None = None) -> ExecCall:
    """Parse an EXEC (from its `tokens`, when the caller has them already); path parameters it
    leaves out come from `defaults` (the connection's projectsId, locationsId, tensorboardsId
    and experimentsId), as for every other statement. Those the EXEC gives win."""
    reader = _Reader(list(tokens) if tokens is not None else tokenize(sql), parameters)
    parts = [reader.take("a method name such as google.aiplatform.runs.write").text]
    while (token := reader.peek()) is not None and token.token_type == TokenType.DOT:
        reader.take(".")
        parts.append(reader.take("a name after '.'").text)
    table = TABLES.get(parts[-2].lower()) if len(parts) >= 2 else None
    known = [f"google.aiplatform.{t.name}.{p.name}" for t in TABLES.values()
             for p in t.procedures]
    procedure = next((p for p in table.procedures if p.name.lower() == parts[-1].lower()),
                     None) if table else None
    if table is None or procedure is None:
        raise NotSupportedError(
            f"Unknown method {'.'.join(parts)!r}. Known methods: {', '.join(known)}."
        )
    arguments: dict[str, Any] = {}
    body: Any = None
    while reader.peek() is not None:
        marker = reader.take("@")
        if marker.token_type != TokenType.PARAMETER:
            raise ProgrammingError(
                f"EXEC: expected @name=value or @@json=..., got {marker.text!r} (line "
                f"{marker.line}, column {marker.col})."
            )
        nested = reader.peek() is not None and reader.peek().token_type == TokenType.PARAMETER  # type: ignore[union-attr]
        if nested:
            reader.take("@")
        name = reader.take("a parameter name").text
        equals = reader.take("=")
        if equals.token_type != TokenType.EQ:
            raise ProgrammingError(f"EXEC: expected '=' after @{name}, got {equals.text!r}.")
        value = reader.value(name)
        if reader.peek() is not None and reader.peek().token_type == TokenType.COMMA:  # type: ignore[union-attr]
            reader.take(",")
        if nested:
            if name.lower() != "json":
                raise ProgrammingError(f"EXEC: unknown @@{name}; the request body is @@json.")
            if body is not None:
                raise ProgrammingError("EXEC: @@json is given twice.")
            body = _json_body(value, procedure)
        else:
            if any(k.lower() == name.lower() for k in arguments):
                raise ProgrammingError(f"EXEC: @{name} is given twice.")
            arguments[name] = value
    _check_parameters_used(reader)
    for name, value in (defaults or {}).items():
        if name in table.path and value and not any(
                k.lower() == name.lower() and v not in (None, "") for k, v in arguments.items()):
            arguments = {k: v for k, v in arguments.items() if k.lower() != name.lower()}
            arguments[name] = value
    missing = [n for n in table.path
               if not any(k.lower() == n.lower() and v not in (None, "")
                          for k, v in arguments.items())]
    if body is None:
        missing.append("@json")
    if missing:
        raise ProgrammingError(
            f"EXEC {table.name}.{procedure.name}: missing required parameters "
            + ", ".join(f"@{n}" for n in missing) + "."
        )
    canonical = {n: str(next(v for k, v in arguments.items() if k.lower() == n.lower()))
                 for n in table.path}
    for name, value in canonical.items():
        check_path_value(value, name)
    unknown = [k for k in arguments if not any(k.lower() == n.lower() for n in table.path)]
    if unknown:
        raise ProgrammingError(
            f"EXEC {table.name}.{procedure.name}: unknown parameters "
            + ", ".join(f"@{n}" for n in unknown) + f"; it takes {', '.join(table.path)}."
        )
    return ExecCall(table, procedure, canonical, body)


def _check_parameters_used(reader: _Reader) -> None:
    values = reader.parameters
    if values is not None and not isinstance(values, (Mapping, str, bytes)):
        given = len(list(values))
        if given != reader.used:
            raise ProgrammingError(
                f"EXEC has {reader.used} `?` markers but {given} parameters were given."
            )


def _unquote_placeholders(text: str, procedure: Procedure) -> str | None:
    """The seed quotes the placeholder of each JSON field (`"timeSeriesData": "{{ ... }}"`), so
    filling it with JSON text as is leaves `"[{"...}]"`: drop those quotes, or None if absent."""
    repaired = text
    for field_name in procedure.json_fields:
        pattern = re.compile(
            r'("' + re.escape(field_name) + r'"\s*:\s*)"(\s*[\[{].*[\]}]\s*)"(?=\s*[,}])',
            re.DOTALL,
        )
        repaired = pattern.sub(lambda m: m.group(1) + m.group(2), repaired, count=1)
    return repaired if repaired != text else None


def _json_body(value: Any, procedure: Procedure) -> Any:
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError as error:
            repaired = _unquote_placeholders(value, procedure)
            try:
                if repaired is None:
                    raise
                value = json.loads(repaired)
            except ValueError:
                raise DataError(f"@@json is not valid JSON: {error}.") from None
    if not isinstance(value, dict):
        raise DataError("@@json must be a JSON object, e.g. '{\"timeSeriesData\": [...]}'.")
    body = {k: v for k, v in value.items() if v != ""}
    for field_name in procedure.json_fields:
        # The seed quotes the placeholder ("timeSeriesData": "{{ ... }}"): accept JSON text too.
        if isinstance(body.get(field_name), str):
            try:
                body[field_name] = json.loads(body[field_name])
            except ValueError as error:
                raise DataError(f"@@json field {field_name} is not valid JSON: {error}.") \
                    from None
    return body


def run_exec(client: RestClient, call: ExecCall) -> int:
    """Call the method; the row count is the number of data points sent."""
    name = call.table.resource_name(call.arguments)
    body = dict(call.body)
    if body.get("tensorboardRun") is not None and not same_resource_name(
            str(body["tensorboardRun"]), name):
        raise DataError(
            f"@@json tensorboardRun {body['tensorboardRun']!r} is not the run the parameters "
            f"name ({name!r})."
        )
    body.pop("tensorboardRun", None)
    # Points are stored by step (a repeat overwrites them): safe to retry.
    client.post(f"{name}:{call.procedure.verb}", body, idempotent=True)
    return sum(len(series.get("values") or []) for series in body.get("timeSeriesData") or []
               if isinstance(series, dict))
