"""EXPLAIN ANALYZE: run the statement through a REST client that counts calls, pages, rows
and time per (collection, verb), and put the numbers on the steps that make those calls."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, cast

from sqlglot import exp

from runs_dbapi.executor import QueryExecutor, Result
from runs_dbapi.planner import plan_query
from runs_dbapi.rest import RestClient
from runs_dbapi.writes import WriteExecutor

from .steps import Driver, Step


@dataclass
class _Tally:
    calls: int = 0
    pages: int = 0
    rows: int = 0
    seconds: float = 0.0


@dataclass
class _CountingClient:
    """A RestClient counting calls, pages, rows and time per (collection, verb)."""

    client: RestClient
    tallies: dict[tuple[str, str], _Tally] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.client, name)

    def _add(self, key: tuple[str, str], started: float, pages: int = 0, rows: int = 0,
             calls: int = 1) -> None:
        with self.lock:
            tally = self.tallies.setdefault(key, _Tally())
            tally.calls += calls
            tally.pages += pages
            tally.rows += rows
            tally.seconds += time.monotonic() - started

    def _timed(self, key: tuple[str, str], call: Callable[[], Any], rows: int = 1) -> Any:
        started = time.monotonic()
        try:
            answer = call()
        finally:
            self._add(key, started, rows=0)
        if answer is not None and rows:
            with self.lock:
                self.tallies[key].rows += rows
        return answer

    def get(self, name: str) -> Any:
        return self._timed((name.split("/")[-2], "get"), lambda: self.client.get(name))

    def patch(self, name: str, *args: Any, **kwargs: Any) -> Any:
        return self._timed((name.split("/")[-2], "patch"),
                           lambda: self.client.patch(name, *args, **kwargs))

    def delete(self, name: str) -> Any:
        return self._timed((name.split("/")[-2], "delete"), lambda: self.client.delete(name))

    def create(self, parent: str, collection: str, *args: Any, **kwargs: Any) -> Any:
        return self._timed((collection, "create"),
                           lambda: self.client.create(parent, collection, *args, **kwargs))

    def batch_create(self, parent: str, collection: str, requests: list[dict[str, Any]],
                     **kwargs: Any) -> Any:
        return self._timed((collection, "batchCreate"), lambda: self.client.batch_create(
            parent, collection, requests, **kwargs), rows=len(requests))

    def post(self, name_with_verb: str, body: Any, **kwargs: Any) -> Any:
        """A verb's POST (a write of data points); its rows are the points it carries."""
        name, verb = name_with_verb.rsplit(":", 1)
        return self._timed((name.split("/")[-2], verb), lambda: self.client.post(
            name_with_verb, body, **kwargs), rows=_values_in(body))

    def wait_operation(self, operation: Mapping[str, Any], **kwargs: Any) -> Any:
        """Waiting is part of the call that started the operation: its time counts there."""
        parts = str(operation.get("name", "")).split("/")
        at = parts.index("operations") if "operations" in parts else 0
        key = (parts[at - 2], "delete") if at >= 2 else ("operations", "wait")
        started = time.monotonic()
        try:
            return self.client.wait_operation(operation, **kwargs)
        finally:
            self._add(key, started, calls=0)

    def list_pages(self, parent: str, collection: str,
                   params: Mapping[str, Any] | None = None) -> Iterator[Any]:
        pages = self.client.list_pages(parent, collection, params)
        key = (collection, "list")
        while True:
            started = time.monotonic()
            try:
                page = next(pages)
            except StopIteration:
                return
            except BaseException:
                self._add(key, started)
                raise
            self._add(key, started, pages=1,
                      rows=sum(len(v) for v in page.values() if isinstance(v, list)))
            yield page


def _values_in(body: Any) -> int:
    """The data points of a write's body: every `values` list, however deep."""
    if isinstance(body, dict):
        return sum(len(v) if k == "values" and isinstance(v, list) else _values_in(v)
                   for k, v in body.items())
    if isinstance(body, list):
        return sum(_values_in(item) for item in body)
    return 0


def analyze(driver: Driver, tree: exp.Expression, steps: list[Step]) -> list[Step]:
    """Run the statement with counting; fill each step's numbers."""
    counting = _CountingClient(driver.client)
    client = cast(RestClient, counting)
    executor = QueryExecutor(client, driver._pool)

    def run_query(select: exp.Expression) -> Result:
        return executor.run(plan_query(select, driver.defaults, pushdown=driver.pushdown))

    started = time.monotonic()
    calls_before = driver.client.calls
    cache_stats = getattr(driver.client, "cache_stats", None)  # with cache_ttl (runs_dbapi.cache)
    cache_before = cache_stats() if cache_stats else None
    rows = 0
    if isinstance(tree, exp.Query):
        result = run_query(tree)
        try:
            rows = sum(1 for _ in result.rows)
        finally:
            result.close()
    else:
        defaults = {k: v for k, v in driver.defaults.items() if v}
        writes = WriteExecutor(client, driver._pool, run_query, defaults)
        outcome = (writes.insert(tree) if isinstance(tree, exp.Insert)
                   else writes.update(tree) if isinstance(tree, exp.Update)
                   else writes.delete(cast(exp.Delete, tree)))
        if isinstance(outcome, Result):
            outcome.close()
            rows = outcome.rowcount
        else:
            rows = outcome
    elapsed = (time.monotonic() - started) * 1000
    seen: dict[tuple[str, str], int] = {}
    for number, step in enumerate(steps, start=1):
        if step.key is None:
            if step.operation == "local SQL" and number == len(steps) and \
                    isinstance(tree, exp.Query):
                step.rows = rows
            continue
        if step.key in seen:
            step.detail += f" (its calls are counted in step {seen[step.key]})"
            continue
        seen[step.key] = number
        tally = counting.tallies.get(step.key, _Tally())
        step.calls, step.rows, step.ms = tally.calls, tally.rows, tally.seconds * 1000
        step.pages = tally.pages if step.key[1] == "list" else None
    for key, tally in sorted(counting.tallies.items()):
        if key not in seen:
            steps.append(Step(f"{key[0]}.{key[1]}", "", "", "calls not in the plan (e.g. "
                              "checks of a path that was not found, operation polls)",
                              key=key, calls=tally.calls, rows=tally.rows,
                              ms=tally.seconds * 1000))
    total = driver.client.calls - calls_before
    cached = ""
    if cache_stats and cache_before:
        after = cache_stats()
        cached = (f"; cache: {after.hits - cache_before.hits} hits, "
                  f"{after.misses - cache_before.misses} misses (answered from the shared "
                  "cache or sent)")
    steps.append(Step("total", "", "", f"{total} HTTP requests, retries included (other "
                      f"statements of the connection meanwhile too){cached}", calls=total,
                      rows=rows, ms=elapsed))
    return steps

