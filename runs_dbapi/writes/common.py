"""What INSERT, UPDATE and DELETE share: the written table, partial-failure errors, RETURNING,
long-running operations, and the parent checks after NOT_FOUND.

Nothing here names a resource: every fact (collections, fields, which calls return operations)
comes from the catalog's `Table` and its `Writes`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from sqlglot import exp

from ..catalog import TABLES, Column, Table, find_table
from ..exceptions import Error, NotSupportedError, OperationalError, ProgrammingError
from ..executor import Result
from ..local import LocalDatabase, Row, restorer, row_from_resource
from ..paths import PARENT_LEVELS, missing_parent
from ..rest import RestClient
from ..statements import DIALECT

__all__ = ["NAME_COLUMN", "Matched", "Parameters", "Path", "QueryRunner", "WriteBase",
           "partial_failure", "returning", "written_table"]

logger = logging.getLogger(__name__)

QueryRunner = Callable[[exp.Expression], Result]
Parameters = Sequence[Any] | Mapping[str, Any] | None
Path = dict[str, str]
Json = dict[str, Any]

# The AIP-122 resource name, a column of every table.
NAME_COLUMN = "name"


@dataclass
class Matched:
    """A row an UPDATE or DELETE found: its resource name, etag and path, and computed values."""

    name: str
    etag: str | None
    path: Path
    extra: Sequence[Any]


def _some(items: list[str]) -> str:
    return ", ".join(items[:10]) + ("..." if len(items) > 10 else "")


def partial_failure(error: Error, written: list[str], failed: list[str], total: int,
                    unknown: list[str] | None = None) -> Error:
    """The same kind of error, saying exactly which rows were written and which were not (and
    which calls failed without an answer, so that their outcome is unknown)."""
    unknown = unknown or []
    message = (
        f"{len(written)} of {total} rows were written before the API refused the rest "
        f"({len(failed)} not written{': ' + _some(failed) if failed else ''}"
        + (f"; {len(unknown)} may or may not have been written, their calls having failed "
           f"without an answer: {_some(unknown)}" if unknown else "")
        + f"): {error.message}"
    )
    return type(error)(message, http_status=error.http_status, rpc_status=error.rpc_status,
                       api_message=error.api_message, http_method=error.http_method,
                       path=error.path, outcome_unknown=bool(unknown), rows_written=written,
                       rows_not_written=failed, rows_unknown=unknown)


def writable_names() -> str:
    return ", ".join(t.name for t in TABLES.values() if t.writable and t.points is None)


def _insert_only() -> str:
    """Tables of data points take INSERT only (the API neither updates nor deletes points)."""
    names = [t.name for t in TABLES.values() if t.writable and t.points is not None]
    return f"; {', '.join(names)} INSERT only" if names else ""


def written_table(node: exp.Expression | None) -> tuple[Table, exp.Table]:
    """The catalog table an INSERT, UPDATE or DELETE writes, and its node in the statement."""
    table_node = node.this if isinstance(node, exp.Schema) else node
    if not isinstance(table_node, exp.Table):
        raise ProgrammingError("The statement does not name a table.")
    table = find_table([p.name for p in table_node.parts])
    if table is None or not table.writable:
        name = ".".join(p.name for p in table_node.parts)
        raise NotSupportedError(
            f"Table {name!r} cannot be written: only {writable_names()} accept INSERT, UPDATE "
            f"and DELETE{_insert_only()}."
        )
    return table, table_node


def column_type(table: Table, node: exp.Expression) -> str | None:
    target = node.this if isinstance(node, exp.Alias) else node
    if isinstance(target, exp.Column):
        column: Column | None = table.column(target.name)
        return column.type if column else None
    return None


def returning(tree: exp.Expression, table: Table, resources: list[Json], paths: list[Path],
              rowcount: int) -> Result:
    """Evaluate RETURNING over the written resources, in input order."""
    clause = tree.args.get("returning")
    assert clause is not None
    expressions: list[exp.Expression] = []
    for node in clause.expressions:  # `*` and `<table>.*`: every column, typed
        if isinstance(node, exp.Star) or (isinstance(node, exp.Column)
                                          and isinstance(node.this, exp.Star)):
            expressions += [exp.column(c.name, quoted=True) for c in table.columns]
        else:
            expressions.append(node)
    if len(expressions) == 1 and isinstance(expressions[0], exp.Column) and \
            expressions[0].name.lower() == table.list_field.lower():
        rows: list[Row] = [(resources,)]
        return Result(names=[table.list_field], types=["JSON"], rows=iter(rows),
                      close=lambda: None, rowcount=rowcount)
    database = LocalDatabase()
    try:
        database.create("returned", table.columns)
        database.insert("returned", len(table.columns),
                        [row_from_resource(table.columns, r, p)
                         for r, p in zip(resources, paths, strict=True)])
        select = exp.select(*expressions).from_("returned")
        cursor = database.query(select.sql(dialect=DIALECT) + " ORDER BY rowid")
        names = [d[0] for d in cursor.description]
        types = [column_type(table, e) for e in expressions]
        converters = [restorer(t) for t in types]
        found = [tuple(f(v) if f else v for f, v in zip(converters, row, strict=True))
                 for row in cursor.fetchall()]
    finally:
        database.close()
    return Result(names=names, types=types, rows=iter(found), close=lambda: None,
                  rowcount=rowcount)


def is_operation(answer: Mapping[str, Any]) -> bool:
    """Whether an answer is a long-running Operation (AIP-151) rather than a resource."""
    return "/operations/" in str(answer.get("name", ""))


def own_path(table: Table, path: Mapping[str, str], resource: Mapping[str, Any]) -> Path:
    """A written row's path, with its own ID taken from the resource's name when the API
    assigned it (the rest of the path keeps the statement's spelling)."""
    own = path.get(table.id_column) or str(resource.get("name", "")).rsplit("/", 1)[-1]
    return {**{k: v for k, v in path.items() if k != table.id_column}, table.id_column: own}


class WriteBase:
    """The connection's means of writing, shared by INSERT, UPDATE and DELETE."""

    def __init__(self, client: RestClient, pool: ThreadPoolExecutor, run_query: QueryRunner,
                 defaults: Path, *, wait_operations: bool = True,
                 ordered_inserts: bool = True) -> None:
        self.client = client
        self.pool = pool
        self.run_query = run_query
        self.defaults = defaults
        self.wait_operations = wait_operations
        # False: an INSERT's batchCreate chunks go out at once (creation order across chunks
        # not kept); True: one after another, in input order.
        self.ordered_inserts = ordered_inserts

    def finished(self, answer: Json, *, what: str) -> Json:
        """The resource of a create or patch: the answer itself, or, when it is an Operation,
        the resource its `response` holds once it is done (waited for: the written row is
        needed for the row count and RETURNING)."""
        if not is_operation(answer):
            return answer
        final = self.client.wait_operation(answer)
        response = final.get("response")
        if not isinstance(response, dict):
            name = str(answer.get("name", ""))
            raise OperationalError(
                f"The {what} operation {name} finished without the resource written: its "
                "outcome is unknown; read the table to see it.", path=f"/v1/{name}",
                outcome_unknown=True)
        return {k: v for k, v in response.items() if k != "@type"}

    def check_parents(self, table: Table, path: Mapping[str, str], *,
                      create: bool = False) -> None:
        """After NOT_FOUND for a row of `table` under `path`: raise ProgrammingError naming
        its tensorboard or experiment if the connection named it and it does not exist (no call
        unless one of them came from the connection; see `paths.missing_parent`).

        `create`: the NOT_FOUND of a create under the row's parent: an error anyway, looked
        into only when that parent is the connection's, to name it. Otherwise (a patch or a
        delete of the row) one get of the parent tells a missing row from a missing parent.
        """
        parent = {name: path[name] for name in table.parent_path if path.get(name)}
        named = {level for level, _ in PARENT_LEVELS
                 if parent.get(level) and self.defaults.get(level) == parent[level]}
        levels = {level for level, _ in PARENT_LEVELS}
        immediate = table.parent_path[-1] if table.parent_path else ""
        if create and immediate not in named:
            return
        # A create's NOT_FOUND came from the parent itself when it is a connection level.
        known = create and immediate in levels
        error = missing_parent(self.client, parent, named, deepest_known_missing=known)
        if error is not None:
            raise error

    def collect(self, jobs: list[tuple[str, Path, Future[Any]]]
                ) -> tuple[list[Json], list[Path]]:
        """Wait for concurrent per-row calls (`(label, path, future)`, a future answering the
        resource written or None for no row); on failure say which rows were written, which
        were not and which may have been."""
        done: list[Json] = []
        paths: list[Path] = []
        written: list[str] = []
        failed: list[str] = []
        unknown: list[str] = []
        first_error: Error | None = None
        for label, path, job in jobs:
            try:
                resource = job.result()
            except Error as error:
                first_error = first_error or error
                (unknown if error.outcome_unknown else failed).append(label)
                continue
            if resource is not None:
                done.append(resource)
                paths.append(path)
                written.append(str(resource.get(NAME_COLUMN) or label))
        if first_error is not None:
            raise partial_failure(first_error, written, failed, len(jobs), unknown)
        return done, paths


def refuse_clauses(tree: exp.Expression, clauses: dict[str, str]) -> None:
    for key, what in clauses.items():
        if tree.args.get(key):
            raise NotSupportedError(
                f"{what} is not supported: the API has no such write. Select the rows in the "
                "WHERE clause instead."
                if key not in {"alternative", "conflict"} else
                f"{what} is not supported: the API creates a resource or refuses it; check "
                "first with SELECT, or catch IntegrityError."
            )
