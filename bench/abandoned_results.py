"""Results read in part and abandoned, N in a row: memory and threads stay flat (issue 11).

    python bench/abandoned_results.py [--results 100] [--batches 5] [--latency 0]

The emulator runs in its own process (bench/common.py) with one experiment of 8,000 runs (8
pages) and a tensorboard of 20 small experiments for fan-outs. For each way of abandoning a
result, batches of N results are each read in part (one row, or pandas' first chunk of 100) and
dropped without close; after each batch a probe query (`count(*)` over the 8,000 runs) must
answer, and the script prints, for this process: traced Python memory now and at its peak during
the batch (tracemalloc), resident memory (RSS), live threads, PageStreams still alive, runs.list
calls made in the batch, and the probe's time. Nothing calls gc.collect(): memory is what the
interpreter holds on its own. The exit status is 1 when the probe does not answer within
--probe-timeout, when traced memory grows from the first batch to the last by more than
--max-growth, or when there are more threads than the two connections' pools can start (a
pool starts its workers as they are needed, up to 32: the count rises to that bound, never with
the number of results abandoned).

Modes: `cursor` (a raw cursor dropped), `reexecute` (one cursor executed again and again),
`fanout` (a raw cursor over 20 experiments, dropped), `sqlalchemy` (Connection.execute, the
CursorResult dropped while the pooled connection is reused), `pandas` (read_sql with chunksize,
stopped after the first chunk).
"""

from __future__ import annotations

import argparse
import gc
import importlib
import os
import sys
import threading
import time
import tracemalloc
from collections.abc import Callable
from typing import Any

# bench/ is on sys.path when this file is run as a script
from common import LOCATION, PROJECT, Control, EmulatorProcess, Seeder

import runs_dbapi
from runs_dbapi import executor

MIB = 1024 * 1024
RUNS = 8000
WIDE = 20
POOL = 32  # workers of a connection's pool (connect()'s default max_workers)
MODES = ("cursor", "reexecute", "fanout", "sqlalchemy", "pandas")


