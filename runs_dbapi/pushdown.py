"""Translate SQL predicates on one table into the API's request: URL path, AIP-160 filter, order.

A translation must never drop a row the SQL predicate keeps: rows where the SQL predicate is TRUE
(or FALSE, for use under NOT) get the same answer from the API filter; rows where it is NULL may
differ, which the local re-check absorbs. Whatever cannot be translated simply stays local.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime, timezone

from sqlglot import exp

from .catalog import LIST_PARAMETERS, TIMESTAMP, Table

_LABEL_KEY = re.compile(r"^[a-z_][a-z0-9_]*$")
_LABEL_PATH = re.compile(r"^\$\.([a-z_][a-z0-9_]*)$")
_COMPARISONS: dict[type[exp.Expression], str] = {
    exp.EQ: "=", exp.NEQ: "!=", exp.LT: "<", exp.LTE: "<=", exp.GT: ">", exp.GTE: ">=",
}
_MIRRORED = {"=": "=", "!=": "!=", "<": ">", "<=": ">=", ">": "<", ">=": "<="}


def aip160_quote(value: str) -> str:
    """A double-quoted AIP-160 string that means exactly `value` (no wildcards)."""
    escaped = value.replace("\\", "\\\\").replace('"', '\\"').replace("*", "\\*")
    return f'"{escaped}"'


def parse_timestamp(text: str) -> datetime | None:
    """Read the timestamp forms people and BI tools write; None if it is not one."""
    candidate = text.strip().replace("Z", "+00:00").replace("z", "+00:00")
    try:
        moment = datetime.fromisoformat(candidate)
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.astimezone(timezone.utc)


def rfc3339(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


@dataclass
class Pushed:
    """What the API is asked for one table reference."""

    path: dict[str, list[str]] = field(default_factory=dict)  # path column -> allowed values
    filters: list[str] = field(default_factory=list)  # AIP-160 terms, ANDed
    parameters: dict[str, str] = field(default_factory=dict)  # the seed's list parameters
    exact: bool = True  # every conjunct was pushed (so LIMIT may go to the API as well)

    def filter_text(self) -> str | None:
        terms = list(self.filters)
        raw = self.parameters.get("filter")
        if raw:
            terms.insert(0, f"({raw})" if terms else raw)
        if not terms:
            return None
        return " AND ".join(terms if len(terms) == 1 else [t if t.startswith("(") else f"({t})"
                                                             for t in terms])


class Translator:
    """Pushes the conjuncts of a WHERE clause that concern one table reference."""

    def __init__(self, table: Table, alias: str, only_source: bool) -> None:
        self.table = table
        self.alias = alias.lower()
        self.only_source = only_source

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
                        self._restrict_path(pushed, path_name, [parts[2 * index + 1]])
                    return False  # the name carries the project number: keep the check local
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
        term = self.filter_term(node)
        if term is not None:
            pushed.filters.append(term)
            return True
        return False

    @staticmethod
    def _restrict_path(pushed: Pushed, name: str, values: list[str]) -> None:
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
        """The AIP-160 form of a predicate, or None when it cannot be expressed exactly."""
        if isinstance(node, exp.Paren):
            return self.filter_term(node.this)
        if isinstance(node, exp.And):
            left, right = self.filter_term(node.left), self.filter_term(node.right)
            return f"({left}) AND ({right})" if left and right else None
        if isinstance(node, exp.Or):
            left, right = self.filter_term(node.left), self.filter_term(node.right)
            return f"({left} OR {right})" if left and right else None
        if isinstance(node, exp.Not):
            inner = self.filter_term(node.this)
            return f"NOT ({inner})" if inner else None
        if isinstance(node, exp.Between):
            low = self._comparison(node.this, ">=", node.args.get("low"))
            high = self._comparison(node.this, "<=", node.args.get("high"))
            return f"({low}) AND ({high})" if low and high else None
        if isinstance(node, exp.In) and not node.args.get("query") and node.expressions:
            terms = [self._comparison(node.this, "=", v) for v in node.expressions]
            if all(terms):
                return "(" + " OR ".join(t for t in terms if t) + ")"
            return None
        op = _COMPARISONS.get(type(node))
        if op is None:
            return None
        left, right = node.args.get("this"), node.args.get("expression")
        if isinstance(left, exp.Literal) and right is not None:
            return self._comparison(right, _MIRRORED[op], left)
        return self._comparison(left, op, right)

    def _comparison(self, subject: exp.Expression | None, op: str,
                    value: exp.Expression | None) -> str | None:
        if subject is None or not isinstance(value, exp.Literal) or not value.is_string:
            return None
        text = str(value.this)
        label = self._label_key(subject)
        if label is not None:
            term = f"labels.{label} {op} {aip160_quote(text)}"
            # A missing key is NULL in SQL (never TRUE) but matches `!=` in AIP-160: guard it.
            return f"labels.{label}:* AND {term}" if op == "!=" else term
        name = self.column_name(subject)
        column = self.table.column(name) if name else None
        if column is None or column.filter_name is None or column.filter_name == "labels":
            return None
        if column.type == TIMESTAMP:
            moment = parse_timestamp(text)
            return f"{column.filter_name} {op} {aip160_quote(rfc3339(moment))}" if moment else None
        return f"{column.filter_name} {op} {aip160_quote(text)}"

    def _label_key(self, node: exp.Expression) -> str | None:
        """`json_extract(labels, '$.key')` or `labels ->> '$.key'` on our labels column."""
        # Only the scalar forms: `labels -> '$.k'` yields JSON text ('"v"'), not the value.
        if not isinstance(node, exp.JSONExtractScalar):
            return None
        if self.column_name(node.this) != "labels":
            return None
        path = node.expression
        text = path.sql(dialect="sqlite").strip("'") if path is not None else ""
        match = _LABEL_PATH.match(text)
        return match.group(1) if match and _LABEL_KEY.match(match.group(1)) else None

    def order_term(self, ordered: exp.Ordered) -> str | None:
        name = self.column_name(ordered.this)
        column = self.table.column(name) if name else None
        if column is None or column.order_name is None:
            return None
        return f"{column.order_name} desc" if ordered.args.get("desc") else column.order_name
