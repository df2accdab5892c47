"""Run query plans: fetch pages (concurrently across parents, ahead of the reader), evaluate."""

from __future__ import annotations

import json
import logging
import threading
import weakref
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import sqlglot
from sqlglot import exp
from sqlglot.errors import SqlglotError

from .catalog import TABLES, Table
from .exceptions import Error, InterfaceError
from .local import LocalDatabase, PageMaker, Row, Unsafe, direct_maker, restorer, row_maker
from .paths import missing_parent
from .planner import QueryPlan, Scan
from .rest import RestClient
from .statements import DIALECT

logger = logging.getLogger(__name__)

Path = dict[str, str]

# Set when the interpreter exits, before it joins the pool's worker threads: page fetches still
# queued for a result nobody will read then end at once instead of delaying the exit.
# (`threading._register_atexit` is what concurrent.futures uses; its hooks run in reverse order
# of registration, so this one runs before the pool's join.)
_EXITING = threading.Event()
getattr(threading, "_register_atexit", lambda hook: None)(_EXITING.set)
CHUNK = 256  # resources evaluated at a time when streaming (the first row comes sooner)


@dataclass
class RawPage:
    """Resources as the API sent them (a page, or one get), with their parent's path.

    Producers hand these over as they are; the reader makes the rows, so that the next page is
    being fetched meanwhile.
    """

    path: Path
    resources: list[dict[str, Any]]


@dataclass
class Result:
    """Column names and types, and the rows (an iterator, consumed by the cursor)."""

    names: list[str]
    types: list[str | None]  # description type codes (None: the cursor takes the first row's)
    rows: Iterator[Row]
    close: Callable[[], None]
    rowcount: int = -1  # rows written, for INSERT/UPDATE/DELETE ... RETURNING


Item = list[Row] | RawPage  # what a source yields: a raw page (or get), or page-mode rows


class PageStream:
    """Pages fetched on a shared pool ahead of the reader, read in arrival order.

    Each source is an iterator of items (a listing's pages, or one get; one API call each)
    that a pool task advances. At most `ahead` items are buffered or being fetched: `depth`, or
    more for a fan-out, whose sources then start in one wave (up to the pool's size). A task
    goes on with its source only while there is room ahead; otherwise it parks the source here,
    holding no thread, and returns its worker; the reader resumes a parked source when it takes
    an item. No worker ever waits for a reader: a result that is not being read holds no thread
    and at most `ahead` pages, so other queries (and this one's own fan-out, between two rows of
    it) always find the pool's workers free after the calls in flight. Closing the stream, or
    dropping its reader (`abandon`), ends its fetching after those calls.
    """

    def __init__(self, pool: ThreadPoolExecutor, sources: list[Iterator[Item]],
                 depth: int = 4) -> None:
        self._pool = pool
        self._lock = threading.Condition(threading.RLock())
        self._buffer: deque[Item] = deque()
        self._ready: deque[Iterator[Item]] = deque(sources)  # waiting to start, or parked
        self._live = len(sources)  # sources not yet exhausted
        self._fetching = 0  # tasks on the pool
        self._error: BaseException | None = None
        self._stopped = False  # a plain flag: `abandon` may run in a finalizer, lock-free
        self._lost = False  # a fetch was cancelled (its pool shut down): the rows are not whole
        concurrency = max(1, getattr(pool, "_max_workers", 1))
        self.ahead = max(depth, min(concurrency, len(sources)))
        with self._lock:
            self._start()

    @property
    def stopped(self) -> bool:
        return self._stopped or _EXITING.is_set()

    def _start(self) -> None:
        """Put ready sources on the pool while there is room ahead (the lock is held)."""
        while self._ready and not self.stopped and \
                len(self._buffer) + self._fetching < self.ahead:
            source = self._ready.popleft()
            self._fetching += 1
            try:
                future = self._pool.submit(self._advance, source)
            except RuntimeError:  # the pool is shut down: its connection was closed
                self._fetching -= 1
                self._ready.appendleft(source)
                self._fail(InterfaceError("The connection was closed while reading a result."))
                return
            future.add_done_callback(self._cancelled)

    def _advance(self, source: Iterator[Item]) -> None:
        """Run a source on a pool worker: fetch its next item and buffer it, and go on while
        there is room ahead and no other source waits; then park it (or end it) and return."""
        going = True
        while going:
            item: Item | None = None
            failure: BaseException | None = None
            if not self.stopped:
                try:
                    item = next(source)
                except StopIteration:
                    pass
                except BaseException as error:  # handed to the reader, who raises it
                    failure = error
            with self._lock:
                if self.stopped or failure is not None or item is None:
                    self._fetching -= 1
                    self._live -= 1
                    if failure is None:
                        self._start()  # its room ahead goes to a waiting source
                    elif not self.stopped:
                        self._fail(failure)
                    item, going = None, False
                else:
                    self._buffer.append(item)
                    going = not self._ready and \
                        len(self._buffer) + self._fetching <= self.ahead  # itself included
                    if not going:
                        self._fetching -= 1
                        self._ready.append(source)  # parked
                        self._start()
                self._lock.notify_all()
        if item is None:
            _close(source)

    def _cancelled(self, future: Future[None]) -> None:
        # Run by the pool's shutdown under its own lock: taking this stream's lock here could
        # deadlock with `_start`, so it only sets a flag, which a waiting reader polls for.
        if future.cancelled():
            self._lost = True

    def _fail(self, error: BaseException) -> None:
        if self._error is None:
            self._error = error
        self._lock.notify_all()

    def __iter__(self) -> Iterator[Item]:
        while True:
            with self._lock:
                while not (self._buffer or self._error is not None or self._lost
                           or not self._live or self.stopped):
                    self._lock.wait(0.5)  # woken by each item; the timeout is for `_lost`
                if self.stopped:
                    return  # closed
                error = self._error
                if error is None and self._lost:
                    error = InterfaceError("The connection was closed while reading a result.")
                if error is None and not self._buffer:
                    return  # every source is exhausted
                if error is None:
                    item = self._buffer.popleft()
                    self._start()  # room ahead again: resume a parked source
            if error is not None:
                self.close()
                raise error
            yield item

    def close(self) -> None:
        """Stop fetching and let go of the pages fetched ahead and the parked sources."""
        self._stopped = True
        with self._lock:
            parked = list(self._ready)
            self._live -= len(parked)
            self._ready.clear()
            self._buffer.clear()
            self._lock.notify_all()
        for source in parked:
            _close(source)

    def abandon(self) -> None:
        """Stop fetching, from a finalizer (its reader was dropped): takes no lock, so that it
        is safe wherever garbage collection runs; the parked sources and buffered pages go with
        the stream, and a task on the pool stops after its current call."""
        self._stopped = True


