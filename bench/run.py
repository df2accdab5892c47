"""Benchmark: runs_dbapi against a hand-written floor and the official SDK, at 0 and 20 ms latency.

    python bench/run.py --sdk-python /tmp/sdkenv/bin/python      # writes bench/RESULTS.md

See bench/README.md. The emulator runs in a child process; large data is seeded through its HTTP
batchCreate, never through a client being measured; each workload runs `--reps` times and the
median wall time is reported, with the API calls the emulator counted.
"""

from __future__ import annotations

import argparse
import contextlib
import cProfile
import importlib.util
import io
import json
import os
import platform
import pstats
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from importlib import metadata
from typing import Any
from urllib.parse import parse_qs, urlsplit

import requests
from common import (  # bench/ is on sys.path when this file is run as a script
    LOCATION,
    PROJECT,
    Control,
    EmulatorProcess,
    Seeder,
    Work,
    default_labels,
    dump,
    measure_all,
    median,
    timed,
)
from requests.adapters import BaseAdapter, HTTPAdapter

HERE = os.path.dirname(os.path.abspath(__file__))

SIZES = {
    "list": 10_000,  # runs listed (10 pages of 1000)
    "fan_experiments": 20,
    "fan_runs": 100,  # runs per fan-out experiment
    "insert": 5_000,
    "update": 1_000,  # of 2x that many runs in the experiment
    "delete": 1_000,  # of 2x that many runs in a fresh experiment per rep
    "group": 100_000,
    "sdk_list": 1_000,  # the SDK's high-level list makes 1 extra call per run: a smaller list
    "sdk_insert": 200,  # ... and its high-level create 3 calls per run
}
QUICK_SIZES = {"list": 2_000, "fan_experiments": 20, "fan_runs": 20, "insert": 1_000,
               "update": 200, "delete": 200, "group": 5_000, "sdk_list": 100, "sdk_insert": 20}

FLOOR_WORKERS = 16  # the hand-written client's threads for independent calls (= the driver's)
DRIVER = "runs_dbapi"
FLOOR = "floor"


# -- the hand-written floor -------------------------------------------------------------------


class Floor:
    """The API used as well as a hand-written `requests` loop can: page size 1000, batchCreate,
    compact JSON, keep-alive, and a pool of threads for calls that do not depend on each other."""

    def __init__(self, url: str, workers: int = FLOOR_WORKERS) -> None:
        self.base = url.rstrip("/") + "/v1/"
        self.session = requests.Session()
        self.session.mount("http://", HTTPAdapter(pool_connections=4, pool_maxsize=workers))
        self.pool = ThreadPoolExecutor(workers)

    def close(self) -> None:
        self.pool.shutdown()
        self.session.close()

    def call(self, method: str, path: str, body: Any = None, **params: Any) -> dict[str, Any]:
        answer = self.session.request(method, self.base + path, json=body,
                                      params={**params, "prettyPrint": "false"})
        answer.raise_for_status()
        return dict(answer.json())

    def pages(self, parent: str, collection: str, field: str, **params: Any
              ) -> Iterator[list[dict[str, Any]]]:
        token = None
        while True:
            extra = {"pageToken": token} if token else {}
            page = self.call("GET", f"{parent}/{collection}", pageSize=1000, **params, **extra)
            yield page.get(field, [])
            token = page.get("nextPageToken")
            if not token:
                return

    def runs(self, experiment: str, **params: Any) -> list[dict[str, Any]]:
        return [r for page in self.pages(experiment, "runs", "tensorboardRuns", **params)
                for r in page]

    def experiments(self, tensorboard: str) -> list[str]:
        return [e["name"] for page in self.pages(tensorboard, "experiments",
                                                 "tensorboardExperiments") for e in page]

    def batch_create(self, experiment: str, requests_: list[dict[str, Any]]) -> int:
        chunks = [requests_[i:i + 1000] for i in range(0, len(requests_), 1000)]
        answers = self.pool.map(
            lambda chunk: self.call("POST", f"{experiment}/runs:batchCreate",
                                    {"requests": chunk}), chunks)
        return sum(len(a.get("tensorboardRuns", [])) for a in answers)

    def patch(self, name: str, body: dict[str, Any], mask: str) -> dict[str, Any]:
        return self.call("PATCH", name, body, updateMask=mask)

    def delete(self, name: str) -> None:
        operation = self.call("DELETE", name)
        while not operation.get("done"):
            time.sleep(0.05)
            operation = self.call("GET", operation["name"])


