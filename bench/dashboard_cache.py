"""A dashboard of eight charts over one dataset, with and without the shared cache (issue 16).

    python bench/dashboard_cache.py [--latency 20] [--experiments 20] [--runs 100] [--reps 3]

The emulator runs in its own process (bench/common.py), seeded with one tensorboard of
--experiments experiments of --runs runs, and answers every call after --latency ms. A
SQLAlchemy engine (as Superset holds one per database) loads the dashboard: eight chart queries,
one after another, over the runs of every experiment; first eight identical charts, then eight
different charts over the same dataset (each a GROUP BY of its own), then the same again after
an UPDATE through the engine in between. Each is timed with `cache_ttl` unset and with
`cache_ttl=60` (a fresh engine and cache each repetition); API calls are read from the
emulator's stats. Prints a Markdown table (the median of --reps repetitions).
"""

from __future__ import annotations

import argparse
import logging
import statistics
import sys
import time
from typing import Any

# bench/ is on sys.path when this file is run as a script
from common import LOCATION, PROJECT, Control, EmulatorProcess, Seeder
from sqlalchemy import create_engine, text

from runs_dbapi.cache import clear_shared_caches
from runs_dialect import build_url

logger = logging.getLogger("bench.dashboard_cache")

IDENTICAL = ["SELECT experimentsId, labels ->> '$.team' AS team, count(*) AS runs FROM runs "
             "GROUP BY 1, 2 ORDER BY 1, 2"] * 8
DIFFERENT = [
    "SELECT experimentsId, count(*) AS runs FROM runs GROUP BY 1",
    "SELECT labels ->> '$.team' AS team, count(*) AS runs FROM runs GROUP BY 1",
    "SELECT labels ->> '$.lr' AS lr, count(*) AS runs FROM runs GROUP BY 1",
    "SELECT labels ->> '$.seed' AS seed, count(*) AS runs FROM runs GROUP BY 1",
    "SELECT date(createTime) AS day, count(*) AS runs FROM runs GROUP BY 1",
    "SELECT count(DISTINCT displayName) AS names FROM runs",
    "SELECT experimentsId, max(updateTime) AS latest FROM runs GROUP BY 1",
    "SELECT labels ->> '$.team' AS team, labels ->> '$.lr' AS lr, count(*) FROM runs "
    "GROUP BY 1, 2",
]


def load(engine: Any, charts: list[str]) -> list[Any]:
    answers = []
    for sql in charts:
        with engine.connect() as connection:
            answers.append(connection.execute(text(sql)).fetchall())
    return answers


def measure(url: str, control: Control, charts: list[str], *, write_between: bool,
            experiment: str) -> tuple[int, float]:
    """(API calls, seconds) of loading the dashboard (and again after a write, if asked)."""
    clear_shared_caches()  # a fresh cache each repetition
    engine = create_engine(url)
    try:
        load(engine, ["SELECT 1"])  # the pool's first connection, as an open dashboard has
        control.reset_stats()
        started = time.perf_counter()
        load(engine, charts)
        if write_between:
            with engine.connect() as connection:
                connection.execute(text(
                    "UPDATE runs SET description = 'relabelled' WHERE experimentsId = "
                    f"'{experiment}' AND runsId = 'r-1'"))
            load(engine, charts)
        seconds = time.perf_counter() - started
        return sum(control.calls().values()), seconds
    finally:
        engine.dispose()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--latency", type=float, default=20.0, help="ms per API call")
    parser.add_argument("--experiments", type=int, default=20)
    parser.add_argument("--runs", type=int, default=100, help="runs per experiment")
    parser.add_argument("--reps", type=int, default=3)
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING, format="%(message)s", stream=sys.stdout)
    logger.setLevel(logging.INFO)
    logging.getLogger("runs_dbapi").setLevel(logging.ERROR)  # no notice per connection

    emulator = EmulatorProcess()
    try:
        control = Control(emulator.url)
        seeder = Seeder(emulator.url)
        tensorboard = seeder.tensorboard("dashboard")
        for i in range(args.experiments):
            seeder.runs(seeder.experiment(tensorboard, f"e{i}"), args.runs)
        control.set_latency(args.latency)
        base = build_url(PROJECT, LOCATION, tensorboard, endpoint=emulator.url)
        urls = {"no cache": base, "cache_ttl=60": base.update_query_dict({"cache_ttl": "60"})}
        rows = []
        for label, charts, write in (("8 identical charts", IDENTICAL, False),
                                     ("8 different charts, one dataset", DIFFERENT, False),
                                     ("8 charts, an UPDATE, 8 charts", IDENTICAL, True)):
            for mode, url in urls.items():
                figures = [measure(url.render_as_string(hide_password=False), control,
                                   charts, write_between=write, experiment="e0")
                           for _ in range(args.reps)]
                calls = int(statistics.median(f[0] for f in figures))
                seconds = statistics.median(f[1] for f in figures)
                rows.append(f"| {label} | {mode} | {calls:,} | {seconds * 1000:,.0f} |")
        logger.info("%d experiments x %d runs, %g ms per API call, median of %d\n",
                    args.experiments, args.runs, args.latency, args.reps)
        logger.info("| dashboard | engine | API calls | wall ms |\n|---|---|---:|---:|")
        for row in rows:
            logger.info(row)
    finally:
        emulator.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
