"""Shared by bench/run.py and bench/sdk.py: the emulator process, its control API, seeding, timing.

Standard library and `requests` only, so that it imports in the main environment and in the SDK's.
The emulator runs in its own process (so that its CPU does not share a GIL with the client being
timed) and is driven over its HTTP control API: `/emulator/config`, `/emulator/stats`,
`/emulator/stats:reset`.
"""

from __future__ import annotations

import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import requests

PROJECT = "bench"
LOCATION = "us-central1"
TEAMS = ("a", "b", "c", "d")  # labels.team: a quarter of the runs each


class EmulatorProcess:
    """`python -m runs_dbapi.emulator.cli --port 0` in a child process."""

    def __init__(self, python: str = sys.executable) -> None:
        self._log = tempfile.NamedTemporaryFile(  # noqa: SIM115 - lives as long as the process
            prefix="bench-emulator-", suffix=".log", delete=False)
        self.process = subprocess.Popen(
            [python, "-m", "runs_dbapi.emulator.cli", "--port", "0"],
            stdout=subprocess.DEVNULL, stderr=self._log,
        )
        self.url = self._wait_for_url()
        self.session = requests.Session()

    def _wait_for_url(self, timeout: float = 30.0) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with open(self._log.name, encoding="utf-8") as handle:
                found = re.search(r"serving (http://\S+)", handle.read())
            if found:
                return found.group(1)
            if self.process.poll() is not None:
                break
            time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"the emulator did not start; see {self._log.name}")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
        self._log.close()
        os.unlink(self._log.name)


class Control:
    """The emulator's test hooks over HTTP (works from any process)."""

    def __init__(self, url: str) -> None:
        self.url = url.rstrip("/")
        self.session = requests.Session()

    def set_latency(self, ms: float) -> None:
        self.session.post(f"{self.url}/emulator/config",
                          json={"latencyMs": ms}).raise_for_status()

    def reset_stats(self) -> None:
        self.session.post(f"{self.url}/emulator/stats:reset").raise_for_status()

    def calls(self) -> dict[str, int]:
        answer = self.session.get(f"{self.url}/emulator/stats")
        answer.raise_for_status()
        return dict(answer.json()["calls"])

    @contextmanager
    def latency(self, ms: float) -> Iterator[None]:
        """Run setup at 0 ms, then restore the latency being measured."""
        self.set_latency(ms)
        try:
            yield
        finally:
            self.set_latency(0)


class Seeder:
    """Creates tensorboards, experiments and runs straight through the emulator's HTTP API
    (batchCreate of 1000), never through a client being measured."""

    def __init__(self, url: str) -> None:
        self.url = url.rstrip("/")
        self.session = requests.Session()

    def _post(self, path: str, body: Any, **params: str) -> dict[str, Any]:
        answer = self.session.post(f"{self.url}/v1/{path}", json=body,
                                   params={**params, "prettyPrint": "false"})
        if answer.status_code != 200:
            raise RuntimeError(f"POST {path}: {answer.status_code} {answer.text[:300]}")
        return dict(answer.json())

    def tensorboard(self, display_name: str) -> str:
        """A new tensorboard; its numeric ID."""
        operation = self._post(f"projects/{PROJECT}/locations/{LOCATION}/tensorboards",
                               {"displayName": display_name})
        return str(operation["response"]["name"]).rsplit("/", 1)[1]

    def experiment(self, tensorboard: str, experiment: str) -> str:
        """A new experiment; its full resource name."""
        parent = f"projects/{PROJECT}/locations/{LOCATION}/tensorboards/{tensorboard}"
        self._post(f"{parent}/experiments", {"displayName": experiment},
                   tensorboardExperimentId=experiment)
        return f"{parent}/experiments/{experiment}"

    def runs(self, experiment: str, count: int, *, prefix: str = "r",
             labels: Callable[[int], dict[str, str]] | None = None) -> None:
        """`count` runs `{prefix}-{i}` (display name `{prefix} {i}`), 1000 per batchCreate."""
        for start in range(0, count, 1000):
            requests_ = [
                {"parent": experiment, "tensorboardRunId": f"{prefix}-{i}",
                 "tensorboardRun": {"displayName": f"{prefix} {i}",
                                    "description": f"run {i} of the benchmark",
                                    "labels": labels(i) if labels else default_labels(i)}}
                for i in range(start, min(count, start + 1000))
            ]
            self._post(f"{experiment}/runs:batchCreate", {"requests": requests_})


def default_labels(i: int) -> dict[str, str]:
    return {"team": TEAMS[i % len(TEAMS)], "lr": f"lr{i % 7}", "seed": str(i % 10)}


def timed(function: Callable[[], Any]) -> tuple[float, Any]:
    started = time.perf_counter()
    value = function()
    return time.perf_counter() - started, value


def median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def measure(control: Control, latency_ms: float, reps: int, work: Callable[[Any], Any], *,
            setup: Callable[[int], Any] | None = None, settle: float = 0.0) -> dict[str, Any]:
    """Run `work(prepared)` `reps` times at `latency_ms`: median wall time, calls per rep.

    `setup(rep)` runs before each rep at 0 ms latency, neither timed nor counted; what it returns
    is passed to `work`. `work` may return a dict of extra timings (medians are taken).
    `settle` waits before counting, so that calls still in flight (read-ahead) are counted.
    """
    return measure_all(control, latency_ms, reps, {"": (work, setup, settle)})[""]


Work = tuple[Callable[[Any], Any], Callable[[int], Any] | None, float]  # work, setup, settle


def measure_all(control: Control, latency_ms: float, reps: int, clients: dict[str, Work],
                on_rep: Callable[[str, int], None] | None = None) -> dict[str, dict[str, Any]]:
    """`measure` for several clients of one workload, their repetitions interleaved (client A,
    client B, A, B, ...), so that a passing load on the machine weighs on all of them alike."""
    samples: dict[str, list[tuple[float, int, dict[str, int], Any]]] = {c: [] for c in clients}
    for rep in range(reps):
        for client, (work, setup, settle) in clients.items():
            if on_rep is not None:
                on_rep(client, rep)
            prepared = setup(rep) if setup is not None else None
            control.set_latency(latency_ms)
            control.reset_stats()
            try:
                seconds, value = timed(lambda w=work, p=prepared: w(p))
                if settle:
                    time.sleep(settle)
                methods = control.calls()
            finally:
                control.set_latency(0)
            samples[client].append((seconds, sum(methods.values()), methods, value))
    results: dict[str, dict[str, Any]] = {}
    for client, runs in samples.items():
        times = [r[0] for r in runs]
        result: dict[str, Any] = {"wall": median(times), "walls": times,
                                  "calls": max(r[1] for r in runs),
                                  "calls_each": [r[1] for r in runs], "methods": runs[-1][2]}
        extras: dict[str, list[Any]] = {}
        for *_, value in runs:
            for key, number in (value.items() if isinstance(value, dict) else ()):
                extras.setdefault(key, []).append(number)
        for key, numbers in extras.items():
            result[key] = median(numbers)
            result[key + "_each"] = numbers
        results[client] = result
    return results


def dump(results: Any) -> str:
    return json.dumps(results, indent=1, sort_keys=True, default=str)
