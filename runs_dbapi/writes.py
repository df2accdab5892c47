"""INSERT, UPDATE and DELETE over runs: statements to creates, batchCreates, patches, deletes.

Every row is checked before the first call; creates carry client-made IDs so that retries stay
idempotent; a failure part-way raises with exactly which rows were and were not written.
"""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
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
from .exceptions import (
    DataError,
    Error,
    IntegrityError,
    NotSupportedError,
    OperationalError,
    ProgrammingError,
)
from .executor import Result
from .local import LocalDatabase, Row, restorer, row_from_resource
from .paths import PARENT_LEVELS, missing_parent
from .rest import RestClient
from .rules import (
    SYSTEM_LABEL_PREFIX,
    check_labels,
    check_path_value,
    check_resource_id,
    parse_labels,
    same_resource_name,
)
from .statements import DIALECT, bind, parameter_mapping
from .timestamps import canonical_time

logger = logging.getLogger(__name__)

QueryRunner = Callable[[exp.Expression], Result]
Parameters = Sequence[Any] | Mapping[str, Any] | None
Path = dict[str, str]


@dataclass
class NewRun:
    path: Path  # parent path parameters plus the run's own ID
    body: dict[str, Any]


@dataclass
class Matched:
    """A row an UPDATE or DELETE found: the run's name, etag and path, and computed values."""

    name: str
    etag: str | None
    path: Path
    extra: Sequence[Any]


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
        expressions: list[exp.Expression] = []
        for node in returning.expressions:  # `*` and `runs.*`: every column, typed
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

    def insert(self, tree: exp.Insert, parameter_sets: list[Parameters] | None = None
               ) -> Result | int:
        """INSERT ... VALUES / SELECT; `parameter_sets` are executemany's parameters."""
        table, _ = self._table(tree.this)
        _refuse_clauses(tree, {"alternative": "INSERT OR ...", "conflict": "ON CONFLICT"})
        names = ([c.name for c in tree.this.expressions] if isinstance(tree.this, exp.Schema)
                 else table.column_names)
        rows = _bound_value_rows(tree, parameter_sets) if parameter_sets else None
        if rows is None:
            rows = []
            for statement in ([bind(tree, p) for p in parameter_sets] if parameter_sets
                              else [tree]):
                rows += self._source_rows(statement, len(names))
        fields = [field_name(n).lower() for n in names]
        if BATCH_REQUESTS_COLUMN in fields:
            others = [n for n, f in zip(names, fields, strict=True) if f != BATCH_REQUESTS_COLUMN
                      and not any(f == p.lower() for p in table.parent_path)]
            if others:
                raise ProgrammingError(
                    f"{BODY_PREFIX}{BATCH_REQUESTS_COLUMN} (a batchCreate as written) cannot be "
                    f"mixed with run fields ({', '.join(others)}) in one INSERT: give them inside "
                    "each request's tensorboardRun."
                )
        runs: list[NewRun] = []
        batches: list[tuple[Path, list[dict[str, Any]]]] = []
        for row in rows:
            if len(row) != len(names):
                raise ProgrammingError(
                    f"INSERT names {len(names)} columns but a row has {len(row)} values."
                )
            named = dict(zip((field_name(n) for n in names), row, strict=True))
            if BATCH_REQUESTS_COLUMN in fields:
                batches.append(self._batch_as_written(table, named))
            else:
                runs.append(self._new_run(table, named))
        for parent, requests in batches:
            runs += [self._new_run_from_request(table, parent, r) for r in requests]
        _check_unique(table, runs)
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
            check_path_value(path[name], name)
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
        if len(requests) > table.batch_max:
            # One batchCreate, all created or none: more than the API takes cannot be that.
            raise DataError(
                f"{BODY_PREFIX}{BATCH_REQUESTS_COLUMN} holds {len(requests)} requests; one "
                f"batchCreate takes at most {table.batch_max}: split them into several INSERTs, "
                "or use INSERT ... VALUES, whose rows are sent in chunks.")
        return parent, requests

    def _new_run_from_request(self, table: Table, parent: Path, request: dict[str, Any]
                              ) -> NewRun:
        resource = request.get("tensorboardRun") or {}
        if not isinstance(resource, dict):
            raise DataError("Each request's tensorboardRun must be an object.")
        known = ("parent", "tensorboardRun", table.id_parameter or "")
        unknown = [k for k in request if k not in known]
        fields = [c.api_field for c in table.columns if c.api_field]
        unknown += [f"tensorboardRun.{k}" for k in resource if k not in fields]
        if unknown:
            raise DataError(
                f"Unknown field {unknown[0]!r} in a request of {BODY_PREFIX}"
                f"{BATCH_REQUESTS_COLUMN}: a request has {', '.join(known)}, and its "
                f"tensorboardRun the fields {', '.join(fields)}."
            )
        named: dict[str, Any] = dict(parent)
        # Output-only fields (a run copied from a SELECT) are ignored, as the API ignores them.
        named.update({k: v for k, v in resource.items() if k in ("displayName", "description",
                                                                 "labels")})
        if request.get(table.id_parameter or ""):
            named[table.id_column] = request[table.id_parameter or ""]
        expected = table.resource_name(parent, parent=True)
        if request.get("parent") not in (None, "") and not same_resource_name(
                str(request["parent"]), expected):
            raise DataError(f"A request's parent {request['parent']!r} is not the experiment "
                            f"{expected!r} the INSERT names.")
        return self._new_run(table, named)

    def _create(self, table: Table, runs: list[NewRun]) -> list[dict[str, Any]]:
        """One create for one row; batchCreate chunks per parent for more, in input order."""
        if len(runs) == 1:
            run = runs[0]
            parent = table.resource_name(run.path, parent=True)
            try:
                return [self.client.create(parent, table.name, run.body,
                                           id_param=table.id_parameter,
                                           resource_id=run.path[table.id_column])]
            except ProgrammingError as refused_one:
                if refused_one.rpc_status == "NOT_FOUND" and not refused_one.outcome_unknown:
                    self._check_parents(run.path, deepest_known_missing=True, create=True)
                raise
        created: dict[int, dict[str, Any]] = {}
        groups: dict[str, list[int]] = {}
        for index, run in enumerate(runs):
            groups.setdefault(table.resource_name(run.path, parent=True), []).append(index)
        chunks = [(parent, indexes[i:i + table.batch_max])
                  for parent, indexes in groups.items()
                  for i in range(0, len(indexes), table.batch_max)]
        for parent, indexes in chunks:
            requests = [{"parent": parent, table.create_field: runs[i].body,
                         table.id_parameter or "": runs[i].path[table.id_column]}
                        for i in indexes]
            try:
                answer = self.client.batch_create(
                    parent, table.name, requests, resource_field=table.create_field,
                    id_field=table.id_parameter, list_field=table.list_field)
            except Error as refused:
                error = refused
                if error.rpc_status == "NOT_FOUND" and not error.outcome_unknown:
                    try:  # the experiment of the chunk, named by the connection, is missing?
                        self._check_parents(runs[indexes[0]].path, deepest_known_missing=True,
                                            create=True)
                    except ProgrammingError as missing:
                        error = missing
                unknown: list[int] = []
                if error.outcome_unknown:  # look: which runs of this chunk exist now?
                    found = self._read_back(table, parent, [runs[i] for i in indexes])
                    if all(isinstance(r, dict) for r in found):
                        logger.info("batchCreate under %s failed (%s) but every run of it "
                                    "exists: read back", parent, error.message)
                        created.update(zip(indexes, found, strict=True))
                        continue
                    for index, resource in zip(indexes, found, strict=True):
                        if resource is ...:
                            unknown.append(index)
                        elif resource is not None:
                            created[index] = resource
                written = [runs[i].path[table.id_column] for i in sorted(created)]
                failed = [r.path[table.id_column] for i, r in enumerate(runs)
                          if i not in created and i not in unknown]
                raise partial_failure(error, written, failed, len(runs),
                                      [runs[i].path[table.id_column] for i in unknown]
                                      ) from refused
            resources = answer.get(table.list_field, [])
            if not isinstance(resources, list) or len(resources) != len(indexes):
                raise OperationalError(
                    f"batchCreate under {parent} answered "
                    f"{len(resources) if isinstance(resources, list) else 'no'} runs for "
                    f"{len(indexes)} requests; {len(created)} runs of this INSERT were written "
                    "before it."
                )
            for index, resource in zip(indexes, resources, strict=True):
                created[index] = resource
            logger.debug("batchCreate of %d runs under %s", len(indexes), parent)
        return [created[i] for i in range(len(runs))]

    def _read_back(self, table: Table, parent: str, runs: list[NewRun]) -> list[Any]:
        """Each run as it exists now: its resource when it holds what was sent, None when it
        does not exist, `...` when that cannot be told (the read fails, or another run holds
        the ID)."""
        def look(run: NewRun) -> Any:
            try:
                found = self.client.get(f"{parent}/{table.name}/{run.path[table.id_column]}")
            except Error:
                return ...
            if found is None:
                return None
            same = all(found.get(k, {} if k == "labels" else "") == v
                       for k, v in run.body.items())
            return found if same else ...

        return list(self.pool.map(look, runs))

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
                target.update_mask = [_camel(field_name(p.strip())) for p in value.split(",")
                                      if p.strip()]
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
        for name, value in found.items():  # a value must not address another resource
            check_path_value(value, name)
        if not target.residual and all(found.get(n) for n in table.path):
            target.key = found
        return target

    def _matching_rows(self, table: Table, table_node: exp.Table,
                       tree: exp.Update | exp.Delete, extra: list[exp.Expression],
                       write_terms: tuple[str, ...]) -> list[Matched]:
        """Run `[WITH ...] SELECT name, etag, <path>, <extra> FROM <table> WHERE ... [ORDER BY
        ... LIMIT ...]` with push-down, leaving out the WHERE terms that qualify the write rather
        than the rows (`write_terms`)."""
        select = exp.select("name", "etag", *table.path, *extra).from_(table_node.copy())
        where = tree.args.get("where")
        if where is not None:
            select.set("where", where.copy())
        for key in _ROW_CLAUSES:
            if tree.args.get(key) is not None:
                select.set(key, tree.args[key].copy())
        _drop_terms(select, write_terms)
        result = self.run_query(select)
        width = len(table.path)
        try:
            return [Matched(str(row[0]), row[1], dict(zip(table.path, row[2:2 + width],
                                                          strict=True)), row[2 + width:])
                    for row in result.rows]
        finally:
            result.close()

    # -- UPDATE ------------------------------------------------------------------------------

    def update(self, tree: exp.Update) -> Result | int:
        table, table_node = self._table(tree.this)
        _refuse_clauses(tree, {"from_": "UPDATE ... FROM", "from": "UPDATE ... FROM"})
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
        body: dict[str, Any] = {}
        if depends_on_row:
            _refuse_system_label_literals(values)
        else:
            # Checked before any call: a bad value must not half-apply.
            body = self._patch_body(table, values, self._evaluate(list(values.values())), etag)
        if target.key is not None and not depends_on_row and not _row_clauses(tree):
            patched = self._patch_one(table.resource_name(target.key), body, mask, target.key)
            results = [patched] if patched else []
            paths = [target.key] if patched else []
        else:
            extra: list[exp.Expression] = []
            if depends_on_row:
                extra = [exp.alias_(v.copy(), f"_v{i}") for i, v in enumerate(values.values())]
                if "labels" in values:
                    extra.append(exp.alias_(exp.column("labels"), "_labels"))
            # The etag is sent with each patch (a mismatch must raise, not match no rows).
            rows = self._matching_rows(table, table_node, tree, extra,
                                       (UPDATE_MASK_PARAMETER, "etag"))
            bodies: list[tuple[Matched, dict[str, Any]]] = []
            for row in rows:  # every body is built (and checked) before the first patch
                if depends_on_row:
                    current = (parse_labels(row.extra[len(values)]) if "labels" in values
                               else None)
                    bodies.append((row, self._patch_body(
                        table, values, row.extra[:len(values)], etag or row.etag,
                        current_labels=current, name=row.name)))
                else:
                    bodies.append((row, body))
            jobs = [(row, self.pool.submit(self._patch_one, row.name, patch, mask))
                    for row, patch in bodies]
            results, paths = self._collect(jobs)
        if tree.args.get("returning") is not None:
            return self._returning(tree, table, results, paths, len(results))
        return len(results)

    def _patch_body(self, table: Table, values: dict[str, exp.Expression], evaluated: Sequence[Any],
                    etag: str | None, *, current_labels: dict[str, str] | None = None,
                    name: str = ""
                    ) -> dict[str, Any]:
        """The patch body. Labels computed from a run's own labels (`current_labels` given) may
        carry its system labels along unchanged; a system label set any other way is refused."""
        body: dict[str, Any] = {}
        for key, value in zip(values, evaluated, strict=True):
            if key == "labels":
                labels = parse_labels(value)
                if current_labels is None:
                    check_labels(labels, allow_system=False)
                else:
                    # Left out, a system label is kept by the API; added or changed, refused.
                    changed = [k for k, v in labels.items() if k.startswith(SYSTEM_LABEL_PREFIX)
                               and current_labels.get(k) != v]
                    if changed:
                        raise DataError(
                            f"The new labels of {name} set {changed[0]!r}, a label reserved by "
                            f"Vertex AI ({SYSTEM_LABEL_PREFIX}...) that cannot be set or changed. "
                            "Nothing was updated."
                        )
                    check_labels({k: v for k, v in labels.items()
                                  if not k.startswith(SYSTEM_LABEL_PREFIX)}, allow_system=False)
                body["labels"] = labels
            elif value is not None:
                body[key] = str(value)
        if etag:
            body["etag"] = etag
        return body

    def _patch_one(self, name: str, body: dict[str, Any], mask: list[str],
                   key: Path | None = None) -> dict[str, Any] | None:
        """Patch one run; None if it does not exist. `key`: the path of a run the statement
        named without listing it, whose parents may be missing too."""
        try:
            # Absolute values: a repeat leaves what one patch does (and with an etag, the client
            # reads an ABORTED repeat back), so the patch is retried like any idempotent call.
            return self.client.patch(name, body, mask, idempotent=True)
        except ProgrammingError as error:
            if error.rpc_status == "NOT_FOUND":
                if key is not None:
                    self._check_parents(key, deepest_known_missing=False)
                return None
            raise

    def _check_parents(self, path: Path, *, deepest_known_missing: bool,
                       create: bool = False) -> None:
        """After NOT_FOUND under `path`: raise ProgrammingError naming its tensorboard or
        experiment if the connection named it and it does not exist (no call unless one of
        them came from the connection; see `paths.missing_parent`). `create`: the NOT_FOUND
        of a create, an error anyway: looked into only when the experiment is the
        connection's, to name it."""
        named = {level for level, _ in PARENT_LEVELS
                 if path.get(level) and self.defaults.get(level) == path[level]}
        if create and "experimentsId" not in named:
            return
        error = missing_parent(self.client, path, named,
                               deepest_known_missing=deepest_known_missing)
        if error is not None:
            raise error

    @staticmethod
    def _collect(jobs: list[tuple[Matched, Any]]) -> tuple[list[dict[str, Any]], list[Path]]:
        """Wait for concurrent per-run calls; on failure say which runs changed and which not."""
        done: list[dict[str, Any]] = []
        paths: list[Path] = []
        failed: list[str] = []
        unknown: list[str] = []
        first_error: Error | None = None
        for row, job in jobs:
            try:
                resource = job.result()
            except Error as error:
                first_error = first_error or error
                (unknown if error.outcome_unknown else failed).append(row.name)
                continue
            if resource is not None:
                done.append(resource)
                paths.append(row.path)
        if first_error is not None:
            written = [str(r.get("name", "")) for r in done]
            raise partial_failure(first_error, written, failed, len(jobs), unknown)
        return done, paths

    # -- DELETE ------------------------------------------------------------------------------

    def delete(self, tree: exp.Delete) -> Result | int:
        table, table_node = self._table(tree.this)
        _refuse_clauses(tree, {"using": "DELETE ... USING"})
        target = self._target(table, table_node.alias_or_name, tree.args.get("where"))
        returning = tree.args.get("returning") is not None
        if (target.key is not None and not returning and target.etag is None
                and not _row_clauses(tree)):
            name = table.resource_name(target.key)
            return 1 if self._delete_one(name, target.key) else 0
        rows = self._matching_rows(table, table_node, tree, [], ())
        # RETURNING shows the runs as they were: read them (concurrently) before deleting.
        before = list(self.pool.map(self.client.get, [r.name for r in rows])) if returning \
            else [None] * len(rows)
        jobs = [(row, self.pool.submit(self._delete_one, row.name)) for row in rows]
        deleted: list[tuple[Matched, dict[str, Any] | None]] = []
        failed: list[str] = []
        unknown: list[str] = []
        first_error: Error | None = None
        for (row, job), resource in zip(jobs, before, strict=True):
            try:
                if job.result():
                    deleted.append((row, resource))
            except Error as error:
                first_error = first_error or error
                (unknown if error.outcome_unknown else failed).append(row.name)
        if first_error is not None:
            raise partial_failure(first_error, [row.name for row, _ in deleted], failed,
                                  len(jobs), unknown)
        if returning:
            kept = [(row, r) for row, r in deleted if r is not None]
            return self._returning(tree, table, [r for _, r in kept], [row.path for row, _ in kept],
                                   len(deleted))
        return len(deleted)

    def _delete_one(self, name: str, key: Path | None = None) -> bool:
        """Delete one run; whether this statement deleted it.

        A run found gone (NOT_FOUND) after an attempt whose answer was lost was deleted by that
        attempt: a predicate DELETE listed it just before, and a keyed DELETE names a run it
        takes to exist (telling a lost answer from a run that never existed would take a read
        before every keyed DELETE, doubling its calls). `key`: as for `_patch_one`.
        """
        try:
            operation = self.client.delete(name)
        except ProgrammingError as error:
            if error.rpc_status != "NOT_FOUND":
                raise
            if error.outcome_unknown:
                logger.info("delete of %s: gone after an attempt whose answer was lost, which "
                            "deleted it", name)
                return True
            if key is not None:
                self._check_parents(key, deepest_known_missing=False)
            return False
        if self.wait_operations:
            self.client.wait_operation(operation)
        return True


