"""Reading training curves from time_series_data against the hand-written `requests` floor.

The emulator runs in its own process with the latency per call injected; calls are the
emulator's count; the median of the repetitions (clients interleaved) is reported as a markdown
table (for bench/RESULTS.md):

    python bench/read_points.py --latency 20 --reps 5

Two workloads, on data seeded through the emulator's HTTP API outside the timings:

- the loss curves of 100 runs: an experiment of 100 runs, each with a `loss` and an `accuracy`
  series of 500 points (under batchRead's sampling limit of 1,000). The driver runs
  `SELECT runsId, step, scalar FROM time_series_data WHERE displayName = 'loss'` on a
  connection to the experiment. The floor lists the runs, lists each run's series filtered on
  `display_name = "loss"` (16 threads), then reads the series with batchRead, 100 a call
  (16 threads), as a person who knows every series is under the limit would;
- one series of 100,000 points: the driver runs `SELECT step, scalar FROM time_series_data WHERE
  runsId = 'long' AND displayName = 'loss'`, and the same with `ORDER BY step`. The floor, who
  knows the series is long, lists the run's series (filtered on the name) and pages through
  exportTensorboardTimeSeries, 10,000 points a page.

Every client's answer is checked (rows and values) against what was written.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from typing import Any

from common import Control, EmulatorProcess, Seeder, Work, measure_all
from run import DRIVER, FLOOR, Floor, connect, query

logger = logging.getLogger("bench.read_points")

RUNS, CURVE, LONG = 100, 500, 100_000
WRITE_MAX, BATCH_READ_MAX, EXPORT_MAX = 5000, 100, 10_000


def value(run: int, step: int) -> float:
    return round(1.0 / (step + 1 + run), 9)


def seed(url: str, runs: int, curve: int, long: int) -> dict[str, str]:
    """A tensorboard with experiment `curves` (runs r-0 ... with loss and accuracy series) and
    experiment `single` (run `long` with one loss series of `long` points)."""
    seeder = Seeder(url)
    tensorboard = seeder.tensorboard("points")
    curves = seeder.experiment(tensorboard, "curves")
    seeder.runs(curves, runs)
    single = seeder.experiment(tensorboard, "single")
    seeder.runs(single, 1, prefix="long")
    floor = Floor(url)
    try:
        series = [{"parent": f"{curves}/runs/r-{r}", "tensorboardTimeSeriesId": name,
                   "tensorboardTimeSeries": {"displayName": name, "valueType": "SCALAR",
                                             "pluginName": "scalars"}}
                  for r in range(runs) for name in ("loss", "accuracy")]
        for start in range(0, len(series), 1000):
            floor.call("POST", f"{curves}:batchCreate", {"requests": series[start:start + 1000]})
        per_call = WRITE_MAX // (2 * curve)
        for start in range(0, runs, per_call):
            floor.call("POST", f"{curves}:write", {"writeRunDataRequests": [
                {"tensorboardRun": f"{curves}/runs/r-{r}", "timeSeriesData": [
                    {"tensorboardTimeSeriesId": name, "valueType": "SCALAR",
                     "values": [{"step": str(s), "wallTime": "2026-01-05T09:00:00Z",
                                 "scalar": {"value": value(r, s) * (1 if name == "loss" else 2)}}
                                for s in range(curve)]}
                    for name in ("loss", "accuracy")]}
                for r in range(start, min(runs, start + per_call))]})
        floor.call("POST", f"{single}:batchCreate", {"requests": [
            {"parent": f"{single}/runs/long-0", "tensorboardTimeSeriesId": "loss",
             "tensorboardTimeSeries": {"displayName": "loss", "valueType": "SCALAR"}}]})
        for start in range(0, long, WRITE_MAX):
            floor.call("POST", f"{single}/runs/long-0:write", {"timeSeriesData": [
                {"tensorboardTimeSeriesId": "loss", "valueType": "SCALAR",
                 "values": [{"step": str(s), "wallTime": "2026-01-05T09:00:00Z",
                             "scalar": {"value": value(0, s)}}
                            for s in range(start, min(long, start + WRITE_MAX))]}]})
    finally:
        floor.close()
    return {"tensorboard": tensorboard, "curves": curves, "single": single}


# -- the floor --------------------------------------------------------------------------------

def floor_curves(floor: Floor, experiment: str) -> list[tuple[str, int, float]]:
    """The loss curve of every run: list the runs, each run's loss series, then batchRead."""
    runs = [r["name"] for r in floor.runs(experiment, readMask="name")]

    def listing(run: str) -> list[str]:
        return [s["name"] for page in floor.pages(run, "timeSeries", "tensorboardTimeSeries",
                                                  filter='display_name = "loss"')
                for s in page]

    series = [name for names in floor.pool.map(listing, runs) for name in names]
    board = experiment.split("/experiments/", maxsplit=1)[0]
    groups = [series[i:i + BATCH_READ_MAX] for i in range(0, len(series), BATCH_READ_MAX)]
    answers = floor.pool.map(lambda group: (group, floor.call(
        "GET", f"{board}:batchRead", timeSeries=group)), groups)
    rows = []
    for group, answer in answers:
        for name, data in zip(group, answer["timeSeriesData"], strict=True):
            values = data.get("values", [])
            assert len(values) < 1000, "a sample: the floor assumes every series is short"
            run = name.split("/runs/")[1].split("/")[0]
            rows += [(run, int(v["step"]), float(v["scalar"]["value"])) for v in values]
    return rows


