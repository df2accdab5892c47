"""Which rows an UPDATE or DELETE addresses: the key of one resource named by its WHERE (no
listing needed), or the rows a SELECT over the same WHERE finds, with push-down."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlglot import exp

from ..catalog import UPDATE_MASK_PARAMETER, Table
from ..exceptions import ProgrammingError
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
    """Split the WHERE into the key of one resource, an etag, a field mask, and the rest."""
    found: Path = {}
    target = Target(key=None)
    terms = _conjuncts(where.this) if where is not None else []
    for term in terms:
        pair = _column_equals_literal(term, alias)
        if pair is None:
            target.residual.append(term)
            continue
        name, value = pair
        column = table.column(name)
        if name.lower() == UPDATE_MASK_PARAMETER.lower():
            target.update_mask = [camel(field_name(p.strip())) for p in value.split(",")
                                  if p.strip()]
        elif column is not None and column.name == table.writes.etag:
            target.etag = value
        elif column is not None and column.path_parameter:
            found[column.name] = value
        elif column is not None and column.name == NAME_COLUMN:
            parsed = table.parse_name(value)
            if parsed is None:
                raise ProgrammingError(f"{value!r} is not the resource name of a row of "
                                       f"{table.name} ({table.message}).")
            found.update(parsed)
        else:
            target.residual.append(term)
    for name in table.path:
        if name not in found and defaults.get(name) and name != table.id_column:
            found[name] = defaults[name]
    for name, value in found.items():  # a value must not address another resource
        check_path_value(value, name)
    if not target.residual and all(found.get(n) for n in table.path):
        target.key = found
    return target


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


def _conjuncts(node: exp.Expression | None) -> list[exp.Expression]:
    if node is None:
        return []
    if isinstance(node, exp.Paren):
        return _conjuncts(node.this) if isinstance(node.this, exp.And) else [node]
    if isinstance(node, exp.And):
        return _conjuncts(node.left) + _conjuncts(node.right)
    return [node]


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
    for term in _conjuncts(where.this):
        pair = _column_equals_literal(term, "")
        if pair is None and isinstance(term, exp.EQ) and isinstance(term.this, exp.Column):
            pair = (term.this.name, "")
        if pair and pair[0].lower() in {n.lower() for n in names}:
            term.replace(exp.true())
