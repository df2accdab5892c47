"""Bulk writes against the hand-written `requests` floor: 100,000 points into time_series_data,
and an INSERT of 5,000 runs with and without `ordered_inserts=False`.

The emulator runs in its own process with the latency per call injected; calls are the
emulator's count; the median of the repetitions (clients interleaved) is reported as a markdown
table (for bench/RESULTS.md):

    python bench/write_points.py --latency 20 --reps 3

Points: a fresh experiment of 10 runs per repetition (no series yet), 2 series per run (loss,
accuracy) of 5,000 steps. The driver runs `executemany` of `INSERT INTO time_series_data
(runsId, displayName, step, scalar)` (what `df.to_sql` sends). The floor does what a correct
hand-written uploader must: list each run's series (filtered on the two names, 16 threads),
one batchCreate of the missing series for the experiment, then the points in write calls of
5,000 on 16 threads.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from collections.abc import Callable
from typing import Any

from common import Control, EmulatorProcess, Seeder, Work, measure_all
from run import DRIVER, FLOOR, Floor, connect, insert_rows

logger = logging.getLogger("bench.write_points")

RUNS, NAMES, STEPS = 10, ("loss", "accuracy"), 5000
WRITE_MAX = 5000


def points() -> list[tuple[str, str, int, float]]:
    return [(f"r-{r}", name, step, 1.0 / (step + 1 + r))
            for r in range(RUNS) for name in NAMES for step in range(STEPS)]


def floor_write(floor: Floor, experiment: str, rows: list[tuple[str, str, int, float]]) -> int:
    runs = sorted({r for r, *_ in rows})
    wanted = {run: sorted({n for r, n, *_ in rows if r == run}) for run in runs}

    def listing(run: str) -> dict[str, str]:
        names = " OR ".join(f'display_name = "{n}"' for n in wanted[run])
        return {s["displayName"]: s["name"].rsplit("/", 1)[1] for page in floor.pages(
            f"{experiment}/runs/{run}", "timeSeries", "tensorboardTimeSeries", filter=names)
            for s in page}

    ids = dict(zip(runs, floor.pool.map(listing, runs), strict=True))
    missing = [(run, name) for run in runs for name in wanted[run] if name not in ids[run]]
    if missing:
        requests_ = [{"parent": f"{experiment}/runs/{run}", "tensorboardTimeSeriesId": f"{name}-x",
                      "tensorboardTimeSeries": {"displayName": name, "valueType": "SCALAR",
                                                "pluginName": "scalars"}}
                     for run, name in missing]
        floor.call("POST", f"{experiment}:batchCreate", {"requests": requests_})
        for run, name in missing:
            ids[run][name] = f"{name}-x"
    series: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for run, name, step, value in rows:
        series.setdefault((run, name), []).append(
            {"step": str(step), "wallTime": "2026-01-05T10:00:00.000000Z",
             "scalar": {"value": value}})
    bodies: list[dict[str, Any]] = []
    current: list[dict[str, Any]] = []
    count = 0
    for (run, name), values in series.items():
        for start in range(0, len(values), WRITE_MAX):
            part = values[start:start + WRITE_MAX - count]
            current.append({"tensorboardRun": f"{experiment}/runs/{run}", "timeSeriesData": [
                {"tensorboardTimeSeriesId": ids[run][name], "valueType": "SCALAR",
                 "values": part}]})
            count += len(part)
            if count == WRITE_MAX:
                bodies.append({"writeRunDataRequests": current})
                current, count = [], 0
    if current:
        bodies.append({"writeRunDataRequests": current})
    list(floor.pool.map(lambda body: floor.call("POST", f"{experiment}:write", body), bodies))
    return len(rows)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--latency", type=float, default=20.0)
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--runs", type=int, default=5000, help="runs per bulk INSERT")
    parser.add_argument("--json", help="also write the raw figures to this file")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING, format="%(message)s", stream=sys.stdout)
    logger.setLevel(logging.INFO)
    logging.getLogger("runs_dbapi").setLevel(logging.ERROR)
    emulator = EmulatorProcess()
    try:
        control = Control(emulator.url)
        seeder = Seeder(emulator.url)
        board = seeder.tensorboard("writes")
        floor = Floor(emulator.url)
        numbers = iter(range(10**6))

        def fresh(runs: int) -> Callable[[int], str]:
            def setup(_: int) -> str:
                name = seeder.experiment(board, f"w-{next(numbers)}")
                if runs:
                    seeder.runs(name, runs)
                return name
            return setup

        rows = points()
        driver = connect(emulator.url, board)
        unordered = connect(emulator.url, board, ordered_inserts=False)

        def driver_points(experiment: str) -> None:
            cursor = driver.cursor()
            cursor.executemany(
                "INSERT INTO time_series_data (experimentsId, runsId, displayName, step, scalar) "
                "VALUES (?, ?, ?, ?, ?)", [(experiment.rsplit("/", 1)[1], *r) for r in rows])
            assert cursor.rowcount == len(rows)

        run_rows = insert_rows(args.runs)

        def driver_runs(connection: Any) -> Callable[[str], None]:
            def work(experiment: str) -> None:
                cursor = connection.cursor()
                cursor.executemany(
                    "INSERT INTO runs (experimentsId, runsId, displayName, description, labels) "
                    "VALUES (?, ?, ?, ?, ?)",
                    [(experiment.rsplit("/", 1)[1], *row) for row in run_rows])
                assert cursor.rowcount == len(run_rows)
            return work

        def floor_runs(experiment: str) -> None:
            requests_ = [{"parent": experiment, "tensorboardRunId": rid,
                          "tensorboardRun": {"displayName": display, "description": text,
                                             "labels": json.loads(labels)}}
                         for rid, display, text, labels in run_rows]
            assert floor.batch_create(experiment, requests_) == len(run_rows)

        workloads: dict[str, dict[str, Work]] = {
            f"write {len(rows):,} points": {
                DRIVER: (driver_points, fresh(RUNS), 0.0),
                FLOOR: (lambda e: floor_write(floor, e, rows), fresh(RUNS), 0.0),
            },
            f"INSERT {args.runs:,} runs": {
                DRIVER: (driver_runs(driver), fresh(0), 0.0),
                f"{DRIVER}, ordered_inserts=False": (driver_runs(unordered), fresh(0), 0.0),
                FLOOR: (floor_runs, fresh(0), 0.0),
            },
        }
        results: dict[str, Any] = {}
        lines = [f"| workload | client | calls | wall (ms) @{args.latency:g} ms | x floor |",
                 "|---|---|---:|---:|---:|"]
        for workload, clients in workloads.items():
            measured = measure_all(control, args.latency, args.reps, clients)
            results[workload] = measured
            base = measured[FLOOR]["wall"]
            for client, figures in measured.items():
                lines.append(f"| {workload} | {client} | {figures['calls']} | "
                             f"{figures['wall'] * 1000:,.0f} | {figures['wall'] / base:.2f}x |")
        logger.info("\n".join(lines))
        if args.json:
            with open(args.json, "w", encoding="utf-8") as handle:
                json.dump(results, handle, indent=1, default=str)
        for connection in (driver, unordered):
            connection.close()
        floor.close()
    finally:
        emulator.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
