"""INSERT into a table of data points (`time_series_data`): rows to the write verb, in bulk.

A row names its run (path columns, or the connection's), its series by display name (the series
table's unique field) or by ID, the value type (SCALAR by default when a scalar is given; the
value column must be the type's), the step (required, an integer), the wall time (now, UTC, when
not given) and the value. Every row is checked before the first call.

Then, per statement: one listing of series per run whose rows name series by display name
(filtered on those names), one batchCreate per experiment of the series missing (the plugin name
of their value type, from the catalog), and the points grouped per experiment into write calls of
at most the verb's limit of points, many runs per call, all sent concurrently. A write of a step
overwrites that point, so repeating a write is harmless: write calls are retried as idempotent,
and a statement that names one point twice keeps the last row's (the calls never race).

Points cannot be changed or removed through the API: UPDATE and DELETE raise NotSupportedError.
Nothing here names a resource: the verbs, limits and fields come from the catalog's `PointReads`
and the series table's declaration.
"""

from __future__ import annotations

import logging
import uuid
from concurrent.futures import Future
from typing import Any

from sqlglot import exp

from ..catalog import TABLES, PointReads, Table
from ..exceptions import DataError, Error, NotSupportedError
from ..executor import Result
from .common import Json, Parameters, Path, WriteBase, partial_failure, refuse_clauses, returning
from .insert import Inserter, NewRow
from .point_rows import PointRow, RowReader, key_column
from .values import field_name, put_field

__all__ = ["PointWriter", "refuse_point_change"]

logger = logging.getLogger(__name__)

# Listing filters longer than this many display names list every series of the run instead.
_FILTER_NAMES_MAX = 50


def refuse_point_change(table: Table, verb: str) -> None:
    """UPDATE and DELETE of a table of data points: the API has neither."""
    spec = table.points
    if spec is None:
        return
    raise NotSupportedError(
        f"{verb} of {table.name} is not supported: the API cannot update or delete data points "
        f"(a write of the same {', '.join(spec.point_key)} overwrites a point; INSERT it again). "
        f"To remove points, delete their series instead: DELETE FROM {spec.series_table} "
        "WHERE ...")


class PointWriter(WriteBase):
    """INSERT into a table of data points (see the module's description)."""

    def __init__(self, inserter: Inserter) -> None:
        super().__init__(inserter.client, inserter.pool, inserter.run_query, inserter.defaults,
                         wait_operations=inserter.wait_operations,
                         ordered_inserts=inserter.ordered_inserts)
        self.inserter = inserter

    def insert(self, table: Table, tree: exp.Insert, parameter_sets: list[Parameters] | None
               ) -> Result | int:
        spec = table.points
        assert spec is not None
        refuse_clauses(tree, {"alternative": "INSERT OR ...", "conflict": "ON CONFLICT"})
        series_table = TABLES[spec.series_table]
        names, raw_rows = self.inserter.statement_rows(table, tree, parameter_sets)
        reader = RowReader(table, spec, series_table, [field_name(n) for n in names],
                            self.defaults)
        rows = [reader.read(index, row) for index, row in enumerate(raw_rows)]
        if not rows:
            return 0
        ids = self._series_ids(spec, series_table, rows)
        written = self._write(spec, series_table, rows, ids)
        if tree.args.get("returning") is not None:
            resources, paths = _as_resources(spec, series_table, reader.run_levels, rows, ids)
            return returning(tree, table, resources, paths, written)
        return written

    # -- the series ---------------------------------------------------------------------------

    def _series_ids(self, spec: PointReads, series_table: Table, rows: list[PointRow]
                    ) -> dict[tuple[tuple[str, ...], str], str]:
        """(run, display name) -> series ID for every series a row names by display name: one
        listing per run, then one batchCreate per experiment of the missing ones."""
        wanted: dict[tuple[str, ...], dict[str, str]] = {}
        for row in rows:
            if row.series_id is None and row.display is not None:
                types = wanted.setdefault(row.run, {})
                if types.setdefault(row.display, row.value_type) != row.value_type:
                    raise DataError(
                        f"Rows of one INSERT give series {row.display!r} of run "
                        f"{row.run[-1]!r} two value types ({types[row.display]} and "
                        f"{row.value_type}); a series has one. Nothing was written.")
        if not wanted:
            return {}
        levels = series_table.parent_path
        runs = list(wanted)
        listed = list(self.pool.map(
            lambda run: self._listing(spec, series_table, dict(zip(levels, run, strict=True)),
                                      sorted(wanted[run])), runs))
        ids: dict[tuple[tuple[str, ...], str], str] = {}
        missing: list[NewRow] = []
        for run, found in zip(runs, listed, strict=True):
            for display, value_type in wanted[run].items():
                if display in found:
                    series_id, existing = found[display]
                    if existing != value_type:
                        raise DataError(
                            f"Series {display!r} of run {run[-1]!r} holds {existing} points; "
                            f"rows give it {value_type}. Nothing was written.")
                    ids[(run, display)] = series_id
                    continue
                series_id = str(uuid.uuid4())
                ids[(run, display)] = series_id
                missing.append(NewRow(
                    path={**dict(zip(levels, run, strict=True)),
                          series_table.id_column: series_id},
                    body=_series_body(spec, series_table, display, value_type),
                    index=len(missing)))
        if missing:
            try:
                self.inserter._batch_create(series_table, missing, ordered=False)
            except Error as error:
                raise partial_failure(error, [], [f"row {r.index + 1}" for r in rows],
                                      len(rows)) from error
            logger.info("created %d series for an INSERT of %d points", len(missing), len(rows))
        return ids

    def _listing(self, spec: PointReads, series_table: Table, run: Path, names: list[str]
                 ) -> dict[str, tuple[str, str]]:
        """display name -> (series ID, value type) of the run's series among `names`."""
        key = key_column(series_table)
        params: dict[str, Any] = {"pageSize": series_table.page_max}
        if len(names) <= _FILTER_NAMES_MAX and key.filter_name:
            params["filter"] = " OR ".join(f'{key.filter_name} = {_quoted(n)}' for n in names)
        wanted = set(names)
        found: dict[str, tuple[str, str]] = {}
        parent = series_table.resource_name(run, parent=True)
        for page in self.client.list_pages(parent, series_table.api_collection, params):
            for resource in page.get(series_table.list_field, []):
                display = str(resource.get(key.api_field or key.name, ""))
                if display in wanted:  # exactly: a `*` in a name is a wildcard to the filter
                    found[display] = (str(resource.get("name", "")).rsplit("/", 1)[-1],
                                      str(resource.get(spec.value_type_field, "")))
        return found

    # -- the points ---------------------------------------------------------------------------

    def _write(self, spec: PointReads, series_table: Table, rows: list[PointRow],
               ids: dict[tuple[tuple[str, ...], str], str]) -> int:
        """Every point through write calls of at most `write_points_max` points (many runs a
        call), sent concurrently; the number of rows written."""
        levels = series_table.parent_path
        target = levels[:levels.index(spec.write_target) + 1]
        # experiment -> run -> (series ID, value type) -> step -> (point, the rows it stands for)
        grouped: dict[str, dict[str, dict[tuple[str, str], dict[int, tuple[Json, list[int]]]]]]
        grouped = {}
        names: dict[tuple[str, ...], tuple[str, str]] = {}
        for row in rows:
            where = names.get(row.run)
            if where is None:
                path = dict(zip(levels, row.run, strict=True))
                where = names[row.run] = ("/".join(f"{n[:-2]}/{path[n]}" for n in target),
                                          series_table.resource_name(path, parent=True))
            experiment, run_name = where
            series_id = row.series_id or ids[(row.run, row.display or "")]
            points = grouped.setdefault(experiment, {}).setdefault(run_name, {}).setdefault(
                (series_id, row.value_type), {})
            earlier = points.get(row.step)
            points[row.step] = (row.point, [*earlier[1], row.index] if earlier else [row.index])
        calls = _calls(spec, series_table.id_parameter or series_table.id_column, grouped)
        jobs: list[tuple[list[int], Future[Json]]] = [
            (indexes, self.pool.submit(self.client.post, f"{experiment}:{spec.write_verb}", body,
                                       idempotent=True))
            for experiment, body, indexes in calls]
        written: list[int] = []
        failed: list[int] = []
        unknown: list[int] = []
        first: Error | None = None
        for indexes, job in jobs:
            try:
                job.result()
            except Error as error:
                first = first or error
                (unknown if error.outcome_unknown else failed).extend(indexes)
                continue
            written.extend(indexes)
        logger.info("%d points written in %d %s calls", len(written), len(calls),
                    spec.write_verb)
        if first is not None:
            def labels(indexes: list[int]) -> list[str]:
                return [f"row {i + 1}" for i in sorted(indexes)]

            raise partial_failure(first, labels(written), labels(failed), len(rows),
                                  labels(unknown))
        return len(rows)