def _close(source: Iterator[Item]) -> None:
    close = getattr(source, "close", None)
    if close is not None:
        try:
            close()
        except Exception:  # a listing that cannot end cleanly is let go all the same
            logger.debug("closing a page source failed", exc_info=True)


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
            jobs = [self.pool.submit(self._list_ids, child, p, _named(scan, p)) for p in paths]
            paths = [{**p, name: child_id} for p, job in zip(paths, jobs, strict=True)
                     for child_id in job.result()]
            logger.debug("fan-out over %d %s", len(paths), child.name)
        return paths

    def _list_ids(self, table: Table, path: Path, named: frozenset[str] = frozenset()
                  ) -> list[str]:
        parent = table.resource_name(path, parent=True)
        ids = []
        for page in _pages(self.client, parent, table.api_collection, {"pageSize": table.page_max},
                           self._missing_check(path, named, deepest_known_missing=True)):
            ids += [str(r["name"]).rsplit("/", 1)[1] for r in page.get(table.list_field, [])]
        return ids

    # -- fetching ----------------------------------------------------------------------------

    def _sources(self, scan: Scan) -> list[Iterator[Item]]:
        """The scan's page sources: a get per key and parent, or a listing per parent. They are
        generators, so nothing is fetched until a PageStream advances them."""
        parents = self._parents(scan)
        if scan.keys is not None:
            return [self._getter(scan, path, key) for path in parents for key in scan.keys]
        return [self._lister(scan, path) for path in parents]

    def _getter(self, scan: Scan, path: Path, key: str) -> Iterator[Item]:
        full = {**path, scan.table.id_column: key}
        resource = self.client.get(scan.table.resource_name(full))
        if resource is not None:
            yield RawPage(full, [resource])
        else:  # a missing run, or a missing tensorboard or experiment of the connection?
            self._missing_check(path, _named(scan, path), deepest_known_missing=False)()

    def _lister(self, scan: Scan, path: Path) -> Iterator[Item]:
        params: dict[str, Any] = {"pageSize": scan.table.page_max}
        if scan.limit is not None:
            params["pageSize"] = max(1, min(scan.table.page_max, scan.limit))
        if scan.read_mask is not None:
            params["readMask"] = ",".join(scan.read_mask)
        for key in ("pageSize", "pageToken", "readMask"):
            if key in scan.pushed.parameters:
                params[key] = scan.pushed.parameters[key]
        text = scan.pushed.filter_text()
        if text:
            params["filter"] = text
        if scan.order_by:
            params["orderBy"] = scan.order_by
        parent = scan.table.resource_name(path, parent=True)

        def produce() -> Iterator[Item]:
            produced = 0
            for page in _pages(self.client, parent, scan.table.api_collection, params,
                               self._missing_check(path, _named(scan, path),
                                                   deepest_known_missing=True)):
                item: Item
                if scan.page_mode:
                    item = [(page.get("nextPageToken"),
                             json.dumps(page.get(scan.table.list_field, []),
                                        separators=(",", ":")),
                             *(path.get(c.name) for c in scan.columns[2:]))]
                else:
                    item = RawPage(path, page.get(scan.table.list_field, []))
                produced += len(item.resources if isinstance(item, RawPage) else item)
                yield item
                if scan.limit is not None and produced >= scan.limit:
                    return
        return produce()

    def _missing_check(self, path: Path, named: frozenset[str], *, deepest_known_missing: bool
                       ) -> Callable[[], None]:
        """What to do on NOT_FOUND under `path`: raise if a tensorboard or experiment the
        connection named is missing (see `paths.missing_parent`); else nothing (no rows)."""
        def check() -> None:
            error = missing_parent(self.client, path, named,
                                   deepest_known_missing=deepest_known_missing)
            if error is not None:
                raise error
        return check

    # -- evaluation --------------------------------------------------------------------------

    def run(self, plan: QueryPlan) -> Result:
        database = LocalDatabase()
        streams: list[PageStream] = []

        def close() -> None:
            for stream in streams:
                stream.close()
            database.close()

        types: list[str | None]
        try:
            for scan in plan.scans:
                database.create(scan.local_name, scan.columns)
            tree = _parse_local(plan.sql)
            needed = plan.needed
            # A mistake in the local SQL (an unknown column, function, ...) is reported before
            # any page is fetched: the SQL is run (streaming) or prepared on the empty tables.
            if plan.stream:
                scan = plan.scans[0]
                first = database.query(plan.sql)  # for the column names, on an empty table
                stream = PageStream(self.pool, self._sources(scan))
                streams.append(stream)
                names = [d[0] for d in first.description]
                types = _types(plan, names)
                direct = _direct_projection(tree, scan, types)
                rows = self._stream_rows(database, plan, scan, stream,
                                         loader=_Loader(scan, needed), types=types,
                                         direct=direct)
            else:
                if plan.scans:
                    database.query(plan.sql, prepare_only=True)
                for scan in plan.scans:
                    stream = PageStream(self.pool, self._sources(scan))
                    streams.append(stream)
                    loader = _Loader(scan, needed)
                    for item in stream:
                        loader.load(database, item)
                cursor = database.query(plan.sql)
                names = [d[0] for d in cursor.description] if cursor.description else []
                types = _types(plan, names)
                rows = _restore(iter(cursor), types)
        except BaseException:
            close()
            raise
        codes: list[str | None] = (plan.codes if len(plan.codes) == len(names)
                                   else [None] * len(names))
        return Result(names=names, types=codes, rows=rows, close=close)

    @staticmethod
    def _stream_rows(database: LocalDatabase, plan: QueryPlan, scan: Scan, stream: PageStream, *,
                     loader: _Loader, types: list[str | None], direct: PageMaker | None
                     ) -> Iterator[Row]:
        skip, remaining = plan.offset, plan.limit

        def evaluate(item: list[Row] | RawPage) -> list[Row]:
            if direct is not None and isinstance(item, RawPage):
                try:
                    return direct(item.resources, item.path)
                except Unsafe:
                    pass  # a value SQLite would change: evaluate this chunk there
            loader.load(database, item)
            rows = database.query(plan.sql).fetchall()
            database.clear(scan.local_name)
            return list(_restore(iter(rows), types))

        def generate() -> Iterator[Row]:
            nonlocal skip, remaining
            for chunk in (c for page in stream for c in _chunks(page)):
                rows = evaluate(chunk)
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

        rows = generate()
        # A reader dropped without close (garbage collected) stops its stream's fetching.
        weakref.finalize(rows, stream.abandon).atexit = False
        return rows


