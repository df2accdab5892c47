"""Translate SQL predicates on one table into the API's request: URL path, AIP-160 filter, order.

A translation must never drop a row the SQL predicate keeps. The ones made here keep no other row
either (a missing label key, NULL in SQL, matches neither a comparison nor its negation), which is
what lets a LIMIT go to the API; the SQL is re-checked locally all the same. Whatever cannot be
translated simply stays local.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime

from sqlglot import exp

from .catalog import INTEGER, LIST_PARAMETERS, STRING, TIMESTAMP, Table
from .timestamps import parse_instant

_LABEL_KEY = re.compile(r"^[a-z_][a-z0-9_]*$")
_LABEL_PATH = re.compile(r"^\$\.([a-z_][a-z0-9_]*)$")
_COMPARISONS: dict[type[exp.Expression], str] = {
    exp.EQ: "=", exp.NEQ: "!=", exp.LT: "<", exp.LTE: "<=", exp.GT: ">", exp.GTE: ">=",
}
_MIRRORED = {"=": "=", "!=": "!=", "<": ">", "<=": ">=", ">": "<", ">=": "<="}
_NEGATED = {"=": "!=", "!=": "=", "<": ">=", "<=": ">", ">": "<=", ">=": "<"}


def aip160_quote(value: str) -> str:
    """A double-quoted AIP-160 string that means exactly `value` (no wildcards)."""
    escaped = value.replace("\\", "\\\\").replace('"', '\\"').replace("*", "\\*")
    return f'"{escaped}"'


def parse_timestamp(text: str) -> datetime | None:
    """Read the timestamp forms people and BI tools write; None if it is not one, or if it has
    digits below the microsecond (which no pushed filter can state exactly)."""
    parsed = parse_instant(text)
    if parsed is None or parsed[1]:
        return None
    return parsed[0]


def rfc3339(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _compare_text(left: str, op: str, right: str) -> bool:
    """AIP-160's comparison of two strings without wildcards (lexical ordering)."""
    return {"=": left == right, "!=": left != right, "<": left < right, "<=": left <= right,
            ">": left > right, ">=": left >= right}[op]


def conjuncts(node: exp.Expression | None) -> list[exp.Expression]:
    """The top-level AND terms of a WHERE condition (parentheses around an AND opened)."""
    if node is None:
        return []
    if isinstance(node, exp.And):
        return conjuncts(node.left) + conjuncts(node.right)
    if isinstance(node, exp.Paren) and isinstance(node.this, exp.And):
        return conjuncts(node.this)
    return [node]


def path_key(table: Table, pushed: Pushed, defaults: Mapping[str, str | None]
             ) -> dict[str, str] | None:
    """The full path of the one resource `pushed` names (each path column restricted to one
    value, or given by `defaults` for a parent), or None. The project of a resource name stands
    in for `projectsId` only when nothing else gives one (the API takes its ID or number), as
    in the planner."""
    key: dict[str, str] = {}
    for name in table.path:
        values = pushed.path.get(name)
        if values is None and name != table.id_column and defaults.get(name):
            values = [str(defaults[name])]
        if values is None and name == "projectsId" and pushed.name_projects:
            values = list(dict.fromkeys(pushed.name_projects))
        if not values or len(values) != 1:
            return None
        key[name] = values[0]
    return key


def _combine(parts: list[tuple[str, bool] | None], word: str) -> tuple[str, bool] | None:
    if not parts or any(p is None for p in parts):
        return None
    terms = [p for p in parts if p is not None]
    if len(terms) == 1:
        return terms[0]
    return f" {word} ".join(f"({text})" for text, _ in terms), all(e for _, e in terms)


@dataclass
class Pushed:
    """What the API is asked for one table reference."""

    path: dict[str, list[str]] = field(default_factory=dict)  # path column -> allowed values
    filters: list[str] = field(default_factory=list)  # AIP-160 terms, ANDed
    parameters: dict[str, str] = field(default_factory=dict)  # the seed's list parameters
    # The columns each of `filters` reads (a table of points sends them to different calls).
    filter_columns: list[frozenset[str]] = field(default_factory=list)
    name_projects: list[str] = field(default_factory=list)  # projects of `name = '...'` terms
    # Every conjunct was pushed, each matching exactly the rows SQL keeps (so that LIMIT may go
    # to the API as well).
    exact: bool = True

    def filter_text(self) -> str | None:
        terms = list(self.filters)
        raw = self.parameters.get("filter")
        if raw:
            terms.insert(0, f"({raw})" if terms else raw)
        if not terms:
            return None
        return " AND ".join(terms if len(terms) == 1 else [f"({t})" for t in terms])


