"""The awkward data of the exactness corpus (test_exactness_corpus.py), and its sqlite3 reference.

`build_world(emu)` creates, through the emulator's HTTP API with `requests`, three tensorboards:

- `main` (isDefault, unicode description): experiment `shared` (runs with quotes, `%`, `_`,
  backslashes, é, 日本 and emoji in their names and descriptions; label values '1', 'true',
  'null', '0-5', '1e3', '', '007'; system label keys that look like paths; runs with no
  description or no labels; three runs created in the same microsecond, one at midnight UTC,
  one late on the previous UTC day), experiment `empty-exp` (no runs, no display name, no
  labels);
- `second`: experiment `shared` again (same experiment ID in another tensorboard) with run IDs
  that also occur in main/shared (`r01`, `r02`), experiment `other` with a run `r01` too, and
  experiment `big` (1,200 runs: more than one API page, thirty created in one microsecond);
- `vacant`: no runs (runCount omitted, i.e. 0), one experiment `lonely` with no runs.

The emulator has no clock option, so timestamps are scripted by replacing the `now` method of
the emulator instance's store for the duration of the build (`ScriptedClock`): everything else
goes over HTTP. This gives exact createTime ties and instants near day boundaries.

`reference(...)` then lists everything again with plain `requests` (not through the driver) and
writes a sqlite3 database with one table per driver table, the catalog's column names in the
catalog's order, each value in the form the driver stores locally (TIMESTAMP as
`YYYY-MM-DD HH:MM:SS.ffffff` UTC text, JSON as compact JSON text with `{}` when omitted,
BOOLEAN as 0/1, omitted strings '', omitted integers 0).
"""

from __future__ import annotations

import json
import re
import sqlite3
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

import requests

from runs_dbapi.catalog import BOOLEAN, INTEGER, JSON, TABLES, TIMESTAMP, Table
from runs_dbapi.emulator import Emulator
from runs_dbapi.emulator.wire import format_time

PROJECT = "demo-project"
LOCATION = "us-central1"
LOCATION_PATH = f"projects/{PROJECT}/locations/{LOCATION}"
BIG_RUNS = 1200
UTC = timezone.utc

Json = dict[str, Any]

# -- timestamps ---------------------------------------------------------------------------------

_TIMESTAMP = re.compile(
    r"^(\d{4}-\d{2}-\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d+))?)?)?"
    r"\s*(Z|z|[+-]\d{2}:?\d{2})?$"
)


def canonical_timestamp(text: str) -> str:
    """An RFC 3339 / ISO 8601 timestamp (or a date) as the UTC text the driver stores locally:
    `YYYY-MM-DD HH:MM:SS.ffffff`, six fraction digits, more only when `text` has nonzero
    sub-microsecond digits (kept, so that text comparison still orders instants)."""
    match = _TIMESTAMP.match(text.strip())
    if match is None:
        raise ValueError(f"not a timestamp: {text!r}")
    day, hour, minute, second, fraction, offset = match.groups()
    fraction = (fraction or "").ljust(6, "0")
    extra = fraction[6:].rstrip("0")
    moment = datetime.fromisoformat(f"{day}T{hour or '00'}:{minute or '00'}:{second or '00'}"
                                    f".{fraction[:6]}")
    if offset and offset not in ("Z", "z"):
        sign = 1 if offset[0] == "+" else -1
        digits = offset[1:].replace(":", "")
        moment -= sign * timedelta(hours=int(digits[:2]), minutes=int(digits[2:]))
    return moment.strftime("%Y-%m-%d %H:%M:%S.%f") + extra


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


class ScriptedClock:
    """Replaces `emu.store.now`: each call hands out `current`, then advances it by `step`
    (zero: every resource created meanwhile gets the same timestamp)."""

    def __init__(self) -> None:
        self.current = at("2025-12-31T08:00:00")
        self.step = timedelta(milliseconds=1)

    def set(self, moment: datetime, step: timedelta = timedelta(milliseconds=1)) -> None:
        self.current, self.step = moment, step

    def now(self) -> str:
        moment = self.current
        self.current += self.step
        return format_time(moment)


@contextmanager
def scripted_clock(emu: Emulator) -> Iterator[ScriptedClock]:
    clock = ScriptedClock()
    store: Any = emu.store
    store.now = clock.now
    try:
        yield clock
    finally:
        del store.now


# -- building the data over HTTP ----------------------------------------------------------------


@dataclass
class World:
    url: str
    boards: dict[str, str] = field(default_factory=dict)  # display name -> tensorboard ID

    @property
    def main(self) -> str:
        return self.boards["main"]


