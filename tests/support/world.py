"""A World: the demo emulator of a test module, the driver over it, and plain HTTP to look behind
the driver (the `shared` and `world` fixtures of tests/conftest.py).

One demo emulator per test module (seeding it is the slow part); each test that writes gets
fresh experiments of its own, made through the API with `requests`, so tests never see each
other's runs. Effects are read back both through the driver (SELECT) and with plain `requests`.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from typing import Any

import requests

import runs_dbapi
from runs_dbapi.connection import Connection
from runs_dbapi.emulator import Emulator
from runs_dbapi.rest import RetryPolicy

PROJECT = "demo-project"
LOCATION = "us-central1"
DEMO_EXPERIMENT = "bert-glue"
SYSTEM_PREFIX = "aiplatform.googleapis.com/"

# Tiny backoffs: retries under injected faults cost milliseconds, not seconds.
FAST_RETRY = RetryPolicy(initial_backoff=0.001, max_backoff=0.005, max_attempts=10,
                         deadline=60.0)

Json = dict[str, Any]

_experiment_numbers = itertools.count(1)


class World:
    """The emulator of one test module and ways to look at it without the driver."""

    def __init__(self, emu: Emulator) -> None:
        self.emu = emu
        self.http = requests.Session()
        self._connections: list[Connection] = []
        with self.connect() as connection:
            cursor = connection.cursor()
            cursor.execute("SELECT tensorboardsId FROM tensorboards")
            (self.tensorboard,) = cursor.fetchone()
        self.path = {"projectsId": PROJECT, "locationsId": LOCATION,
                     "tensorboardsId": self.tensorboard}

    # -- the driver ----------------------------------------------------------------------------

    def connect(self, experiment: str | None = None, **options: Any) -> Connection:
        settings: dict[str, Any] = {"endpoint": self.emu.url, "anonymous": True,
                                    "project": PROJECT, "location": LOCATION,
                                    "retry": FAST_RETRY}
        if hasattr(self, "tensorboard"):
            settings["tensorboard"] = self.tensorboard
        if experiment is not None:
            settings["experiment"] = experiment
        settings.update(options)
        connection = runs_dbapi.connect(**settings)
        self._connections.append(connection)
        return connection

    def close_connections(self) -> None:
        for connection in self._connections:
            if not connection.closed:
                connection.close()
        self._connections.clear()

    def reset(self) -> None:
        self.emu.set_faults(None)
        self.emu.set_operation_polls(0)
        self.emu.set_latency(0)
        self.emu.reset_stats()

    # -- names -------------------------------------------------------------------------------

    def experiment_name(self, experiment: str) -> str:
        return (f"projects/{PROJECT}/locations/{LOCATION}/tensorboards/{self.tensorboard}/"
                f"experiments/{experiment}")

    def run_name(self, experiment: str, run: str) -> str:
        return f"{self.experiment_name(experiment)}/runs/{run}"

    # -- the API, through plain HTTP -----------------------------------------------------------

    def api(self, method: str, name: str, **options: Any) -> requests.Response:
        return self.http.request(method, f"{self.emu.url}/v1/{name}", timeout=30, **options)

    def new_experiment(self, prefix: str = "w") -> str:
        """A fresh, empty experiment (its ID is unique within the module's emulator)."""
        experiment = f"{prefix}-{next(_experiment_numbers)}"
        collection = (f"projects/{PROJECT}/locations/{LOCATION}/tensorboards/"
                      f"{self.tensorboard}/experiments")
        answer = self.api("POST", collection,
                          params={"tensorboardExperimentId": experiment},
                          json={"displayName": experiment})
        assert answer.status_code == 200, answer.text
        return experiment

    def get_run(self, experiment: str, run: str) -> Json | None:
        answer = self.api("GET", self.run_name(experiment, run))
        if answer.status_code == 404:
            return None
        assert answer.status_code == 200, answer.text
        result: Json = answer.json()
        return result

    def listed(self, parent: str, collection: str, field: str) -> list[Json]:
        """Every resource of a collection, in the API's order, following page tokens."""
        found: list[Json] = []
        params: dict[str, Any] = {"pageSize": 1000}
        while True:
            answer = self.api("GET", f"{parent}/{collection}", params=params)
            assert answer.status_code == 200, answer.text
            page = answer.json()
            found += page.get(field, [])
            if not page.get("nextPageToken"):
                return found
            params["pageToken"] = page["nextPageToken"]

    def list_runs(self, experiment: str) -> list[Json]:
        """Every run of the experiment, in creation order."""
        return self.listed(self.experiment_name(experiment), "runs", "tensorboardRuns")

    def run_ids(self, experiment: str) -> list[str]:
        return [str(r["name"]).rsplit("/", 1)[1] for r in self.list_runs(experiment)]

    def create_runs(self, experiment: str, runs: list[tuple[str, Json]]) -> list[Json]:
        """Create runs directly through the API (batchCreate), not through the driver."""
        parent = self.experiment_name(experiment)
        created: list[Json] = []
        for start in range(0, len(runs), 1000):
            chunk = runs[start:start + 1000]
            answer = self.api("POST", f"{parent}/runs:batchCreate", json={"requests": [
                {"parent": parent, "tensorboardRunId": rid, "tensorboardRun": body}
                for rid, body in chunk
            ]})
            assert answer.status_code == 200, answer.text
            created += answer.json()["tensorboardRuns"]
        return created

    def create_scalar_series(self, experiment: str, run: str, display_name: str) -> str:
        answer = self.api("POST", f"{self.run_name(experiment, run)}/timeSeries",
                          json={"displayName": display_name, "valueType": "SCALAR",
                                "pluginName": "scalars"})
        assert answer.status_code == 200, answer.text
        return str(answer.json()["name"]).rsplit("/", 1)[1]

    def read_series(self, experiment: str, run: str, series: str) -> list[Json]:
        answer = self.api("GET", f"{self.run_name(experiment, run)}/timeSeries/{series}:read",
                          params={"maxDataPoints": -1})
        assert answer.status_code == 200, answer.text
        values: list[Json] = answer.json().get("timeSeriesData", {}).get("values", [])
        return values

    def calls(self) -> dict[str, int]:
        return self.emu.stats()["calls"]


def world_of(emu: Emulator) -> Iterator[World]:
    world = World(emu)
    try:
        yield world
    finally:
        world.close_connections()
        world.http.close()


def fill(template: str, **values: str) -> str:
    """Fill the seed's `{{ name }}` placeholders (and its one `{{ updateMask}}`) as text."""
    text = template
    for key, value in values.items():
        text = text.replace("{{ " + key + " }}", value).replace("{{ " + key + "}}", value)
    assert "{{" not in text, f"unfilled placeholder in {text!r}"
    return text
