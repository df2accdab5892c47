"""What the expressions of a query hold: the catalog type a value carries, and its type code.

A value carries a catalog type (TIMESTAMP, JSON, BOOLEAN, ...) when it is a column's value,
passed through unchanged: the column itself (also through subqueries and CTEs), `min`/`max`,
`coalesce`, `nullif`, `CASE`, or a window function returning a row's value. Only such values are
restored to Python objects (datetime, dict, bool) and only such values are compared with
timestamp literals as instants: `json_extract(labels, '$.seed')` is whatever SQLite returns (the
text '1' stays '1'), and a CTE's `date(createTime) AS createTime` is the date text it holds.

Type codes of other expressions are static where SQLite's answer has one type whatever the rows
(`count(*)` is an INTEGER, `upper(x)` a STRING), so that an empty result has the same
description as a full one; where the type depends on the data, the code is None and the cursor
takes it from the first row.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from sqlglot import exp
from sqlglot.errors import SqlglotError
from sqlglot.optimizer.scope import Scope, traverse_scope

from .catalog import BOOLEAN, INTEGER, JSON, STRING, TIMESTAMP, Column
from .statements import cast_type_name
from .timestamps import canonical_text

FLOAT = "FLOAT"
BINARY = "BINARY"  # the cursor's code of bytes
RESTORED = (TIMESTAMP, JSON, BOOLEAN)  # carried types that come back as Python objects
_STORED_AS = {BOOLEAN: INTEGER, TIMESTAMP: STRING, JSON: STRING}  # their SQLite values


@dataclass(frozen=True)
class Kind:
    carried: str | None = None  # the catalog type every value has, if it is a column's value
    code: str | None = None  # the SQLite value's type code, if the same for every row
    resource: str | None = None  # the table whose resource names these are (`name` unchanged)

    @property
    def description_code(self) -> str | None:
        return self.carried if self.carried in RESTORED else self.code


_UNKNOWN = Kind()


def _column_kind(column: Column, table: str | None = None) -> Kind:
    resource = table if column.name == "name" and not column.path_parameter else None
    return Kind(column.type, _STORED_AS.get(column.type, column.type), resource)


def _merge(kinds: Iterable[Kind]) -> Kind:
    """The kind of an expression that yields one of several values (NULLs aside)."""
    found = list(kinds)
    if not found:
        return _UNKNOWN
    carried = {k.carried for k in found}
    codes = {k.code for k in found}
    resources = {k.resource for k in found}
    return Kind(carried.pop() if len(carried) == 1 else None,
                codes.pop() if len(codes) == 1 else None,
                resources.pop() if len(resources) == 1 else None)


_INTEGER_FUNCTIONS = (exp.Count, exp.Length, exp.RowNumber, exp.Rank, exp.DenseRank, exp.Ntile)
_FLOAT_FUNCTIONS = (exp.Avg, exp.PercentRank, exp.CumeDist)
_STRING_FUNCTIONS = (exp.Upper, exp.Lower, exp.Trim, exp.Substring, exp.Concat, exp.DPipe,
                     exp.GroupConcat)
_PASS_THROUGH = (exp.Min, exp.Max, exp.Nullif, exp.FirstValue, exp.LastValue, exp.Lag,
                 exp.Lead, exp.NthValue)
_PREDICATES = (exp.Predicate, exp.Connector, exp.Not, exp.Exists)
# SQLite functions sqlglot leaves as plain calls, whose result type is fixed (NULL aside).
_ANONYMOUS_CODES = {
    "total": FLOAT, "julianday": FLOAT, "typeof": STRING, "quote": STRING, "printf": STRING,
    "format": STRING, "datetime": STRING, "time": STRING, "char": STRING, "ltrim": STRING,
    "rtrim": STRING, "json_type": STRING, "json_quote": STRING, "json": STRING,
    "json_array": STRING, "json_object": STRING, "json_array_length": INTEGER,
    "json_valid": INTEGER, "unixepoch": INTEGER, "instr": INTEGER, "octet_length": INTEGER,
}


class QueryTypes:
    """The kinds of a query's expressions, resolved through its scopes (subqueries, CTEs)."""

    def __init__(self, tree: exp.Expression, tables: dict[str, Sequence[Column]],
                 catalog_names: dict[str, str] | None = None) -> None:
        # local table -> the catalog table it holds rows of (what `Kind.resource` names)
        self.catalog_names = {k.lower(): v for k, v in (catalog_names or {}).items()}
        self.tables = {name.lower(): {c.name.lower(): c for c in columns}
                       for name, columns in tables.items()}
        self.ordered = {name.lower(): list(columns) for name, columns in tables.items()}
        self._outputs: dict[int, list[tuple[str, Kind]]] = {}
        try:
            self.scopes = traverse_scope(tree)
        except (SqlglotError, KeyError, ValueError, TypeError):
            self.scopes = []
        self._by_expression = {id(s.expression): s for s in self.scopes}

    @property
    def root(self) -> Scope | None:
        return self.scopes[-1] if self.scopes else None

    def output_kinds(self) -> list[Kind] | None:
        """Kinds of the statement's output columns, or None if they cannot be told."""
        root = self.root
        return None if root is None else [k for _, k in self.outputs(root)]

    # -- outputs of a scope ------------------------------------------------------------------

    def outputs(self, scope: Scope) -> list[tuple[str, Kind]]:
        key = id(scope.expression)
        if key not in self._outputs:
            self._outputs[key] = []  # a recursive CTE refers to itself: unknown meanwhile
            self._outputs[key] = self._compute_outputs(scope)
        return self._outputs[key]

    def _compute_outputs(self, scope: Scope) -> list[tuple[str, Kind]]:
        expression = scope.expression
        if isinstance(expression, exp.SetOperation):
            branches = getattr(scope, "set_operation_scopes", None)
            if branches is None:  # sqlglot releases before 30 call them union_scopes
                branches = getattr(scope, "union_scopes", [])
            sides = [self.outputs(s) for s in branches]
            if not sides:
                return []
            first = sides[0]
            return [(name, _merge([kind, *(side[i][1] for side in sides[1:] if i < len(side))]))
                    for i, (name, kind) in enumerate(first)]
        if not isinstance(expression, exp.Select):
            return []
        found: list[tuple[str, Kind]] = []
        for projection in expression.expressions:
            if isinstance(projection, exp.Star):
                found += self._star(scope, expression)
            elif isinstance(projection, exp.Column) and isinstance(projection.this, exp.Star):
                source = self._source(scope, projection.table)
                found += self._source_outputs(source) if source is not None else []
            else:
                found.append((projection.alias_or_name, self.kind(projection, scope)))
        names = _cte_column_names(expression)
        if names and len(names) == len(found):
            found = [(name, kind) for name, (_, kind) in zip(names, found, strict=True)]
        return found

    def _star(self, scope: Scope, select: exp.Select) -> list[tuple[str, Kind]]:
        """`*`: the columns of each source in order; SQLite shows a column that a USING or
        NATURAL join matches once, from the left."""
        joins = {(j.this.alias_or_name or "").lower(): j for j in select.args.get("joins") or []}
        found: list[tuple[str, Kind]] = []
        for alias, value in scope.selected_sources.items():
            outputs = self._source_outputs(value[1] if isinstance(value, tuple) else value)
            join = joins.get(str(alias).lower())
            if join is not None:
                if str(join.args.get("method") or "").upper() == "NATURAL":
                    merged = {name.lower() for name, _ in found}
                else:
                    merged = {i.name.lower() for i in join.args.get("using") or []}
                outputs = [(n, k) for n, k in outputs if n.lower() not in merged]
            found += outputs
        return found

    def _source_outputs(self, source: Any) -> list[tuple[str, Kind]]:
        if isinstance(source, Scope):
            return self.outputs(source)
        if isinstance(source, exp.Table):
            columns = self.ordered.get(source.name.lower())
            if columns is not None:
                table = self.catalog_names.get(source.name.lower())
                return [(c.name, _column_kind(c, table)) for c in columns]
        return []

    @staticmethod
    def _source(scope: Scope, name: str) -> Any:
        folded = name.lower()
        for alias, source in scope.sources.items():
            if alias.lower() == folded:
                return source
        return None

    def base_source(self, column: exp.Column, scope: Scope) -> tuple[str, exp.Table] | None:
        """The alias and table of the scanned table whose column `column` reads, if any."""
        name = column.name.lower()
        current: Scope | None = scope
        while current is not None:
            if column.table:
                source = self._source(current, column.table)
                candidates = [(column.table, source)] if source is not None else []
            else:
                candidates = [(alias, value[1] if isinstance(value, tuple) else value)
                              for alias, value in current.selected_sources.items()]
            for alias, source in candidates:
                if isinstance(source, exp.Table) and source.name.lower() in self.tables:
                    if name in self.tables[source.name.lower()]:
                        return str(alias), source
                elif any(o.lower() == name for o, _ in self._source_outputs(source)):
                    return None  # a derived table's or CTE's column
            current = current.parent
        return None

    # -- kinds of expressions ----------------------------------------------------------------

    def scope_of(self, query: exp.Expression) -> Scope | None:
        return self._by_expression.get(id(query))

    def column_kind(self, column: exp.Column, scope: Scope) -> Kind:
        name = column.name.lower()
        current: Scope | None = scope
        while current is not None:
            if column.table:
                source = self._source(current, column.table)
                candidates = [source] if source is not None else []
            else:
                candidates = list(current.selected_sources.values())
                candidates = [c[1] if isinstance(c, tuple) else c for c in candidates]
            for source in candidates:
                for output, kind in self._source_outputs(source):
                    if output.lower() == name:
                        return kind
            if not column.table and isinstance(current.expression, exp.Select):
                # SQLite also reads a name as an output alias of the same SELECT.
                for projection in current.expression.expressions:
                    if isinstance(projection, exp.Alias) and projection.alias.lower() == name:
                        return self.kind(projection.this, current)
            current = current.parent  # a correlated reference to an outer query
        return _UNKNOWN

    def kind(self, node: exp.Expression | None, scope: Scope) -> Kind:
        if node is None or isinstance(node, exp.Null):
            return _UNKNOWN
        if isinstance(node, (exp.Alias, exp.Paren, exp.Collate)):
            return self.kind(node.this, scope)
        if isinstance(node, exp.Column):
            if isinstance(node.this, exp.Star):
                return _UNKNOWN
            return self.column_kind(node, scope)
        if isinstance(node, exp.Window):
            return self.kind(node.this, scope)
        if isinstance(node, (exp.Least, exp.Greatest)) or (
                isinstance(node, (exp.Min, exp.Max)) and node.expressions):
            # scalar min(a, b, ...) / max(a, b, ...): one of its arguments, unchanged
            return _merge(self.kind(b, scope) for b in (node.this, *node.expressions)
                          if not isinstance(b, exp.Null))
        if isinstance(node, _PASS_THROUGH) and not node.expressions:
            # lag/lead's default stands in for a missing row's value: one of the values too
            default = node.args.get("default")
            return _merge(self.kind(b, scope) for b in (node.this, default)
                          if b is not None and not isinstance(b, exp.Null))
        if isinstance(node, (exp.Coalesce, exp.Case, exp.If)):
            return _merge(self.kind(b, scope) for b in _branches(node)
                          if not isinstance(b, exp.Null))
        if isinstance(node, (exp.Subquery, exp.Select)):
            inner = self.scope_of(node.this if isinstance(node, exp.Subquery) else node)
            outputs = self.outputs(inner) if inner is not None else []
            return outputs[0][1] if len(outputs) == 1 else _UNKNOWN
        return Kind(None, self._code(node, scope))

    def _code(self, node: exp.Expression, scope: Scope) -> str | None:
        if isinstance(node, (*_INTEGER_FUNCTIONS, *_PREDICATES)):
            return INTEGER
        if isinstance(node, _FLOAT_FUNCTIONS):
            return FLOAT
        if isinstance(node, _STRING_FUNCTIONS):
            return STRING
        if isinstance(node, exp.Literal):
            if node.is_string:
                return STRING
            return INTEGER if str(node.this).lstrip("-").isdigit() else FLOAT
        if isinstance(node, exp.Anonymous):
            return _ANONYMOUS_CODES.get(str(node.this).lower())
        if isinstance(node, (exp.StrPosition, exp.Unicode)):
            return INTEGER
        if isinstance(node, (exp.TimeToStr, exp.Date, exp.Hex, exp.Initcap, exp.Replace,
                             exp.JSONType)):
            return STRING
        if isinstance(node, exp.Round):
            return FLOAT
        if isinstance(node, exp.Cast):
            # SQLite's affinity of the type name as written: INT, then CHAR/CLOB/TEXT, then
            # BLOB, then REAL/FLOA/DOUB; anything else is NUMERIC (an integer or a real).
            target = (cast_type_name(node) or (node.to.this.name if node.to else "")).upper()
            if "INT" in target:
                return INTEGER
            if any(word in target for word in ("CHAR", "CLOB", "TEXT")):
                return STRING
            if "BLOB" in target:
                return BINARY
            if any(word in target for word in ("REAL", "FLOA", "DOUB")):
                return FLOAT
            return None
        if isinstance(node, (exp.Neg, exp.Sum, exp.Abs)):
            inner = self.kind(node.this, scope).code
            return inner if inner in (INTEGER, FLOAT) else None
        if isinstance(node, (exp.Add, exp.Sub, exp.Mul, exp.Div)):
            codes = {self.kind(node.this, scope).code, self.kind(node.expression, scope).code}
            if codes == {INTEGER}:
                return INTEGER
            return FLOAT if codes <= {INTEGER, FLOAT} and FLOAT in codes else None
        return None


