"""Requests per second the emulator serves on this machine, by kind of call.

    python bench/emulator_rps.py [--seconds 5] [--clients 1,4,16]

Each client is a thread with its own keep-alive `requests.Session`; the emulator runs in the same
process (as in the test suite), so the figure includes the client's own cost.
"""

from __future__ import annotations

import argparse
import itertools
import platform
import threading
import time
from collections.abc import Callable

import requests

from runs_dbapi.emulator import Emulator

PARENT = "projects/bench/locations/us-central1"


def _setup(emu: Emulator) -> str:
    session = requests.Session()
    op = session.post(f"{emu.url}/v1/{PARENT}/tensorboards", json={"displayName": "bench"}).json()
    board = op["response"]["name"]
    session.post(f"{emu.url}/v1/{board}/experiments?tensorboardExperimentId=exp",
                 json={"displayName": "exp"}).raise_for_status()
    experiment = f"{board}/experiments/exp"
    for chunk in range(2):
        requests_ = [{"parent": experiment, "tensorboardRunId": f"run-{chunk}-{i}",
                      "tensorboardRun": {"displayName": f"run {chunk} {i}",
                                         "labels": {"team": "a" if i % 2 else "b"}}}
                     for i in range(1000)]
        session.post(f"{emu.url}/v1/{experiment}/runs:batchCreate",
                     json={"requests": requests_}).raise_for_status()
    return experiment


def _workloads(url: str, experiment: str) -> dict[str, Callable[[requests.Session, int], None]]:
    counter = itertools.count()

    def get(session: requests.Session, i: int) -> None:
        session.get(f"{url}/v1/{experiment}/runs/run-0-{i % 1000}").raise_for_status()

    def list_page(session: requests.Session, i: int) -> None:
        session.get(f"{url}/v1/{experiment}/runs", params={"pageSize": 50}).raise_for_status()

    def list_filtered(session: requests.Session, i: int) -> None:
        session.get(f"{url}/v1/{experiment}/runs",
                    params={"pageSize": 50, "filter": 'labels.team = "a"'}).raise_for_status()

    def create(session: requests.Session, i: int) -> None:
        n = next(counter)
        session.post(f"{url}/v1/{experiment}/runs", params={"tensorboardRunId": f"new-{n}"},
                     json={"displayName": f"new {n}"}).raise_for_status()

    def patch(session: requests.Session, i: int) -> None:
        session.patch(f"{url}/v1/{experiment}/runs/run-1-{i % 1000}",
                      params={"updateMask": "description"},
                      json={"description": f"d{i}"}).raise_for_status()

    return {"get": get, "list 50": list_page, "list 50 filtered": list_filtered,
            "create": create, "patch": patch}


def _run(call: Callable[[requests.Session, int], None], clients: int, seconds: float) -> float:
    done = [0] * clients
    deadline = time.monotonic() + seconds

    def worker(slot: int) -> None:
        session = requests.Session()
        i = slot
        while time.monotonic() < deadline:
            call(session, i)
            i += clients
            done[slot] += 1

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(clients)]
    started = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return sum(done) / (time.monotonic() - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--clients", default="1,4,16")
    args = parser.parse_args()
    client_counts = [int(c) for c in args.clients.split(",")]
    print(f"# emulator requests per second ({platform.processor() or platform.machine()}, "
          f"{platform.python_implementation()} {platform.python_version()}, "
          f"{time.strftime('%Y-%m-%d')})")
    print("| workload | " + " | ".join(f"{c} client{'s' * (c > 1)}" for c in client_counts) + " |")
    print("|---|" + "---:|" * len(client_counts))
    with Emulator() as emu:
        experiment = _setup(emu)
        for name, call in _workloads(emu.url, experiment).items():
            rates = [_run(call, clients, args.seconds) for clients in client_counts]
            print(f"| {name} | " + " | ".join(f"{rate:,.0f}" for rate in rates) + " |")


if __name__ == "__main__":
    main()
