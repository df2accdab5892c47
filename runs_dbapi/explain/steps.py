"""EXPLAIN's steps of a SELECT: the API calls of each table reference (fan-out listings,
then lists or gets, with their parameters) and the SQL left to the local database."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, Protocol

from runs_dbapi.catalog import TABLES, Table
from runs_dbapi.exceptions import Error
from runs_dbapi.fetching import list_parameters
from runs_dbapi.planner import QueryPlan, Scan
from runs_dbapi.rest import RestClient

SHOWN_PARENTS = 6  # parents named in a fan-out's detail; the rest are counted

Path = dict[str, str]


class Driver(Protocol):
    """What EXPLAIN needs of a connection (runs_dbapi.Connection has it)."""

    @property
    def client(self) -> RestClient: ...
    @property
    def defaults(self) -> Mapping[str, str | None]: ...
    @property
    def pushdown(self) -> bool: ...
    @property
    def _pool(self) -> ThreadPoolExecutor: ...


@dataclass
class Step:
    operation: str  # `runs.list`, `experiments.list`, `runs.get`, `runs.delete`, `local SQL`
    resource: str  # `GET /v1/projects/p/.../runs`, with `{experimentsId}` for a fan-out
    parameters: str = ""
    detail: str = ""
    key: tuple[str, str] | None = None  # (collection, verb) of its calls, for ANALYZE
    calls: int | None = None
    pages: int | None = None
    rows: int | None = None
    ms: float | None = None

    def row(self, number: int, analyze: bool) -> tuple[Any, ...]:
        base = (number, self.operation, self.resource, self.parameters, self.detail)
        if not analyze:
            return base
        return (*base, self.calls, self.pages, self.rows,
                None if self.ms is None else round(self.ms, 1))


def collection_of(table: Table) -> str:
    return table.api_collection


def shown_parameters(params: Mapping[str, Any]) -> str:
    order = ("filter", "orderBy", "pageSize", "pageToken", "readMask")
    return "; ".join(f"{k}={params[k]}" for k in (*order, *sorted(set(params) - set(order)))
                     if k in params)


def pattern(table: Table, path: Mapping[str, Sequence[str]], names: Sequence[str]) -> str:
    """`projects/p/.../experiments/{experimentsId}`: one value as itself, several (or a
    fan-out's) as the parameter's name in braces."""
    parts = []
    for name in names:
        values = path.get(name)
        value = values[0] if values is not None and len(values) == 1 else "{" + name + "}"
        parts.append(f"{name[:-2]}/{value}")
    return "/".join(parts)


def _some(values: Sequence[str]) -> str:
    shown = ", ".join(values[:SHOWN_PARENTS])
    return shown + (f", ... ({len(values) - SHOWN_PARENTS} more)"
                    if len(values) > SHOWN_PARENTS else "")


class Lister:
    """The ids of the children of each parent path, listed as the executor's fan-out lists
    them (a missing parent has none)."""

    def __init__(self, client: RestClient | None) -> None:
        self.client = client

    def ids(self, child: Table, path: Path) -> list[str] | None:
        if self.client is None:
            return None
        ids: list[str] = []
        parent = child.resource_name(path, parent=True)
        try:
            for page in self.client.list_pages(parent, collection_of(child),
                                               {"pageSize": child.page_max}):
                ids += [str(r["name"]).rsplit("/", 1)[1] for r in page.get(child.list_field, [])]
        except Error as error:
            if error.rpc_status != "NOT_FOUND":
                raise
        return ids


def scan_steps(scan: Scan, lister: Lister, first: int) -> list[Step]:
    """The calls of one table reference: the fan-out listings, then its lists or gets."""
    steps: list[Step] = []
    known: dict[str, list[str]] = {k: list(v) for k, v in scan.pushed.path.items()}
    paths: list[Path] | None = [{}]
    for name in scan.table.parent_path:
        values = scan.pushed.path.get(name)
        if values is not None:
            paths = None if paths is None else [{**p, name: v} for p in paths for v in values]
            continue
        child = next(t for t in TABLES.values() if t.id_column == name)
        resource = "GET /v1/" + pattern(child, known, child.parent_path) + "/" + \
            collection_of(child)
        over = _fan_detail(known, child.parent_path)
        step = Step(f"{collection_of(child)}.list", resource,
                    shown_parameters({"pageSize": child.page_max}),
                    f"fan-out: list the {child.name}" + over, key=(collection_of(child), "list"))
        steps.append(step)
        if paths is not None and lister.client is not None:
            found = [(p, lister.ids(child, p) or []) for p in paths]
            paths = [{**p, name: i} for p, ids in found for i in ids]
            known[name] = sorted({p[name] for p in paths})
            step.detail += f": {len(known[name])} found"
        else:
            paths = None
            known[name] = []
    steps_detail = _over(scan, known, first + len(steps) - 1 if steps else None)
    table = scan.table
    if scan.keys is not None:
        resource = "GET /v1/" + pattern(table, {**known, table.id_column: scan.keys},
                                         table.path)
        steps.append(Step(f"{collection_of(table)}.get", resource, "",
                          f"one get per {table.id_column}: {_some(scan.keys)}" + steps_detail,
                          key=(collection_of(table), "get")))
    else:
        resource = "GET /v1/" + pattern(table, known, table.parent_path) + "/" + \
            collection_of(table)
        what = ["every page" if scan.limit is None else
                f"stops once {scan.limit} rows per parent are in"]
        if scan.page_mode:
            what.append("one row per page (the seed's page columns)")
        steps.append(Step(f"{collection_of(table)}.list", resource,
                          shown_parameters(list_parameters(scan)), "; ".join(what) + steps_detail,
                          key=(collection_of(table), "list")))
    steps[-1].detail = f"into {scan.local_name}: " + steps[-1].detail
    return steps


def _fan_detail(known: Mapping[str, Sequence[str]], names: Sequence[str]) -> str:
    several = [n for n in names if len(known.get(n) or ()) != 1]
    return "" if not several else " of each " + " and ".join(
        n[:-3].rstrip("s") if n.endswith("sId") else n for n in several)


def _over(scan: Scan, known: Mapping[str, Sequence[str]], listed_by: int | None) -> str:
    """`; over 6 experiments: a, b, ...` for the parents a scan fans out over."""
    parts = []
    for name in scan.table.parent_path:
        values = known.get(name)
        if values is not None and len(values) > 1:
            parts.append(f"{len(values)} {name[:-2]}: {_some(list(values))}")
        elif values is not None and not values and name not in scan.pushed.path:
            parts.append(f"each {name[:-2].rstrip('s')} listed by step {listed_by}")
    return ("; over " + "; ".join(parts)) if parts else ""


def query_steps(plan: QueryPlan, lister: Lister, first: int = 1) -> list[Step]:
    steps: list[Step] = []
    for scan in plan.scans:
        steps += scan_steps(scan, lister, first + len(steps))
    how = "page by page as pages arrive" if plan.stream else "once every page is in"
    if plan.stream and plan.limit is not None:
        how += f"; LIMIT {plan.limit}" + (f" OFFSET {plan.offset}" if plan.offset else "") + \
            " applied as rows stream"
    steps.append(Step("local SQL", "SQLite (in memory)", how, plan.sql))
    return steps



def describe(plan: QueryPlan) -> str:
    """The plan as readable lines, without calling the API (for `--debug`)."""
    lines = []
    for number, step in enumerate(query_steps(plan, Lister(None)), start=1):
        lines.append(f"  {number}. {step.operation}: {step.resource}")
        for label, text in (("parameters", step.parameters), ("detail", step.detail)):
            if text:
                lines.append(f"     {label}: {text}")
    return "\n".join(lines)
