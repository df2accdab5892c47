"""The rows of a table of data points (`time_series_data`): every point of the series a scan
selects, read exactly, never a sample.

The series come first: listed under each run (their display name and value type pushed into the
listing's filter) or got by key. Their points then come from `batchRead`, many series a call,
when nothing narrows or orders them (a series alone in its group is exported instead);
`batchRead` samples a series above its limit, so a series whose answer reaches the limit is
read again in full through the export verb. Points that a
filter narrows (step, wall time) or that must come in order, or within a limit, come from the
export verb alone, which pages through every matching point in order.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

from .catalog import TABLES, PointReads, Table
from .exceptions import OperationalError
from .fetching import Fetcher
from .planner import Scan
from .streams import Item, Path, RawPage

logger = logging.getLogger(__name__)

Json = dict[str, Any]


class PointSources:
    """Page sources for a scan of a table of data points (see the module's description)."""

    def __init__(self, fetcher: Fetcher) -> None:
        self.fetcher = fetcher
        self.client = fetcher.client

    def sources(self, scan: Scan) -> list[Iterator[Item]]:
        spec = scan.table.points
        assert spec is not None
        series_table = TABLES[spec.series_table]
        series_terms, point_terms = _split_filters(scan, spec)
        series = self._series(scan, series_table, series_terms)
        point_filter = " AND ".join(f"({t})" for t in point_terms) if len(point_terms) > 1 \
            else (point_terms[0] if point_terms else "")
        if point_filter or scan.order_by or scan.limit is not None:
            return [self._export(spec, path, found, point_filter, scan)
                    for path, found in series]
        # batchRead saves calls only by reading several series at once: a series read alone
        # is exported (one call up to a page of points, and never a sample to read again).
        return [self._batch_read(spec, series_table, group) if len(group) > 1
                else self._export(spec, *group[0], "", None)
                for group in _groups(series, series_table, spec.batch_read_max)]

    # -- the series ---------------------------------------------------------------------------

    def _series(self, scan: Scan, table: Table, terms: list[str]) -> list[tuple[Path, Json]]:
        """(path through the series' ID, series resource) of every series the scan covers."""
        parents = self.fetcher.parents(scan)
        found: list[tuple[Path, Json]] = []
        if scan.keys is not None:
            jobs = [(path, key, self.fetcher.pool.submit(
                self.client.get, table.resource_name({**path, table.id_column: key})))
                for path in parents for key in scan.keys]
            for path, key, job in jobs:
                resource = job.result()
                if resource is not None:
                    found.append(({**path, table.id_column: key}, resource))
            return found
        params: dict[str, Any] = {"pageSize": table.page_max}
        if terms:
            params["filter"] = " AND ".join(f"({t})" for t in terms) if len(terms) > 1 \
                else terms[0]

        def listing(path: Path) -> list[tuple[Path, Json]]:
            parent = table.resource_name(path, parent=True)
            listed = []
            for page in self.fetcher.pages(parent, table, params, scan, path):
                for resource in page.get(table.list_field, []):
                    own = str(resource.get("name", "")).rsplit("/", 1)[-1]
                    listed.append(({**path, table.id_column: own}, resource))
            return listed

        for listed in self.fetcher.pool.map(listing, parents):
            found += listed
        logger.debug("%d series to read points of", len(found))
        return found

    # -- the points ---------------------------------------------------------------------------

    def _batch_read(self, spec: PointReads, table: Table,
                    group: list[tuple[Path, Json]]) -> Iterator[Item]:
        """One batchRead for a group of series of one tensorboard; each series whose answer
        reaches its sampling limit is read again in full."""
        board = "/".join(group[0][1]["name"].split("/")[:6])
        answer = self.client.request(
            "GET", f"{board}:{spec.batch_read_verb}",
            params={"timeSeries": [series["name"] for _, series in group]}, idempotent=True)
        data = answer.get("timeSeriesData", [])
        if len(data) != len(group):
            raise OperationalError(f"batchRead of {board} answered {len(data)} series for the "
                                   f"{len(group)} asked; nothing was returned from it.")
        for (path, series), read in zip(group, data, strict=True):
            values = read.get("values", [])
            if len(values) >= spec.sample_limit(str(series.get("valueType", ""))):
                logger.debug("%s: %d points, perhaps a sample: exported in full",
                             series["name"], len(values))
                yield from self._export(spec, path, series, "", None)
                continue
            if values:
                yield RawPage(path, [_point(series, v) for v in values])

    def _export(self, spec: PointReads, path: Path, series: Json, point_filter: str,
                scan: Scan | None) -> Iterator[Item]:
        """Every point of a series the filter keeps, page by page, in the scan's order."""
        wanted = scan.limit if scan is not None else None
        body: dict[str, Any] = {"pageSize": spec.export_page_max}
        if wanted is not None:
            body["pageSize"] = max(1, min(spec.export_page_max, wanted))
        if point_filter:
            body["filter"] = point_filter
        if scan is not None and scan.order_by:
            body["orderBy"] = scan.order_by
        produced = 0
        while True:
            answer = self.client.request("POST", f"{series['name']}:{spec.export_verb}",
                                         body=body, idempotent=True)
            values = answer.get(spec.export_field, [])
            if values:
                produced += len(values)
                yield RawPage(path, [_point(series, v) for v in values])
            token = answer.get("nextPageToken")
            if not token or (wanted is not None and produced >= wanted):
                return
            body = {**body, "pageToken": token}


def _point(series: Json, value: Json) -> Json:
    """A point as a row's resource: its own fields and its series' display name and type."""
    return {"displayName": series.get("displayName", ""),
            "valueType": series.get("valueType", ""), **value}


def _split_filters(scan: Scan, spec: PointReads) -> tuple[list[str], list[str]]:
    """The pushed AIP-160 terms that filter series (their display name, value type) and those
    that filter points (step, wall time); a term over both is left to local evaluation."""
    series_fields = {f.lower() for f in spec.series_fields}
    series_terms: list[str] = []
    point_terms: list[str] = []
    for term, columns in zip(scan.pushed.filters, scan.pushed.filter_columns, strict=True):
        folded = {c.lower() for c in columns}
        if folded and folded <= series_fields:
            series_terms.append(term)
        elif folded and not folded & series_fields:
            point_terms.append(term)
    return series_terms, point_terms


def _groups(series: list[tuple[Path, Json]], table: Table, size: int
            ) -> list[list[tuple[Path, Json]]]:
    """Series by tensorboard, in groups a batchRead takes."""
    boards: dict[str, list[tuple[Path, Json]]] = {}
    for item in series:
        boards.setdefault(table.resource_name(item[0], parent=True).split("/experiments/")[0],
                          []).append(item)
    return [members[i:i + size] for members in boards.values()
            for i in range(0, len(members), size)]