def rss_mib() -> float:
    with open("/proc/self/statm", encoding="ascii") as handle:
        return int(handle.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / MIB


def live_streams() -> int:
    return sum(isinstance(o, executor.PageStream) for o in gc.get_objects())


def within(seconds: float, call: Callable[[], Any]) -> float | None:
    """Seconds `call()` took, on a thread; None if it did not answer in time (a hang)."""
    done = threading.Event()
    started = time.perf_counter()
    elapsed: list[float] = []

    def run() -> None:
        call()
        elapsed.append(time.perf_counter() - started)
        done.set()

    threading.Thread(target=run, daemon=True).start()
    return elapsed[0] if done.wait(seconds) else None


class Setup:
    def __init__(self, url: str) -> None:
        seeder = Seeder(url)
        self.url = url
        self.big = seeder.tensorboard("abandon")
        seeder.runs(seeder.experiment(self.big, "big"), RUNS)
        self.wide = seeder.tensorboard("wide")
        for number in range(WIDE):
            seeder.runs(seeder.experiment(self.wide, f"w{number:02d}"), 50,
                        prefix=f"w{number:02d}")

    def connect(self, fan_out: bool = False) -> runs_dbapi.Connection:
        return runs_dbapi.connect(
            endpoint=self.url, anonymous=True, project=PROJECT, location=LOCATION,
            tensorboard=self.wide if fan_out else self.big,
            experiment=None if fan_out else "big")

    def sqlalchemy_url(self) -> str:
        from runs_dialect import build_url  # noqa: PLC0415 - only for the SQLAlchemy modes

        return build_url(PROJECT, LOCATION, self.big, "big", endpoint=self.url,
                         anonymous=True).render_as_string(hide_password=False)


def abandoner(mode: str, setup: Setup) -> tuple[Callable[[], None], Callable[[], None]]:
    """(abandon one result, close what was opened) for a mode."""
    if mode in ("cursor", "reexecute", "fanout"):
        connection = setup.connect(fan_out=mode == "fanout")
        kept = connection.cursor()
        sql = "SELECT experimentsId, runsId FROM runs" if mode == "fanout" else \
            "SELECT runsId, displayName FROM runs"

        def one() -> None:
            cursor = kept if mode == "reexecute" else connection.cursor()
            cursor.execute(sql)
            assert cursor.fetchone() is not None

        return one, connection.close
    from sqlalchemy import create_engine, text  # noqa: PLC0415 - only for these modes

    engine = create_engine(setup.sqlalchemy_url())
    query = text("SELECT runsId, displayName FROM runs")
    if mode == "sqlalchemy":
        def one() -> None:
            with engine.connect() as connection:
                assert connection.execute(query).fetchone() is not None

        return one, engine.dispose
    pd = importlib.import_module("pandas")  # only for this mode (and untyped)

    def first_chunk() -> None:
        chunks = pd.read_sql(query, engine, chunksize=100)
        assert len(next(iter(chunks))) == 100

    return first_chunk, engine.dispose


def run_mode(mode: str, setup: Setup, control: Control, args: argparse.Namespace) -> list[str]:
    """Prints the mode's table; the failures found."""
    one, close = abandoner(mode, setup)
    probe_connection = setup.connect()
    probe_cursor = probe_connection.cursor()

    def probe() -> None:
        assert probe_cursor.execute("SELECT count(*) FROM runs").fetchone() == (RUNS,)

    base_threads = threading.active_count()
    one()  # warm up: imports, caches, the pools' threads and HTTP connections
    probe()
    rows: list[dict[str, float]] = []
    failures: list[str] = []
    print(f"\n{mode}: {args.batches} batches of {args.results} results abandoned")
    print(f"{'batch':>5} {'abandoned':>9} {'traced MiB':>10} {'peak MiB':>8} {'RSS MiB':>8} "
          f"{'threads':>7} {'streams':>7} {'lists':>6} {'probe ms':>8}")
    for batch in range(1, args.batches + 1):
        control.reset_stats()
        tracemalloc.reset_peak()
        done = [0]

        def abandon_batch(done: list[int] = done) -> None:
            for _ in range(args.results):
                one()  # reads its first row (the old driver hangs here: see RESULTS.md)
                done[0] += 1

        if within(args.probe_timeout * 4, abandon_batch) is None:
            failures.append(f"{mode}: reading the first row of a new result hung after "
                            f"{(batch - 1) * args.results + done[0]} abandoned results")
            return failures  # its threads are stuck: nothing more to measure
        took = within(args.probe_timeout, probe)
        current, peak = tracemalloc.get_traced_memory()
        row = {"traced": current / MIB, "peak": peak / MIB, "rss": rss_mib(),
               "threads": threading.active_count(), "streams": live_streams(),
               "lists": control.calls().get("runs.list", 0)}
        rows.append(row)
        shown = "HUNG" if took is None else f"{took * 1000:.1f}"
        print(f"{batch:>5} {batch * args.results:>9} {row['traced']:>10.1f} {row['peak']:>8.1f} "
              f"{row['rss']:>8.1f} {row['threads']:>7.0f} {row['streams']:>7.0f} "
              f"{row['lists']:>6.0f} {shown:>8}", flush=True)
        if took is None:
            failures.append(f"{mode}: the probe did not answer within {args.probe_timeout} s "
                            f"after {batch * args.results} abandoned results")
            return failures  # its threads are stuck: nothing more to measure
    first, last = rows[0], rows[-1]
    if last["traced"] - first["traced"] > args.max_growth:
        failures.append(f"{mode}: traced memory grew {first['traced']:.1f} -> "
                        f"{last['traced']:.1f} MiB")
    if last["threads"] > base_threads + 2 * POOL:
        failures.append(f"{mode}: {last['threads']:.0f} threads, more than the two "
                        f"connections' pools of {POOL} (and {base_threads:.0f} before)")
    close()
    probe_connection.close()
    return failures


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--results", type=int, default=100, help="results per batch")
    parser.add_argument("--batches", type=int, default=5)
    parser.add_argument("--latency", type=float, default=0.0, help="ms per emulator call")
    parser.add_argument("--modes", default=",".join(MODES))
    parser.add_argument("--probe-timeout", type=float, default=30.0)
    parser.add_argument("--max-growth", type=float, default=4.0,
                        help="MiB of traced memory the last batch may hold over the first")
    args = parser.parse_args()
    emulator = EmulatorProcess()
    failures: list[str] = []
    try:
        setup = Setup(emulator.url)
        control = Control(emulator.url)
        control.set_latency(args.latency)
        tracemalloc.start()
        print(f"runs_dbapi from {os.path.dirname(runs_dbapi.__file__)}; emulator latency "
              f"{args.latency:g} ms; {RUNS} runs in 8 pages; fan-out over {WIDE} experiments")
        for mode in args.modes.split(","):
            failures += run_mode(mode, setup, control, args)
    finally:
        emulator.stop()
    for failure in failures:
        print(f"FAILED {failure}")
    if not failures:
        print("\nflat: every probe answered; memory and threads did not grow")
    sys.stdout.flush()
    os._exit(1 if failures else 0)  # a hung pool (the old driver) would block a normal exit


if __name__ == "__main__":
    main()
