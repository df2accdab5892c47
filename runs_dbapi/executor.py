"""Run query plans: fetch pages (concurrently across parents, ahead of the reader), evaluate."""

from __future__ import annotations

import json
import logging
import queue
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from .catalog import TABLES, Table
from .local import LocalDatabase, Row, restorer, row_from_resource
from .planner import QueryPlan, Scan
from .rest import RestClient

logger = logging.getLogger(__name__)

Path = dict[str, str]
_DONE = object()


@dataclass
class Result:
    """Column names and types, and the rows (an iterator, consumed by the cursor)."""

    names: list[str]
    types: list[str | None]
    rows: Iterator[Row]
    close: Callable[[], None]
    rowcount: int = -1  # rows written, for INSERT/UPDATE/DELETE ... RETURNING


class PageStream:
    """Pages produced by workers on a pool, read in arrival order through a bounded queue.

    The queue lets the next page be fetched while the reader consumes this one; closing the
    stream tells the workers to stop at their next page.
    """

    def __init__(self, pool: ThreadPoolExecutor, producers: list[Callable[[PageStream], None]],
                 depth: int = 4) -> None:
        self._queue: queue.Queue[Any] = queue.Queue(maxsize=depth)
        self.stopped = threading.Event()
        self._pending = len(producers)
        for producer in producers:
            pool.submit(self._run, producer)

    def _run(self, producer: Callable[[PageStream], None]) -> None:
        try:
            producer(self)
        except BaseException as error:  # handed to the reader, who raises it
            self.put(error)
        finally:
            self.put(_DONE)

    def put(self, item: Any) -> bool:
        while not self.stopped.is_set():
            try:
                self._queue.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def __iter__(self) -> Iterator[list[Row]]:
        while self._pending:
            item = self._queue.get()
            if item is _DONE:
                self._pending -= 1
            elif isinstance(item, BaseException):
                self.close()
                raise item
            else:
                yield item

    def close(self) -> None:
        self.stopped.set()