# -- the driver -------------------------------------------------------------------------------


def connect(url: str, tensorboard: str, experiment: str | None = None, **options: Any) -> Any:
    import runs_dbapi  # noqa: PLC0415 - imported late so that its import time is not paid twice

    return runs_dbapi.connect(endpoint=url, anonymous=True, project=PROJECT, location=LOCATION,
                              tensorboard=tensorboard, experiment=experiment, **options)


def query(connection: Any, sql: str, parameters: Any = None) -> list[Any]:
    cursor = connection.cursor()
    cursor.execute(sql, parameters)
    rows = cursor.fetchall()
    cursor.close()
    return rows


# -- layout -----------------------------------------------------------------------------------


def seed(url: str, sizes: dict[str, int]) -> dict[str, Any]:
    """Everything the read workloads need, created once at 0 ms latency."""
    seeder = Seeder(url)
    main = seeder.tensorboard("bench")
    layout: dict[str, Any] = {"url": url, "project": PROJECT, "location": LOCATION,
                              "main": main, "sizes": sizes}
    layout["list"] = seeder.experiment(main, "list")
    seeder.runs(layout["list"], sizes["list"])
    layout["sdk_list"] = seeder.experiment(main, "sdk-list")
    seeder.runs(layout["sdk_list"], sizes["sdk_list"])
    layout["update"] = seeder.experiment(main, "update")
    seeder.runs(layout["update"], 2 * sizes["update"],
                labels=lambda i: {**default_labels(i), "grp": "u" if i % 2 == 0 else "k"})
    fan = seeder.tensorboard("fan")
    layout["fan"] = fan
    layout["fan_name"] = f"projects/{PROJECT}/locations/{LOCATION}/tensorboards/{fan}"
    layout["fan_experiments"] = []
    for index in range(sizes["fan_experiments"]):
        name = seeder.experiment(fan, f"fan-{index:02d}")
        seeder.runs(name, sizes["fan_runs"])
        layout["fan_experiments"].append(name)
    big = seeder.tensorboard("big")
    layout["big"] = big
    layout["group"] = seeder.experiment(big, "big")
    seeder.runs(layout["group"], sizes["group"])
    return layout


def fresh_experiment(url: str, layout: dict[str, Any], tag: str, runs: int = 0,
                     labels: Callable[[int], dict[str, str]] | None = None) -> str:
    seeder = Seeder(url)
    name = seeder.experiment(layout["main"], tag)
    if runs:
        seeder.runs(name, runs, labels=labels)
    return name


def delete_labels(i: int) -> dict[str, str]:
    return {**default_labels(i), "grp": "d" if i % 2 == 0 else "k"}


def insert_rows(count: int) -> list[tuple[str, str, str, str]]:
    return [(f"i-{i}", f"ins {i}", f"inserted run {i}", json.dumps(default_labels(i)))
            for i in range(count)]


# -- network workloads: driver and floor --------------------------------------------------------

