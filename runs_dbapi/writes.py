"""INSERT, UPDATE and DELETE over runs: statements to creates, batchCreates, patches, deletes.

Every row is checked before the first call; creates carry client-made IDs so that retries stay
idempotent; a failure part-way raises with exactly which rows were and were not written.
"""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from sqlglot import exp

from .catalog import (
    BATCH_REQUESTS_COLUMN,
    BODY_PREFIX,
    UPDATE_MASK_PARAMETER,
    Column,
    Table,
    find_table,
)
from .exceptions import DataError, Error, NotSupportedError, ProgrammingError
from .executor import Result
from .local import LocalDatabase, Row, restorer, row_from_resource
from .rest import RestClient
from .rules import SYSTEM_LABEL_PREFIX, check_labels, check_resource_id, parse_labels
from .statements import DIALECT

logger = logging.getLogger(__name__)

QueryRunner = Callable[[exp.Expression], Result]
Path = dict[str, str]


@dataclass
class NewRun:
    path: Path  # parent path parameters plus the run's own ID
    body: dict[str, Any]


@dataclass
class Target:
    """The rows an UPDATE or DELETE addresses."""

    key: Path | None  # the full path when the WHERE names exactly one run
    etag: str | None = None
    update_mask: list[str] | None = None
    residual: list[exp.Expression] = field(default_factory=list)


def field_name(raw: str) -> str:
    """`data__displayName` -> `displayName` (the seed's StackQL spelling of body fields)."""
    return raw[len(BODY_PREFIX):] if raw.lower().startswith(BODY_PREFIX) else raw


def partial_failure(error: Error, written: list[str], failed: list[str], total: int) -> Error:
    """The same kind of error, saying exactly which rows were written and which were not."""
    message = (
        f"{len(written)} of {total} rows were written before the API refused the rest "
        f"({len(failed)} not written: {', '.join(failed[:10])}{'...' if len(failed) > 10 else ''})"
        f": {error.message}"
    )
    raised = type(error)(message, http_status=error.http_status, rpc_status=error.rpc_status,
                         api_message=error.api_message, http_method=error.http_method,
                         path=error.path)
    raised.rows_written = written  # type: ignore[attr-defined]
    raised.rows_not_written = failed  # type: ignore[attr-defined]
    return raised


