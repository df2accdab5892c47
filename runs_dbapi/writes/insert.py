"""INSERT: rows to creates, or to batchCreates where the table has one.

Every row is checked before the first call (columns, required and unique fields, IDs, labels,
the values a field takes). Where the catalog says the driver chooses IDs, a row without one gets
a UUID, so that retries stay idempotent; a create without an ID (the server assigns it) is never
repeated after an ambiguous failure. A failure part-way raises with exactly which rows were and
were not written.
"""

from __future__ import annotations

import json
import logging
import uuid
from dataclasses import dataclass
from typing import Any

from sqlglot import exp

from ..catalog import BATCH_REQUESTS_COLUMN, BODY_PREFIX, Column, Table
from ..exceptions import DataError, Error, IntegrityError, OperationalError, ProgrammingError
from ..executor import Result
from ..local import Row
from ..rules import check_path_value, check_resource_id, same_resource_name
from ..statements import bind
from .common import (
    Json,
    Parameters,
    Path,
    WriteBase,
    own_path,
    partial_failure,
    refuse_clauses,
    returning,
    written_table,
)
from .values import (
    api_value,
    bound_value_rows,
    evaluate,
    field_name,
    put_field,
    resource_value,
)

__all__ = ["Inserter"]

logger = logging.getLogger(__name__)


@dataclass
class NewRow:
    path: Path  # parent path parameters, plus the row's own ID when it has one
    body: Json
    index: int  # its place in the INSERT, from 0

    def label(self, table: Table) -> str:
        """How errors name the row: its ID, or its place when the server assigns the ID."""
        return self.path.get(table.id_column) or f"row {self.index + 1}"


def _creatable(table: Table, column: Column) -> bool:
    return column.writable or column.name in table.writes.immutable


def _value_of(named: dict[str, Any], name: str) -> Any:
    return next((v for k, v in named.items() if k.lower() == name.lower()), None)