class QueryExecutor:
    def __init__(self, client: RestClient, pool: ThreadPoolExecutor) -> None:
        self.client = client
        self.pool = pool

    # -- parents -----------------------------------------------------------------------------

    def _parents(self, scan: Scan) -> list[Path]:
        """Every parent path the scan covers, listing tensorboards/experiments to fan out."""
        paths: list[Path] = [{}]
        for name in scan.table.parent_path:
            values = scan.pushed.path.get(name)
            if values is not None:
                paths = [{**p, name: v} for p in paths for v in values]
                continue
            child = next(t for t in TABLES.values() if t.id_column == name)
            jobs = [self.pool.submit(self._list_ids, child, p) for p in paths]
            paths = [{**p, name: child_id} for p, job in zip(paths, jobs, strict=True)
                     for child_id in job.result()]
            logger.debug("fan-out over %d %s", len(paths), child.name)
        return paths

    def _list_ids(self, table: Table, path: Path) -> list[str]:
        parent = table.resource_name(path, parent=True)
        ids = []
        for page in self.client.list_pages(parent, table.name, {"pageSize": table.page_max}):
            ids += [str(r["name"]).rsplit("/", 1)[1] for r in page.get(table.list_field, [])]
        return ids

    # -- fetching ----------------------------------------------------------------------------

    def _producers(self, scan: Scan) -> list[Callable[[PageStream], None]]:
        parents = self._parents(scan)
        if scan.keys is not None:
            return [self._getter(scan, path, key) for path in parents for key in scan.keys]
        return [self._lister(scan, path) for path in parents]

    def _getter(self, scan: Scan, path: Path, key: str) -> Callable[[PageStream], None]:
        def produce(stream: PageStream) -> None:
            full = {**path, scan.table.id_column: key}
            resource = self.client.get(scan.table.resource_name(full))
            if resource is not None:
                stream.put([row_from_resource(scan.columns, resource, full)])
        return produce

    def _lister(self, scan: Scan, path: Path) -> Callable[[PageStream], None]:
        params: dict[str, Any] = {"pageSize": scan.table.page_max}
        if scan.limit is not None:
            params["pageSize"] = max(1, min(scan.table.page_max, scan.limit))
        for key in ("pageSize", "pageToken", "readMask"):
            if key in scan.pushed.parameters:
                params[key] = scan.pushed.parameters[key]
        text = scan.pushed.filter_text()
        if text:
            params["filter"] = text
        if scan.order_by:
            params["orderBy"] = scan.order_by
        parent = scan.table.resource_name(path, parent=True)

        def produce(stream: PageStream) -> None:
            produced = 0
            for page in self.client.list_pages(parent, scan.table.name, params):
                if stream.stopped.is_set():
                    return
                if scan.page_mode:
                    rows = [(page.get("nextPageToken"),
                             json.dumps(page.get(scan.table.list_field, []),
                                        separators=(",", ":")),
                             *(path.get(c.name) for c in scan.columns[2:]))]
                else:
                    rows = [row_from_resource(scan.columns, resource, _own_path(scan, path,
                                                                                resource))
                            for resource in page.get(scan.table.list_field, [])]
                if not stream.put(rows):
                    return
                produced += len(rows)
                if scan.limit is not None and produced >= scan.limit:
                    return
        return produce

    # -- evaluation --------------------------------------------------------------------------

    def run(self, plan: QueryPlan) -> Result:
        database = LocalDatabase()
        streams: list[PageStream] = []

        def close() -> None:
            for stream in streams:
                stream.close()
            database.close()

        try:
            for scan in plan.scans:
                database.create(scan.local_name, scan.columns)
            if plan.stream:
                scan = plan.scans[0]
                stream = PageStream(self.pool, self._producers(scan))
                streams.append(stream)
                first = database.query(plan.sql)  # for the column names, on an empty table
                names = [d[0] for d in first.description]
                rows = self._stream_rows(database, plan, scan, stream)
            else:
                for scan in plan.scans:
                    stream = PageStream(self.pool, self._producers(scan))
                    streams.append(stream)
                    width = len(scan.columns)
                    for page in stream:
                        database.insert(scan.local_name, width, page)
                cursor = database.query(plan.sql)
                names = [d[0] for d in cursor.description] if cursor.description else []
                rows = iter(cursor)
        except BaseException:
            close()
            raise
        types: list[str | None] = (
            plan.types if len(plan.types) == len(names) else [None] * len(names))
        return Result(names=names, types=types, rows=_restore(rows, types), close=close)

    @staticmethod
    def _stream_rows(database: LocalDatabase, plan: QueryPlan, scan: Scan,
                     stream: PageStream) -> Iterator[Row]:
        width = len(scan.columns)
        skip, remaining = plan.offset, plan.limit

        def generate() -> Iterator[Row]:
            nonlocal skip, remaining
            for page in stream:
                database.insert(scan.local_name, width, page)
                rows = database.query(plan.sql).fetchall()
                database.clear(scan.local_name)
                if skip:
                    dropped = min(skip, len(rows))
                    rows, skip = rows[dropped:], skip - dropped
                if remaining is not None:
                    rows = rows[:remaining]
                    remaining -= len(rows)
                yield from rows
                if remaining == 0:
                    stream.close()
                    return
        return generate()


def _restore(rows: Iterator[Row], types: list[str | None]) -> Iterator[Row]:
    converters = [(i, f) for i, f in enumerate(restorer(t) for t in types) if f is not None]
    if not converters:
        return rows

    def convert(row: Row) -> Row:
        values = list(row)
        for index, function in converters:
            values[index] = function(values[index])
        return tuple(values)

    return (convert(row) for row in rows)


def _own_path(scan: Scan, path: Path, resource: dict[str, Any]) -> Path:
    return {**path, scan.table.id_column: str(resource.get("name", "")).rsplit("/", 1)[-1]}