def _named(scan: Scan, path: Path) -> frozenset[str]:
    """The levels of `path` whose values came from the connection, when none came from a
    fan-out (an experiment named by the connection may be missing from some tensorboards)."""
    if any(name not in scan.pushed.path for name in path):
        return frozenset()
    return scan.defaulted & frozenset(path)


def _pages(client: RestClient, parent: str, collection: str, params: dict[str, Any],
           on_missing: Callable[[], None] | None = None) -> Iterator[dict[str, Any]]:
    """The pages of a listing; none if its parent does not exist (NOT_FOUND on the first call).

    A WHERE clause naming a parent that is not there (or a fan-out over tensorboards, only some
    of which have the experiment named) selects no rows, as a get by key of a missing run does;
    `on_missing` is called first, and raises when the parent came from the connection.
    """
    pages = client.list_pages(parent, collection, params)
    try:
        first = next(pages)
    except StopIteration:
        return
    except Error as error:
        if error.rpc_status == "NOT_FOUND":
            if on_missing is not None:
                on_missing()
            logger.debug("no %s under %s: it does not exist", collection, parent)
            return
        raise
    yield first
    yield from pages


def _types(plan: QueryPlan, names: list[str]) -> list[str | None]:
    return plan.types if len(plan.types) == len(names) else [None] * len(names)


