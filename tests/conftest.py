"""The suite's fixtures, in one place (the worlds they build on are in tests/support).

Emulators come configured by the `emulator` mark of the test or its module, whose keywords are
those of `Emulator` (`pytestmark = pytest.mark.emulator(demo=True, require_auth=True)`):
- `emu`: an emulator of the test's own, for tests that write, break or slow it;
- `module_emu`: one emulator for all the tests of a module (starting one with the demo data is
  the slow part of a test);
- `shared` / `world`: a module's demo emulator as a `World` (the driver, and plain HTTP to look
  behind it); `world` resets faults, latency and counters around each test;
- `demo`: the demo emulator as the dialect tests use it (engines, scratch experiments);
- `cli_env`: the environment of a `runs-sql` subprocess, with a data directory of its own.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from support import ROOT
from support.dialect import Demo
from support.world import World, world_of

from runs_dbapi.emulator import Emulator


def pytest_xdist_auto_num_workers(config: pytest.Config) -> int:
    """`-n auto`: a worker a core and one more. Many tests wait (on latency, backoffs and
    subprocesses), so one more keeps the cores busy: on 2 cores the suite took 252 s with 3
    workers against 268-278 s with 2 (and 265 s with 4)."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return (cores or 1) + 1


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Tests marked `long` (a minute or more) first, the rest in their order: pytest-xdist hands
    out modules in this order, so a long one started last would leave the other workers idle."""
    items.sort(key=lambda item: item.get_closest_marker("long") is None)


def _emulator_options(request: pytest.FixtureRequest) -> dict[str, Any]:
    mark = request.node.get_closest_marker("emulator")
    return dict(mark.kwargs) if mark else {}


@pytest.fixture
def emu(request: pytest.FixtureRequest) -> Iterator[Emulator]:
    """An emulator of the test's own, configured by the `emulator` mark."""
    with Emulator(**_emulator_options(request)) as emulator:
        yield emulator


@pytest.fixture(scope="module")
def module_emu(request: pytest.FixtureRequest) -> Iterator[Emulator]:
    """One emulator for the module's tests, configured by the module's `emulator` mark."""
    with Emulator(**_emulator_options(request)) as emulator:
        yield emulator


@pytest.fixture(scope="module")
def shared() -> Iterator[World]:
    """One demo emulator per test module, as a World."""
    with Emulator(demo=True) as emu:
        yield from world_of(emu)


@pytest.fixture
def world(shared: World) -> Iterator[World]:
    """The module's World, with faults, latency and counters reset around each test."""
    shared.reset()
    yield shared
    shared.reset()


@pytest.fixture(scope="module")
def demo() -> Iterator[Demo]:
    """The demo emulator for the dialect tests (plain helpers in support.dialect, so that the
    same files run under SQLAlchemy 1.4 and 2.x)."""
    demo = Demo()
    yield demo
    demo.stop()


@pytest.fixture
def cli_env(tmp_path: Path) -> dict[str, str]:
    """The environment of a `runs-sql` subprocess: no URL from the caller's environment, and a
    data directory ($RUNS_SQL_HOME) of the test's own."""
    environ = {k: v for k, v in os.environ.items() if k not in ("RUNS_URL", "RUNS_SQL_HOME")}
    environ.update(RUNS_SQL_HOME=str(tmp_path / "home"), TERM="dumb", PYTHONPATH=str(ROOT))
    return environ
