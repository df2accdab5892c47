"""EXPLAIN's steps of an INSERT, UPDATE or DELETE, found by a dry run of the write module: a
stand-in of the REST client records its writes instead of making them, and the SELECT it runs to
find its rows is captured rather than run, so the plan shown is the write module's own."""

from __future__ import annotations

import threading
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, cast

from sqlglot import exp

from runs_dbapi.catalog import BODY_PREFIX, TABLES, UPDATE_MASK_PARAMETER, Table, find_table
from runs_dbapi.executor import QueryExecutor, Result
from runs_dbapi.planner import QueryPlan, plan_query
from runs_dbapi.rest import RestClient
from runs_dbapi.statements import bind, parse
from runs_dbapi.writes import WriteExecutor

from .steps import Driver, Lister, Step, collection_of, pattern, query_steps, shown_parameters


class _DryClient:
    """A RestClient that records writes instead of making them (reads pass through)."""

    def __init__(self, client: RestClient) -> None:
        self._client = client
        self.writes: list[Step] = []
        self.listed = False  # a listing was recorded: what it would find is unknown
        self._lock = threading.Lock()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._client, name)

    def _record(self, step: Step) -> None:
        with self._lock:
            self.writes.append(step)

    def patch(self, name: str, body: Mapping[str, Any],
              update_mask: Sequence[str] | None = None, *, idempotent: bool = False
              ) -> dict[str, Any]:
        mask = ",".join(update_mask or ())
        self._record(Step(f"{name.split('/')[-2]}.patch", f"PATCH /v1/{name}",
                          f"updateMask={mask}", "one patch: the WHERE names one run",
                          key=(name.split("/")[-2], "patch")))
        return {"name": name, **body}

    def get(self, name: str) -> dict[str, Any]:
        """A keyed DELETE's read of its row first: recorded, not sent."""
        self._record(Step(f"{name.split('/')[-2]}.get", f"GET /v1/{name}", "",
                          "reads the row first (a lost answer is then told from a missing row)",
                          key=(name.split("/")[-2], "get")))
        return {"name": name}

    def delete(self, name: str) -> dict[str, Any]:
        self._record(Step(f"{name.split('/')[-2]}.delete", f"DELETE /v1/{name}", "",
                          "one delete: the WHERE names one run; its operation is waited for",
                          key=(name.split("/")[-2], "delete")))
        return {"name": f"{name}/operations/explain", "done": True}

    def post(self, name_with_verb: str, body: Any, *, idempotent: bool = False
             ) -> dict[str, Any]:
        """A verb's POST (a write of data points): recorded, not sent."""
        name, verb = name_with_verb.rsplit(":", 1)
        collection = name.split("/")[-2]
        self._record(Step(f"{collection}.{verb}", f"POST /v1/{name_with_verb}", "",
                          f"one {verb} call", key=(collection, verb)))
        return {}

    def list_pages(self, parent: str, collection: str,
                   params: Mapping[str, Any] | None = None) -> Iterator[dict[str, Any]]:
        """A write's own listing (an INSERT of data points looks up each run's series by
        display name): recorded, not sent. It finds nothing, so every series named counts as
        one to create, and the batchCreate shown is the most it can be."""
        self.listed = True
        self._record(Step(f"{collection}.list", f"GET /v1/{parent}/{collection}",
                          shown_parameters(params or {}), "1 listing: the series the rows name, by "
                          "display name (those not found are created)", key=(collection, "list")))
        return iter(())

    def wait_operation(self, operation: Mapping[str, Any], **_: Any) -> Mapping[str, Any]:
        return operation

    def create(self, parent: str, collection: str, body: Mapping[str, Any], *,
               id_param: str | None, resource_id: str | None) -> dict[str, Any]:
        self._record(Step(f"{collection}.create", f"POST /v1/{parent}/{collection}",
                          f"{id_param}={resource_id}" if id_param else "", "one create",
                          key=(collection, "create")))
        return {"name": f"{parent}/{collection}/{resource_id}", **body}

    def batch_create(self, parent: str, collection: str, requests: list[dict[str, Any]],
                     **_: Any) -> dict[str, Any]:
        table = next(t for t in TABLES.values() if collection_of(t) == collection)
        self._record(Step(f"{collection}.batchCreate",
                          f"POST /v1/{_.get('url') or f'{parent}/{collection}:batchCreate'}",
                          "",
                          f"{'up to ' if self.listed else ''}{len(requests)} {collection} in "
                          "one call (all or none)",
                          key=(collection, "batchCreate")))
        id_field = str(_.get("id_field") or table.id_parameter or "")
        ids = [r.get(id_field, "") for r in requests]
        return {str(_.get("list_field") or table.list_field):
                [{"name": f"{parent}/{collection}/{i}"} for i in ids]}