def _branches(node: exp.Expression) -> list[exp.Expression]:
    if isinstance(node, exp.Coalesce):
        return [node.this, *node.expressions]
    if isinstance(node, exp.If):
        return [b for b in (node.args.get("true"), node.args.get("false")) if b is not None]
    branches = [i.args["true"] for i in node.args.get("ifs") or []]
    default = node.args.get("default")
    return branches + ([default] if default is not None else [])


def _cte_column_names(select: exp.Expression) -> list[str]:
    """`WITH c(a, b) AS (...)`: the names the CTE gives its columns."""
    parent = select.parent
    if isinstance(parent, exp.CTE):
        alias = parent.args.get("alias")
        columns = alias.columns if isinstance(alias, exp.TableAlias) else []
        return [c.name for c in columns]
    return []


_COMPARISONS = (exp.EQ, exp.NEQ, exp.LT, exp.LTE, exp.GT, exp.GTE, exp.Between, exp.In,
                exp.NullSafeEQ, exp.NullSafeNEQ, exp.Is)


def _compared_value(node: exp.Expression) -> exp.Expression:
    """What an operand compares: `'x' COLLATE NOCASE` and `('x')` compare the literal 'x'."""
    while isinstance(node, (exp.Paren, exp.Collate)):
        node = node.this
    return node


def comparisons(types: QueryTypes) -> Iterator[tuple[Scope, list[exp.Expression]]]:
    """Each comparison (=, <, IN, BETWEEN, IS, ...) of the query, as its scope and the values
    it compares (under COLLATE and parentheses); taken before the caller changes any."""
    for scope in types.scopes:
        for comparison in list(scope.find_all(*_COMPARISONS)):
            operands = [comparison.args.get(k) for k in ("this", "expression", "low", "high")]
            operands += list(comparison.expressions) if isinstance(comparison, exp.In) else []
            yield scope, [_compared_value(o) for o in operands if o is not None]


def canonicalise_timestamp_literals(types: QueryTypes) -> None:
    """Write each string literal compared with a timestamp value in the local canonical form,
    so that the comparison is of instants whatever the literal's spelling."""
    for scope, present in comparisons(types):
        if not any(types.kind(o, scope).carried == TIMESTAMP for o in present
                   if not isinstance(o, exp.Literal)):
            continue
        for operand in present:
            if isinstance(operand, exp.Literal) and operand.is_string:
                text = canonical_text(str(operand.this))
                if text is not None:
                    operand.replace(exp.Literal.string(text))