def _check(response: requests.Response) -> Json:
    assert response.status_code == 200, (response.status_code, response.text)
    body: Json = response.json()
    return body


def _create_board(world: World, display: str, body: Json) -> str:
    _check(requests.post(f"{world.url}/v1/{LOCATION_PATH}/tensorboards",
                         json={"displayName": display, **body}, timeout=30))
    for board in list_all(world.url, LOCATION_PATH, "tensorboards", "tensorboards"):
        if board.get("displayName") == display:
            board_id = str(board["name"]).rsplit("/", 1)[1]
            world.boards[display] = board_id
            return board_id
    raise AssertionError(f"tensorboard {display!r} not found after creation")


def _create_experiment(world: World, board: str, experiment: str, body: Json) -> None:
    _check(requests.post(f"{world.url}/v1/{LOCATION_PATH}/tensorboards/{board}/experiments",
                         params={"tensorboardExperimentId": experiment}, json=body, timeout=30))


def _batch_runs(world: World, board: str, experiment: str,
                runs: Sequence[tuple[str, Json]]) -> None:
    parent = f"{LOCATION_PATH}/tensorboards/{board}/experiments/{experiment}"
    for start in range(0, len(runs), 1000):
        _check(requests.post(f"{world.url}/v1/{parent}/runs:batchCreate", json={"requests": [
            {"parent": parent, "tensorboardRunId": rid, "tensorboardRun": body}
            for rid, body in runs[start:start + 1000]
        ]}, timeout=60))


def _create_run(world: World, board: str, experiment: str, rid: str, body: Json) -> None:
    parent = f"{LOCATION_PATH}/tensorboards/{board}/experiments/{experiment}"
    _check(requests.post(f"{world.url}/v1/{parent}/runs", params={"tensorboardRunId": rid},
                         json=body, timeout=30))


def _patch_run(world: World, board: str, experiment: str, rid: str, body: Json) -> None:
    name = f"{LOCATION_PATH}/tensorboards/{board}/experiments/{experiment}/runs/{rid}"
    _check(requests.patch(f"{world.url}/v1/{name}", params={"updateMask": ",".join(body)},
                          json=body, timeout=30))


JOB = "aiplatform.googleapis.com/training_job_id"
PIPELINE = "aiplatform.googleapis.com/pipeline_run"

# main/shared: (run ID, createTime, body). Times: ties at 12:00, midnight, the previous day.
SHARED_RUNS: list[tuple[str, str, Json]] = [
    ("r01", "2026-01-05T09:00:00", {
        "displayName": "O'Brien's run", "description": "It's \"quoted\" 'twice'",
        "labels": {"status": "failed", "seed": "1", "flag": "true", "note": "null",
                   "ratio": "0-5", "sci": "1e3", "empty": "", JOB: "123"}}),
    ("r02", "2026-01-05T09:30:00", {
        "displayName": 'say "hi"', "description": "100% done, 5_0 under_score",
        "labels": {"status": "succeeded", "seed": "007", "flag": "false", "note": "none"}}),
    ("r03", "2026-01-05T10:11:57.957524", {
        "displayName": "100%", "description": "C:\\path\\to\\run",
        "labels": {"status": "succeeded", "seed": "10", "flag": "1", "ratio": "0-25"}}),
    ("r04", "2026-01-05T10:11:57.957525", {
        "displayName": "under_score", "description": "naïve café é",
        "labels": {"status": "running", "seed": "2", "sci": "2e3", "lang": "é"}}),
    ("r05", "2026-01-05T12:00:00", {
        "displayName": "back\\slash", "labels": {"status": "failed", "seed": "-1",
                                                 "lang": "日本"}}),
    ("r06", "2026-01-05T12:00:00", {
        "displayName": "émoji 🚀", "description": "rocket 🚀 ship",
        "labels": {"status": "succeeded", "seed": "0", PIPELINE: "p-1"}}),
    ("r07", "2026-01-05T12:00:00", {
        "displayName": "日本語の実行", "description": "日本"}),
    ("r08", "2026-01-05T00:00:00", {
        "displayName": "midnight", "labels": {"status": "succeeded", "seed": "1"}}),
    ("r09", "2026-01-04T23:30:00", {
        "displayName": "late evening", "description": "",
        "labels": {"status": "failed", "seed": "3", "flag": "true"}}),
    ("r10", "2026-01-01T00:00:00.000001", {
        "displayName": "NULL", "description": "null",
        "labels": {"status": "null", "seed": "1", "empty": ""}}),
    ("r11", "2025-12-31T23:59:59.999999", {
        "displayName": "42", "description": "The answer",
        "labels": {"status": "succeeded", "seed": "42", "sci": "1e3"}}),
    ("r12", "2026-02-01T06:15:00", {
        "displayName": "UPPER lower", "description": "Mixed Case",
        "labels": {"status": "succeeded", "seed": "5", "team": "nlp"}}),
    ("r13", "2026-02-01T06:15:00.5", {
        "displayName": "trailing space ", "description": " leading space",
        "labels": {"status": "running", "seed": "5", "team": "vision", JOB: "456"}}),
    ("r14", "2026-03-15T18:45:30.25", {
        "displayName": "percent_%_underscore", "description": "%_\\",
        "labels": {"status": "failed", "seed": "8", "team": "nlp", "flag": "true"}}),
    ("r15", "2026-03-15T18:45:30.25", {"displayName": "bare run"}),
]
# Patched later (updateTime moves; one run loses its labels): run ID -> (time, body).
SHARED_PATCHES: dict[str, tuple[str, Json]] = {
    "r02": ("2026-01-06T08:00:00", {"description": "100% done, 5_0 under_score (edited)"}),
    "r05": ("2026-01-05T12:00:00.000001", {"labels": {"status": "succeeded", "seed": "-1",
                                                      "lang": "日本"}}),
    "r12": ("2026-04-01T00:00:00", {"labels": {}}),
}