class Translator:
    """Pushes the conjuncts of a WHERE clause that concern one table reference."""

    def __init__(self, table: Table, alias: str, only_source: bool,
                 output_aliases: frozenset[str] = frozenset()) -> None:
        self.table = table
        self.alias = alias.lower()
        self.only_source = only_source
        # SQLite reads a name that is no column of the table as an output alias of the SELECT:
        # such a name is never one of the seed's list parameters.
        self.output_aliases = output_aliases

    # -- column recognition ------------------------------------------------------------------

    def column_name(self, node: exp.Expression) -> str | None:
        """The catalog column (or seed list parameter) a node refers to, if it is ours."""
        if not isinstance(node, exp.Column):
            return None
        qualifier = node.table.lower() if node.table else ""
        if qualifier and qualifier != self.alias:
            return None
        if not qualifier and not self.only_source:
            return None
        name = node.name
        column = self.table.column(name)
        if column is not None:
            return column.name
        if name.lower() in self.output_aliases:
            return None
        return next((p for p in LIST_PARAMETERS if p.lower() == name.lower()), None)

    def references_only_this_table(self, node: exp.Expression) -> bool:
        return all(self.column_name(c) is not None for c in node.find_all(exp.Column))

    # -- conjuncts ---------------------------------------------------------------------------

    def push_conjunct(self, node: exp.Expression, pushed: Pushed) -> bool:
        """Record what a top-level AND term asks of the API; True if the API applies it fully.

        Path and list-parameter terms are consumed; filter terms stay in the local query too.
        """
        if isinstance(node, exp.Paren):
            return self.push_conjunct(node.this, pushed)
        if isinstance(node, exp.EQ):
            name, value = self._column_and_literal(node)
            if name in LIST_PARAMETERS and value is not None:
                pushed.parameters[name] = value
                return True
            column = self.table.column(name) if name else None
            if column is not None and column.path_parameter and value is not None:
                self._restrict_path(pushed, column.name, [value])
                return True
            if name == "name" and value is not None:
                parts = value.split("/")
                names = self.table.path
                if len(parts) == 2 * len(names) and all(
                    parts[2 * i].lower() + "id" == n.lower() for i, n in enumerate(names)
                ):
                    for index, path_name in enumerate(names):
                        if index == 0:
                            # The API names projects by number whatever the request said, and a
                            # user may write either: the project of a name does not narrow
                            # `projectsId`; it is the request's project only if nothing else is.
                            pushed.name_projects.append(parts[1])
                        else:
                            self._restrict_path(pushed, path_name, [parts[2 * index + 1]])
                    return False  # which project the name means is checked locally
        if isinstance(node, exp.In) and not node.args.get("query"):
            name = self.column_name(node.this)
            column = self.table.column(name) if name else None
            values = [v.this for v in node.expressions
                      if isinstance(v, exp.Literal) and v.is_string]
            if column is not None and column.path_parameter and len(values) == len(
                node.expressions
            ):
                self._restrict_path(pushed, column.name, values)
                return True
        translated = self.translate(node)
        if translated is not None:
            pushed.filters.append(translated[0])
            pushed.filter_columns.append(frozenset(
                name for c in node.find_all(exp.Column) if (name := self.column_name(c))))
            pushed.exact = pushed.exact and translated[1]
            return True
        return False

    @staticmethod
    def _restrict_path(pushed: Pushed, name: str, values: list[str]) -> None:
        values = list(dict.fromkeys(values))  # `IN ('r1', 'r1')` reads r1 once
        known = pushed.path.get(name)
        pushed.path[name] = values if known is None else [v for v in known if v in values]

    def _column_and_literal(self, node: exp.Expression) -> tuple[str | None, str | None]:
        left, right = node.args.get("this"), node.args.get("expression")
        for column_side, value_side in ((left, right), (right, left)):
            if column_side is None or value_side is None:
                continue
            name = self.column_name(column_side)
            if name is not None and isinstance(value_side, exp.Literal):
                return name, str(value_side.this)
        return None, None

    # -- AIP-160 terms -----------------------------------------------------------------------

    def filter_term(self, node: exp.Expression) -> str | None:
        """The AIP-160 form of a predicate, or None when it cannot be expressed."""
        translated = self.translate(node)
        return translated[0] if translated else None

    def translate(self, node: exp.Expression, negated: bool = False) -> tuple[str, bool] | None:
        """An AIP-160 filter for the rows where `node` is TRUE (FALSE when `negated`).

        The filter never drops such a row; the flag tells whether it also keeps no other row
        (rows where the SQL predicate is NULL, e.g. for a missing label key, are kept out too).
        NOT is pushed down to the comparisons (SQL's three-valued logic: FALSE of `a AND b` is
        FALSE of a OR FALSE of b), so that a negated label comparison stays exact.
        """
        if isinstance(node, exp.Paren):
            return self.translate(node.this, negated)
        if isinstance(node, exp.Not):
            return self.translate(node.this, not negated)
        if isinstance(node, (exp.And, exp.Or)):
            left, right = self.translate(node.left, negated), self.translate(node.right, negated)
            if left is None or right is None:
                return None
            word = "AND" if isinstance(node, exp.And) != negated else "OR"
            return f"({left[0]}) {word} ({right[0]})", left[1] and right[1]
        if isinstance(node, exp.Between):
            parts = [self._comparison(node.this, op, node.args.get(key), negated)
                     for op, key in ((">=", "low"), ("<=", "high"))]
            return _combine(parts, "OR" if negated else "AND")
        if isinstance(node, exp.In) and not node.args.get("query") and node.expressions:
            parts = [self._comparison(node.this, "=", v, negated) for v in node.expressions]
            return _combine(parts, "AND" if negated else "OR")
        op = _COMPARISONS.get(type(node))
        if op is None:
            return None
        left, right = node.args.get("this"), node.args.get("expression")
        if isinstance(left, exp.Literal) and right is not None:
            return self._comparison(right, _MIRRORED[op], left, negated)
        return self._comparison(left, op, right, negated)

    def _comparison(self, subject: exp.Expression | None, op: str,
                    value: exp.Expression | None, negated: bool = False
                    ) -> tuple[str, bool] | None:
        if subject is None or not isinstance(value, exp.Literal):
            return None
        if not value.is_string:
            return self._number_comparison(subject, op, value, negated)
        if negated:  # the subject is never NULL here (or guarded below): FALSE is the converse
            op = _NEGATED[op]
        text = str(value.this)
        label = self._label_key(subject)
        if label is not None:
            term = f"labels.{label} {op} {aip160_quote(text)}"
            # A missing key is NULL in SQL (never TRUE nor FALSE) but reads as "" in AIP-160:
            # where "" would match, require the key.
            if _compare_text("", op, text):
                return f"(labels.{label}:* AND {term})", True
            return term, True
        name = self.column_name(subject)
        column = self.table.column(name) if name else None
        if column is None or column.filter_name is None or column.filter_name == "labels":
            return None
        if column.type == TIMESTAMP:
            moment = parse_timestamp(text)
            if moment is None:
                return None
            return f"{column.filter_name} {op} {aip160_quote(rfc3339(moment))}", True
        if column.type != STRING:
            # `step = 'abc'`: SQLite gives the text the column's numeric affinity where it can
            # and otherwise ranks any number below any text; the API would reject or differ.
            return None
        return f"{column.filter_name} {op} {aip160_quote(text)}", True

    def _number_comparison(self, subject: exp.Expression, op: str, value: exp.Literal,
                           negated: bool) -> tuple[str, bool] | None:
        """`step >= 100` on an INTEGER column with an integer literal (the same comparison in
        SQL and in AIP-160: no NULL, no affinity to differ)."""
        name = self.column_name(subject)
        column = self.table.column(name) if name else None
        text = str(value.this)
        if column is None or column.type != INTEGER or not column.filter_name or \
                not text.lstrip("-").isdigit() or column.path_parameter:
            return None
        return f"{column.filter_name} {_NEGATED[op] if negated else op} {int(text)}", True

    def _label_key(self, node: exp.Expression) -> str | None:
        """`json_extract(labels, '$.key')`, `labels ->> '$.key'` or `labels ->> 'key'` (SQLite
        reads a bare key as `$.key`) on our labels column."""
        # Only the scalar forms: `labels -> '$.k'` yields JSON text ('"v"'), not the value.
        if isinstance(node, exp.JSONExtractScalar):
            subject, path = node.this, node.expression
        elif (isinstance(node, exp.Anonymous) and str(node.this).lower() == "json_extract"
              and len(node.expressions) == 2):
            subject, path = node.expressions
        else:
            return None
        if self.column_name(subject) != "labels":
            return None
        if not (isinstance(path, exp.Literal) and path.is_string):
            return None
        text = str(path.this)
        if isinstance(node, exp.JSONExtractScalar) and not text.startswith("$"):
            key: str | None = text
        else:
            match = _LABEL_PATH.match(text)
            key = match.group(1) if match else None
        return key if key is not None and _LABEL_KEY.match(key) else None

    def order_term(self, ordered: exp.Ordered) -> str | None:
        name = self.column_name(ordered.this)
        column = self.table.column(name) if name else None
        if column is None or column.order_name is None:
            return None
        return f"{column.order_name} desc" if ordered.args.get("desc") else column.order_name
