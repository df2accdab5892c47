"""Which rows an UPDATE or DELETE addresses: the key of one resource named by its WHERE (no
listing needed), or the rows a SELECT over the same WHERE finds, with push-down."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlglot import exp

from ..catalog import UPDATE_MASK_PARAMETER, Table
from ..exceptions import ProgrammingError
from ..pushdown import Pushed, Translator, conjuncts, path_key
from ..rules import check_path_value
from .common import NAME_COLUMN, Matched, Path, QueryRunner
from .values import field_name

__all__ = ["ROW_CLAUSES", "Target", "find_target", "matching_rows", "row_clauses"]

# Clauses of UPDATE and DELETE that choose rows: they go on the SELECT that finds them.
ROW_CLAUSES = ("with_", "order", "limit")


@dataclass
class Target:
    """The rows an UPDATE or DELETE addresses."""

    key: Path | None  # the full path when the WHERE names exactly one resource
    etag: str | None = None
    update_mask: list[str] | None = None
    residual: list[exp.Expression] = field(default_factory=list)


def row_clauses(tree: exp.Expression) -> bool:
    return any(tree.args.get(key) is not None for key in ROW_CLAUSES)


def camel(name: str) -> str:
    """`display_name` -> `displayName` (gcloud writes field masks in snake_case)."""
    head, *rest = name.split("_")
    return head + "".join(part[:1].upper() + part[1:] for part in rest)


def find_target(table: Table, alias: str, where: exp.Expression | None,
                defaults: Path) -> Target:
    """Split the WHERE into the key of one resource, an etag, a field mask, and the rest.

    Path terms (`runsId = '...'`, `name = '...'`, `experimentsId IN (...)`) are read by the
    planner's own analysis (`pushdown.Translator`), as for a SELECT: a WHERE names one resource
    when they leave one value for every path column and nothing else remains."""
    target = Target(key=None)
    translator = Translator(table, alias, only_source=True)
    pushed = Pushed()
    for term in conjuncts(where.this if where is not None else None):
        pair = _column_equals_literal(term, alias)
        column = table.column(pair[0]) if pair else None
        if pair and pair[0].lower() == UPDATE_MASK_PARAMETER.lower():
            target.update_mask = [camel(field_name(p.strip())) for p in pair[1].split(",")
                                  if p.strip()]
        elif pair and column is not None and column.name == table.writes.etag:
            target.etag = pair[1]
        elif _is_path_term(table, translator, term):
            if pair and column is not None and column.name == NAME_COLUMN and \
                    table.parse_name(pair[1]) is None:
                raise ProgrammingError(f"{pair[1]!r} is not the resource name of a row of "
                                       f"{table.name} ({table.message}).")
            translator.push_conjunct(term, pushed)
        else:
            target.residual.append(term)
    for name, values in pushed.path.items():  # a value must not address another resource
        for value in values:
            check_path_value(value, name)
    if not target.residual and not pushed.filters:
        target.key = path_key(table, pushed, defaults)
    return target


def _is_path_term(table: Table, translator: Translator, term: exp.Expression) -> bool:
    """`<path column> = '...'`, `<path column> IN ('...', ...)` or `name = '...'`."""
    node = term.this if isinstance(term, exp.Paren) else term
    if not isinstance(node, (exp.EQ, exp.In)) or (isinstance(node, exp.In)
                                                  and node.args.get("query")):
        return False
    columns = [translator.column_name(c) for c in node.find_all(exp.Column)]
    values = [node.expression] if isinstance(node, exp.EQ) else list(node.expressions)
    if isinstance(node, exp.EQ) and isinstance(node.this, exp.Literal):
        values = [node.this]
    named = [table.column(c) for c in columns if c]
    return (len(columns) == 1 and len(named) == 1 and named[0] is not None
            and (named[0].path_parameter or named[0].name == NAME_COLUMN)
            and all(isinstance(v, exp.Literal) and v.is_string for v in values))


def matching_rows(run_query: QueryRunner, table: Table, table_node: exp.Table,
                  tree: exp.Update | exp.Delete, *, extra: list[exp.Expression],
                  write_terms: tuple[str, ...]) -> list[Matched]:
    """Run `[WITH ...] SELECT name, etag, <path>, <extra> FROM <table> WHERE ... [ORDER BY
    ... LIMIT ...]` with push-down, leaving out the WHERE terms that qualify the write rather
    than the rows (`write_terms`)."""
    etag = table.writes.etag
    select = exp.select(NAME_COLUMN, etag or exp.null(), *table.path, *extra).from_(
        table_node.copy())
    where = tree.args.get("where")
    if where is not None:
        select.set("where", where.copy())
    for key in ROW_CLAUSES:
        if tree.args.get(key) is not None:
            select.set(key, tree.args[key].copy())
    _drop_terms(select, write_terms)
    result = run_query(select)
    width = len(table.path)
    try:
        return [Matched(str(row[0]), row[1], dict(zip(table.path, row[2:2 + width],
                                                      strict=True)), row[2 + width:])
                for row in result.rows]
    finally:
        result.close()


def _column_equals_literal(term: exp.Expression, alias: str) -> tuple[str, str] | None:
    if not isinstance(term, exp.EQ):
        return None
    for column, value in ((term.this, term.expression), (term.expression, term.this)):
        if (isinstance(column, exp.Column) and isinstance(value, exp.Literal)
                and value.is_string and (not column.table or column.table.lower() ==
                                         alias.lower())):
            return column.name, str(value.this)
    return None


def _drop_terms(select: exp.Select, names: tuple[str, ...]) -> None:
    """Replace the WHERE terms `<name> = ...` for the given column names by TRUE."""
    where = select.args.get("where")
    if where is None or not names:
        return
    for term in conjuncts(where.this):
        pair = _column_equals_literal(term, "")
        if pair is None and isinstance(term, exp.EQ) and isinstance(term.this, exp.Column):
            pair = (term.this.name, "")
        if pair and pair[0].lower() in {n.lower() for n in names}:
            term.replace(exp.true())
