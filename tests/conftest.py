"""Fixtures shared by the write-path tests (test_writes, test_seed_writes, test_procedures)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from writes_support import World, world_of

from runs_dbapi.emulator import Emulator


@pytest.fixture(scope="module")
def shared() -> Iterator[World]:
    """One demo emulator per test module."""
    with Emulator(demo=True) as emu:
        yield from world_of(emu)


@pytest.fixture
def world(shared: World) -> Iterator[World]:
    """The module's emulator, with faults, latency and counters reset around each test."""
    shared.reset()
    yield shared
    shared.reset()