def floor_long(floor: Floor, run: str) -> list[tuple[int, float]]:
    """One long series, whole: list the run's loss series, then export it page by page."""
    names = [s["name"] for page in floor.pages(run, "timeSeries", "tensorboardTimeSeries",
                                               filter='display_name = "loss"') for s in page]
    rows: list[tuple[int, float]] = []
    for name in names:
        body: dict[str, Any] = {"pageSize": EXPORT_MAX}
        while True:
            answer = floor.call("POST", f"{name}:exportTensorboardTimeSeries", body)
            rows += [(int(v["step"]), float(v["scalar"]["value"]))
                     for v in answer.get("timeSeriesDataPoints", [])]
            if not answer.get("nextPageToken"):
                break
            body = {**body, "pageToken": answer["nextPageToken"]}
    return rows


# -- checks -----------------------------------------------------------------------------------

def check_curves(rows: list[Any], runs: int, curve: int) -> None:
    got = sorted((str(r), int(s), float(v)) for r, s, v in rows)
    expected = sorted((f"r-{r}", s, value(r, s)) for r in range(runs) for s in range(curve))
    assert got == expected, f"{len(got)} rows, not the {len(expected)} written"


def check_long(rows: list[Any], long: int, *, ordered: bool) -> None:
    got = [(int(s), float(v)) for s, v in rows]
    expected = [(s, value(0, s)) for s in range(long)]
    assert (got if ordered else sorted(got)) == expected, f"{len(got)} rows of {long}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--latency", type=float, default=20.0)
    parser.add_argument("--reps", type=int, default=5)
    parser.add_argument("--runs", type=int, default=RUNS)
    parser.add_argument("--curve", type=int, default=CURVE)
    parser.add_argument("--long", type=int, default=LONG)
    parser.add_argument("--json", help="also write the raw figures to this file")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(message)s", stream=sys.stderr)

    emulator = EmulatorProcess()
    try:
        control = Control(emulator.url)
        layout = seed(emulator.url, args.runs, args.curve, args.long)
        logger.info("seeded %s", layout)
        floor = Floor(emulator.url)
        curves_conn = connect(emulator.url, layout["tensorboard"], "curves")
        single_conn = connect(emulator.url, layout["tensorboard"], "single")
        curves_sql = ("SELECT runsId, step, scalar FROM time_series_data "
                      "WHERE displayName = 'loss'")
        long_sql = ("SELECT step, scalar FROM time_series_data "
                    "WHERE runsId = 'long-0' AND displayName = 'loss'")
        run = f"{layout['single']}/runs/long-0"

        def driver_curves(_: Any) -> None:
            check_curves(query(curves_conn, curves_sql), args.runs, args.curve)

        def driver_long(_: Any) -> None:
            check_long(query(single_conn, long_sql), args.long, ordered=False)

        def driver_long_ordered(_: Any) -> None:
            check_long(query(single_conn, long_sql + " ORDER BY step"), args.long, ordered=True)

        workloads: dict[str, dict[str, Work]] = {
            f"loss curves of {args.runs} runs ({args.curve} points each)": {
                DRIVER: (driver_curves, None, 0.0),
                FLOOR: (lambda _: check_curves(floor_curves(floor, layout["curves"]),
                                               args.runs, args.curve), None, 0.0),
            },
            f"one series of {args.long:,} points": {
                DRIVER: (driver_long, None, 0.0),
                f"{DRIVER}, ORDER BY step": (driver_long_ordered, None, 0.0),
                FLOOR: (lambda _: check_long(floor_long(floor, run), args.long, ordered=True),
                        None, 0.0),
            },
        }
        for work in workloads.values():  # warm both clients (connections, imports)
            for function, _, _ in work.values():
                function(None)
        results = {name: measure_all(control, args.latency, args.reps, clients)
                   for name, clients in workloads.items()}
        curves_conn.close()
        single_conn.close()
        floor.close()
    finally:
        emulator.stop()
    print(f"| workload | client | calls @{args.latency:g} ms | calls by method "
          f"| wall (ms) @{args.latency:g} ms | x floor |")
    print("|---|---|---:|---|---:|---:|")
    for name, measured in results.items():
        base = measured[FLOOR]["wall"]
        for client, figures in measured.items():
            methods = ", ".join(f"{m} {n}" for m, n in sorted(figures["methods"].items()))
            print(f"| {name} | {client} | {figures['calls']:,} | {methods} "
                  f"| {figures['wall'] * 1000:,.0f} | {figures['wall'] / base:.2f}x |")
    if args.json:
        with open(args.json, "w", encoding="utf-8") as handle:
            json.dump(results, handle, indent=1, default=str)
    return 0


if __name__ == "__main__":
    sys.exit(main())