def _calls(spec: PointReads, id_field: str,
           grouped: dict[str, dict[str, dict[tuple[str, str], dict[int, tuple[Json, list[int]]]]]]
           ) -> list[tuple[str, Json, list[int]]]:
    """(experiment, write body, the rows it writes) of each call: points packed per experiment,
    at most `write_points_max` a call, a series split across calls where it must be."""
    calls: list[tuple[str, Json, list[int]]] = []
    limit = spec.write_points_max
    for experiment, runs in grouped.items():
        requests: list[Json] = []
        indexes: list[int] = []
        count = 0

        def flush(experiment: str = experiment) -> None:
            nonlocal requests, indexes, count
            if count:
                calls.append((experiment, {spec.write_requests_field: requests}, indexes))
            requests, indexes, count = [], [], 0

        for run_name, series in runs.items():
            for (series_id, value_type), by_step in series.items():
                items = list(by_step.values())
                start = 0
                while start < len(items):
                    part = items[start:start + limit - count]
                    if not requests or requests[-1][spec.write_run_field] != run_name:
                        requests.append({spec.write_run_field: run_name,
                                         spec.write_data_field: []})
                    requests[-1][spec.write_data_field].append({
                        id_field: series_id,
                        spec.value_type_field: value_type,
                        spec.values_field: [point for point, _ in part]})
                    for _, rows in part:
                        indexes.extend(rows)
                    count += len(part)
                    start += len(part)
                    if count >= limit:
                        flush()
        flush()
    return calls


def _series_body(spec: PointReads, series_table: Table, display: str, value_type: str) -> Json:
    body: Json = {}
    put_field(body, key_column(series_table).api_field or "displayName", display)
    put_field(body, spec.value_type_field, value_type)
    plugin = dict(spec.plugin_names).get(value_type)
    if plugin:
        put_field(body, spec.plugin_field, plugin)
    return body


def _quoted(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _as_resources(spec: PointReads, series_table: Table, levels: tuple[str, ...],
                  rows: list[PointRow], ids: dict[tuple[tuple[str, ...], str], str]
                  ) -> tuple[list[Json], list[Path]]:
    """The written points as rows of the table (for RETURNING)."""
    resources: list[Json] = []
    paths: list[Path] = []
    for row in rows:
        series_id = row.series_id or ids[(row.run, row.display or "")]
        resources.append({key_column(series_table).api_field or "displayName": row.display,
                          spec.value_type_field: row.value_type, **row.point})
        paths.append({**dict(zip(levels, row.run, strict=True)),
                      series_table.id_column: series_id})
    return resources, paths