def write_steps(driver: Driver, tree: exp.Expression, lister: Lister
                 ) -> tuple[list[Step], list[QueryPlan]]:
    """The steps of an INSERT, UPDATE or DELETE, found by a dry run of the write module."""
    dry = _DryClient(driver.client)
    plans: list[QueryPlan] = []
    executor = QueryExecutor(driver.client, driver._pool)

    def capture(select: exp.Expression) -> Result:
        plan = plan_query(select, driver.defaults, pushdown=driver.pushdown)
        plans.append(plan)
        if not plan.scans:  # constants (INSERT ... SELECT 'a', 'b'): no API call, run it
            return executor.run(plan)
        return Result(names=[], types=[], rows=iter(()), close=lambda: None)

    defaults = {k: v for k, v in driver.defaults.items() if v}
    writes = WriteExecutor(cast(RestClient, dry), driver._pool, capture, defaults,
                           wait_operations=True)
    if isinstance(tree, exp.Insert):
        writes.insert(tree)
    elif isinstance(tree, exp.Update):
        writes.update(tree)
    else:
        writes.delete(cast(exp.Delete, tree))
    steps: list[Step] = []
    for plan in plans:
        if plan.scans:
            steps += query_steps(plan, lister, len(steps) + 1)
    table = _written_table(tree)
    found_by = f"step {len(steps)}" if steps else ""
    if dry.writes:
        steps += _merged(dry.writes)
    elif found_by:
        collection = collection_of(table)
        scan = next((p.scans[0] for p in plans if p.scans), None)
        known = {k: list(v) for k, v in scan.pushed.path.items()} if scan is not None else {}
        name = "/v1/" + pattern(table, known, table.path)
        if isinstance(tree, exp.Update):
            steps.append(Step(f"{collection}.patch", f"PATCH {name}",
                              f"updateMask={','.join(_update_mask(tree, table))}",
                              f"one patch per row of {found_by}, concurrently",
                              key=(collection, "patch")))
        elif isinstance(tree, exp.Delete):
            steps.append(Step(f"{collection}.delete", f"DELETE {name}", "",
                              f"one delete per row of {found_by}, concurrently; each "
                              "operation is waited for", key=(collection, "delete")))
        else:
            parent = "/v1/" + pattern(table, known, table.parent_path)
            steps.append(Step(f"{collection}.batchCreate", f"POST {parent}/{collection}"
                              ":batchCreate", "", f"the rows of {found_by}: one create for one "
                              f"row, else batchCreate per parent, {table.batch_max} at a time",
                              key=(collection, "batchCreate")))
    return steps, plans


def _merged(writes: list[Step]) -> list[Step]:
    """Recorded calls, those of one kind under one parent merged into one step (listings under
    several parents too, the parents' differing IDs shown by name: `runs/{runsId}`)."""
    merged: list[Step] = []
    for step in writes:
        last = merged[-1] if merged else None
        if last is not None and last.operation == step.operation and \
                last.operation.endswith(".list") and last.resource != step.resource:
            last.resource = _common_pattern(last.resource, step.resource)
            if last.parameters != step.parameters:
                last.parameters = "filter=the display names of the run's rows"
            listings = int(last.detail.split()[0]) + 1
            last.detail = f"{listings} listings, one a run" + last.detail[last.detail.index(":"):]
            continue
        if last is not None and last.operation == step.operation and \
                last.resource == step.resource:
            count = int(last.detail.split()[0]) + int(step.detail.split()[0]) \
                if last.detail[:1].isdigit() and step.detail[:1].isdigit() else None
            if count is not None:
                last.detail = f"{count}" + last.detail[len(last.detail.split()[0]):]
                continue
        merged.append(step)
    return merged


def _common_pattern(first: str, second: str) -> str:
    """`GET /v1/.../runs/{runsId}/timeSeries` from two resources that differ in IDs: an ID that
    differs is named after its collection, as the path columns are."""
    a, b = first.split("/"), second.split("/")
    if len(a) != len(b):
        return first
    return "/".join(x if x == y else "{" + a[i - 1] + "Id}" for i, (x, y) in
                    enumerate(zip(a, b, strict=True)))


def _written_table(tree: exp.Expression) -> Table:
    node = tree.this
    node = node.this if isinstance(node, exp.Schema) else node
    parts = [p.name for p in node.parts] if isinstance(node, exp.Table) else []
    return find_table(parts) or TABLES["runs"]


def _update_mask(tree: exp.Expression, table: Table) -> list[str]:
    where = tree.args.get("where")
    for eq in (where.find_all(exp.EQ) if where is not None else ()):
        if isinstance(eq.this, exp.Column) and eq.this.name.lower() == \
                UPDATE_MASK_PARAMETER.lower() and isinstance(eq.expression, exp.Literal):
            return [p.strip() for p in str(eq.expression.this).split(",") if p.strip()]
    names = []
    for assignment in tree.expressions:
        if isinstance(assignment, exp.EQ) and isinstance(assignment.this, exp.Column):
            name = assignment.this.name
            name = name[len(BODY_PREFIX):] if name.lower().startswith(BODY_PREFIX) else name
            column = table.column(name)
            if column is not None and column.name != "etag":
                names.append(column.name)
    return names


@dataclass
class Selection:
    """The rows an UPDATE or DELETE would touch, as the write module finds them."""

    where: bool  # the statement has a WHERE clause
    select: QueryPlan | None  # the plan of the SELECT it runs, None when it names one run
    verb: str


def write_selection(driver: Driver, sql: str, parameters: Any) -> Selection | None:
    """For an UPDATE or DELETE, how its rows are found (no API call but fan-out listings are
    made: none at all); None for other statements."""
    tree = bind(parse(sql), parameters)
    if not isinstance(tree, (exp.Update, exp.Delete)):
        return None
    _, plans = write_steps(driver, tree, Lister(None))
    scanning = [p for p in plans if p.scans]
    return Selection(where=tree.args.get("where") is not None,
                     select=scanning[0] if scanning else None,
                     verb="UPDATE" if isinstance(tree, exp.Update) else "DELETE")


def matching_names(driver: Driver, plan: QueryPlan) -> list[str]:
    """Run a Selection's SELECT: the names of the rows the write would touch."""
    result = QueryExecutor(driver.client, driver._pool).run(plan)
    try:
        return [str(row[0]) for row in result.rows]
    finally:
        result.close()