# Clauses of UPDATE and DELETE that choose rows: they go on the SELECT that finds them.
_ROW_CLAUSES = ("with_", "order", "limit")


def _row_clauses(tree: exp.Expression) -> bool:
    return any(tree.args.get(key) is not None for key in _ROW_CLAUSES)


def _refuse_clauses(tree: exp.Expression, clauses: dict[str, str]) -> None:
    for key, what in clauses.items():
        if tree.args.get(key):
            raise NotSupportedError(
                f"{what} is not supported: the API has no such write. Select the rows in the "
                "WHERE clause instead."
                if key not in {"alternative", "conflict"} else
                f"{what} is not supported: the API creates a run or refuses it; check first "
                "with SELECT, or catch IntegrityError."
            )


def _check_unique(table: Table, runs: list[NewRun]) -> None:
    """Two rows with one ID or one displayName in one experiment: refused before any call."""
    seen: dict[tuple[str, str, str], int] = {}
    for index, run in enumerate(runs):
        parent = table.resource_name(run.path, parent=True)
        for what, value in ((table.id_column, run.path[table.id_column]),
                            ("displayName", str(run.body.get("displayName", "")))):
            earlier = seen.setdefault((what, parent, value), index)
            if earlier != index:
                raise IntegrityError(
                    f"Rows {earlier + 1} and {index + 1} of the INSERT both have {what} "
                    f"{value!r} in {parent}; it must be unique there. Nothing was written."
                )