def network_workloads(layout: dict[str, Any], latency: float
                      ) -> tuple[dict[str, dict[str, Work]], list[Any]]:
    """The workloads at one latency, and the connections and clients to close afterwards."""
    url, main, sizes = layout["url"], layout["main"], layout["sizes"]
    list_exp = layout["list"].rsplit("/", 1)[1]
    listing = connect(url, main, list_exp)
    floor = Floor(url)
    teams = sizes["list"] // 4

    def driver_ttfr(_: Any) -> dict[str, float]:
        started = time.perf_counter()
        cursor = listing.cursor()
        cursor.execute("SELECT * FROM runs")
        first = cursor.fetchone()
        seconds = time.perf_counter() - started
        cursor.close()
        assert first is not None
        return {"first_row": seconds}

    def floor_ttfr(_: Any) -> dict[str, float]:
        started = time.perf_counter()
        first = next(iter(floor.pages(layout["list"], "runs", "tensorboardRuns")))[0]
        assert first
        return {"first_row": time.perf_counter() - started}

    fan = connect(url, layout["fan"])
    fan32 = connect(url, layout["fan"], max_workers=32)
    fan_total = sizes["fan_experiments"] * sizes["fan_runs"]

    def floor_fan(parallel: bool) -> Callable[[Any], None]:
        def work(_: Any) -> None:
            names = floor.experiments(layout["fan_name"])
            mapper = floor.pool.map if parallel else map
            runs = [r for page in mapper(floor.runs, names) for r in page]
            assert len(runs) == fan_total, len(runs)
        return work

    def driver_fan_one_by_one(_: Any) -> None:
        ids = [row[0] for row in query(fan, "SELECT experimentsId FROM experiments")]
        total = sum(len(query(fan, "SELECT * FROM runs WHERE experimentsId = ?", (i,)))
                    for i in ids)
        assert total == fan_total

    inserting = connect(url, main)
    rows = insert_rows(sizes["insert"])
    tag = f"{int(latency)}ms"

    def insert_setup(client: str) -> Callable[[int], str]:
        return lambda rep: fresh_experiment(url, layout, f"ins-{client}-{tag}-{rep}")

    def driver_insert(experiment: str) -> None:
        exp_id = experiment.rsplit("/", 1)[1]
        cursor = inserting.cursor()
        cursor.executemany(
            "INSERT INTO runs (experimentsId, runsId, displayName, description, labels) "
            "VALUES (?, ?, ?, ?, ?)", [(exp_id, *row) for row in rows])
        assert cursor.rowcount == len(rows), cursor.rowcount

    def floor_insert(experiment: str) -> None:
        requests_ = [{"parent": experiment, "tensorboardRunId": rid,
                      "tensorboardRun": {"displayName": display, "description": text,
                                         "labels": json.loads(labels)}}
                     for rid, display, text, labels in rows]
        assert floor.batch_create(experiment, requests_) == len(rows)

    update_exp = layout["update"].rsplit("/", 1)[1]
    updating = connect(url, main, update_exp)
    counter = iter(range(10**6))

    def driver_update(_: Any) -> None:
        cursor = updating.cursor()
        cursor.execute("UPDATE runs SET description = ? WHERE json_extract(labels, '$.grp') = 'u'",
                       (f"pass {next(counter)}",))
        assert cursor.rowcount == sizes["update"], cursor.rowcount

    def floor_update(mask: bool) -> Callable[[Any], None]:
        def work(_: Any) -> None:
            extra = {"readMask": "name"} if mask else {}
            names = [r["name"] for r in floor.runs(layout["update"], filter='labels.grp = "u"',
                                                   **extra)]
            body = {"description": f"pass {next(counter)}"}
            done = list(floor.pool.map(lambda n: floor.patch(n, body, "description"), names))
            assert len(done) == sizes["update"]
        return work

    def delete_setup(client: str) -> Callable[[int], str]:
        return lambda rep: fresh_experiment(url, layout, f"del-{client}-{tag}-{rep}",
                                            2 * sizes["delete"], delete_labels)

    def driver_delete(experiment: str) -> None:
        cursor = inserting.cursor()
        cursor.execute("DELETE FROM runs WHERE experimentsId = ? AND "
                       "json_extract(labels, '$.grp') = 'd'", (experiment.rsplit("/", 1)[1],))
        assert cursor.rowcount == sizes["delete"], cursor.rowcount

    def floor_delete(experiment: str) -> None:
        names = [r["name"] for r in floor.runs(experiment, filter='labels.grp = "d"')]
        list(floor.pool.map(floor.delete, names))
        assert len(names) == sizes["delete"]

    grouping = connect(url, layout["big"], layout["group"].rsplit("/", 1)[1])

    def driver_group(_: Any) -> None:
        rows = query(grouping, "SELECT json_extract(labels, '$.team') AS team, count(*) AS n "
                               "FROM runs GROUP BY team ORDER BY team")
        assert sum(n for _, n in rows) == sizes["group"], rows

    def floor_group(mask: bool) -> Callable[[Any], None]:
        def work(_: Any) -> None:
            extra = {"readMask": "labels"} if mask else {}
            counts = Counter(r.get("labels", {}).get("team") for page in floor.pages(
                layout["group"], "runs", "tensorboardRuns", **extra) for r in page)
            assert sum(counts.values()) == sizes["group"]
        return work

    opened = [listing, fan, fan32, inserting, updating, grouping, floor]
    return {
        "list": {
            DRIVER: (lambda _: _check(len(query(listing, "SELECT * FROM runs")), sizes["list"]),
                     None, 0.0),
            FLOOR: (lambda _: _check(len(floor.runs(layout["list"])), sizes["list"]), None, 0.0),
        },
        "filtered": {
            DRIVER: (lambda _: _check(len(query(
                listing, "SELECT * FROM runs WHERE json_extract(labels, '$.team') = 'a'")),
                teams), None, 0.0),
            FLOOR: (lambda _: _check(len(floor.runs(layout["list"], filter='labels.team = "a"')),
                                     teams), None, 0.0),
        },
        "limit": {
            DRIVER: (lambda _: _check(len(query(listing, "SELECT * FROM runs LIMIT 10")), 10),
                     None, 0.0),
            FLOOR: (lambda _: _check(len(floor.call("GET", f"{layout['list']}/runs", pageSize=10)
                                         ["tensorboardRuns"]), 10), None, 0.0),
        },
        "first_row": {
            DRIVER: (driver_ttfr, None, 0.5),
            FLOOR: (floor_ttfr, None, 0.5),
        },
        "fan_out": {
            DRIVER: (lambda _: _check(len(query(fan, "SELECT * FROM runs")), fan_total),
                     None, 0.0),
            FLOOR: (floor_fan(True), None, 0.0),
            "floor, one experiment after another": (floor_fan(False), None, 0.0),
            "runs_dbapi, one query per experiment": (driver_fan_one_by_one, None, 0.0),
            "runs_dbapi, connect(max_workers=32)": (
                lambda _: _check(len(query(fan32, "SELECT * FROM runs")), fan_total), None, 0.0),
        },
        "insert": {
            DRIVER: (driver_insert, insert_setup("d"), 0.0),
            FLOOR: (floor_insert, insert_setup("f"), 0.0),
        },
        "update": {
            DRIVER: (driver_update, None, 0.0),
            FLOOR: (floor_update(False), None, 0.0),
            "floor + readMask=name": (floor_update(True), None, 0.0),
        },
        "delete": {
            DRIVER: (driver_delete, delete_setup("d"), 0.0),
            FLOOR: (floor_delete, delete_setup("f"), 0.0),
        },
        "group_by": {
            DRIVER: (driver_group, None, 0.0),
            FLOOR: (floor_group(False), None, 0.0),
            "floor + readMask=labels": (floor_group(True), None, 0.0),
        },
    }, opened