def big_runs() -> list[tuple[str, Json]]:
    runs = []
    for index in range(BIG_RUNS):
        labels = {"status": ("succeeded", "failed", "running")[index % 3],
                  "seed": str(index % 17), "bucket": f"b{index % 5}"}
        if index % 50 == 0:
            labels["flag"] = "true"
        body: Json = {"displayName": f"big run {index:04d}", "labels": labels}
        if index % 4:
            body["description"] = f"Trial {index}"
        if index % 100 == 7:
            del body["labels"]
        runs.append((f"big-{index:04d}", body))
    return runs


def build_world(emu: Emulator) -> World:
    world = World(url=emu.url)
    with scripted_clock(emu) as clock:
        clock.set(at("2025-12-01T08:00:00"))
        main = _create_board(world, "main", {
            "description": "Main board — é 日本 🚀 'q' \"dq\"", "isDefault": True,
            "labels": {"env": "prod", "tier": "1"}})
        second = _create_board(world, "second", {"labels": {"env": "dev"}})
        _create_board(world, "vacant", {"description": "no runs here"})
        vacant = world.boards["vacant"]

        clock.set(at("2025-12-02T08:00:00"))
        _create_experiment(world, main, "shared", {
            "displayName": "Shared 'quoted' \"exp\"", "description": "50% of a_b \\ c",
            "labels": {"team": "nlp", "flag": "true"}})
        _create_experiment(world, second, "big", {"displayName": "big",
                                                  "description": "1200 runs",
                                                  "labels": {"team": "vision"}})
        _create_experiment(world, main, "empty-exp", {})
        _create_experiment(world, second, "shared", {"displayName": "shared",
                                                     "labels": {"team": "nlp"}})
        _create_experiment(world, second, "other", {"displayName": "Other",
                                                    "description": "other experiment"})
        _create_experiment(world, vacant, "lonely", {"displayName": "lonely",
                                                     "source": "sdk"})

        for rid, moment, body in SHARED_RUNS:
            clock.set(at(moment))
            _create_run(world, main, "shared", rid, body)
        # 1,200 runs; ten runs share each millisecond... except the first batch's first 30,
        # created in one microsecond.
        clock.set(at("2026-01-10T00:00:00"), timedelta(0))
        big = big_runs()
        _batch_runs(world, second, "big", big[:30])
        clock.set(at("2026-01-10T00:00:01"), timedelta(microseconds=100))
        _batch_runs(world, second, "big", big[30:])

        clock.set(at("2026-01-05T09:00:00"), timedelta(0))  # ties with main/shared r01
        _batch_runs(world, second, "shared", [
            ("r01", {"displayName": "O'Brien's run", "labels": {"status": "failed", "seed": "1"}}),
            ("r02", {"displayName": "second r02", "description": "100% done",
                     "labels": {"status": "succeeded", "seed": "2"}}),
        ])
        clock.set(at("2026-01-07T07:07:07.070707"))
        _batch_runs(world, second, "other", [
            ("r01", {"displayName": "other r01", "labels": {"status": "running", "seed": "1"}}),
            ("solo", {"displayName": "solo", "description": "only one"}),
        ])
        for rid, (moment, body) in SHARED_PATCHES.items():
            clock.set(at(moment))
            _patch_run(world, main, "shared", rid, body)
    return world


# -- the reference ------------------------------------------------------------------------------