def _refuse_system_label_literals(values: dict[str, exp.Expression]) -> None:
    """A SET of labels that names a system label key (`json_set(labels, '$."aiplatform...`)."""
    labels = values.get("labels")
    if labels is None:
        return
    for node in labels.find_all(exp.Literal):
        if node.is_string and SYSTEM_LABEL_PREFIX in str(node.this):
            raise DataError(
                f"SET labels names {node.this!r}: labels prefixed {SYSTEM_LABEL_PREFIX!r} are "
                "reserved by Vertex AI and cannot be set or changed."
            )


def _camel(name: str) -> str:
    """`display_name` -> `displayName` (gcloud writes field masks in snake_case)."""
    head, *rest = name.split("_")
    return head + "".join(part[:1].upper() + part[1:] for part in rest)


def _bound_value_rows(tree: exp.Insert, parameter_sets: list[Parameters]) -> list[Row] | None:
    """executemany's rows of `VALUES (?, ?, ...)` taken straight from the parameters.

    Binding copies the whole statement tree per row (most of the CPU of a large executemany);
    for one VALUES tuple of markers and literals the values are the parameters themselves.
    None when the statement has another shape, or a value needs SQL to become one.
    """
    source = tree.expression
    if not isinstance(source, exp.Values) or len(source.expressions) != 1:
        return None
    items = source.expressions[0]
    items = list(items.expressions) if isinstance(items, exp.Tuple) else [items]
    if not all(isinstance(i, (exp.Placeholder, exp.Literal, exp.Null)) for i in items):
        return None
    markers = [i for i in items if isinstance(i, exp.Placeholder)]
    if len(markers) != len(list(tree.find_all(exp.Placeholder))):
        return None  # markers elsewhere (e.g. RETURNING): bind the whole statement
    constants = {id(i): _literal_value(i) for i in items if not isinstance(i, exp.Placeholder)}
    rows: list[Row] = []
    for parameters in parameter_sets:
        mapping = parameter_mapping(markers, parameters)
        row = tuple(_parameter_value(mapping[str(i.this)]) if isinstance(i, exp.Placeholder)
                    else constants[id(i)] for i in items)
        if any(v is _NEEDS_SQL for v in row):
            return None
        rows.append(row)
    return rows


_NEEDS_SQL = object()


def _literal_value(node: exp.Expression) -> Any:
    if isinstance(node, exp.Null):
        return None
    return node.this if node.is_string else json.loads(node.this)


def _parameter_value(value: Any) -> Any:
    """The value a parameter has once bound (as `statements.literal` renders it)."""
    if value is None or isinstance(value, (str, int, float)):
        return int(value) if isinstance(value, bool) else value
    if isinstance(value, (dict, list)):
        return json.dumps(value, separators=(",", ":"))
    if isinstance(value, datetime):
        return canonical_time(value)
    return _NEEDS_SQL


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
