"""The emulator under load: 16 concurrent clients of mixed traffic, with injected faults.

    python bench/emulator_load.py [--seconds 60] [--clients 16] [--rate 0.05]

Each client is a driver connection of its own. The mix: reads of the demo data (checked against
the fault-free answer), blind updates of the client's own run (its counter), etag-guarded
read-modify-write increments of one run all clients share, and creates and deletes of runs.
Afterwards it checks that no 5xx was answered beyond those injected (every 500 and 503 a client
saw is one the fault plan drew), that no update was lost (each counter holds its last write; the
shared counter equals the increments that succeeded) and that memory stayed steady, and prints
the figures: requests, 5xx by cause, lost updates, RSS before and after. `tests/
emulator/test_emulator_load.py` runs it for 10 seconds; the exit status is 1 when a check fails.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import random
import sys
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import requests

import runs_dbapi
from runs_dbapi.emulator import Emulator, FaultPlan
from runs_dbapi.exceptions import Error, OperationalError
from runs_dbapi.rest import RetryPolicy

PROJECT = "demo-project"
LOCATION = "us-central1"
EXPERIMENT = "load"
KINDS = ("429", "500", "503", "reset", "slow")
RETRY = RetryPolicy(max_attempts=10, initial_backoff=0.002, max_backoff=0.02, deadline=60.0)


def rss_mb() -> float:
    """Resident set size of this process (emulator and clients), in MiB."""
    with open("/proc/self/statm", encoding="ascii") as statm:
        pages = int(statm.read().split()[1])
    return pages * os.sysconf("SC_PAGE_SIZE") / 2**20


@dataclass
class Client:
    number: int
    connection: Any
    seen: Counter[int] = field(default_factory=Counter)  # HTTP statuses answered
    counter: int = 0  # the last value written to the client's own run
    counter_unknown: bool = False  # a write of it failed without an answer
    appends: set[str] = field(default_factory=set)  # appends to the shared run that succeeded
    appends_unknown: set[str] = field(default_factory=set)
    conflicts: int = 0
    created: set[str] = field(default_factory=set)
    deleted: set[str] = field(default_factory=set)
    unknown_runs: set[str] = field(default_factory=set)
    read_errors: list[str] = field(default_factory=list)
    gave_up: int = 0
    operations: int = 0

    def record(self, response: requests.Response, *args: Any, **kwargs: Any) -> None:
        self.seen[response.status_code] += 1


def _one_op(client: Client, cursor: Any, rng: random.Random, clean: list[Any]) -> None:
    own = f"c{client.number}"
    choice = rng.random()
    try:
        if choice < 0.35:
            rows = cursor.execute("SELECT runsId, labels FROM runs WHERE "
                                  "experimentsId = 'bert-glue' ORDER BY runsId").fetchall()
            if rows != clean:
                client.read_errors.append(f"{len(rows)} rows instead of {len(clean)}")
        elif choice < 0.55:
            value = client.counter + 1
            try:
                cursor.execute("UPDATE runs SET description = ? WHERE experimentsId = ? AND "
                               "runsId = ?", [str(value), EXPERIMENT, own])
            except OperationalError:
                client.counter_unknown = True
                client.counter = value
                raise
            client.counter = value
        elif choice < 0.8:
            # Read-modify-write of the shared run, guarded by its etag: append a token unique to
            # this client and operation (unique, so that a lost append is always visible).
            (value, etag) = cursor.execute(
                "SELECT description, etag FROM runs WHERE experimentsId = ? AND "
                "runsId = 'shared'", [EXPERIMENT]).fetchone()
            token = f"{client.number}.{client.operations}"
            try:
                cursor.execute("UPDATE runs SET description = ? WHERE experimentsId = ? AND "
                               "runsId = 'shared' AND etag = ?",
                               [f"{value or ''} {token}".strip(), EXPERIMENT, etag])
            except Error as error:
                if error.rpc_status == "ABORTED":
                    client.conflicts += 1
                    return
                client.appends_unknown.add(token)
                raise
            if cursor.rowcount == 1:
                client.appends.add(token)
            else:
                client.conflicts += 1
        else:
            rid = f"n{client.number}-{client.operations}"
            try:
                cursor.execute("INSERT INTO runs (experimentsId, runsId, displayName) "
                               "VALUES (?, ?, ?)", [EXPERIMENT, rid, rid])
            except OperationalError:
                client.unknown_runs.add(rid)
                raise
            client.created.add(rid)
            if rng.random() < 0.5:
                try:
                    cursor.execute("DELETE FROM runs WHERE experimentsId = ? AND runsId = ?",
                                   [EXPERIMENT, rid])
                except OperationalError:
                    client.unknown_runs.add(rid)
                    raise
                client.deleted.add(rid)
    except OperationalError as error:
        if "gave up after" not in str(error):
            raise
        client.gave_up += 1


def run_load(seconds: float = 60.0, clients: int = 16, rate: float = 0.05,
             seed: int = 1) -> dict[str, Any]:
    """Run the load; return the figures and the failed checks (`failures`, empty if none)."""
    with Emulator(demo=True) as emu:
        common = {"project": PROJECT, "location": LOCATION, "endpoint": emu.url,
                  "anonymous": True, "retry": RETRY, "max_workers": 4}
        with runs_dbapi.connect(**common) as setup:
            cursor = setup.cursor()
            cursor.execute("SELECT tensorboardsId FROM tensorboards")
            (tensorboard,) = cursor.fetchone()
            emu_session = requests.Session()
            answer = emu_session.post(
                f"{emu.url}/v1/projects/{PROJECT}/locations/{LOCATION}/tensorboards/"
                f"{tensorboard}/experiments", params={"tensorboardExperimentId": EXPERIMENT},
                json={"displayName": EXPERIMENT}, timeout=30)
            answer.raise_for_status()
            cursor.executemany(
                "INSERT INTO runs (tensorboardsId, experimentsId, runsId, displayName, "
                "description) VALUES (?, ?, ?, ?, '0')",
                [(tensorboard, EXPERIMENT, rid, rid)
                 for rid in ["shared", *(f"c{n}" for n in range(clients))]])
            cursor.execute("UPDATE runs SET description = '' WHERE experimentsId = ? AND "
                           "runsId = 'shared'", [EXPERIMENT])
            clean = cursor.execute("SELECT runsId, labels FROM runs WHERE "
                                   "experimentsId = 'bert-glue' ORDER BY runsId").fetchall()
        workers: list[Client] = []
        for number in range(clients):
            connection = runs_dbapi.connect(tensorboard=tensorboard, **common)
            client = Client(number, connection)
            connection.client._session.hooks["response"].append(client.record)
            workers.append(client)
        gc.collect()
        rss_before = rss_mb()
        emu.reset_stats()
        emu.set_faults(FaultPlan(rate=rate, kinds=KINDS, seed=seed, retry_after=0,
                                 slow_seconds=0.02))
        deadline = time.monotonic() + seconds
        crashes: list[str] = []
        rss_middle: list[float] = []

        def drive(client: Client) -> None:
            rng = random.Random(seed * 1000 + client.number)
            cursor = client.connection.cursor()
            try:
                while time.monotonic() < deadline:
                    client.operations += 1
                    _one_op(client, cursor, rng, clean)
            except BaseException as error:  # reported in the figures
                crashes.append(f"client {client.number}: {type(error).__name__}: {error}")

        threads = [threading.Thread(target=drive, args=(c,)) for c in workers]
        started = time.monotonic()
        for thread in threads:
            thread.start()
        time.sleep(seconds / 3)
        gc.collect()
        rss_middle.append(rss_mb())
        for thread in threads:
            thread.join()
        elapsed = time.monotonic() - started
        emu.set_faults(None)
        stats = emu.stats()
        gc.collect()
        rss_after = rss_mb()

        # -- the checks --------------------------------------------------------------------
        with runs_dbapi.connect(tensorboard=tensorboard, experiment=EXPERIMENT,
                                **common) as check:
            stored = {rid: description for rid, description in check.cursor().execute(
                "SELECT runsId, description FROM runs").fetchall()}
        for client in workers:
            client.connection.close()
        emu_session.close()
    faults = stats["faults"]
    seen: Counter[int] = Counter()
    for client in workers:
        seen.update(client.seen)
    five_xx = {str(code): count for code, count in sorted(seen.items()) if code >= 500}
    injected = {kind: faults.get(kind, 0) for kind in ("500", "503")}
    lost: list[str] = []
    for client in workers:
        value = int(stored.get(f"c{client.number}") or 0)
        if value != client.counter and not client.counter_unknown:
            lost.append(f"c{client.number}: {value} stored, {client.counter} written last")
        for rid in client.created - client.deleted:
            if rid not in stored:
                lost.append(f"run {rid} created but missing")
        for rid in client.deleted:
            if rid in stored and rid not in client.unknown_runs:
                lost.append(f"run {rid} deleted but present")
    appends = set().union(*(c.appends for c in workers))
    unknown = set().union(*(c.appends_unknown for c in workers))
    shared = (stored.get("shared") or "").split()
    if len(shared) != len(set(shared)):
        lost.append("an append to the shared run was applied twice")
    for token in sorted(appends - set(shared)):
        lost.append(f"append {token} succeeded but is not in the shared run")
    for token in sorted(set(shared) - appends - unknown):
        lost.append(f"append {token} is in the shared run but was not reported written")
    figures: dict[str, Any] = {
        "seconds": round(elapsed, 1),
        "clients": clients,
        "fault_rate": rate,
        "requests": sum(stats["calls"].values()),
        "operations": sum(c.operations for c in workers),
        "calls": stats["calls"],
        "faults_injected": faults,
        "5xx_answered": five_xx,
        "5xx_by_cause": {"injected 500": injected["500"], "injected 503": injected["503"],
                         "not injected": sum(five_xx.values()) - sum(injected.values())},
        "shared_appends": len(appends),
        "etag_conflicts": sum(c.conflicts for c in workers),
        "retry_budgets_spent": sum(c.gave_up for c in workers),
        "lost_updates": len(lost),
        "rss_mb": {"before": round(rss_before, 1), "middle": round(rss_middle[0], 1),
                   "after": round(rss_after, 1)},
    }
    failures: list[str] = [*crashes, *lost]
    failures += [f"client {c.number}: read {e}" for c in workers for e in c.read_errors]
    if sum(five_xx.values()) != sum(injected.values()):
        failures.append(f"5xx answered {five_xx}, injected {injected}")
    if rss_after - rss_middle[0] > 64:
        failures.append(f"RSS grew from {rss_middle[0]:.0f} to {rss_after:.0f} MiB")
    figures["failures"] = failures
    return figures


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--rate", type=float, default=0.05)
    parser.add_argument("--seed", type=int, default=1)
    options = parser.parse_args(argv)
    figures = run_load(options.seconds, options.clients, options.rate, options.seed)
    print(json.dumps(figures, indent=2))
    return 1 if figures["failures"] else 0


if __name__ == "__main__":
    sys.exit(main())