class WriteExecutor:
    def __init__(self, client: RestClient, pool: ThreadPoolExecutor, run_query: QueryRunner,
                 defaults: Path, *, wait_operations: bool = True) -> None:
        self.client = client
        self.pool = pool
        self.run_query = run_query
        self.defaults = defaults
        self.wait_operations = wait_operations

    # -- shared ------------------------------------------------------------------------------

    @staticmethod
    def _table(node: exp.Expression | None) -> tuple[Table, exp.Table]:
        table_node = node.this if isinstance(node, exp.Schema) else node
        if not isinstance(table_node, exp.Table):
            raise ProgrammingError("The statement does not name a table.")
        table = find_table([p.name for p in table_node.parts])
        if table is None or not table.writable:
            name = ".".join(p.name for p in table_node.parts)
            raise NotSupportedError(
                f"Table {name!r} cannot be written: only runs accepts INSERT, UPDATE and DELETE."
            )
        return table, table_node

    def _evaluate(self, expressions: list[exp.Expression]) -> Row:
        """Values of constant expressions (`'a'`, `json_object(...)`, `1 + 1`), via SQLite."""
        if all(isinstance(e, (exp.Literal, exp.Null)) for e in expressions):
            return tuple(None if isinstance(e, exp.Null) else
                         (e.this if e.is_string else json.loads(e.this)) for e in expressions)
        if any(e.find(exp.Column) for e in expressions):
            raise ProgrammingError("VALUES may not refer to columns; use INSERT ... SELECT.")
        database = LocalDatabase()
        try:
            sql = exp.select(*expressions).sql(dialect=DIALECT)
            row = database.query(sql).fetchone()
        finally:
            database.close()
        return tuple(row) if row is not None else ()

    def _returning(self, tree: exp.Expression, table: Table, resources: list[dict[str, Any]],
                   paths: list[Path], rowcount: int) -> Result:
        """Evaluate RETURNING over the written resources, in input order."""
        returning = tree.args.get("returning")
        assert returning is not None
        expressions = list(returning.expressions)
        if len(expressions) == 1 and isinstance(expressions[0], exp.Column) and \
                expressions[0].name.lower() == table.list_field.lower():
            rows: list[Row] = [(resources,)]
            return Result(names=[table.list_field], types=["JSON"], rows=iter(rows),
                          close=lambda: None, rowcount=rowcount)
        database = LocalDatabase()
        database.create("returned", table.columns)
        database.insert("returned", len(table.columns),
                        [row_from_resource(table.columns, r, p)
                         for r, p in zip(resources, paths, strict=True)])
        select = exp.select(*expressions).from_("returned")
        cursor = database.query(select.sql(dialect=DIALECT) + " ORDER BY rowid")
        names = [d[0] for d in cursor.description]
        types = [_column_type(table, e) for e in expressions]
        converters = [restorer(t) for t in types]
        rows = [tuple(f(v) if f else v for f, v in zip(converters, row, strict=True))
                for row in cursor.fetchall()]
        database.close()
        return Result(names=names, types=types, rows=iter(rows), close=lambda: None,
                      rowcount=rowcount)

    # -- INSERT ------------------------------------------------------------------------------

    def insert(self, tree: exp.Insert, parameter_rows: list[exp.Insert] | None = None
               ) -> Result | int:
        """INSERT ... VALUES / SELECT; `parameter_rows` are executemany's bound copies."""
        table, _ = self._table(tree.this)
        names = ([c.name for c in tree.this.expressions] if isinstance(tree.this, exp.Schema)
                 else table.column_names)
        rows: list[Row] = []
        for statement in parameter_rows or [tree]:
            rows += self._source_rows(statement, len(names))
        runs: list[NewRun] = []
        batches: list[tuple[Path, list[dict[str, Any]]]] = []
        for row in rows:
            if len(row) != len(names):
                raise ProgrammingError(
                    f"INSERT names {len(names)} columns but a row has {len(row)} values."
                )
            named = dict(zip((field_name(n) for n in names), row, strict=True))
            if any(k.lower() == BATCH_REQUESTS_COLUMN for k in named):
                batches.append(self._batch_as_written(table, named))
            else:
                runs.append(self._new_run(table, named))
        if batches and runs:
            raise ProgrammingError(
                f"{BODY_PREFIX}{BATCH_REQUESTS_COLUMN} (a batchCreate as written) cannot be "
                "mixed with rows of run fields in one INSERT."
            )
        for parent, requests in batches:
            runs += [self._new_run_from_request(table, parent, r) for r in requests]
        created = self._create(table, runs)
        if tree.args.get("returning") is not None:
            return self._returning(tree, table, created, [r.path for r in runs], len(created))
        return len(created)

    def _source_rows(self, tree: exp.Insert, width: int) -> list[Row]:
        source = tree.expression
        if isinstance(source, exp.Values):
            return [self._evaluate(list(t.expressions)) if isinstance(t, exp.Tuple)
                    else self._evaluate([t]) for t in source.expressions]
        if isinstance(source, exp.Query):
            result = self.run_query(source)
            try:
                return list(result.rows)
            finally:
                result.close()
        raise ProgrammingError("INSERT needs VALUES (...) or a SELECT.")

    def _parent(self, table: Table, named: dict[str, Any]) -> Path:
        path: Path = {}
        for name in table.parent_path:
            value = next((v for k, v in named.items() if k.lower() == name.lower()), None)
            value = value if value not in (None, "") else self.defaults.get(name)
            if not value:
                raise ProgrammingError(
                    f"No {name} for INSERT: add a {name} column, or connect() with "
                    f"{name[:-3] if name.endswith('sId') else name}=."
                )
            path[name] = str(value)
        return path

    def _new_run(self, table: Table, named: dict[str, Any]) -> NewRun:
        path = self._parent(table, named)
        run_id: str | None = None
        body: dict[str, Any] = {}
        for raw, value in named.items():
            column = table.column(raw)
            lowered = raw.lower()
            if column is not None and column.path_parameter and column.name != table.id_column:
                continue
            if lowered in (table.id_column.lower(), (table.id_parameter or "").lower()):
                run_id = str(value) if value not in (None, "") else run_id
            elif column is not None and column.writable:
                if column.name == "labels":
                    labels = parse_labels(value)
                    check_labels(labels, allow_system=True)
                    if labels:
                        body["labels"] = labels
                elif value not in (None, ""):
                    body[column.name] = str(value)
            elif column is not None and (column.output_only or column.name == "etag"):
                if value not in (None, ""):
                    raise ProgrammingError(
                        f"{column.name} is set by the API (output only); INSERT accepts it only "
                        "as NULL."
                    )
            else:
                raise ProgrammingError(
                    f"Unknown column {raw!r} for INSERT into {table.name}. Writable: "
                    + ", ".join(c.name for c in table.columns if c.writable)
                    + f", {table.id_column}, and the path parameters."
                )
        if not body.get("displayName"):
            raise DataError("displayName is required to create a run.")
        run_id = run_id or str(uuid.uuid4())
        check_resource_id(run_id, table.id_parameter or table.id_column)
        return NewRun(path={**path, table.id_column: run_id}, body=body)

    def _batch_as_written(self, table: Table, named: dict[str, Any]
                          ) -> tuple[Path, list[dict[str, Any]]]:
        parent = self._parent(table, named)
        raw = next(v for k, v in named.items() if k.lower() == BATCH_REQUESTS_COLUMN)
        try:
            requests = json.loads(raw) if isinstance(raw, str) else raw
        except ValueError as error:
            raise DataError(f"{BODY_PREFIX}{BATCH_REQUESTS_COLUMN} must be a JSON list of "
                            f"requests: {error}") from None
        if not isinstance(requests, list) or not all(isinstance(r, dict) for r in requests):
            raise DataError(f"{BODY_PREFIX}{BATCH_REQUESTS_COLUMN} must be a JSON list of "
                            "request objects.")
        return parent, requests

    def _new_run_from_request(self, table: Table, parent: Path, request: dict[str, Any]
                              ) -> NewRun:
        resource = request.get("tensorboardRun") or {}
        if not isinstance(resource, dict):
            raise DataError("Each request's tensorboardRun must be an object.")
        named: dict[str, Any] = dict(parent)
        named.update({k: v for k, v in resource.items() if k in ("displayName", "description",
                                                                 "labels")})
        if request.get(table.id_parameter or ""):
            named[table.id_column] = request[table.id_parameter or ""]
        expected = table.resource_name(parent, parent=True)
        if request.get("parent") not in (None, "", expected):
            raise DataError(f"A request's parent {request['parent']!r} is not the experiment "
                            f"{expected!r} the INSERT names.")
        return self._new_run(table, named)

    def _create(self, table: Table, runs: list[NewRun]) -> list[dict[str, Any]]:
        """One create for one row; batchCreate chunks per parent for more, in input order."""
        if len(runs) == 1:
            run = runs[0]
            parent = table.resource_name(run.path, parent=True)
            return [self.client.create(parent, table.name, run.body,
                                       id_param=table.id_parameter,
                                       resource_id=run.path[table.id_column])]
        created: dict[int, dict[str, Any]] = {}
        groups: dict[str, list[int]] = {}
        for index, run in enumerate(runs):
            groups.setdefault(table.resource_name(run.path, parent=True), []).append(index)
        chunks = [(parent, indexes[i:i + table.batch_max])
                  for parent, indexes in groups.items()
                  for i in range(0, len(indexes), table.batch_max)]
        for parent, indexes in chunks:
            requests = [{"parent": parent, "tensorboardRun": runs[i].body,
                         table.id_parameter or "": runs[i].path[table.id_column]}
                        for i in indexes]
            try:
                answer = self.client.batch_create(parent, table.name, requests)
            except Error as error:
                written = [runs[i].path[table.id_column] for i in sorted(created)]
                failed = [r.path[table.id_column] for i, r in enumerate(runs)
                          if i not in created]
                raise partial_failure(error, written, failed, len(runs)) from error
            for index, resource in zip(indexes, answer.get(table.list_field, []), strict=False):
                created[index] = resource
            logger.debug("batchCreate of %d runs under %s", len(indexes), parent)
        return [created[i] for i in range(len(runs))]

    # -- UPDATE and DELETE: which rows -------------------------------------------------------

    def _target(self, table: Table, alias: str, where: exp.Expression | None) -> Target:
        """Split the WHERE into the key of one run, an etag, a field mask, and the rest."""
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
                target.update_mask = [field_name(p.strip()) for p in value.split(",") if p.strip()]
            elif column is not None and column.name == "etag":
                target.etag = value
            elif column is not None and column.path_parameter:
                found[column.name] = value
            elif column is not None and column.name == "name":
                parsed = table.parse_name(value)
                if parsed is None:
                    raise ProgrammingError(f"{value!r} is not the resource name of a run.")
                found.update(parsed)
            else:
                target.residual.append(term)
        for name in table.path:
            if name not in found and self.defaults.get(name) and name != table.id_column:
                found[name] = self.defaults[name]
        if not target.residual and all(found.get(n) for n in table.path):
            target.key = found
        return target

    def _matching_rows(self, table_node: exp.Table, where: exp.Expression | None,
                       extra: list[exp.Expression], write_terms: tuple[str, ...]
                       ) -> tuple[list[str], list[Row]]:
        """Run `SELECT name, etag, <extra> FROM <table> WHERE ...` with push-down, leaving out
        the WHERE terms that qualify the write rather than the rows (`write_terms`)."""
        select = exp.select("name", "etag", *extra).from_(table_node.copy())
        if where is not None:
            select.set("where", where.copy())
        _drop_terms(select, write_terms)
        result = self.run_query(select)
        try:
            return result.names, list(result.rows)
        finally:
            result.close()

    # -- UPDATE ------------------------------------------------------------------------------

    def update(self, tree: exp.Update) -> Result | int:
        table, table_node = self._table(tree.this)
        alias = table_node.alias_or_name
        values: dict[str, exp.Expression] = {}
        set_etag: str | None = None
        for assignment in tree.expressions:
            if not isinstance(assignment, exp.EQ) or not isinstance(assignment.this, exp.Column):
                raise ProgrammingError("SET takes `column = value` pairs.")
            name = field_name(assignment.this.name)
            column = table.column(name)
            if column is not None and column.name == "etag":
                value = self._evaluate([assignment.expression])[0]
                set_etag = str(value) if value not in (None, "") else None
                continue
            if column is None or not column.writable:
                writable = ", ".join(c.name for c in table.columns if c.writable)
                raise ProgrammingError(
                    f"Column {name!r} cannot be updated: "
                    + ("it is output only or a path parameter. " if column else "no such column. ")
                    + f"Updatable: {writable}."
                )
            values[column.name] = assignment.expression
        if not values:
            raise ProgrammingError("UPDATE needs at least one of displayName, description, "
                                   "labels in SET.")
        target = self._target(table, alias, tree.args.get("where"))
        mask = target.update_mask or list(values)
        etag = set_etag or target.etag
        depends_on_row = any(v.find(exp.Column) for v in values.values())
        if target.key is not None and not depends_on_row:
            body = self._patch_body(table, values, self._evaluate(list(values.values())), etag)
            patched = self._patch_one(table.resource_name(target.key), body, mask)
            results = [patched] if patched else []
            paths = [target.key] if patched else []
        else:
            extra = [exp.alias_(v.copy(), f"_v{i}") for i, v in enumerate(values.values())]
            # The etag is sent with each patch (a mismatch must raise, not match no rows).
            _, rows = self._matching_rows(table_node, tree.args.get("where"), extra,
                                              (UPDATE_MASK_PARAMETER, "etag"))
            jobs = []
            for row in rows:
                new_values = row[2:2 + len(values)]
                row_etag = row[1] if depends_on_row else etag
                body = self._patch_body(table, values, new_values, row_etag)
                jobs.append((row[0], self.pool.submit(self._patch_one, row[0], body, mask)))
            results, paths = self._collect(table, jobs)
        if tree.args.get("returning") is not None:
            return self._returning(tree, table, results, paths, len(results))
        return len(results)

    def _patch_body(self, table: Table, values: dict[str, exp.Expression], evaluated: Sequence[Any],
                    etag: str | None) -> dict[str, Any]:
        body: dict[str, Any] = {}
        for name, value in zip(values, evaluated, strict=True):
            if name == "labels":
                labels = parse_labels(value)
                check_labels({k: v for k, v in labels.items()
                              if not k.startswith(SYSTEM_LABEL_PREFIX)}, allow_system=False)
                body["labels"] = labels
            elif value is not None:
                body[name] = str(value)
        if etag:
            body["etag"] = etag
        return body

    def _patch_one(self, name: str, body: dict[str, Any], mask: list[str]) -> dict[str, Any] | None:
        try:
            return self.client.patch(name, body, mask)
        except ProgrammingError as error:
            if error.rpc_status == "NOT_FOUND":
                return None
            raise

    def _collect(self, table: Table, jobs: list[tuple[str, Any]]
                 ) -> tuple[list[dict[str, Any]], list[Path]]:
        """Wait for concurrent per-run calls; on failure say which runs changed and which not."""
        done: list[dict[str, Any]] = []
        paths: list[Path] = []
        failed: list[str] = []
        first_error: Error | None = None
        for name, job in jobs:
            try:
                resource = job.result()
            except Error as error:
                first_error = first_error or error
                failed.append(name)
                continue
            if resource is not None:
                done.append(resource)
                paths.append(table.parse_name(name) or {})
        if first_error is not None:
            written = [str(r.get("name", "")) for r in done]
            raise partial_failure(first_error, written, failed, len(jobs))
        return done, paths

    # -- DELETE ------------------------------------------------------------------------------

    def delete(self, tree: exp.Delete) -> Result | int:
        table, table_node = self._table(tree.this)
        target = self._target(table, table_node.alias_or_name, tree.args.get("where"))
        returning = tree.args.get("returning") is not None
        if target.key is not None and not returning and target.etag is None:
            name = table.resource_name(target.key)
            return 1 if self._delete_one(name) else 0
        _, rows = self._matching_rows(table_node, tree.args.get("where"), [], ())
        selected = [str(row[0]) for row in rows]
        before = [self.client.get(n) for n in selected] if returning else []
        jobs = [(n, self.pool.submit(self._delete_one, n)) for n in selected]
        deleted: list[str] = []
        failed: list[str] = []
        first_error: Error | None = None
        for name, job in jobs:
            try:
                if job.result():
                    deleted.append(name)
            except Error as error:
                first_error = first_error or error
                failed.append(name)
        if first_error is not None:
            raise partial_failure(first_error, deleted, failed, len(jobs))
        if returning:
            kept = [r for r in before if r is not None and str(r.get("name")) in deleted]
            paths = [table.parse_name(str(r["name"])) or {} for r in kept]
            return self._returning(tree, table, kept, paths, len(deleted))
        return len(deleted)

    def _delete_one(self, name: str) -> bool:
        try:
            operation = self.client.delete(name)
        except ProgrammingError as error:
            if error.rpc_status == "NOT_FOUND":
                return False
            raise
        if self.wait_operations:
            self.client.wait_operation(operation)
        return True


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


def _column_type(table: Table, node: exp.Expression) -> str | None:
    target = node.this if isinstance(node, exp.Alias) else node
    if isinstance(target, exp.Column):
        column: Column | None = table.column(target.name)
        return column.type if column else None
    return None