def _check(got: int, expected: int) -> None:
    assert got == expected, f"{got} rows, expected {expected}"


# -- CPU per row and local GROUP BY: canned pages, no network ----------------------------------


class CannedAdapter(BaseAdapter):
    """Answers every GET with the next canned page (pageToken = page index): no network."""

    def __init__(self, pages: list[bytes]) -> None:
        super().__init__()
        self.pages = pages

    def send(self, request: Any, **kwargs: Any) -> requests.Response:
        token = parse_qs(urlsplit(request.url).query).get("pageToken", ["0"])[0]
        response = requests.Response()
        response.status_code = 200
        response._content = self.pages[int(token)]
        response.headers["Content-Type"] = "application/json; charset=UTF-8"
        response.encoding = "utf-8"
        response.url = request.url
        response.request = request
        return response

    def close(self) -> None:
        pass


CANNED = "http://canned.invalid"


def fetch_pages(url: str, experiment: str) -> list[bytes]:
    """The experiment's pages as the emulator sends them, re-tokened 1, 2, ... (compact JSON)."""
    session = requests.Session()
    pages: list[bytes] = []
    token = None
    while True:
        params = {"pageSize": 1000, "prettyPrint": "false", **({"pageToken": token} if token
                                                               else {})}
        answer = session.get(f"{url}/v1/{experiment}/runs", params=params)
        answer.raise_for_status()
        page = answer.json()
        token = page.pop("nextPageToken", None)
        if token:
            page["nextPageToken"] = str(len(pages) + 1)
        pages.append(json.dumps(page, ensure_ascii=False).encode("utf-8"))
        if not token:
            return pages


