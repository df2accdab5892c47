"""Where a scan's rows come from: parents (fanning out over tensorboards and experiments),
then a get per key or a listing per parent, as page sources for a PageStream."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from .catalog import TABLES, Table
from .exceptions import Error
from .paths import missing_parent
from .planner import Scan
from .rest import RestClient
from .streams import Item, Path, RawPage

logger = logging.getLogger(__name__)


class Fetcher:
    def __init__(self, client: RestClient, pool: ThreadPoolExecutor) -> None:
        self.client = client
        self.pool = pool

    # -- parents -----------------------------------------------------------------------------

    def parents(self, scan: Scan) -> list[Path]:
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

    def sources(self, scan: Scan) -> list[Iterator[Item]]:
        """The scan's page sources: a get per key and parent, or a listing per parent. They are
        generators, so nothing is fetched until a PageStream advances them."""
        parents = self.parents(scan)
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
        params = list_parameters(scan)
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

    def pages(self, parent: str, table: Table, params: dict[str, Any], scan: Scan, path: Path
              ) -> Iterator[dict[str, Any]]:
        """The pages of a listing of `table` under `parent` for a scan (none when the parent
        is missing, unless the connection named it)."""
        return _pages(self.client, parent, table.api_collection, params,
                      self._missing_check(path, _named(scan, path), deepest_known_missing=True))

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


def list_parameters(scan: Scan) -> dict[str, Any]:
    """The query parameters of each list call of a scan (EXPLAIN shows these too)."""
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
    return params