def list_all(url: str, parent: str, collection: str, field_name: str) -> list[Json]:
    found: list[Json] = []
    token = ""
    while True:
        params = {"pageSize": "1000", **({"pageToken": token} if token else {})}
        page = _check(requests.get(f"{url}/v1/{parent}/{collection}", params=params, timeout=30))
        found += page.get(field_name, [])
        token = page.get("nextPageToken", "")
        if not token:
            return found


def _value(table: Table, name: str, resource: Json, path: dict[str, str]) -> Any:
    column = table.column(name)
    assert column is not None
    if column.path_parameter:
        return path[column.name]
    value = resource.get(column.api_field or column.name)
    if column.type == TIMESTAMP:
        return canonical_timestamp(value) if value else None
    if column.type == JSON:
        return json.dumps(value if value is not None else {}, separators=(",", ":"),
                          ensure_ascii=False)
    if column.type == BOOLEAN:
        return int(bool(value))
    if column.type == INTEGER:
        return int(value) if value is not None else 0
    return value if value is not None else ""


@dataclass
class Listing:
    """Every resource, as (table name, path, resource), in API order."""

    rows: list[tuple[str, dict[str, str], Json]]


def list_everything(url: str) -> Listing:
    rows: list[tuple[str, dict[str, str], Json]] = []
    base = {"projectsId": PROJECT, "locationsId": LOCATION}
    for board in list_all(url, LOCATION_PATH, "tensorboards", "tensorboards"):
        board_id = str(board["name"]).rsplit("/", 1)[1]
        rows.append(("tensorboards", {**base, "tensorboardsId": board_id}, board))
        board_path = f"{LOCATION_PATH}/tensorboards/{board_id}"
        for experiment in list_all(url, board_path, "experiments", "tensorboardExperiments"):
            experiment_id = str(experiment["name"]).rsplit("/", 1)[1]
            experiment_path = {**base, "tensorboardsId": board_id, "experimentsId": experiment_id}
            rows.append(("experiments", experiment_path, experiment))
            for run in list_all(url, f"{board_path}/experiments/{experiment_id}", "runs",
                                "tensorboardRuns"):
                rows.append(("runs", {**experiment_path,
                                      "runsId": str(run["name"]).rsplit("/", 1)[1]}, run))
    return Listing(rows)


# The declared type of each reference column starts with the affinity the driver gives it
# locally (TEXT or INTEGER) and names the catalog type: sqlite reports it (via converters) for
# result columns that are bare references to a table column, and for nothing else.
# The tables the corpus fills and queries (the data points' tables have their own tests).
CORPUS_TABLES = ("runs", "experiments", "tensorboards")

DECLARED = {"STRING": "TEXT_STRING", "TIMESTAMP": "TEXT_TIMESTAMP", "JSON": "TEXT_JSON",
            "INTEGER": "INTEGER_INTEGER", "BOOLEAN": "INTEGER_BOOLEAN"}


@dataclass(frozen=True)
class Tagged:
    """A value read through a converter: the column is a bare reference of catalog type `kind`."""

    kind: str


def _tagger(kind: str) -> Callable[[bytes], Tagged]:
    return lambda raw: Tagged(kind)


for _kind, _declared in DECLARED.items():
    sqlite3.register_converter(_declared, _tagger(_kind))


@dataclass
class Reference:
    """Two copies of the same rows, inserted in opposite orders (a query whose answer differs
    between them has no single expected answer), and a copy that reports declared types."""

    forward: sqlite3.Connection
    backward: sqlite3.Connection
    tagged: sqlite3.Connection


def reference(listing: Listing, accept: Callable[[str, dict[str, str]], bool]) -> Reference:
    """The reference databases of the rows `accept(table, path)` keeps."""
    def make(detect: int, reverse: bool) -> sqlite3.Connection:
        db = sqlite3.connect(":memory:", detect_types=detect)
        for table in (TABLES[name] for name in CORPUS_TABLES):
            spec = ", ".join(f'"{c.name}" {DECLARED[c.type]}' for c in table.columns)
            db.execute(f'CREATE TABLE "{table.name}" ({spec})')
        rows = [r for r in listing.rows if accept(r[0], r[1])]
        for table_name, path, resource in reversed(rows) if reverse else rows:
            table = TABLES[table_name]
            values = [_value(table, c.name, resource, path) for c in table.columns]
            db.execute(f'INSERT INTO "{table.name}" VALUES ({", ".join("?" * len(values))})',
                       values)
        db.commit()
        return db
    return Reference(forward=make(0, False), backward=make(0, True),
                     tagged=make(sqlite3.PARSE_DECLTYPES, False))
