"""A corpus of SELECT queries over the demo data, each run with push-down on and off.

Both runs must give the same answer (as sorted lists unless the query orders its output), and
where an independent oracle is easy to state (computed in Python from a direct listing of the
API with `requests`), the answer must be that one. With push-down on, the requests the driver
sends are checked too: the emulator's per-method call counters (`emu.stats()`), and a response
hook on the driver's HTTP session that records each call's query parameters (the emulator keeps
no per-call parameter log) -- the filter, orderBy and pageSize sent, and how many resources each
answer carried. With push-down off no runs listing may carry a filter or an order.

Further tests: paging arithmetic on a 2,500-run experiment, a LIMIT served by one call, gets by
key, value types, errors for a missing project or an unknown table, and exact answers over
5,000 runs while the emulator fails 20% of the calls with 429/503.
"""

from __future__ import annotations

import json
import math
import sqlite3
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
import requests
from hypothesis import given, settings
from hypothesis import strategies as st
from support.spy import Spy

import runs_dbapi
from runs_dbapi.catalog import RUNS
from runs_dbapi.emulator import Emulator, FaultPlan
from runs_dbapi.emulator.filtering import Field, evaluate, parse_filter
from runs_dbapi.planner import plan_query
from runs_dbapi.pushdown import Translator
from runs_dbapi.rest import RetryPolicy
from runs_dbapi.statements import parse
from runs_dbapi.timestamps import canonical_time

pytestmark = pytest.mark.emulator(demo=True)

PROJECT = "demo-project"
LOCATION = "us-central1"
EXPERIMENTS = ("resnet-sweep", "vit-finetune", "bert-glue", "t5-summarize", "wavenet-tts",
               "ppo-atari")
LOCATION_PATH = f"projects/{PROJECT}/locations/{LOCATION}"

Row = tuple[Any, ...]


# -- the demo data, read directly from the API ----------------------------------------------