class _Loader:
    """Puts a stream's items in a scan's local table: raw pages through a row maker, into only
    the columns the SQL may read (`needed`; the others stay NULL), page-mode rows as they are."""

    def __init__(self, scan: Scan, needed: set[str] | None) -> None:
        self.table = scan.local_name
        self.width = len(scan.columns)
        chosen = list(scan.columns) if needed is None else (
            [c for c in scan.columns if c.name.lower() in needed] or list(scan.columns[:1]))
        self.make = row_maker(chosen, scan.table.id_column, needed)
        self.columns = None if needed is None else [c.name for c in chosen]

    def load(self, database: LocalDatabase, item: list[Row] | RawPage) -> None:
        if isinstance(item, RawPage):
            database.insert(self.table, len(self.columns or ()) or self.width,
                            self.make(item.resources, item.path), self.columns)
        else:
            database.insert(self.table, self.width, item)


def _chunks(item: list[Row] | RawPage) -> Iterator[list[Row] | RawPage]:
    if not isinstance(item, RawPage) or len(item.resources) <= CHUNK:
        yield item
        return
    for start in range(0, len(item.resources), CHUNK):
        yield RawPage(item.path, item.resources[start:start + CHUNK])


def _parse_local(sql: str) -> exp.Expression | None:
    try:
        return sqlglot.parse_one(sql, read=DIALECT)
    except SqlglotError:
        return None


def _direct_projection(tree: exp.Expression | None, scan: Scan, types: list[str | None]
                       ) -> PageMaker | None:
    """When the local SQL only picks columns of the scanned table (`SELECT *`, `SELECT a, b AS
    c`: no WHERE, no expression, nothing else), a function making each output row straight from
    a resource, equal to what SQLite and `_restore` would give (see `direct_reader`)."""
    if not isinstance(tree, exp.Select) or scan.page_mode:
        return None
    if any(value for key, value in tree.args.items()
           if key not in ("expressions", "from_", "where")):
        return None
    source = tree.args["from_"].this if tree.args.get("from_") is not None else None
    if (not isinstance(source, exp.Table) or source.name != scan.local_name
            or any(v for k, v in source.args.items() if k not in ("this", "alias"))):
        return None
    alias = source.alias_or_name.lower()
    where = tree.args.get("where")
    if where is not None and not _implied_by_path(where.this, scan, alias):
        return None
    index = {c.name.lower(): i for i, c in enumerate(scan.columns)}
    everything = list(range(len(scan.columns)))
    picked: list[int] = []
    for projection in tree.expressions:
        node = projection.this if isinstance(projection, exp.Alias) else projection
        if isinstance(node, exp.Star) and node is projection:
            picked += everything
        elif (isinstance(node, exp.Column) and node.table.lower() in ("", alias)
              and not node.args.get("db") and not node.args.get("catalog")):
            if isinstance(node.this, exp.Star):
                if node is not projection:
                    return None
                picked += everything
            elif node.name.lower() in index:
                picked.append(index[node.name.lower()])
            else:
                return None
        else:
            return None
    if len(picked) != len(types):
        return None
    return direct_maker([scan.columns[i] for i in picked], scan.table.id_column,
                        [restorer(kind) for kind in types])


def _implied_by_path(node: exp.Expression, scan: Scan, alias: str) -> bool:
    """Whether a local WHERE holds for every row the scan makes: TRUE, and `<path column> =
    '<value>'` terms naming the one value the scan's path (or its one key) has there."""
    pending = [node]
    while pending:
        term = pending.pop()
        if isinstance(term, (exp.And, exp.Paren)):
            pending += [term.this, *([term.expression] if isinstance(term, exp.And) else [])]
            continue
        if isinstance(term, exp.Boolean) and term.this is True:
            continue
        if not isinstance(term, exp.EQ):
            return False
        column, value = term.this, term.expression
        if isinstance(column, exp.Literal):
            column, value = value, column
        if not (isinstance(column, exp.Column) and isinstance(column.this, exp.Identifier)
                and column.table.lower() in ("", alias) and not column.args.get("db")
                and isinstance(value, exp.Literal) and value.is_string):
            return False
        name = column.name.lower()
        found = next((c.name for c in scan.table.columns
                      if c.path_parameter and c.name.lower() == name), None)
        if found is None:
            return False
        values = scan.keys if found == scan.table.id_column else scan.pushed.path.get(found)
        if values is None or list(values) != [value.this]:
            return False
    return True


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
