"""EXPLAIN and EXPLAIN ANALYZE: a statement's API calls and local SQL, as rows.

`EXPLAIN <statement>` plans the statement as it would run and returns one row per step: each
API call it will make (method, resource path or pattern, list parameters, the parents it fans
out over) and the SQL left to the local database. It calls the API only for the listings a
fan-out needs, to name the parents. `EXPLAIN ANALYZE <statement>` runs the statement (writes
included) and adds, per step, the calls made, pages, rows and time.

A write is explained by running the write module against a stand-in of the REST client that
records its calls instead of making them (`_DryClient`), with the SELECT it runs to find its
rows captured rather than run: the plan shown is the write module's own.
"""

from __future__ import annotations

import re
from typing import Any

from sqlglot import exp

from runs_dbapi.exceptions import NotSupportedError
from runs_dbapi.executor import Result
from runs_dbapi.planner import plan_query
from runs_dbapi.statements import bind, parse

from ..fetching import list_parameters
from .analyze import analyze as run_analyzed
from .steps import Driver, Lister, Step, describe, query_steps
from .writes import Selection, matching_names, write_selection, write_steps

__all__ = ["ANALYZE_COLUMNS", "COLUMNS", "Driver", "Selection", "Step", "describe",
           "explain_steps", "list_parameters", "matching_names", "run_explain", "split_explain",
           "write_selection"]

COLUMNS = ("step", "operation", "resource", "parameters", "detail")
ANALYZE_COLUMNS = (*COLUMNS, "calls", "pages", "rows", "ms")
_TYPES = {"step": "INTEGER", "calls": "INTEGER", "pages": "INTEGER", "rows": "INTEGER",
          "ms": "FLOAT"}
_PREFIX = re.compile(r"\s*(?:(?:--[^\n]*(?:\n|$)|/\*.*?\*/)\s*)*"
                     r"(EXPLAIN)\b(\s+ANALYZE\b|\s+QUERY\s+PLAN\b)?", re.IGNORECASE | re.DOTALL)

Path = dict[str, str]


def split_explain(sql: str) -> tuple[str | None, str]:
    """("EXPLAIN" or "ANALYZE", the statement explained) for an EXPLAIN statement, else
    (None, sql). The prefix is blanked, not cut, so lines and columns of errors stay right."""
    found = _PREFIX.match(sql) if isinstance(sql, str) else None
    if found is None:
        return None, sql
    analyze = bool(found.group(2)) and found.group(2).strip().upper() == "ANALYZE"
    start = found.start(1)
    blank = re.sub(r"[^\n]", " ", sql[start:found.end()])
    return ("ANALYZE" if analyze else "EXPLAIN"), sql[:start] + blank + sql[found.end():]




def explain_steps(driver: Driver, sql: str, parameters: Any, *, analyze: bool = False
                  ) -> list[Step]:
    """The steps of a statement (running it too when `analyze`)."""
    tree = bind(parse(sql), parameters)
    lister = Lister(None if analyze else driver.client)
    if isinstance(tree, exp.Query):
        plan = plan_query(tree, driver.defaults, pushdown=driver.pushdown)
        steps = query_steps(plan, lister)
    elif isinstance(tree, (exp.Insert, exp.Update, exp.Delete)):
        steps, _ = write_steps(driver, tree, lister)
    else:
        raise NotSupportedError(
            f"EXPLAIN covers SELECT, INSERT, UPDATE and DELETE, not {type(tree).__name__}.")
    return run_analyzed(driver, tree, steps) if analyze else steps


def run_explain(driver: Driver, sql: str, parameters: Any, *, analyze: bool) -> Result:
    """The result of `EXPLAIN [ANALYZE] <sql>`: one row per step."""
    steps = explain_steps(driver, sql, parameters, analyze=analyze)
    names = list(ANALYZE_COLUMNS if analyze else COLUMNS)
    rows = [s.row(n, analyze) for n, s in enumerate(steps, start=1)]
    return Result(names=names, types=[_TYPES.get(n, "STRING") for n in names],
                  rows=iter(rows), close=lambda: None)