class Inserter(WriteBase):
    def insert(self, tree: exp.Insert, parameter_sets: list[Parameters] | None = None
               ) -> Result | int:
        """INSERT ... VALUES / SELECT; `parameter_sets` are executemany's parameters."""
        table, _ = written_table(tree.this)
        refuse_clauses(tree, {"alternative": "INSERT OR ...", "conflict": "ON CONFLICT"})
        names, rows = self.statement_rows(table, tree, parameter_sets)
        fields = [field_name(n).lower() for n in names]
        as_written = BATCH_REQUESTS_COLUMN in fields
        if as_written:
            self._check_as_written(table, names, fields)
        new: list[NewRow] = []
        for row in rows:
            if len(row) != len(names):
                raise ProgrammingError(
                    f"INSERT names {len(names)} columns but a row has {len(row)} values."
                )
            named = dict(zip((field_name(n) for n in names), row, strict=True))
            if as_written:
                parent, requests = self._batch_as_written(table, named)
                new += [self._row_from_request(table, parent, named, r, len(new) + i)
                        for i, r in enumerate(requests)]
            else:
                new.append(self._new_row(table, named, len(new)))
        _check_unique(table, new)
        created = self._create(table, new)
        if tree.args.get("returning") is not None:
            paths = [own_path(table, r.path, c) for r, c in zip(new, created, strict=True)]
            return returning(tree, table, created, paths, len(created))
        return len(created)

    def statement_rows(self, table: Table, tree: exp.Insert,
                       parameter_sets: list[Parameters] | None) -> tuple[list[str], list[Row]]:
        """The columns an INSERT names (all of the table's when it names none) and its rows:
        VALUES, executemany's parameters, or what its SELECT returns."""
        names = ([c.name for c in tree.this.expressions] if isinstance(tree.this, exp.Schema)
                 else table.column_names)
        rows = bound_value_rows(tree, parameter_sets) if parameter_sets else None
        if rows is None:
            rows = []
            for statement in ([bind(tree, p) for p in parameter_sets] if parameter_sets
                              else [tree]):
                rows += self._source_rows(statement)
        return names, rows

    def _source_rows(self, tree: exp.Insert) -> list[Row]:
        source = tree.expression
        if isinstance(source, exp.Values):
            return [evaluate(list(t.expressions)) if isinstance(t, exp.Tuple)
                    else evaluate([t]) for t in source.expressions]
        if isinstance(source, exp.Query):
            result = self.run_query(source)
            try:
                return list(result.rows)
            finally:
                result.close()
        raise ProgrammingError("INSERT needs VALUES (...) or a SELECT.")

    # -- rows --------------------------------------------------------------------------------

    def _parent(self, table: Table, named: dict[str, Any], levels: tuple[str, ...]) -> Path:
        path: Path = {}
        for name in levels:
            value = _value_of(named, name)
            value = value if value not in (None, "") else self.defaults.get(name)
            if not value:
                raise ProgrammingError(
                    f"No {name} for INSERT: add a {name} column, or connect() with "
                    f"{name[:-3] if name.endswith('sId') else name}=."
                )
            path[name] = str(value)
            check_path_value(path[name], name)
        return path

    def _new_row(self, table: Table, named: dict[str, Any], index: int) -> NewRow:
        spec = table.writes
        path = self._parent(table, named, table.parent_path)
        own_id: str | None = None
        body: Json = {}
        id_names = {table.id_column.lower(), (table.id_parameter or table.id_column).lower()}
        for raw, value in named.items():
            column = table.column(raw)
            if column is not None and column.path_parameter and column.name != table.id_column:
                continue
            if raw.lower() in id_names:
                own_id = str(value) if value not in (None, "") else own_id
            elif column is not None and _creatable(table, column):
                converted = api_value(table, column, value, allow_system_labels=True)
                if converted is not None:
                    put_field(body, column.api_field or column.name, converted)
            elif column is not None and (column.output_only or column.name == spec.etag):
                if value not in (None, ""):
                    raise ProgrammingError(
                        f"{column.name} is set by the API (output only); INSERT accepts it only "
                        "as NULL."
                    )
            else:
                settable = [c.name for c in table.columns if _creatable(table, c)]
                raise ProgrammingError(
                    f"Unknown column {raw!r} for INSERT into {table.name}. Writable: "
                    + ", ".join(settable)
                    + (f", {table.id_column}" if table.id_parameter else "")
                    + ", and the path parameters."
                )
        for name in spec.required:
            column = table.column(name)
            if column is not None and body.get(column.api_field or name) in (None, ""):
                raise DataError(f"{name} is required to create a row of {table.name}.")
        if own_id is not None and table.id_parameter is None:
            raise DataError(
                f"{table.id_column} is assigned by the API: a create of {table.name} takes no "
                f"ID. Leave it out (or NULL); RETURNING {table.id_column} gives the new one.")
        if own_id is None and spec.driver_ids:
            own_id = str(uuid.uuid4())
        if own_id is None and spec.id_required:
            raise DataError(f"{table.id_column} is required to create a row of {table.name}.")
        if own_id is not None:
            check_resource_id(own_id, table.id_parameter or table.id_column)
            path[table.id_column] = own_id
        return NewRow(path=path, body=body, index=index)

    # -- a batchCreate as written (the seed's `data__requests`) ------------------------------

    def _check_as_written(self, table: Table, names: list[str], fields: list[str]) -> None:
        if table.writes.batch is None:
            raise ProgrammingError(
                f"{BODY_PREFIX}{BATCH_REQUESTS_COLUMN} passes a batchCreate as written, and "
                f"{table.name} has none: INSERT its rows with VALUES or a SELECT.")
        others = [n for n, f in zip(names, fields, strict=True) if f != BATCH_REQUESTS_COLUMN
                  and not any(f == p.lower() for p in table.parent_path)]
        if others:
            raise ProgrammingError(
                f"{BODY_PREFIX}{BATCH_REQUESTS_COLUMN} (a batchCreate as written) cannot be "
                f"mixed with {table.name} fields ({', '.join(others)}) in one INSERT: give them "
                f"inside each request's {table.create_field}."
            )

    def _batch_as_written(self, table: Table, named: dict[str, Any]
                          ) -> tuple[Path, list[Json]]:
        batch = table.writes.batch
        assert batch is not None
        levels = table.path[:table.path.index(batch.target) + 1]
        parent = self._parent(table, named, levels)
        raw = _value_of(named, BATCH_REQUESTS_COLUMN)
        what = f"{BODY_PREFIX}{BATCH_REQUESTS_COLUMN}"
        try:
            requests = json.loads(raw) if isinstance(raw, str) else raw
        except ValueError as error:
            raise DataError(f"{what} must be a JSON list of requests: {error}") from None
        if not isinstance(requests, list) or not all(isinstance(r, dict) for r in requests):
            raise DataError(f"{what} must be a JSON list of request objects.")
        if len(requests) > table.batch_max:
            # One batchCreate, all created or none: more than the API takes cannot be that.
            raise DataError(
                f"{what} holds {len(requests)} requests; one batchCreate takes at most "
                f"{table.batch_max}: split them into several INSERTs, or use INSERT ... VALUES, "
                "whose rows are sent in chunks.")
        return parent, requests

    def _row_from_request(self, table: Table, target: Path, named: dict[str, Any],
                          request: Json, index: int) -> NewRow:
        resource = request.get(table.create_field) or {}
        if not isinstance(resource, dict):
            raise DataError(f"Each request's {table.create_field} must be an object.")
        known = ("parent", table.create_field, table.id_parameter or "")
        unknown = [k for k in request if k not in known]
        fields = [c.api_field for c in table.columns if c.api_field]
        unknown += [f"{table.create_field}.{k}" for k in resource if k not in fields]
        if unknown:
            raise DataError(
                f"Unknown field {unknown[0]!r} in a request of {BODY_PREFIX}"
                f"{BATCH_REQUESTS_COLUMN}: a request has {', '.join(known)}, and its "
                f"{table.create_field} the fields {', '.join(fields)}."
            )
        row: dict[str, Any] = {**target, **{k: v for k, v in named.items()
                                            if table.column(k) is not None}}
        row.update(self._request_parent(table, target, request.get("parent")))
        # Output-only fields (a resource copied from a SELECT) are ignored, as the API does.
        for column in table.columns:
            if _creatable(table, column) and column.api_field in resource:
                row[column.name] = resource_value(column, resource[column.api_field])
        if request.get(table.id_parameter or ""):
            row[table.id_column] = request[table.id_parameter or ""]
        return self._new_row(table, {k: v for k, v in row.items()
                                     if k.lower() != BATCH_REQUESTS_COLUMN}, index)

    @staticmethod
    def _request_parent(table: Table, target: Path, given: Any) -> Path:
        """The path levels below the batch's target that a request's `parent` names (none when
        the parent is the target itself); DataError if it lies elsewhere."""
        if given in (None, ""):
            return {}
        expected = "/".join(f"{n[:-2]}/{v}" for n, v in target.items())
        below = table.parent_path[len(target):]
        parsed = table.parse_name(f"{given}/{table.api_collection}/x")
        ok = parsed is not None and same_resource_name(
            "/".join(f"{n[:-2]}/{parsed[n]}" for n in target), expected)
        if not ok or parsed is None:
            where = f"a {below[-1][:-3]} of " if below else ""
            raise DataError(f"A request's parent {given!r} is not {where}the "
                            f"{list(target)[-1][:-3]} {expected!r} the INSERT names.")
        return {n: parsed[n] for n in below}

    # -- calls -------------------------------------------------------------------------------

    def _create(self, table: Table, rows: list[NewRow]) -> list[Json]:
        """One create per row (concurrently) where the table has no batchCreate or the INSERT
        one row; else batchCreates in chunks per target, in input order."""
        if not rows:
            return []
        if len(rows) == 1:
            return [self._create_one(table, rows[0])]
        if table.writes.batch is None:
            jobs = [(row.label(table), row.path, self.pool.submit(self._create_one, table, row))
                    for row in rows]
            created, _ = self.collect(jobs)
            return created
        return self._batch_create(table, rows)

    def _create_one(self, table: Table, row: NewRow) -> Json:
        parent = table.resource_name(row.path, parent=True)
        try:
            answer = self.client.create(parent, table.api_collection, row.body,
                                        id_param=table.id_parameter,
                                        resource_id=row.path.get(table.id_column))
        except ProgrammingError as refused:
            if refused.rpc_status == "NOT_FOUND" and not refused.outcome_unknown:
                self.check_parents(table, row.path, create=True)
            raise
        return self.finished(answer, what="create") if table.writes.create_operation \
            else answer

    def _batch_create(self, table: Table, rows: list[NewRow], *,
                      ordered: bool | None = None) -> list[Json]:
        """batchCreates in chunks per target: one after another, in input order, or (`ordered`
        False; by default the connection's `ordered_inserts`) all at once, each chunk still
        all or nothing but the order of creation across chunks not kept."""
        created: dict[int, Json] = {}
        groups: dict[str, list[int]] = {}
        for row in rows:
            groups.setdefault(table.batch_url(row.path), []).append(row.index)
        chunks = [(url, indexes[i:i + table.batch_max]) for url, indexes in groups.items()
                  for i in range(0, len(indexes), table.batch_max)]
        if not (self.ordered_inserts if ordered is None else ordered) and len(chunks) > 1:
            return self._batch_create_at_once(table, rows, chunks)
        for url, indexes in chunks:
            try:
                answer = self._send_chunk(table, rows, url, indexes)
            except Error as refused:
                self._batch_failed(table, rows, indexes, created, refused)
                continue  # its outcome was unknown, and every row of it exists
            self._chunk_created(table, url, indexes, answer, created)
        return [created[i] for i in range(len(rows))]

    def _send_chunk(self, table: Table, rows: list[NewRow], url: str, indexes: list[int]
                    ) -> Json:
        first = rows[indexes[0]]
        parent = table.resource_name(first.path, parent=True)
        requests = [{"parent": table.resource_name(rows[i].path, parent=True),
                     table.create_field: rows[i].body,
                     **({table.id_parameter: rows[i].path[table.id_column]}
                        if table.id_parameter and rows[i].path.get(table.id_column)
                        else {})}
                    for i in indexes]
        return self.client.batch_create(
            parent, table.api_collection, requests, url=url,
            resource_field=table.create_field, id_field=table.id_parameter,
            list_field=table.list_field)

    def _batch_create_at_once(self, table: Table, rows: list[NewRow],
                              chunks: list[tuple[str, list[int]]]) -> list[Json]:
        """Every chunk sent concurrently; when some fail, the error says which rows of the
        whole INSERT were written, which were not, and which may have been."""
        jobs = [(url, indexes, self.pool.submit(self._send_chunk, table, rows, url, indexes))
                for url, indexes in chunks]
        created: dict[int, Json] = {}
        failures: list[tuple[list[int], Error]] = []
        for url, indexes, job in jobs:
            try:
                answer = job.result()
            except Error as error:
                failures.append((indexes, error))
                continue
            self._chunk_created(table, url, indexes, answer, created)
        first: Error | None = None
        unknown: list[str] = []
        for indexes, failure in failures:
            try:
                self._batch_failed(table, rows, indexes, created, failure)
            except Error as raised:
                first = first or raised
                unknown += raised.rows_unknown or []
        if first is not None:
            written = [rows[i].label(table) for i in sorted(created)]
            maybe = set(unknown)
            failed = [r.label(table) for r in rows if r.index not in created
                      and r.label(table) not in maybe]
            raise partial_failure(first, written, failed, len(rows), unknown) from first
        return [created[i] for i in range(len(rows))]

    def _chunk_created(self, table: Table, url: str, indexes: list[int], answer: Json,
                       created: dict[int, Json]) -> None:
        resources = answer.get(table.list_field, [])
        if not isinstance(resources, list) or len(resources) != len(indexes):
            raise OperationalError(
                f"batchCreate {url} answered "
                f"{len(resources) if isinstance(resources, list) else 'no'} resources for "
                f"{len(indexes)} requests; {len(created)} rows of this INSERT were written "
                "before it."
            )
        created.update(zip(indexes, resources, strict=True))
        logger.debug("batchCreate of %d %s: %s", len(indexes), table.name, url)

    def _batch_failed(self, table: Table, rows: list[NewRow], indexes: list[int],
                      created: dict[int, Json], refused: Error) -> None:
        """A chunk failed: if its outcome is unknown, look which of its rows exist now (all of
        them: carry on); otherwise raise saying which rows of the INSERT were written."""
        error = refused
        if error.rpc_status == "NOT_FOUND" and not error.outcome_unknown:
            try:  # the parent of the chunk, named by the connection, is missing?
                self.check_parents(table, rows[indexes[0]].path, create=True)
            except ProgrammingError as missing:
                error = missing
        unknown: list[int] = []
        if error.outcome_unknown:  # look: which rows of this chunk exist now?
            found = self._read_back(table, [rows[i] for i in indexes])
            if all(isinstance(r, dict) for r in found):
                logger.info("batchCreate of %s failed (%s) but every row of it exists: read "
                            "back", table.name, error.message)
                created.update(zip(indexes, found, strict=True))
                return
            for index, resource in zip(indexes, found, strict=True):
                if resource is ...:
                    unknown.append(index)
                elif resource is not None:
                    created[index] = resource
        written = [rows[i].label(table) for i in sorted(created)]
        failed = [r.label(table) for r in rows if r.index not in created
                  and r.index not in unknown]
        raise partial_failure(error, written, failed, len(rows),
                              [rows[i].label(table) for i in unknown]) from refused

    def _read_back(self, table: Table, rows: list[NewRow]) -> list[Any]:
        """Each row as it exists now: its resource when it holds what was sent, None when it
        does not exist, `...` when that cannot be told (no ID to read it by, the read fails, or
        another resource holds the ID)."""
        def look(row: NewRow) -> Any:
            if not row.path.get(table.id_column):
                return ...
            try:
                found = self.client.get(table.resource_name(row.path))
            except Error:
                return ...
            if found is None:
                return None
            same = all(found.get(k, {} if isinstance(v, dict) else "") == v
                       for k, v in row.body.items())
            return found if same else ...

        return list(self.pool.map(look, rows))


def _check_unique(table: Table, rows: list[NewRow]) -> None:
    """Two rows with one ID, or one value of a field unique within their parent, in one
    parent: refused before any call."""
    seen: dict[tuple[str, str, str], int] = {}
    for row in rows:
        parent = table.resource_name(row.path, parent=True)
        values = [(table.id_column, row.path.get(table.id_column))]
        for name in table.writes.unique:
            column = table.column(name)
            values.append((name, str(row.body.get(column.api_field or name, "")) if column
                           else None))
        for what, value in values:
            if not value:
                continue
            earlier = seen.setdefault((what, parent, value), row.index)
            if earlier != row.index:
                raise IntegrityError(
                    f"Rows {earlier + 1} and {row.index + 1} of the INSERT both have {what} "
                    f"{value!r} in {parent}; it must be unique there. Nothing was written."
                )