def canned_connection(layout: dict[str, Any], pages: list[bytes], tensorboard: str,
                      experiment: str) -> Any:
    connection = connect(CANNED, tensorboard, experiment.rsplit("/", 1)[1])
    connection.client._session.mount(CANNED, CannedAdapter(pages))  # the driver's own session
    return connection


def cpu_measure(work: Callable[[], Any], reps: int) -> dict[str, float]:
    walls, cpus = [], []
    for _ in range(reps):
        cpu0, wall0 = time.process_time(), time.perf_counter()
        work()
        walls.append(time.perf_counter() - wall0)
        cpus.append(time.process_time() - cpu0)
    return {"wall": median(walls), "cpu": median(cpus), "wall_min": min(walls),
            "cpu_min": min(cpus)}


WAITING = ("of '_thread.lock' objects", "of '_queue.SimpleQueue' objects", "time.sleep",
           "of '_thread.RLock' objects")


def profile_threads(work: Callable[[], Any], top: int = 14) -> list[dict[str, Any]]:
    """cProfile of `work` across the calling thread and every thread started meanwhile."""
    profiles: list[cProfile.Profile] = []

    def start(*_: Any) -> None:
        sys.setprofile(None)
        profile = cProfile.Profile()
        profiles.append(profile)
        profile.enable()

    main = cProfile.Profile()
    threading.setprofile(start)
    main.enable()
    try:
        work()
    finally:
        main.disable()
        threading.setprofile(None)  # type: ignore[arg-type]
    time.sleep(0.2)  # worker threads have finished their pages
    stats = pstats.Stats(main, stream=io.StringIO())
    for profile in profiles:
        with contextlib.suppress(TypeError):  # a profiler that recorded nothing
            stats.add(profile)
    # Time blocked on locks and queues is waiting, not work: leave it out.
    working = {key: value for key, value in stats.stats.items()  # type: ignore[attr-defined]
               if not any(w in key[2] for w in WAITING)}
    total = max(sum(value[2] for value in working.values()), 1e-9)
    entries = sorted(working.items(), key=lambda item: item[1][2], reverse=True)[:top]
    return [{"function": f"{os.path.basename(file)}:{line}({name})", "calls": calls,
             "tottime": tottime, "cumtime": cumtime, "share": tottime / total}
            for (file, line, name), (_, calls, tottime, cumtime, _) in entries] + [
        {"function": "TOTAL (all threads, less waiting)", "calls": 0, "tottime": total,
         "cumtime": total,
         "share": 1.0}]


