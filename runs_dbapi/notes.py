"""Notes on a statement that selected no rows: a tensorboard or experiment its WHERE clause
names that does not exist (with the nearest one that does). SQL answers such a statement
with no rows; a person who mistyped an ID should still hear of it. Calls are made only when
asked, i.e. after a statement found nothing."""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from typing import Any

from sqlglot import exp

from .catalog import TABLES, Table
from .exceptions import Error
from .explain import Driver, write_selection
from .planner import QueryPlan, Scan, plan_query
from .statements import bind, parse
from .suggest import did_you_mean

LEVELS = ("tensorboardsId", "experimentsId")


def _plans(driver: Driver, sql: str, parameters: Any) -> list[QueryPlan]:
    tree = bind(parse(sql), parameters)
    if isinstance(tree, exp.Query):
        return [plan_query(tree, driver.defaults, pushdown=driver.pushdown)]
    selection = write_selection(driver, sql, parameters)
    return [selection.select] if selection is not None and selection.select else []


def _ids(driver: Driver, table: Table, parent: Mapping[str, str]) -> list[str]:
    collection = str(getattr(table, "api_collection", table.name))
    ids: list[str] = []
    try:
        for page in driver.client.list_pages(table.resource_name(parent, parent=True),
                                             collection, {"pageSize": table.page_max}):
            ids += [str(r["name"]).rsplit("/", 1)[1] for r in page.get(table.list_field, [])]
    except Error:
        return []
    return ids


def _level_table(level: str) -> Table:
    return next(t for t in TABLES.values() if t.id_column == level)


def _scan_notes(driver: Driver, scan: Scan) -> list[str]:
    path = scan.pushed.path
    notes: list[str] = []
    bases: list[dict[str, str]] = [
        {"projectsId": p, "locationsId": loc}
        for p, loc in itertools.product(path.get("projectsId", []), path.get("locationsId", []))]
    for level in LEVELS:
        if level not in scan.table.parent_path:
            break
        values: Sequence[str] | None = path.get(level)
        table = _level_table(level)
        if values is None:  # listed by the fan-out: every one of them exists
            bases = [{**b, level: i} for b in bases for i in _ids(driver, table, b)]
            continue
        kept: list[dict[str, str]] = []
        for value in values:
            found = [b for b in bases if driver.client.get(table.resource_name(
                {**b, level: value})) is not None]
            if found or level in scan.defaulted:
                kept += [{**b, level: value} for b in found]
                continue
            siblings = sorted({i for b in bases for i in _ids(driver, table, b)})
            where = " or ".join(sorted({table.resource_name(b, parent=True) for b in bases}))
            notes.append(f"{table.name[:-1]} {value!r} does not exist (in {where}), so no row "
                         f"matched.{did_you_mean(value, siblings)}".rstrip())
        bases = kept
        if not bases:
            break
    return notes


def missing_parents(driver: Driver, sql: str, parameters: Any) -> list[str]:
    """One note per tensorboard or experiment named in the statement that does not exist."""
    notes: list[str] = []
    for plan in _plans(driver, sql, parameters):
        for scan in plan.scans:
            notes += [n for n in _scan_notes(driver, scan) if n not in notes]
    return notes
