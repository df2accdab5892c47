"""The cost of a row: the readers that turn a page of API resources into rows make one Python
call per column value and no more (bench/RESULTS.md's CPU per row rests on it).

A flat field is read with `dict.get` itself; a helper call per field (as `field_getter` once
returned for every field, nested or not) is 7 more Python calls a row of `SELECT * FROM runs`,
about a tenth of its CPU. Counted with `sys.setprofile` ('call' events are Python frames only),
so the bound is exact, not a timing.
"""

from __future__ import annotations

import gc
import sys
from collections.abc import Callable
from typing import Any

from runs_dbapi.catalog import RUNS, TIME_SERIES_DATA, TIMESTAMP
from runs_dbapi.local import (
    direct_maker,
    field_getter,
    restorer,
    row_from_resource,
    row_maker,
)

PATH = {"projectsId": "p", "locationsId": "l", "tensorboardsId": "2", "experimentsId": "e"}
ROWS = 200


def _resources() -> list[dict[str, Any]]:
    return [{"name": f"projects/p/locations/l/tensorboards/2/experiments/e/runs/r{i}",
             "displayName": f"run {i}", "description": "d", "labels": {"team": "a"},
             "createTime": "2024-02-16T23:56:54.194318Z",
             "updateTime": "2024-02-16T23:56:54.194318Z", "etag": "x"} for i in range(ROWS)]


def _python_calls(work: Callable[[], Any]) -> int:
    """'call' events of `work` alone: the collector is run first and held off while counting, as
    a collection inside `work` would run finalizers of other tests' garbage (Python frames)."""
    count = 0

    def profile(frame: Any, event: str, arg: Any) -> None:
        nonlocal count
        if event == "call":
            count += 1

    gc.collect()
    gc.disable()
    sys.setprofile(profile)
    try:
        work()
    finally:
        sys.setprofile(None)
        gc.enable()
    return count


def _per_row(work: Callable[[list[dict[str, Any]]], Any]) -> float:
    """Python calls a row: the difference between two page sizes (per-page costs cancel)."""
    small, large = _resources()[:ROWS // 2], _resources()
    return (_python_calls(lambda: work(large)) - _python_calls(lambda: work(small))) / (
        len(large) - len(small))


def _varying() -> list[Any]:
    """The columns read on every row (a parent's path parameters are read once a page)."""
    return [c for c in RUNS.columns if not c.path_parameter or c.name == RUNS.id_column]


def test_a_flat_field_is_read_by_dict_get_itself() -> None:
    assert field_getter("displayName") == (dict.get, "displayName")
    get, key = field_getter("scalar.value")
    assert get({"scalar": {"value": 0.5}}, key) == 0.5
    assert get({"scalar": None}, key) is None
    assert get({}, key) is None


def test_select_star_rows_cost_one_python_call_per_value() -> None:
    """The direct path (`SELECT * FROM runs` streamed): one reader call per value, the ID column
    two (its read behind the check of SQLite's affinity), and the row's list comprehension."""
    make = direct_maker(RUNS.columns, RUNS.id_column, [restorer(c.type) for c in RUNS.columns])
    rows = make(_resources(), PATH)
    assert rows[0][[c.name for c in RUNS.columns].index("displayName")] == "run 0"
    assert _per_row(lambda page: make(page, PATH)) == len(_varying()) + 2


def test_rows_for_sqlite_cost_one_python_call_per_value() -> None:
    """The SQLite path (GROUP BY, joins): one reader call per value, a timestamp's conversion to
    SQLite's text, the JSON encoder's two (encode, iterencode) for labels, and the row's list
    comprehension."""
    make = row_maker(RUNS.columns, RUNS.id_column)
    resources = _resources()
    assert make(resources[:1], PATH) == [row_from_resource(
        RUNS.columns, resources[0], {**PATH, "runsId": "r0"})]
    timestamps = sum(c.type == TIMESTAMP for c in RUNS.columns)
    assert _per_row(lambda page: make(page, PATH)) == len(_varying()) + timestamps + 3
    labels_only = row_maker(RUNS.columns, RUNS.id_column, {"labels"})
    assert _per_row(lambda page: labels_only(page, PATH)) == 1 + 2 + 1


def test_a_nested_field_is_read_through_its_path() -> None:
    scalar = next(c for c in TIME_SERIES_DATA.columns if c.name == "scalar")
    make = row_maker([scalar], None)
    assert make([{"scalar": {"value": 0.25}}, {"tensor": {}}], {}) == [(0.25,), (None,)]