def cpu_workloads(layout: dict[str, Any], reps: int) -> dict[str, Any]:
    url = layout["url"]
    list_pages = fetch_pages(url, layout["list"])
    group_pages = fetch_pages(url, layout["group"])
    rows = layout["sizes"]["list"]
    group_rows = layout["sizes"]["group"]
    results: dict[str, Any] = {"rows": rows, "group_rows": group_rows, "reps": reps,
                               "bytes": sum(map(len, list_pages))}

    def loads(pages: list[bytes]) -> Callable[[], Any]:
        return lambda: [json.loads(p) for p in pages]

    results["json.loads"] = cpu_measure(loads(list_pages), reps)
    for label, sql in (("SELECT *", "SELECT * FROM runs"),
                       ("SELECT name, displayName", "SELECT name, displayName FROM runs")):
        connection = canned_connection(layout, list_pages, layout["main"], layout["list"])
        results[label] = cpu_measure(
            lambda c=connection, s=sql: _check(len(query(c, s)), rows), reps)
        connection.close()
    profiled = canned_connection(layout, list_pages, layout["main"], layout["list"])
    results["profile SELECT *"] = profile_threads(
        lambda: _check(len(query(profiled, "SELECT * FROM runs")), rows))
    profiled.close()

    sql = ("SELECT json_extract(labels, '$.team') AS team, count(*) AS n FROM runs "
           "GROUP BY team ORDER BY team")
    grouping = canned_connection(layout, group_pages, layout["big"], layout["group"])
    results["group json.loads"] = cpu_measure(loads(group_pages), max(1, reps // 2))
    results["group_by"] = cpu_measure(lambda: query(grouping, sql), max(1, reps // 2))
    grouping.close()
    grouping = canned_connection(layout, group_pages, layout["big"], layout["group"])
    results["profile GROUP BY"] = profile_threads(lambda: query(grouping, sql))
    grouping.close()
    return results


# -- start-up ---------------------------------------------------------------------------------

SELECT_1 = ("import runs_dbapi; runs_dbapi.connect(emulator=\"memory\", emulator_demo=False, "
            "project=\"p\", location=\"l\").cursor().execute(\"SELECT 1\")")


def _spawn(argv: list[str], reps: int, env: dict[str, str] | None = None) -> float:
    times = []
    for _ in range(reps):
        seconds, done = timed(lambda: subprocess.run(argv, capture_output=True, check=False,
                                                     env=env))
        if done.returncode != 0:
            raise RuntimeError(f"{argv}: {done.stderr.decode()[-500:]}")
        times.append(seconds)
    return median(times)


def import_time_self(module: str) -> float:
    """Seconds `python -X importtime` attributes to `module` (cumulative, in-process)."""
    done = subprocess.run([sys.executable, "-X", "importtime", "-c", f"import {module}"],
                          capture_output=True, text=True, check=True)
    for line in done.stderr.splitlines():
        parts = [p.strip() for p in line.split("|")]
        if len(parts) == 3 and parts[2] == module:
            return int(parts[1]) / 1e6
    return float("nan")


def startup(reps: int, sdk_python: str | None) -> dict[str, Any]:
    python = sys.executable
    results: dict[str, Any] = {"reps": reps}
    results["python -c pass"] = _spawn([python, "-c", "pass"], reps)
    results["python -c 'import runs_dbapi'"] = _spawn([python, "-c", "import runs_dbapi"], reps)
    results["import runs_dbapi (-X importtime)"] = median(
        [import_time_self("runs_dbapi") for _ in range(reps)])
    results["import runs_dbapi + connect (-X importtime)"] = median(
        [import_time_self("runs_dbapi.connection") for _ in range(reps)])
    runs_sql = shutil.which("runs-sql")
    results["runs-sql exists"] = runs_sql is not None
    cli, label = None, ""
    if runs_sql is not None:
        cli, label = [runs_sql], 'runs-sql -q "SELECT 1"'
    elif importlib.util.find_spec("runs_dbapi.cli") is not None:
        cli = [python, "-m", "runs_dbapi.cli"]
        label = 'python -m runs_dbapi.cli -q "SELECT 1" (runs-sql, not installed as a command)'
    if cli is not None:
        with tempfile.TemporaryDirectory() as home:  # its embedded emulator's file, seeded once
            env = {**os.environ, "RUNS_SQL_HOME": home}
            env.pop("RUNS_URL", None)
            try:
                _spawn([*cli, "-q", "SELECT 1"], 1, env)
                results[label] = _spawn([*cli, "-q", "SELECT 1"], reps, env)
            except RuntimeError as error:
                results["runs-sql error"] = str(error)[-300:]
    results["SELECT 1 (connect(emulator='memory'))"] = _spawn([python, "-c", SELECT_1], reps)
    if sdk_python:
        results["SDK: python -c 'from google.cloud import aiplatform'"] = _spawn(
            [sdk_python, "-c", "from google.cloud import aiplatform"], max(1, reps // 3))
    return results


# -- the SDK (its own interpreter) -------------------------------------------------------------


def run_sdk(sdk_python: str, layout_path: str, latency: float, reps: int) -> dict[str, Any]:
    done = subprocess.run(
        [sdk_python, os.path.join(HERE, "sdk.py"), "--layout", layout_path, "--latency",
         str(latency), "--reps", str(reps)], capture_output=True, text=True, check=False)
    if done.returncode != 0:
        print(done.stderr[-3000:], file=sys.stderr)
        return {"error": done.stderr.strip().splitlines()[-1] if done.stderr.strip() else "?"}
    return dict(json.loads(done.stdout))


# -- main -------------------------------------------------------------------------------------


def machine() -> dict[str, str]:
    cpu = platform.processor() or platform.machine()
    with contextlib.suppress(OSError), open("/proc/cpuinfo", encoding="utf-8") as handle:
        for line in handle:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    memory = ""
    with contextlib.suppress(OSError), open("/proc/meminfo", encoding="utf-8") as handle:
        kib = int(handle.readline().split()[1])
        memory = f"{kib / 1024 / 1024:.0f} GiB RAM"
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    versions = []
    for package in ("runs-sql", "sqlglot", "requests", "google-auth"):
        with contextlib.suppress(metadata.PackageNotFoundError):
            versions.append(f"{package} {metadata.version(package)}")
    return {
        "cpu": f"{cpu}, {cores} cores available to this process", "memory": memory,
        "os": f"{platform.system()} {platform.release()}",
        "python": f"{platform.python_implementation()} {platform.python_version()}",
        "packages": ", ".join(versions),
        "date": time.strftime("%Y-%m-%d %H:%M %Z"),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sdk-python", help="an interpreter with google-cloud-aiplatform "
                        "(e.g. /tmp/sdkenv/bin/python or .venv-sdk/bin/python); else no SDK rows")
    parser.add_argument("--latencies", default="0,20", help="ms per call (default 0,20)")
    parser.add_argument("--reps", type=int, default=3, help="repetitions per workload (median)")
    parser.add_argument("--sdk-reps", type=int, default=1, help="repetitions of SDK workloads")
    parser.add_argument("--quick", action="store_true", help="small sizes, for a smoke test")
    parser.add_argument("--out", default=os.path.join(HERE, "RESULTS.md"))
    parser.add_argument("--json", default=os.path.join(HERE, "results.json"),
                        help="raw results (default bench/results.json)")
    args = parser.parse_args()
    sizes = QUICK_SIZES if args.quick else SIZES
    latencies = [float(x) for x in args.latencies.split(",")]
    started = time.perf_counter()
    results: dict[str, Any] = {"machine": machine(), "sizes": sizes, "reps": args.reps,
                               "sdk_reps": args.sdk_reps, "latencies": latencies,
                               "sdk_python": args.sdk_python, "network": {}}

    def note(text: str) -> None:
        print(f"[{time.perf_counter() - started:6.1f}s] {text}", file=sys.stderr, flush=True)

    load_start = os.getloadavg()[0]
    note("start-up times")
    results["startup"] = startup(max(5, args.reps * 3), args.sdk_python)
    emulator = EmulatorProcess()
    try:
        control = Control(emulator.url)
        note(f"emulator at {emulator.url}; seeding")
        layout = seed(emulator.url, sizes)
        layout_path = os.path.join(HERE, ".layout.json")
        with open(layout_path, "w", encoding="utf-8") as handle:
            json.dump(layout, handle)
        note("canned pages: CPU per row and local GROUP BY")
        results["cpu"] = cpu_workloads(layout, max(7, args.reps))
        for latency in latencies:
            key = f"{latency:g}"
            workloads, opened = network_workloads(layout, latency)
            for name, clients in workloads.items():
                note(f"{latency:g} ms: {name}: {', '.join(clients)}")
                outcomes = measure_all(control, latency, args.reps, clients)
                for client, outcome in outcomes.items():
                    results["network"].setdefault(name, {}).setdefault(client, {})[key] = outcome
            for thing in opened:
                thing.close()
            if args.sdk_python:
                note(f"{latency:g} ms: SDK")
                sdk = run_sdk(args.sdk_python, layout_path, latency, args.sdk_reps)
                results.setdefault("sdk_errors", {})[key] = sdk.pop("error", None)
                for name, clients in sdk.get("workloads", {}).items():
                    for client, outcome in clients.items():
                        results["network"].setdefault(name, {}).setdefault(client, {})[key] = \
                            outcome
    finally:
        emulator.stop()
        with contextlib.suppress(OSError, UnboundLocalError):
            os.unlink(layout_path)
    results["seconds"] = time.perf_counter() - started
    results["load"] = [load_start, os.getloadavg()[0]]
    with open(args.json, "w", encoding="utf-8") as handle:
        handle.write(dump(results))
    from report import render  # noqa: PLC0415 - bench/report.py

    with open(args.out, "w", encoding="utf-8") as handle:
        handle.write(render(results))
    note(f"wrote {args.out} and {args.json}")


if __name__ == "__main__":
    main()