def parse_time(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(timezone.utc)


@dataclass
class Demo:
    """The demo emulator's runs, listed with plain HTTP (the oracle's input)."""

    url: str
    tb: str
    runs: list[dict[str, Any]]

    def of(self, experiment: str) -> list[dict[str, Any]]:
        return [r for r in self.runs if r["experimentsId"] == experiment]

    def run(self, experiment: str, index: int) -> dict[str, Any]:
        return next(r for r in self.runs if r["runsId"] == f"{experiment}-{index:04d}")

    def min_time(self, experiment: str) -> datetime:
        return min(r["createTime"] for r in self.of(experiment))


def list_all(url: str, parent: str, collection: str, field_name: str) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    token = ""
    while True:
        params = {"pageSize": "1000", **({"pageToken": token} if token else {})}
        page = requests.get(f"{url}/v1/{parent}/{collection}", params=params, timeout=30).json()
        found += page.get(field_name, [])
        token = page.get("nextPageToken", "")
        if not token:
            return found


def load_demo(url: str) -> Demo:
    boards = list_all(url, LOCATION_PATH, "tensorboards", "tensorboards")
    assert len(boards) == 1
    tb = boards[0]["name"].rsplit("/", 1)[1]
    runs = []
    for experiment in EXPERIMENTS:
        parent = f"{LOCATION_PATH}/tensorboards/{tb}/experiments/{experiment}"
        for run in list_all(url, parent, "runs", "tensorboardRuns"):
            runs.append({
                "name": run["name"],
                "runsId": run["name"].rsplit("/", 1)[1],
                "experimentsId": experiment,
                "tensorboardsId": tb,
                "displayName": run["displayName"],
                "description": run.get("description", ""),
                "labels": run.get("labels", {}),
                "createTime": parse_time(run["createTime"]),
                "updateTime": parse_time(run["updateTime"]),
                "etag": run["etag"],
            })
    assert len(runs) == 360
    return Demo(url=url, tb=tb, runs=runs)


# -- fixtures -------------------------------------------------------------------------------


@dataclass
class Env:
    emu: Emulator
    demo: Demo
    push: Any  # connection with push-down on
    local: Any  # connection with push-down off
    spy_push: Spy
    spy_local: Spy


def connect(emu: Emulator, **options: Any) -> Any:
    return runs_dbapi.connect(endpoint=emu.url, anonymous=True, project=PROJECT,
                              location=LOCATION, **options)


@pytest.fixture(scope="module")
def env(module_emu: Emulator) -> Iterator[Env]:
    emu = module_emu
    push, local = connect(emu), connect(emu, pushdown=False)
    yield Env(emu, load_demo(emu.url), push, local, Spy(push), Spy(local))
    push.close()
    local.close()


def settle(emu: Emulator) -> None:
    """Wait until calls still in flight (a closed stream's last page) have reached the emulator,
    so that they are not counted for the next statement."""
    before = emu.stats()
    for _ in range(25):
        time.sleep(0.02)
        now = emu.stats()
        if now == before:
            return
        before = now


def fetch(connection: Any, sql: str, params: Any = None) -> list[Row]:
    cursor = connection.cursor()
    try:
        cursor.execute(sql, params)
        return [tuple(row) for row in cursor.fetchall()]
    finally:
        cursor.close()


def unordered(rows: list[Row]) -> list[Row]:
    return sorted(rows, key=repr)


# -- the corpus -----------------------------------------------------------------------------


@dataclass
class Case:
    id: str
    sql: str
    params: Callable[[Demo], Any] | None = None
    ordered: bool = False
    oracle: Callable[[Demo], list[Row]] | None = None
    rows: int | None = None  # expected row count, when there is no oracle
    # what push-down must do (checked on the push-down run)
    filter_has: tuple[str, ...] = ()  # substrings of the `filter` sent on every runs.list
    no_filter: bool = False  # no runs.list carries a filter
    order_by: str | None = None  # the `orderBy` sent on every runs.list
    page_size: int | None = None  # the `pageSize` sent on the first runs.list
    calls: dict[str, int] = field(default_factory=dict)  # exact emulator call counts
    fewer: bool = False  # the API sent back fewer runs than with push-down off


def where(d: Demo, predicate: Callable[[dict[str, Any]], bool], *columns: str) -> list[Row]:
    return [tuple(r[c] for c in columns) for r in d.runs if predicate(r)]


def label(run: dict[str, Any], key: str) -> str | None:
    value = run["labels"].get(key)
    return None if value is None else str(value)


def sorted_by(d: Demo, key: Callable[[dict[str, Any]], Any], predicate: Callable[..., bool],
              *columns: str, reverse: bool = False) -> list[Row]:
    runs = sorted((r for r in d.runs if predicate(r)), key=key, reverse=reverse)
    return [tuple(r[c] for c in columns) for r in runs]


def group_count(d: Demo, key: Callable[[dict[str, Any]], Any],
                predicate: Callable[[dict[str, Any]], bool] = lambda r: True) -> dict[Any, int]:
    counts: dict[Any, int] = {}
    for run in d.runs:
        if predicate(run):
            counts[key(run)] = counts.get(key(run), 0) + 1
    return counts


ONE_RUN_LIST = {"runs.list": 1, "runs.get": 0}

CASES = [
    # -- displayName -----------------------------------------------------------------------
    Case("name-eq",
         "SELECT runsId, displayName FROM runs WHERE experimentsId = 'bert-glue' "
         "AND displayName = ?",
         params=lambda d: (d.run("bert-glue", 7)["displayName"],),
         oracle=lambda d: [("bert-glue-0007", d.run("bert-glue", 7)["displayName"])],
         filter_has=('display_name = "bert-glue ',), calls=ONE_RUN_LIST, fewer=True),
    Case("name-neq",
         "SELECT runsId FROM runs WHERE experimentsId = 'bert-glue' AND displayName != ?",
         params=lambda d: (d.run("bert-glue", 7)["displayName"],),
         oracle=lambda d: where(d, lambda r: r["experimentsId"] == "bert-glue"
                                and r["runsId"] != "bert-glue-0007", "runsId"),
         filter_has=("display_name != ",), calls=ONE_RUN_LIST, fewer=True),
    Case("name-range",
         "SELECT runsId FROM runs WHERE displayName >= 'bert-glue adam ' "
         "AND displayName < 'bert-glue adamw'",
         oracle=lambda d: where(d, lambda r: "bert-glue adam " <= r["displayName"]
                                < "bert-glue adamw", "runsId"),
         filter_has=('display_name >= "bert-glue adam "', 'display_name < "bert-glue adamw"'),
         calls={"runs.list": 6}, fewer=True),
    Case("name-in",
         "SELECT runsId, displayName FROM runs WHERE displayName IN (?, ?, ?)",
         params=lambda d: (d.run("vit-finetune", 3)["displayName"],
                           d.run("ppo-atari", 60)["displayName"], "no such run"),
         oracle=lambda d: [("vit-finetune-0003", d.run("vit-finetune", 3)["displayName"]),
                           ("ppo-atari-0060", d.run("ppo-atari", 60)["displayName"])],
         filter_has=(') OR (display_name = ',), calls={"runs.list": 6}, fewer=True),
    Case("name-between",
         "SELECT runsId FROM runs WHERE experimentsId = 'resnet-sweep' "
         "AND displayName BETWEEN 'resnet-sweep l' AND 'resnet-sweep s'",
         oracle=lambda d: where(d, lambda r: r["experimentsId"] == "resnet-sweep"
                                and "resnet-sweep l" <= r["displayName"] <= "resnet-sweep s",
                                "runsId"),
         filter_has=('display_name >= "resnet-sweep l"', 'display_name <= "resnet-sweep s"'),
         calls=ONE_RUN_LIST, fewer=True),
    Case("name-like-local",
         "SELECT runsId FROM runs WHERE experimentsId = 'vit-finetune' "
         "AND displayName LIKE 'vit-finetune sgd%'",
         oracle=lambda d: where(d, lambda r: r["displayName"].startswith("vit-finetune sgd"),
                                "runsId"),
         no_filter=True, calls=ONE_RUN_LIST),
    Case("name-like-and-range",
         "SELECT runsId FROM runs WHERE displayName LIKE 'ppo%' "
         "AND displayName >= 'ppo-atari s'",
         oracle=lambda d: where(d, lambda r: r["displayName"].startswith("ppo")
                                and r["displayName"] >= "ppo-atari s", "runsId"),
         filter_has=('display_name >= "ppo-atari s"',), fewer=True),
    Case("name-not",
         "SELECT runsId FROM runs WHERE experimentsId = 't5-summarize' AND NOT (displayName = ?)",
         params=lambda d: (d.run("t5-summarize", 1)["displayName"],),
         rows=59, filter_has=('display_name != "t5-summarize ',), calls=ONE_RUN_LIST,
         fewer=True),
    Case("name-or",
         "SELECT runsId FROM runs WHERE (displayName = ? OR displayName = ?) "
         "AND experimentsId IN ('wavenet-tts', 'bert-glue')",
         params=lambda d: (d.run("wavenet-tts", 10)["displayName"],
                           d.run("bert-glue", 20)["displayName"]),
         oracle=lambda d: [("wavenet-tts-0010",), ("bert-glue-0020",)],
         filter_has=(') OR (display_name = ',), calls={"runs.list": 2, "experiments.list": 0},
         fewer=True),
    Case("name-or-unpushable",
         "SELECT runsId FROM runs WHERE experimentsId = 'bert-glue' "
         "AND (displayName = ? OR description LIKE '%of bert-glue' AND description LIKE '%7 %')",
         params=lambda d: (d.run("bert-glue", 1)["displayName"],),
         oracle=lambda d: [("bert-glue-0001",), ("bert-glue-0007",), ("bert-glue-0017",),
                           ("bert-glue-0027",), ("bert-glue-0037",), ("bert-glue-0047",),
                           ("bert-glue-0057",)],
         no_filter=True, calls=ONE_RUN_LIST),
    Case("nested-and-or-not",
         "SELECT runsId FROM runs WHERE experimentsId = 'bert-glue' AND "
         "(labels ->> '$.optimizer' = 'adam' OR NOT (labels ->> '$.status' = 'succeeded'))",
         oracle=lambda d: where(d, lambda r: r["experimentsId"] == "bert-glue" and (
             label(r, "optimizer") == "adam" or label(r, "status") != "succeeded"), "runsId"),
         filter_has=('labels.optimizer', 'labels.status'), calls=ONE_RUN_LIST, fewer=True),
    Case("name-not-between-not-in",
         "SELECT runsId FROM runs WHERE experimentsId = 'vit-finetune' "
         "AND displayName NOT BETWEEN 'vit-finetune adam' AND 'vit-finetune lamb' "
         "AND displayName NOT IN (?, ?)",
         params=lambda d: (d.run("vit-finetune", 1)["displayName"],
                           d.run("vit-finetune", 2)["displayName"]),
         oracle=lambda d: where(d, lambda r: r["experimentsId"] == "vit-finetune"
                                and not "vit-finetune adam" <= r["displayName"]
                                <= "vit-finetune lamb"
                                and r["runsId"] not in ("vit-finetune-0001", "vit-finetune-0002"),
                                "runsId"),
         filter_has=('display_name < "vit-finetune adam"', 'display_name != "vit-finetune '),
         calls=ONE_RUN_LIST, fewer=True),
    Case("qualified-quoted-and-upper-case-names",
         'SELECT r."runsId" FROM Google.AiPlatform.RUNS AS r WHERE r.EXPERIMENTSID = \'bert-glue\' '
         'AND r."displayName" >= ? AND DisplayName < ?',
         params=lambda d: ("bert-glue s", "bert-glue t"),
         oracle=lambda d: where(d, lambda r: r["experimentsId"] == "bert-glue"
                                and "bert-glue s" <= r["displayName"] < "bert-glue t", "runsId"),
         filter_has=('display_name >= "bert-glue s"', 'display_name < "bert-glue t"'),
         calls=ONE_RUN_LIST, fewer=True),
    Case("schema-qualified-columns",
         'SELECT aiplatform.runs."runsId", google.aiplatform.runs.displayName '
         "FROM google.aiplatform.runs WHERE aiplatform.runs.experimentsId = 'vit-finetune' "
         "AND google.aiplatform.runs.displayName >= 'vit-finetune s' "
         'ORDER BY aiplatform.runs."displayName" LIMIT 4',
         ordered=True,
         oracle=lambda d: sorted_by(d, lambda r: r["displayName"],
                                    lambda r: r["experimentsId"] == "vit-finetune"
                                    and r["displayName"] >= "vit-finetune s",
                                    "runsId", "displayName")[:4],
         filter_has=('display_name >= "vit-finetune s"',), order_by="display_name",
         page_size=4, calls=ONE_RUN_LIST, fewer=True),
    Case("path-or-is-local",
         "SELECT count(*) FROM runs WHERE experimentsId = 'bert-glue' "
         "OR experimentsId = 'ppo-atari'",
         oracle=lambda d: [(120,)], no_filter=True, calls={"runs.list": 6}),
    Case("path-contradiction",
         "SELECT count(*) FROM runs WHERE experimentsId = 'bert-glue' "
         "AND experimentsId = 'ppo-atari'",
         oracle=lambda d: [(0,)], calls={"runs.list": 0}),
    Case("path-like-is-local",
         "SELECT count(*) FROM runs WHERE runsId LIKE '%-005_' AND experimentsId = 'bert-glue'",
         oracle=lambda d: [(10,)], no_filter=True, calls=ONE_RUN_LIST),
    Case("number-literal-not-pushed",
         "SELECT count(*) FROM runs WHERE labels ->> '$.seed' = 471 "
         "OR CAST(labels ->> '$.seed' AS INTEGER) < 5",
         oracle=lambda d: [(sum(1 for r in d.runs if int(r["labels"]["seed"]) < 5),)],
         no_filter=True),
    Case("label-like-and-not-in",
         "SELECT runsId FROM runs WHERE experimentsId = 'resnet-sweep' "
         "AND labels ->> '$.lr' LIKE '%e-2' AND labels ->> '$.optimizer' NOT IN ('adam', 'sgd')",
         oracle=lambda d: where(d, lambda r: r["experimentsId"] == "resnet-sweep"
                                and r["labels"]["lr"].endswith("e-2")
                                and r["labels"]["optimizer"] not in ("adam", "sgd"), "runsId"),
         filter_has=('labels.optimizer != "adam"', 'labels.optimizer != "sgd"'),
         calls=ONE_RUN_LIST, fewer=True),
    Case("timestamp-against-text-is-local",
         "SELECT count(*) FROM runs WHERE createTime > 'not a time'",
         oracle=lambda d: [(0,)], no_filter=True),
    # -- timestamps ------------------------------------------------------------------------
    Case("create-after-iso",
         "SELECT runsId FROM runs WHERE createTime > '2024-01-01T00:00:00Z'",
         oracle=lambda d: where(d, lambda r: True, "runsId"),
         filter_has=('create_time > "2024-01-01T00:00:00.000000Z"',), calls={"runs.list": 6}),
    Case("create-before-iso",
         "SELECT runsId FROM runs WHERE createTime < '2024-06-30T12:00:00Z'",
         rows=0, filter_has=('create_time < "2024-06-30T12:00:00.000000Z"',), fewer=True),
    Case("update-between-iso",
         "SELECT runsId, updateTime FROM runs WHERE experimentsId = 'ppo-atari' "
         "AND updateTime BETWEEN '2024-01-01T00:00:00Z' AND '2099-12-31T23:59:59.5Z'",
         oracle=lambda d: where(d, lambda r: r["experimentsId"] == "ppo-atari",
                                "runsId", "updateTime"),
         filter_has=('update_time >= "2024-01-01T00:00:00.000000Z"',
                     'update_time <= "2099-12-31T23:59:59.500000Z"'), calls=ONE_RUN_LIST),
    Case("create-reversed-iso",
         "SELECT count(*) FROM runs WHERE '2024-03-01T08:30:00Z' < createTime "
         "AND experimentsId = 'vit-finetune'",
         oracle=lambda d: [(60,)], filter_has=('create_time > "2024-03-01T08:30:00.000000Z"',)),
    Case("create-ge-datetime-param",
         "SELECT runsId FROM runs WHERE createTime >= ?",
         params=lambda d: (d.min_time("bert-glue"),),
         oracle=lambda d: where(d, lambda r: r["createTime"] >= d.min_time("bert-glue"),
                                "runsId"),
         filter_has=("create_time >= ",), fewer=True),
    Case("create-range-datetime-params",
         "SELECT runsId, createTime FROM runs WHERE experimentsId = 'resnet-sweep' "
         "AND createTime > ? AND updateTime <= ?",
         params=lambda d: (d.run("resnet-sweep", 20)["createTime"],
                           d.run("resnet-sweep", 40)["updateTime"]),
         oracle=lambda d: where(d, lambda r: r["experimentsId"] == "resnet-sweep"
                                and r["createTime"] > d.run("resnet-sweep", 20)["createTime"]
                                and r["updateTime"] <= d.run("resnet-sweep", 40)["updateTime"],
                                "runsId", "createTime"),
         filter_has=("create_time > ", "update_time <= "), calls=ONE_RUN_LIST, fewer=True),
    Case("create-aware-non-utc-param",
         "SELECT runsId FROM runs WHERE experimentsId = 'wavenet-tts' AND createTime <= ?",
         params=lambda d: (d.run("wavenet-tts", 30)["createTime"].astimezone(
             timezone(timedelta(hours=2))),),
         oracle=lambda d: [(f"wavenet-tts-{i:04d}",) for i in range(1, 31)],
         filter_has=("create_time <= ",), calls=ONE_RUN_LIST, fewer=True),
    Case("create-eq-param",
         "SELECT runsId FROM runs WHERE createTime = ?",
         params=lambda d: (d.run("t5-summarize", 44)["createTime"],),
         oracle=lambda d: [("t5-summarize-0044",)], filter_has=("create_time = ",), fewer=True),
    Case("create-in-and-not-between-params",
         "SELECT runsId FROM runs WHERE experimentsId = 'bert-glue' "
         "AND (createTime IN (?, ?) OR updateTime NOT BETWEEN ? AND ?)",
         params=lambda d: (d.run("bert-glue", 30)["createTime"],
                           d.run("bert-glue", 31)["createTime"].isoformat(),
                           d.run("bert-glue", 3)["updateTime"],
                           d.run("bert-glue", 58)["updateTime"]),
         oracle=lambda d: [(f"bert-glue-{i:04d}",) for i in (1, 2, 30, 31, 59, 60)],
         filter_has=("create_time = ", "update_time < ", "update_time > "),
         calls=ONE_RUN_LIST, fewer=True),
    # -- labels ----------------------------------------------------------------------------
    Case("label-json-extract-eq",
         "SELECT runsId FROM runs WHERE json_extract(labels, '$.team') = 'nlp'",
         oracle=lambda d: where(d, lambda r: label(r, "team") == "nlp", "runsId"),
         filter_has=('labels.team = "nlp"',), calls={"runs.list": 6}, fewer=True),
    Case("label-arrow-eq",
         "SELECT runsId, labels ->> '$.optimizer' FROM runs "
         "WHERE labels ->> '$.optimizer' = 'sgd'",
         oracle=lambda d: [(r[0], "sgd") for r in where(
             d, lambda r: label(r, "optimizer") == "sgd", "runsId")],
         filter_has=('labels.optimizer = "sgd"',), fewer=True),
    Case("label-neq",
         "SELECT runsId FROM runs WHERE labels ->> '$.status' != 'succeeded'",
         oracle=lambda d: where(d, lambda r: label(r, "status") != "succeeded", "runsId"),
         filter_has=('labels.status != "succeeded"',), fewer=True),
    Case("label-in",
         "SELECT runsId FROM runs WHERE json_extract(labels, '$.lr') IN ('1e-1', '1e-2') "
         "AND experimentsId = 'resnet-sweep'",
         oracle=lambda d: where(d, lambda r: r["experimentsId"] == "resnet-sweep"
                                and label(r, "lr") in ("1e-1", "1e-2"), "runsId"),
         filter_has=('labels.lr = "1e-1"', 'labels.lr = "1e-2"'), calls=ONE_RUN_LIST,
         fewer=True),
    Case("label-lt",
         "SELECT runsId FROM runs WHERE labels ->> '$.seed' < '100'",
         oracle=lambda d: where(d, lambda r: (label(r, "seed") or "") < "100"
                                and label(r, "seed") is not None, "runsId"),
         filter_has=('labels.seed < "100"',), fewer=True),
    Case("label-not",
         "SELECT runsId FROM runs WHERE NOT (labels ->> '$.status' = 'failed') "
         "AND experimentsId = 'ppo-atari'",
         oracle=lambda d: where(d, lambda r: r["experimentsId"] == "ppo-atari"
                                and label(r, "status") != "failed", "runsId"),
         filter_has=("labels.status",), calls=ONE_RUN_LIST, fewer=True),
    Case("label-missing-key",
         "SELECT runsId FROM runs WHERE labels ->> '$.nokey' = 'x'",
         rows=0, filter_has=('labels.nokey = "x"',), fewer=True),
    Case("label-system-key-local",
         "SELECT runsId FROM runs "
         "WHERE labels ->> '$.\"aiplatform.googleapis.com/training_job_id\"' IS NOT NULL",
         oracle=lambda d: where(d, lambda r: "aiplatform.googleapis.com/training_job_id"
                                in r["labels"], "runsId"),
         rows=36, no_filter=True),
    # -- ORDER BY --------------------------------------------------------------------------
    Case("order-pushed",
         "SELECT runsId, displayName FROM runs WHERE experimentsId = 'resnet-sweep' "
         "ORDER BY displayName",
         ordered=True,
         oracle=lambda d: sorted_by(d, lambda r: r["displayName"],
                                    lambda r: r["experimentsId"] == "resnet-sweep",
                                    "runsId", "displayName"),
         order_by="display_name", calls=ONE_RUN_LIST),
    Case("order-pushed-desc",
         "SELECT runsId FROM runs WHERE experimentsId = 'vit-finetune' ORDER BY createTime DESC",
         ordered=True,
         oracle=lambda d: sorted_by(d, lambda r: r["createTime"],
                                    lambda r: r["experimentsId"] == "vit-finetune", "runsId",
                                    reverse=True),
         order_by="create_time desc", calls=ONE_RUN_LIST),
    Case("order-pushed-two-keys",
         "SELECT runsId FROM runs WHERE experimentsId = 'bert-glue' "
         "AND labels ->> '$.team' = 'nlp' ORDER BY updateTime DESC, displayName",
         ordered=True,
         oracle=lambda d: sorted_by(d, lambda r: r["updateTime"],
                                    lambda r: r["experimentsId"] == "bert-glue", "runsId",
                                    reverse=True),
         order_by="update_time desc, display_name", filter_has=('labels.team = "nlp"',)),
    Case("order-local-label",
         "SELECT runsId, labels ->> '$.seed' AS seed FROM runs WHERE experimentsId = 't5-summarize'"
         " ORDER BY CAST(labels ->> '$.seed' AS INTEGER), runsId",
         ordered=True,
         oracle=lambda d: [(r["runsId"], r["labels"]["seed"]) for r in sorted(
             d.of("t5-summarize"), key=lambda r: (int(r["labels"]["seed"]), r["runsId"]))],
         order_by=None, calls=ONE_RUN_LIST),
    Case("order-local-description",
         "SELECT description FROM runs WHERE experimentsId = 'ppo-atari' "
         "ORDER BY description DESC",
         ordered=True,
         oracle=lambda d: sorted_by(d, lambda r: r["description"],
                                    lambda r: r["experimentsId"] == "ppo-atari",
                                    "description", reverse=True)),
    Case("order-by-alias-shadowing-a-column",
         "SELECT description AS displayName, runsId FROM runs WHERE experimentsId = 'bert-glue' "
         "ORDER BY displayName DESC LIMIT 12",
         ordered=True,
         oracle=lambda d: sorted_by(d, lambda r: r["description"],
                                    lambda r: r["experimentsId"] == "bert-glue",
                                    "description", "runsId", reverse=True)[:12]),
    Case("order-fan-out",
         "SELECT runsId, displayName FROM runs ORDER BY displayName",
         ordered=True,
         oracle=lambda d: sorted_by(d, lambda r: r["displayName"], lambda r: True,
                                    "runsId", "displayName"),
         calls={"runs.list": 6}),
    Case("order-fan-out-limit",
         "SELECT runsId FROM runs WHERE experimentsId IN ('ppo-atari', 'bert-glue', "
         "'vit-finetune') ORDER BY displayName DESC LIMIT 15",
         ordered=True,
         oracle=lambda d: sorted_by(d, lambda r: r["displayName"], lambda r: r["experimentsId"]
                                    in ("ppo-atari", "bert-glue", "vit-finetune"), "runsId",
                                    reverse=True)[:15],
         order_by="display_name desc", page_size=15, calls={"runs.list": 3}, fewer=True),
    Case("order-by-list-parameter-differs-from-sql",
         "SELECT runsId FROM runs WHERE experimentsId = 'bert-glue' "
         "AND orderBy = 'display_name desc' ORDER BY createTime LIMIT 5",
         ordered=True,
         oracle=lambda d: [(f"bert-glue-{i:04d}",) for i in range(1, 6)],
         order_by="display_name desc"),
    Case("order-by-position-and-expression",
         "SELECT displayName, runsId FROM runs WHERE experimentsId = 'wavenet-tts' "
         "ORDER BY 1 DESC LIMIT 3",
         ordered=True,
         oracle=lambda d: sorted_by(d, lambda r: r["displayName"],
                                    lambda r: r["experimentsId"] == "wavenet-tts",
                                    "displayName", "runsId", reverse=True)[:3]),
    # -- LIMIT / OFFSET --------------------------------------------------------------------
    Case("limit-all-offset",
         "SELECT runsId FROM runs WHERE experimentsId = 't5-summarize' "
         "ORDER BY displayName LIMIT -1 OFFSET 55",
         ordered=True,
         oracle=lambda d: sorted_by(d, lambda r: r["displayName"],
                                    lambda r: r["experimentsId"] == "t5-summarize",
                                    "runsId")[55:]),
    Case("limit-pushed-predicates",
         "SELECT runsId FROM runs WHERE experimentsId = 'bert-glue' "
         "AND labels ->> '$.team' = 'nlp' ORDER BY displayName LIMIT 10",
         ordered=True,
         oracle=lambda d: sorted_by(d, lambda r: r["displayName"],
                                    lambda r: r["experimentsId"] == "bert-glue", "runsId")[:10],
         filter_has=('labels.team = "nlp"',), order_by="display_name", page_size=10,
         calls=ONE_RUN_LIST, fewer=True),
    Case("limit-no-predicate",
         "SELECT runsId FROM runs WHERE experimentsId = 'wavenet-tts' LIMIT 10",
         oracle=lambda d: [(f"wavenet-tts-{i:04d}",) for i in range(1, 11)],
         page_size=10, calls=ONE_RUN_LIST, fewer=True),
    Case("limit-offset-pushed-order",
         "SELECT runsId FROM runs WHERE experimentsId = 'resnet-sweep' "
         "ORDER BY createTime LIMIT 5 OFFSET 20",
         ordered=True,
         oracle=lambda d: [(f"resnet-sweep-{i:04d}",) for i in range(21, 26)],
         order_by="create_time", page_size=25, calls=ONE_RUN_LIST, fewer=True),
    Case("limit-offset-local-predicate",
         "SELECT runsId FROM runs WHERE experimentsId = 'bert-glue' "
         "AND description LIKE 'Trial 1%' ORDER BY displayName LIMIT 3 OFFSET 2",
         ordered=True,
         oracle=lambda d: sorted_by(d, lambda r: r["displayName"], lambda r: r["experimentsId"]
                                    == "bert-glue" and r["description"].startswith("Trial 1"),
                                    "runsId")[2:5],
         order_by="display_name", calls=ONE_RUN_LIST),
    Case("limit-offset-parameters",
         "SELECT runsId FROM runs WHERE experimentsId = 'ppo-atari' "
         "ORDER BY displayName LIMIT ? OFFSET ?",
         params=lambda d: (4, 6), ordered=True,
         oracle=lambda d: sorted_by(d, lambda r: r["displayName"],
                                    lambda r: r["experimentsId"] == "ppo-atari", "runsId")[6:10],
         order_by="display_name", page_size=10, calls=ONE_RUN_LIST, fewer=True),
    Case("limit-filter-fan-out",
         "SELECT runsId FROM runs WHERE labels ->> '$.optimizer' = 'lamb' "
         "ORDER BY displayName LIMIT 4",
         ordered=True,
         oracle=lambda d: sorted_by(d, lambda r: r["displayName"],
                                    lambda r: label(r, "optimizer") == "lamb", "runsId")[:4],
         filter_has=('labels.optimizer = "lamb"',), fewer=True),
    Case("offset-past-end",
         "SELECT runsId FROM runs WHERE experimentsId = 'bert-glue' "
         "ORDER BY displayName LIMIT 10 OFFSET 100",
         ordered=True, rows=0),
    Case("limit-zero",
         "SELECT runsId FROM runs WHERE experimentsId = 'bert-glue' LIMIT 0",
         rows=0),
    # -- joins -----------------------------------------------------------------------------
    Case("join-experiments-group",
         "SELECT e.description, count(*) FROM runs r JOIN experiments e "
         "ON r.experimentsId = e.experimentsId AND r.tensorboardsId = e.tensorboardsId "
         "GROUP BY e.description",
         oracle=lambda d: [(desc, 60) for desc in (
             "Learning-rate sweep of ResNet-50 on ImageNet", "ViT-B/16 fine-tuning on CIFAR-100",
             "BERT-base on the GLUE tasks", "T5-small summarisation on CNN/DailyMail",
             "WaveNet text-to-speech ablations", "PPO agents on Atari games")]),
    Case("join-tensorboards",
         "SELECT t.displayName, r.runsId FROM runs r JOIN tensorboards t "
         "ON t.tensorboardsId = r.tensorboardsId "
         "WHERE r.experimentsId = 't5-summarize' AND r.labels ->> '$.optimizer' = 'adam'",
         oracle=lambda d: [("demo", r[0]) for r in where(
             d, lambda r: r["experimentsId"] == "t5-summarize"
             and label(r, "optimizer") == "adam", "runsId")],
         filter_has=('labels.optimizer = "adam"',), calls={"runs.list": 1}, fewer=True),
    Case("join-three-way-filtered",
         "SELECT e.experimentsId, r.displayName FROM tensorboards t "
         "JOIN experiments e ON e.tensorboardsId = t.tensorboardsId "
         "JOIN runs r ON r.experimentsId = e.experimentsId AND r.tensorboardsId = t.tensorboardsId "
         "WHERE e.labels ->> '$.team' = 'vision' AND r.labels ->> '$.status' = 'failed' "
         "AND t.displayName = 'demo'",
         oracle=lambda d: where(d, lambda r: label(r, "team") == "vision"
                                and label(r, "status") == "failed",
                                "experimentsId", "displayName"),
         filter_has=('labels.status = "failed"',), fewer=True),
    Case("left-join-experiments-runs",
         "SELECT e.experimentsId, count(r.runsId) FROM experiments e LEFT JOIN runs r "
         "ON r.experimentsId = e.experimentsId AND r.labels ->> '$.lr' = '1e-1' "
         "GROUP BY e.experimentsId",
         oracle=lambda d: [(x, sum(1 for r in d.of(x) if label(r, "lr") == "1e-1"))
                           for x in EXPERIMENTS]),
    Case("self-join",
         "SELECT a.runsId, b.runsId FROM runs a JOIN runs b ON a.experimentsId = b.experimentsId "
         "AND a.labels ->> '$.seed' = b.labels ->> '$.seed' AND a.runsId < b.runsId "
         "WHERE a.experimentsId = 'resnet-sweep' AND b.experimentsId = 'resnet-sweep'",
         oracle=lambda d: [(x["runsId"], y["runsId"]) for x in d.of("resnet-sweep")
                           for y in d.of("resnet-sweep") if x["runsId"] < y["runsId"]
                           and x["labels"]["seed"] == y["labels"]["seed"]],
         calls={"runs.list": 2}),
    Case("experiments-pushdown",
         "SELECT experimentsId, description FROM experiments "
         "WHERE labels ->> '$.team' = 'nlp' AND displayName != 'bert-glue'",
         oracle=lambda d: [("t5-summarize", "T5-small summarisation on CNN/DailyMail")],
         calls={"experiments.list": 1, "runs.list": 0}),
    Case("page-mode-fan-out",
         "SELECT experimentsId, nextPageToken IS NULL, json_array_length(tensorboardRuns) "
         "FROM runs WHERE experimentsId IN ('bert-glue', 'ppo-atari') AND pageSize = '25' "
         "AND filter = 'labels.status = \"failed\"'",
         oracle=lambda d: [
             (x, i == len(sizes) - 1, size)
             for x in ("bert-glue", "ppo-atari")
             for sizes in [[25] * (n // 25) + ([n % 25] if n % 25 else [])
                           for n in [sum(1 for r in d.of(x) if label(r, "status") == "failed")]]
             for i, size in enumerate(sizes)],
         calls={"runs.list": 2}),
    # -- aggregates and windows ------------------------------------------------------------
    Case("group-by-experiment",
         "SELECT experimentsId, count(*), min(displayName), max(createTime) FROM runs "
         "GROUP BY experimentsId",
         oracle=lambda d: [(x, 60, min(r["displayName"] for r in d.of(x)),
                            max(r["createTime"] for r in d.of(x))) for x in EXPERIMENTS]),
    Case("group-having",
         "SELECT labels ->> '$.optimizer' AS optimizer, count(*) AS n FROM runs "
         "GROUP BY labels ->> '$.optimizer' HAVING count(*) > 80 ORDER BY n DESC, optimizer",
         ordered=True,
         oracle=lambda d: sorted(((k, n) for k, n in group_count(
             d, lambda r: label(r, "optimizer")).items() if n > 80),
             key=lambda kv: (-kv[1], kv[0]))),
    Case("count-distinct",
         "SELECT count(DISTINCT labels ->> '$.lr'), count(DISTINCT experimentsId), count(*) "
         "FROM runs WHERE labels ->> '$.team' = 'vision'",
         oracle=lambda d: [(5, 2, 120)], filter_has=('labels.team = "vision"',), fewer=True),
    Case("window-row-number",
         "SELECT experimentsId, runsId FROM (SELECT experimentsId, runsId, row_number() OVER "
         "(PARTITION BY experimentsId ORDER BY displayName) AS rn FROM runs) WHERE rn <= 2",
         oracle=lambda d: [(x, r["runsId"]) for x in EXPERIMENTS
                           for r in sorted(d.of(x), key=lambda r: r["displayName"])[:2]]),
    Case("window-count-over",
         "SELECT runsId, count(*) OVER (PARTITION BY labels ->> '$.status') AS same_status "
         "FROM runs WHERE experimentsId = 'wavenet-tts'",
         oracle=lambda d: [(r["runsId"], sum(1 for o in d.of("wavenet-tts")
                                             if label(o, "status") == label(r, "status")))
                           for r in d.of("wavenet-tts")],
         calls=ONE_RUN_LIST),
    # -- subqueries and CTEs ---------------------------------------------------------------
    Case("superset-virtual-table",
         "SELECT displayName AS displayName FROM (SELECT * FROM runs "
         "WHERE experimentsId = 'wavenet-tts') AS virtual_table LIMIT 10",
         oracle=lambda d: [(r["displayName"],) for r in d.of("wavenet-tts")[:10]]),
    Case("superset-virtual-table-aggregate",
         "SELECT team AS team, count(*) AS count FROM (SELECT labels ->> '$.team' AS team "
         "FROM runs) AS virtual_table GROUP BY team ORDER BY count DESC, team LIMIT 1000",
         ordered=True,
         oracle=lambda d: [("nlp", 120), ("vision", 120), ("rl", 60), ("speech", 60)]),
    Case("superset-virtual-table-grouped-inside",
         "SELECT * FROM (SELECT labels ->> '$.team' AS team, count(*) AS n FROM runs "
         "GROUP BY team) AS virtual_table LIMIT 100",
         oracle=lambda d: [("nlp", 120), ("vision", 120), ("rl", 60), ("speech", 60)]),
    Case("superset-virtual-table-count-inside",
         "SELECT n FROM (SELECT count(*) AS n FROM runs) AS virtual_table",
         oracle=lambda d: [(360,)]),
    Case("superset-virtual-table-distinct-inside",
         "SELECT lr FROM (SELECT DISTINCT labels ->> '$.lr' AS lr FROM runs) AS virtual_table "
         "LIMIT 50",
         oracle=lambda d: [("1e-1",), ("3e-2",), ("1e-2",), ("3e-3",), ("1e-3",)]),
    Case("superset-virtual-table-filtered-outside",
         "SELECT runsId FROM (SELECT runsId, labels ->> '$.status' AS status FROM runs) "
         "AS virtual_table WHERE status = 'failed' LIMIT 500",
         oracle=lambda d: where(d, lambda r: label(r, "status") == "failed", "runsId")),
    Case("superset-virtual-table-limited-inside",
         "SELECT runsId FROM (SELECT runsId, displayName FROM runs "
         "WHERE experimentsId = 'bert-glue' ORDER BY displayName LIMIT 5) AS virtual_table "
         "WHERE runsId != 'bert-glue-0001' LIMIT 1000",
         oracle=lambda d: [r for r in sorted_by(d, lambda r: r["displayName"],
                                                lambda r: r["experimentsId"] == "bert-glue",
                                                "runsId")[:5] if r != ("bert-glue-0001",)]),
    Case("in-subquery",
         "SELECT runsId FROM runs WHERE experimentsId IN "
         "(SELECT experimentsId FROM experiments WHERE labels ->> '$.team' = 'speech')",
         oracle=lambda d: where(d, lambda r: r["experimentsId"] == "wavenet-tts", "runsId")),
    Case("scalar-subquery",
         "SELECT r.runsId, (SELECT count(*) FROM runs r2 WHERE r2.experimentsId = r.experimentsId "
         "AND r2.labels ->> '$.optimizer' = r.labels ->> '$.optimizer') AS peers "
         "FROM runs r WHERE r.experimentsId = 'bert-glue' AND r.displayName LIKE '%#1_'",
         oracle=lambda d: [(r["runsId"], sum(1 for o in d.of("bert-glue")
                                             if label(o, "optimizer") == label(r, "optimizer")))
                           for r in d.of("bert-glue") if 10 <= int(r["runsId"][-4:]) <= 19]),
    Case("exists",
         "SELECT e.experimentsId FROM experiments e WHERE EXISTS (SELECT 1 FROM runs r "
         "WHERE r.experimentsId = e.experimentsId AND r.labels ->> '$.seed' = '0')",
         oracle=lambda d: sorted({(r["experimentsId"],) for r in d.runs
                                  if label(r, "seed") == "0"})),
    Case("cte",
         "WITH adam AS (SELECT * FROM runs WHERE labels ->> '$.optimizer' = 'adam') "
         "SELECT experimentsId, count(*) FROM adam GROUP BY 1",
         oracle=lambda d: list(group_count(
             d, lambda r: r["experimentsId"], lambda r: label(r, "optimizer") == "adam").items()),
         filter_has=('labels.optimizer = "adam"',), fewer=True),
    Case("cte-twice",
         "WITH failed AS (SELECT runsId, experimentsId FROM runs "
         "WHERE labels ->> '$.status' = 'failed'), per AS (SELECT experimentsId, count(*) AS n "
         "FROM failed GROUP BY experimentsId) SELECT f.runsId, p.n FROM failed f "
         "JOIN per p USING (experimentsId) WHERE p.n >= 14",
         oracle=lambda d: [
             (r["runsId"], n) for r in d.runs if label(r, "status") == "failed"
             for x, n in group_count(d, lambda o: o["experimentsId"],
                                     lambda o: label(o, "status") == "failed").items()
             if x == r["experimentsId"] and n >= 14]),
    Case("union-all",
         "SELECT runsId FROM runs WHERE experimentsId = 'bert-glue' AND displayName = ? "
         "UNION ALL SELECT runsId FROM runs WHERE experimentsId = 'ppo-atari' AND displayName = ?",
         params=lambda d: (d.run("bert-glue", 2)["displayName"],
                           d.run("ppo-atari", 3)["displayName"]),
         oracle=lambda d: [("bert-glue-0002",), ("ppo-atari-0003",)],
         filter_has=("display_name = ",), calls={"runs.list": 2}, fewer=True),
    Case("distinct",
         "SELECT DISTINCT labels ->> '$.team' FROM runs",
         oracle=lambda d: [("vision",), ("nlp",), ("speech",), ("rl",)]),
    Case("case",
         "SELECT runsId, CASE WHEN labels ->> '$.status' = 'failed' THEN 'bad' "
         "WHEN labels ->> '$.status' = 'running' THEN 'pending' ELSE 'good' END AS verdict "
         "FROM runs WHERE experimentsId = 'vit-finetune'",
         oracle=lambda d: [(r["runsId"], {"failed": "bad", "running": "pending"}.get(
             label(r, "status") or "", "good")) for r in d.of("vit-finetune")]),
    # -- fan-out ---------------------------------------------------------------------------
    Case("fan-out-everything",
         "SELECT count(*) FROM runs",
         oracle=lambda d: [(360,)],
         calls={"tensorboards.list": 1, "experiments.list": 1, "runs.list": 6}),
    Case("fan-out-experiments-in",
         "SELECT experimentsId, count(*) FROM runs "
         "WHERE experimentsId IN ('bert-glue', 'ppo-atari') GROUP BY experimentsId",
         oracle=lambda d: [("bert-glue", 60), ("ppo-atari", 60)],
         calls={"tensorboards.list": 1, "experiments.list": 0, "runs.list": 2}),
    Case("fan-out-explicit-tensorboard",
         "SELECT count(*) FROM runs WHERE tensorboardsId = ? AND projectsId = 'demo-project' "
         "AND locationsId = 'us-central1'",
         params=lambda d: (d.tb,), oracle=lambda d: [(360,)],
         calls={"tensorboards.list": 0, "experiments.list": 1, "runs.list": 6}),
    Case("get-by-key",
         "SELECT runsId, displayName FROM runs WHERE tensorboardsId = ? "
         "AND experimentsId = 'bert-glue' AND runsId = 'bert-glue-0042'",
         params=lambda d: (d.tb,),
         oracle=lambda d: [("bert-glue-0042", d.run("bert-glue", 42)["displayName"])],
         calls={"runs.get": 1, "runs.list": 0, "tensorboards.list": 0}, fewer=True),
    Case("get-by-keys-in",
         "SELECT runsId FROM runs WHERE tensorboardsId = ? AND experimentsId = 'bert-glue' "
         "AND runsId IN ('bert-glue-0001', 'bert-glue-0059', 'bert-glue-9999')",
         params=lambda d: (d.tb,),
         oracle=lambda d: [("bert-glue-0001",), ("bert-glue-0059",)],
         calls={"runs.get": 3, "runs.list": 0}, fewer=True),
    Case("get-by-name",
         "SELECT runsId, displayName FROM runs WHERE name = ?",
         params=lambda d: (d.run("t5-summarize", 8)["name"],),
         oracle=lambda d: [("t5-summarize-0008", d.run("t5-summarize", 8)["displayName"])],
         calls={"runs.get": 1, "runs.list": 0, "tensorboards.list": 0,
                "experiments.list": 0}, fewer=True),
    # Issue 11: a name written with the project ID means the same run as the API's name (which
    # carries the project number).
    Case("name-with-project-id-finds-the-run",
         "SELECT count(*) FROM runs WHERE name = ?",
         params=lambda d: (d.run("t5-summarize", 8)["name"].replace(
             d.run("t5-summarize", 8)["name"].split("/")[1], PROJECT),),
         oracle=lambda d: [(1,)]),
    Case("name-with-another-project-is-not-the-run",
         "SELECT count(*) FROM runs WHERE name = ?",
         params=lambda d: (d.run("t5-summarize", 8)["name"].replace(
             d.run("t5-summarize", 8)["name"].split("/")[1], "another-project"),),
         oracle=lambda d: [(0,)]),
    # -- no table --------------------------------------------------------------------------
    Case("from-less", "SELECT 1", oracle=lambda d: [(1,)], calls={"runs.list": 0}),
    Case("from-less-parameters", "SELECT CAST(? AS INTEGER) / ?",
         params=lambda d: ("7", 2), oracle=lambda d: [(3,)], calls={"runs.list": 0}),
]


def test_corpus_is_large_enough() -> None:
    assert len(CASES) >= 50
    assert len({c.id for c in CASES}) == len(CASES)


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_corpus(env: Env, case: Case) -> None:
    sql = case.sql
    params = case.params(env.demo) if case.params else None

    settle(env.emu)
    env.emu.reset_stats()
    env.spy_push.reset()
    pushed = fetch(env.push, sql, params)
    stats = env.emu.stats()["calls"]
    pushed_calls = list(env.spy_push.calls)

    env.spy_local.reset()
    local = fetch(env.local, sql, params)

    if case.ordered:
        assert pushed == local
    else:
        assert unordered(pushed) == unordered(local)
    if case.oracle is not None:
        expected = case.oracle(env.demo)
        assert (pushed if case.ordered else unordered(pushed)) == (
            expected if case.ordered else unordered(expected))
    if case.rows is not None:
        assert len(pushed) == case.rows

    # Push-down off: nothing but the URL path (and the seed's list parameters) comes from the
    # statement.
    for call in env.spy_local.run_lists():
        if not any(f"{name} =" in sql for name in ("orderBy", "filter", "pageSize")):
            assert "filter" not in call.params and "orderBy" not in call.params, call
            assert call.params.get("pageSize") == "1000", call

    run_lists = [c for c in pushed_calls if c.status == 200 and c.method == "GET"
                 and c.path.endswith("/runs")]
    for needle in case.filter_has:
        assert run_lists, "no runs.list call was made"
        for call in run_lists:
            assert needle in call.params.get("filter", ""), (needle, call.params)
    if case.no_filter:
        assert all("filter" not in c.params for c in run_lists), run_lists
    if case.order_by is not None:
        assert run_lists
        assert all(c.params.get("orderBy") == case.order_by for c in run_lists), run_lists
    if case.page_size is not None:
        assert run_lists and run_lists[0].params.get("pageSize") == str(case.page_size)
    for method, count in case.calls.items():
        assert stats.get(method, 0) == count, (method, stats)
    if case.fewer:
        assert env.spy_push.fetched() < env.spy_local.fetched()


# -- paging arithmetic, LIMIT, gets by key ----------------------------------------------------


def make_runs(url: str, experiment_path: str, count: int, *,
              labels: Callable[[int], dict[str, str]] | None = None) -> int:
    """Create `count` runs in batches of 1000 over HTTP; returns the batchCreate calls made."""
    calls = 0
    for start in range(0, count, 1000):
        batch = [{
            "parent": experiment_path,
            "tensorboardRunId": f"run-{i:05d}",
            "tensorboardRun": {"displayName": f"run {i:05d}", "description": f"bulk {i}",
                               "labels": labels(i) if labels else {"parity": str(i % 2)}},
        } for i in range(start, min(count, start + 1000))]
        response = requests.post(f"{url}/v1/{experiment_path}/runs:batchCreate",
                                 json={"requests": batch}, timeout=60)
        assert response.status_code == 200, response.text
        calls += 1
    return calls


def make_experiment(url: str, tb: str, experiment: str) -> str:
    parent = f"{LOCATION_PATH}/tensorboards/{tb}"
    response = requests.post(f"{url}/v1/{parent}/experiments",
                             params={"tensorboardExperimentId": experiment},
                             json={"displayName": experiment}, timeout=30)
    assert response.status_code == 200, response.text
    return f"{parent}/experiments/{experiment}"


@dataclass
class Bulk:
    emu: Emulator
    tb: str
    sizes: dict[str, int]


@pytest.fixture(scope="module")
def bulk() -> Iterator[Bulk]:
    """A second demo emulator with big experiments next to the demo ones."""
    with Emulator(demo=True) as emu:
        tb = load_demo(emu.url).tb
        sizes = {"bulk-1000": 1000, "bulk-2500": 2500, "faulty-5000": 5000}
        for experiment, count in sizes.items():
            path = make_experiment(emu.url, tb, experiment)
            assert make_runs(emu.url, path, count) == math.ceil(count / 1000)
        mixed = make_experiment(emu.url, tb, "mixed")
        # Runs with an even number have a `tier` label, odd ones have none.
        make_runs(emu.url, mixed, 40,
                  labels=lambda i: {"tier": "gold" if i % 4 == 0 else "silver"}
                  if i % 2 == 0 else {})
        yield Bulk(emu, tb, sizes)


@pytest.mark.parametrize("experiment", ["bulk-1000", "bulk-2500"])
@pytest.mark.parametrize("sql", [
    "SELECT count(*) FROM runs WHERE experimentsId = ?",
    "SELECT * FROM runs WHERE experimentsId = ?",
])
def test_listing_takes_ceil_n_over_1000_calls(bulk: Bulk, experiment: str, sql: str) -> None:
    count = bulk.sizes[experiment]
    with connect(bulk.emu, tensorboard=bulk.tb) as con:
        settle(bulk.emu)
        bulk.emu.reset_stats()
        rows = fetch(con, sql, (experiment,))
        assert bulk.emu.calls("runs.list") == math.ceil(count / 1000)
    if sql.startswith("SELECT count"):
        assert rows == [(count,)]
    else:
        assert len(rows) == count
        names = [row[0] for row in rows]
        assert len(set(names)) == count
        assert names[0].endswith("/runs/run-00000")


def test_limit_with_pushed_predicates_makes_one_call_of_that_page_size(bulk: Bulk) -> None:
    with connect(bulk.emu, tensorboard=bulk.tb) as con:
        spy = Spy(con)
        settle(bulk.emu)
        bulk.emu.reset_stats()
        rows = fetch(con, "SELECT runsId, labels FROM runs WHERE experimentsId = 'bulk-2500' "
                          "AND labels ->> '$.parity' = '1' AND displayName >= 'run 01000' "
                          "LIMIT 10")
        assert bulk.emu.calls("runs.list") == 1
        assert bulk.emu.calls("runs.get") == 0
        (call,) = spy.run_lists()
        assert call.params["pageSize"] == "10"
        assert call.items == 10
        assert 'labels.parity = "1"' in call.params["filter"]
    assert [r[0] for r in rows] == [f"run-{i:05d}" for i in range(1001, 1021, 2)]
    assert all(r[1] == {"parity": "1"} for r in rows)


def test_limit_is_exact_when_the_api_filter_is_looser_than_sql(bulk: Bulk) -> None:
    """`labels.tier < "h"` matches runs without the key in AIP-160 (missing reads as ""),
    while SQL drops them (NULL): LIMIT must still return as many rows as SQL has."""
    sql = ("SELECT runsId FROM runs WHERE experimentsId = 'mixed' "
           "AND labels ->> '$.tier' < 'h' ORDER BY displayName LIMIT 5")
    with connect(bulk.emu, tensorboard=bulk.tb) as on, \
            connect(bulk.emu, tensorboard=bulk.tb, pushdown=False) as off:
        assert fetch(on, sql) == fetch(off, sql) == [
            (f"run-{i:05d}",) for i in (0, 4, 8, 12, 16)]
        negated = ("SELECT runsId FROM runs WHERE experimentsId = 'mixed' "
                   "AND NOT (labels ->> '$.tier' = 'silver') ORDER BY displayName LIMIT 3")
        assert fetch(on, negated) == fetch(off, negated) == [
            ("run-00000",), ("run-00004",), ("run-00008",)]


def test_label_guards_keep_sql_null_semantics_inside_or_and_not(bulk: Bulk) -> None:
    """A missing label key is NULL in SQL: `NULL OR TRUE` keeps the row, `NOT NULL` drops it."""
    cases = {
        "labels ->> '$.tier' != 'gold' OR displayName = 'run 00001'":
            [i for i in range(40) if i % 4 == 2] + [1],
        "NOT (labels ->> '$.tier' = 'gold' OR labels ->> '$.tier' < 'h')":
            [i for i in range(40) if i % 4 == 2],
        "NOT (labels ->> '$.tier' IN ('gold', 'bronze')) OR displayName = 'run 00003'":
            [i for i in range(40) if i % 4 == 2] + [3],
        "labels ->> '$.tier' >= '' AND NOT labels ->> '$.tier' BETWEEN 'a' AND 'h'":
            [i for i in range(40) if i % 4 == 2],
    }
    with connect(bulk.emu, tensorboard=bulk.tb) as on, \
            connect(bulk.emu, tensorboard=bulk.tb, pushdown=False) as off:
        spy = Spy(on)
        for predicate, numbers in cases.items():
            sql = (f"SELECT runsId FROM runs WHERE experimentsId = 'mixed' AND ({predicate}) "
                   "ORDER BY runsId")
            expected = [(f"run-{i:05d}",) for i in sorted(numbers)]
            spy.reset()
            assert fetch(on, sql) == expected, predicate
            assert fetch(off, sql) == expected, predicate
            (call,) = spy.run_lists()
            assert "labels.tier" in call.params.get("filter", ""), predicate
            assert call.items == len(expected), predicate  # the filter is exact


def test_missing_parents_select_no_rows() -> None:
    """A fan-out over tensorboards only some of which hold the experiment named, or a parent
    that does not exist, selects no rows from it (as a get of a missing run does): no error."""
    with Emulator(demo=True) as emu:
        made = requests.post(f"{emu.url}/v1/{LOCATION_PATH}/tensorboards",
                             json={"displayName": "second"}, timeout=30)
        assert made.status_code == 200, made.text
        queries = {
            "SELECT count(*) FROM runs WHERE experimentsId = 'bert-glue'": [(60,)],
            "SELECT count(*) FROM runs WHERE experimentsId IN ('bert-glue', 'nope')": [(60,)],
            "SELECT count(*) FROM runs WHERE tensorboardsId = '999'": [(0,)],
            "SELECT count(*) FROM runs WHERE tensorboardsId = '999' "
            "AND experimentsId = 'bert-glue'": [(0,)],
            "SELECT nextPageToken FROM runs WHERE experimentsId = 'nope' "
            "AND pageSize = '5'": [],
            "SELECT count(*) FROM experiments WHERE tensorboardsId = '999'": [(0,)],
            "SELECT count(*) FROM runs": [(360,)],
        }
        for pushdown in (True, False):
            with connect(emu, pushdown=pushdown) as con:
                for sql, expected in queries.items():
                    assert fetch(con, sql) == expected, (sql, pushdown)
        # Other errors still surface.
        with connect(emu) as con, pytest.raises(runs_dbapi.ProgrammingError) as caught:
            fetch(con, "SELECT count(*) FROM runs WHERE experimentsId = 'bert-glue' "
                       "AND filter = 'bogus_field = 1'")
        assert caught.value.rpc_status == "INVALID_ARGUMENT"


def test_get_by_key_is_one_get_and_no_list(env: Env) -> None:
    settle(env.emu)
    env.emu.reset_stats()
    rows = fetch(env.push, "SELECT name, displayName FROM runs WHERE projectsId = 'demo-project' "
                           "AND locationsId = 'us-central1' AND tensorboardsId = ? "
                           "AND experimentsId = 'ppo-atari' AND runsId = 'ppo-atari-0009'",
                 (env.demo.tb,))
    stats = env.emu.stats()["calls"]
    assert stats.get("runs.get") == 1
    assert stats.get("runs.list", 0) == 0
    assert stats.get("tensorboards.list", 0) == stats.get("experiments.list", 0) == 0
    run = env.demo.run("ppo-atari", 9)
    assert rows == [(run["name"], run["displayName"])]


def test_missing_run_by_key_is_zero_rows(env: Env) -> None:
    settle(env.emu)
    env.emu.reset_stats()
    cursor = env.push.cursor()
    cursor.execute("SELECT name, labels FROM runs WHERE tensorboardsId = ? "
                   "AND experimentsId = 'ppo-atari' AND runsId = 'no-such-run'", (env.demo.tb,))
    assert cursor.fetchall() == []
    assert [d[0] for d in cursor.description] == ["name", "labels"]
    assert env.emu.calls("runs.get") == 1
    assert env.emu.calls("runs.list") == 0


def test_values_are_typed(env: Env) -> None:
    cursor = env.push.cursor()
    cursor.execute("SELECT name, createTime, updateTime, labels, displayName, description, "
                   "etag, runsId FROM runs WHERE experimentsId = 'bert-glue' ORDER BY displayName")
    rows = cursor.fetchall()
    assert len(rows) == 60
    by_id = {r["runsId"]: r for r in env.demo.of("bert-glue")}
    for name, created, updated, labels, display, description, etag, run_id in rows:
        expected = by_id[run_id]
        for moment in (created, updated):
            assert isinstance(moment, datetime)
            assert moment.tzinfo is not None
            assert moment.utcoffset() == timedelta(0)
        assert created == expected["createTime"]
        assert updated == expected["updateTime"]
        assert isinstance(labels, dict)
        assert labels == expected["labels"]
        assert (name, display, description, etag) == (
            expected["name"], expected["displayName"], expected["description"], expected["etag"])
    codes = {d[0]: d[1] for d in cursor.description}
    assert codes["createTime"] == runs_dbapi.DATETIME
    assert codes["updateTime"] == runs_dbapi.DATETIME
    for column in ("name", "displayName", "description", "etag", "runsId", "labels"):
        assert codes[column] == runs_dbapi.STRING, column
    assert codes["name"] != runs_dbapi.DATETIME
    assert codes["createTime"] != runs_dbapi.STRING
    # Computed timestamp columns come back as datetimes too.
    cursor.execute("SELECT max(createTime) AS newest FROM runs WHERE experimentsId = 'bert-glue'")
    ((newest,),) = cursor.fetchall()
    assert newest == max(r["createTime"] for r in env.demo.of("bert-glue"))


def test_missing_project_names_projectsid_and_how_to_supply_it(env: Env) -> None:
    with runs_dbapi.connect(endpoint=env.emu.url, anonymous=True, location=LOCATION) as con:
        cursor = con.cursor()
        with pytest.raises(runs_dbapi.ProgrammingError) as caught:
            cursor.execute("SELECT name FROM runs")
        message = str(caught.value)
        assert "projectsId" in message
        assert "project=" in message
        assert "WHERE" in message
        # Supplying it in the WHERE clause works.
        cursor.execute("SELECT count(*) FROM runs WHERE projectsId = 'demo-project'")
        assert cursor.fetchall() == [(360,)]


@pytest.mark.parametrize("sql", [
    "SELECT nope FROM runs",  # streamed
    "SELECT nope, count(*) FROM runs GROUP BY 1",  # evaluated once everything is fetched
    "SELECT r.displayName FROM runs r JOIN experiments e ON r.nope = e.experimentsId",
    "SELECT no_such_function(displayName) FROM runs",
])
def test_a_mistake_in_the_sql_is_reported_before_any_call(env: Env, sql: str) -> None:
    settle(env.emu)
    env.emu.reset_stats()
    with pytest.raises(runs_dbapi.ProgrammingError) as caught:
        fetch(env.push, sql)
    assert "no such" in str(caught.value)
    assert env.emu.stats()["calls"] == {}


def test_unknown_table_lists_the_tables(env: Env) -> None:
    cursor = env.push.cursor()
    with pytest.raises(runs_dbapi.ProgrammingError) as caught:
        cursor.execute("SELECT * FROM google.aiplatform.walks")
    message = str(caught.value)
    assert "walks" in message
    for table in ("runs", "experiments", "tensorboards"):
        assert table in message


def test_faults_do_not_change_the_answer(bulk: Bulk) -> None:
    queries = [
        "SELECT runsId, displayName, labels, createTime FROM runs "
        "WHERE experimentsId = 'faulty-5000' ORDER BY runsId",
        "SELECT labels ->> '$.parity', count(*) FROM runs WHERE experimentsId = 'faulty-5000' "
        "GROUP BY 1 ORDER BY 1",
        "SELECT experimentsId, count(*) FROM runs GROUP BY 1 ORDER BY 1",
    ]
    retry = RetryPolicy(initial_backoff=0.005, max_backoff=0.05, max_attempts=10)
    with connect(bulk.emu, tensorboard=bulk.tb, retry=retry) as con:
        bulk.emu.set_faults(None)
        clean = [fetch(con, sql) for sql in queries]
        assert len(clean[0]) == 5000
        assert clean[1] == [("0", 2500), ("1", 2500)]
        settle(bulk.emu)
        bulk.emu.reset_stats()
        bulk.emu.set_faults(FaultPlan(rate=0.2, kinds=("429", "503"), seed=3, retry_after=0))
        try:
            faulty = [fetch(con, sql) for sql in queries]
        finally:
            bulk.emu.set_faults(None)
        stats = bulk.emu.stats()
    assert sum(stats["faults"].values()) > 0, stats
    assert set(stats["faults"]) <= {"429", "503"}
    assert faulty == clean


def test_page_size_sent_repeats_on_every_page(bulk: Bulk) -> None:
    """The seed's pageSize parameter is sent as given on every page of a listing."""
    with connect(bulk.emu, tensorboard=bulk.tb) as con:
        spy = Spy(con)
        rows = fetch(con, "SELECT count(*) FROM runs WHERE experimentsId = 'bulk-1000' "
                          "AND pageSize = '300'")
        assert rows == [(1000,)]
        calls = spy.run_lists()
        assert [c.params["pageSize"] for c in calls] == ["300"] * 4
        assert [c.items for c in calls] == [300, 300, 300, 100]
        assert json.dumps(calls[0].params).count("pageToken") == 0
        assert all("pageToken" in c.params for c in calls[1:])


# -- push-down exactness (what lets LIMIT go to the API) -----------------------------------------

_FIELDS = {
    "display_name": Field("displayName", "string"),
    "create_time": Field("createTime", "timestamp"),
    "update_time": Field("updateTime", "timestamp"),
    "labels": Field("labels", "map"),
}
_BASE = datetime(2024, 1, 1, tzinfo=timezone.utc)
_NAMES = ["a", "b", "a*b", "m", 'q"x', "z\\y", ""]
_TEAMS = [None, "nlp", "vision", ""]
_SAMPLE_RUNS = [(name, day, team) for name in _NAMES for day in range(3) for team in _TEAMS]


def _quote(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


_comparators = st.sampled_from(["=", "!=", "<", "<=", ">", ">="])
_values = st.sampled_from(_NAMES)


@st.composite
def _predicates(draw: st.DrawFn, depth: int = 0) -> str:
    kind = draw(st.integers(0, 7 if depth < 2 else 3))
    if kind == 0:
        return f"displayName {draw(_comparators)} {_quote(draw(_values))}"
    if kind == 1:
        moment = _BASE + timedelta(days=draw(st.integers(0, 2)), hours=draw(st.integers(-1, 1)))
        return f"createTime {draw(_comparators)} '{moment.isoformat()}'"
    if kind == 2:
        team = draw(st.sampled_from(["nlp", "vision", "", "m"]))
        key = draw(st.sampled_from(["json_extract(labels, '$.team')", "labels ->> '$.team'"]))
        return f"{key} {draw(_comparators)} {_quote(team)}"
    if kind == 3:
        low, high = sorted(draw(st.lists(_values, min_size=2, max_size=2)))
        subject = draw(st.sampled_from(["displayName", "labels ->> '$.team'"]))
        return f"{subject} {draw(st.sampled_from(['', 'NOT ']))}BETWEEN {_quote(low)} AND " \
               f"{_quote(high)}"
    if kind == 4:
        subject = draw(st.sampled_from(["displayName", "labels ->> '$.team'"]))
        items = ", ".join(_quote(v) for v in draw(st.lists(_values, min_size=1, max_size=3)))
        return f"{subject} {draw(st.sampled_from(['', 'NOT ']))}IN ({items})"
    if kind == 5:
        return f"NOT ({draw(_predicates(depth + 1))})"
    joiner = "AND" if kind == 6 else "OR"
    return f"({draw(_predicates(depth + 1))} {joiner} {draw(_predicates(depth + 1))})"


@settings(max_examples=250, deadline=None)
@given(predicate=_predicates())
def test_an_exact_pushed_filter_keeps_exactly_the_rows_sql_keeps(predicate: str) -> None:
    """When push-down calls a filter exact, the API returns exactly the rows where the SQL
    predicate is TRUE (and, negated, FALSE): a missing label key (NULL) matches neither."""
    tree = parse(f"SELECT * FROM runs WHERE {predicate}")
    where_node = tree.args["where"].this
    translator = Translator(RUNS, "runs", only_source=True)
    database = sqlite3.connect(":memory:")
    plan_sql = plan_query(tree, {"projectsId": "p", "locationsId": "l"}).sql
    local_predicate = parse(plan_sql).args["where"].this.sql(dialect="sqlite")
    for negated in (False, True):
        translated = translator.translate(where_node, negated)
        if translated is None or not translated[1]:
            continue
        node = parse_filter(translated[0])
        for name, day, team in _SAMPLE_RUNS:
            created = _BASE + timedelta(days=day)
            labels = {"team": team} if team is not None else {}
            (kept,) = database.execute(
                f"SELECT ({local_predicate}) FROM (SELECT ? AS \"displayName\", ? AS "
                "\"createTime\", ? AS labels) AS _t0_runs",
                (name, canonical_time(created), json.dumps(labels))).fetchone()
            api = evaluate(node, {"displayName": name, "createTime": created,
                                  "labels": labels}, _FIELDS)
            assert api == (kept == (0 if negated else 1)), (
                predicate, negated, translated[0], (name, day, team), kept)
