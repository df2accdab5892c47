"""Shared set-up for the runs_dialect tests: a demo emulator, scratch experiments, engines.

Plain helpers, not fixtures, so that the same test files run under SQLAlchemy 1.4 and 2.x
(tox -e sqla14, sqla2) with nothing else in common.
"""

from __future__ import annotations

import itertools
from typing import Any

import requests
from sqlalchemy import create_engine, text
from sqlalchemy.engine import Engine

from runs_dbapi.emulator import Emulator
from runs_dialect import build_url

PROJECT = "demo-project"
LOCATION = "us-central1"
_counter = itertools.count()


class Demo:
    """An emulator with the demo project, and engines over it."""

    def __init__(self) -> None:
        self.emulator = Emulator(demo=True).start()
        with self.engine().connect() as connection:
            self.tensorboard = str(connection.execute(
                text("SELECT tensorboardsId FROM tensorboards")).scalar())

    def stop(self) -> None:
        self.emulator.stop()

    def url(self, tensorboard: str | None = None, experiment: str | None = None,
            **options: Any) -> str:
        options.setdefault("endpoint", self.emulator.url)
        options.setdefault("anonymous", True)
        return build_url(PROJECT, LOCATION, tensorboard, experiment,
                         **options).render_as_string(hide_password=False)

    def engine(self, experiment: str | None = None, **options: Any) -> Engine:
        tensorboard = getattr(self, "tensorboard", None) if experiment else None
        return create_engine(self.url(tensorboard, experiment), **options)

    def new_experiment(self, prefix: str = "scratch") -> str:
        """An empty experiment of the demo tensorboard, for a test that writes."""
        experiment = f"{prefix}-{next(_counter)}"
        parent = (f"projects/{PROJECT}/locations/{LOCATION}/tensorboards/{self.tensorboard}")
        response = requests.post(
            f"{self.emulator.url}/v1/{parent}/experiments",
            params={"tensorboardExperimentId": experiment}, json={"displayName": experiment},
            timeout=30,
        )
        assert response.status_code == 200, response.text
        return experiment

    def calls(self, method: str) -> int:
        return self.emulator.calls(method)

    def curve(self, experiment: str, run: str, display_name: str) -> dict[int, float]:
        """A run's scalar series of that display name, step -> value, straight from the API
        (the series listed by name, then every point through the export verb)."""
        parent = (f"{self.emulator.url}/v1/projects/{PROJECT}/locations/{LOCATION}/"
                  f"tensorboards/{self.tensorboard}/experiments/{experiment}/runs/{run}")
        listed = requests.get(f"{parent}/timeSeries", timeout=30,
                              params={"filter": f'display_name = "{display_name}"'}).json()
        (series,) = listed["tensorboardTimeSeries"]
        points: dict[int, float] = {}
        body: dict[str, Any] = {"pageSize": 10_000}
        while True:
            answer = requests.post(f"{self.emulator.url}/v1/{series['name']}"
                                   ":exportTensorboardTimeSeries", json=body, timeout=30).json()
            points.update((int(p["step"]), float(p["scalar"]["value"]))
                          for p in answer.get("timeSeriesDataPoints", []))
            if not answer.get("nextPageToken"):
                return points
            body["pageToken"] = answer["nextPageToken"]
