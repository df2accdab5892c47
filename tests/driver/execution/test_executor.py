"""Streaming: rows arrive after the first page, later pages are fetched ahead, but boundedly."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
import requests

import runs_dbapi
from runs_dbapi.emulator import Emulator

PAGES = 10


@pytest.fixture(scope="module")
def emu(module_emu: Emulator) -> Iterator[Emulator]:
    emulator = module_emu
    session = requests.Session()
    base = f"{emulator.url}/v1/projects/p/locations/l"
    board = session.post(f"{base}/tensorboards", json={"displayName": "b"}).json()
    name = board["response"]["name"]
    session.post(f"{emulator.url}/v1/{name}/experiments?tensorboardExperimentId=e",
                 json={}).raise_for_status()
    experiment = f"{name}/experiments/e"
    for page in range(PAGES):
        requests_ = [{"parent": experiment, "tensorboardRunId": f"r-{page}-{i}",
                      "tensorboardRun": {"displayName": f"run {page} {i}"}}
                     for i in range(1000)]
        session.post(f"{emulator.url}/v1/{experiment}/runs:batchCreate",
                     json={"requests": requests_}).raise_for_status()
    emulator.tensorboard = name.rsplit("/", 1)[1]  # type: ignore[attr-defined]
    yield emulator


def _connect(emu: Emulator) -> runs_dbapi.Connection:
    return runs_dbapi.connect(endpoint=emu.url, anonymous=True, project="p", location="l",
                              tensorboard=emu.tensorboard,  # type: ignore[attr-defined]
                              experiment="e")


def test_first_row_after_one_page_then_bounded_read_ahead(emu: Emulator) -> None:
    emu.set_latency(60)
    emu.reset_stats()
    try:
        with _connect(emu) as connection:
            cursor = connection.cursor()
            started = time.monotonic()
            cursor.execute("SELECT runsId FROM runs")
            first = cursor.fetchone()
            waited = time.monotonic() - started
            assert first is not None
            assert emu.calls("runs.list") <= 2  # one page (and perhaps the next, in flight)
            assert waited < 0.06 * PAGES / 2  # far less than the whole listing
            time.sleep(0.6)  # the reader is idle: the next pages are fetched meanwhile ...
            ahead = emu.calls("runs.list")
            assert ahead >= 3
            assert ahead < PAGES  # ... but only a bounded number of them
            rows = [first, *cursor.fetchall()]
            assert len(rows) == len(set(rows)) == PAGES * 1000
            assert emu.calls("runs.list") == PAGES
    finally:
        emu.set_latency(0)


def test_closing_a_cursor_mid_listing_stops_the_fetching(emu: Emulator) -> None:
    emu.set_latency(30)
    emu.reset_stats()
    try:
        with _connect(emu) as connection:
            cursor = connection.cursor()
            cursor.execute("SELECT runsId FROM runs")
            assert cursor.fetchone() is not None
            cursor.close()
            time.sleep(0.5)
            stopped = emu.calls("runs.list")
            time.sleep(0.3)
            assert emu.calls("runs.list") == stopped < PAGES
            again = connection.cursor()  # the connection is still usable
            again.execute("SELECT count(*) FROM runs")
            assert again.fetchone() == (PAGES * 1000,)
    finally:
        emu.set_latency(0)
