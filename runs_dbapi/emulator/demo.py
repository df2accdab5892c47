"""Realistic demo data: one tensorboard, several experiments, hundreds of labelled runs, and
their training curves: loss and accuracy by step, about 150 loss points a run over tens of
thousands of steps, and two runs an experiment logging their loss ten times as often (1,501
points: past the read verbs' sampling limit of 1,000)."""

from __future__ import annotations

import math
import random
import sqlite3
import threading
from datetime import datetime, timedelta, timezone
from typing import Any

from .data import DataService
from .kinds import KINDS
from .service import Service, project_number

DEMO_PROJECT = "demo-project"
DEMO_LOCATION = "us-central1"
DEMO_TENSORBOARD = "demo"

# experiment ID -> (description, model family, team)
EXPERIMENTS = {
    "resnet-sweep": ("Learning-rate sweep of ResNet-50 on ImageNet", "resnet50", "vision"),
    "vit-finetune": ("ViT-B/16 fine-tuning on CIFAR-100", "vit-b16", "vision"),
    "bert-glue": ("BERT-base on the GLUE tasks", "bert-base", "nlp"),
    "t5-summarize": ("T5-small summarisation on CNN/DailyMail", "t5-small", "nlp"),
    "wavenet-tts": ("WaveNet text-to-speech ablations", "wavenet", "speech"),
    "ppo-atari": ("PPO agents on Atari games", "ppo", "rl"),
}
OPTIMIZERS = ("adam", "adamw", "sgd", "lamb")
# Learning rates as label values (`.` is not allowed in one: `1e-3` reads as people expect),
# and as the display names write them.
LEARNING_RATES = {"1e-1": "0.1", "3e-2": "0.03", "1e-2": "0.01", "3e-3": "0.003",
                  "1e-3": "0.001"}
STATUSES = ("succeeded", "succeeded", "succeeded", "failed", "running")

# experiment ID -> (steps a finished run trains for, steps between its loss points, loss at
# step 0); the accuracy is evaluated every third loss point.
TRAINING = {
    "resnet-sweep": (30_000, 200, 6.9),
    "vit-finetune": (15_000, 100, 4.6),
    "bert-glue": (30_000, 200, 1.1),
    "t5-summarize": (45_000, 300, 4.0),
    "wavenet-tts": (60_000, 400, 5.5),
    "ppo-atari": (7_500_000, 50_000, 1.5),
}
# The best learning rate of each optimizer (log10): runs far from it learn slower and worse.
BEST_RATE = {"adam": -3.0, "adamw": -3.0, "lamb": -2.5, "sgd": -1.5}
DENSE_RUNS = (1, 31)  # these runs of every experiment log their loss ten times as often


# Demo databases seeded in this process, by (runs per experiment, seed): a store that starts
# empty gets a copy instead of seeding again (tests start many emulators with the demo).
_TEMPLATES: dict[tuple[int, int], sqlite3.Connection] = {}
_TEMPLATES_LOCK = threading.Lock()


def _existing_tensorboard(service: Service, parent: str) -> str | None:
    found = service.list_resources(KINDS["tensorboards"], parent,
                         {"filter": [f'display_name = "{DEMO_TENSORBOARD}"']})
    boards = found.get("tensorboards", [])
    return str(boards[0]["name"]) if boards else None


def seed(
    service: Service,
    data: DataService,
    *,
    runs_per_experiment: int = 60,
    seed: int = 7,
) -> dict[str, Any]:
    """Create the demo project's data once; seeding again finds it and adds nothing."""
    rng = random.Random(seed)
    location = f"projects/{project_number(DEMO_PROJECT)}/locations/{DEMO_LOCATION}"
    board = _existing_tensorboard(service, location)
    created = board is None
    template = (runs_per_experiment, seed)
    copy = None
    empty = created and service.store.is_empty()
    if empty:
        with _TEMPLATES_LOCK:
            copy = _TEMPLATES.get(template)
        if copy is not None:
            # Seeded before in this process: copy that database (SQLite's backup, milliseconds).
            service.store.copy_from(copy)
            board = _existing_tensorboard(service, location)
    if board is None:
        # Creation is an Operation that may not be done yet: find the board by name instead.
        service.create(KINDS["tensorboards"], location, {}, {
            "displayName": DEMO_TENSORBOARD,
            "description": "Demo TensorBoard of the runs emulator",
            "labels": {"env": "demo"},
        })
        board = _existing_tensorboard(service, location)
        assert board is not None
        start = datetime(2026, 1, 5, 9, 0, tzinfo=timezone.utc)
        for experiment, (description, model, team) in EXPERIMENTS.items():
            service.create(KINDS["experiments"], board, {"tensorboardExperimentId": [experiment]},
                           {"displayName": experiment, "description": description,
                            "labels": {"team": team, "model": model}})
            _seed_runs(service, rng, f"{board}/experiments/{experiment}",
                       name=experiment, model=model, team=team, count=runs_per_experiment,
                       start=start)
        if empty:
            kept = sqlite3.connect(":memory:", check_same_thread=False)
            service.store.copy_to(kept)
            with _TEMPLATES_LOCK:
                _TEMPLATES.setdefault(template, kept)
    return {
        "project": DEMO_PROJECT,
        "location": DEMO_LOCATION,
        "tensorboard": board.rsplit("/", 1)[1],
        "experiments": list(EXPERIMENTS),
        "runs": runs_per_experiment * len(EXPERIMENTS),
        "created": created,
    }


def _seed_runs(
    service: Service, rng: random.Random, experiment: str, *, name: str,
    model: str, team: str, count: int, start: datetime,
) -> None:
    requests = []
    for index in range(1, count + 1):
        rate = rng.choice(tuple(LEARNING_RATES))
        optimizer = rng.choice(OPTIMIZERS)
        labels = {
            "team": team,
            "model": model,
            "optimizer": optimizer,
            "lr": rate,
            "status": rng.choice(STATUSES),
            "seed": str(rng.randrange(1000)),
        }
        if index % 10 == 0:
            labels["aiplatform.googleapis.com/training_job_id"] = str(8_000_000 + index)
        requests.append({
            "parent": experiment,
            "tensorboardRunId": f"{name}-{index:04d}",
            "tensorboardRun": {
                "displayName": f"{name} {optimizer} lr={LEARNING_RATES[rate]} #{index}",
                "description": f"Trial {index} of {name}",
                "labels": labels,
            },
        })
    service.batch_create(KINDS["runs"], experiment, {"requests": requests}, "tensorboardRun")
    _seed_curves(service, rng, experiment, name=name, requests=requests, start=start)


def _seed_curves(service: Service, rng: random.Random, experiment: str, *, name: str,
                 requests: list[dict[str, Any]], start: datetime) -> None:
    """Loss and accuracy series for every run (one batchCreate), their points stored in bulk."""
    created = service.batch_create(KINDS["timeSeries"], experiment, {"requests": [
        {"parent": f"{experiment}/runs/{request['tensorboardRunId']}",
         "tensorboardTimeSeries": {"displayName": metric, "valueType": "SCALAR",
                                   "pluginName": "scalars"}}
        for request in requests for metric in ("loss", "accuracy")]}, "tensorboardTimeSeries")
    names = [str(series["name"]) for series in created["tensorboardTimeSeries"]]
    store = service.store
    rows: list[tuple[str, int, str, str]] = []
    last: dict[str, tuple[int, str]] = {}
    for index, request in enumerate(requests, start=1):
        # The draws the 20-point demo made for each run, so that every later run keeps the
        # labels and display names it always had.
        for _ in range(41):
            rng.random()
        labels = request["tensorboardRun"]["labels"]
        curves = _curves(name, index, labels, start)
        for series, points in zip(names[2 * index - 2:2 * index], curves, strict=True):
            rows += [(series, step, wall, value) for step, wall, value in points]
            last[series] = (points[-1][0], points[-1][1])
    with store.transaction():
        store.put_encoded_points(rows)
        for series, (max_step, max_wall) in last.items():
            record = store.get(series)
            assert record is not None
            body = {**record.body, "metadata": {"maxStep": str(max_step),
                                                 "maxWallTime": max_wall}}
            store.update(record, body, record.update_time)


def _curves(name: str, index: int, labels: dict[str, str], start: datetime
            ) -> tuple[list[tuple[int, str, str]], list[tuple[int, str, str]]]:
    """(loss, accuracy) points of one run: (step, wall time, the value's JSON), the loss
    falling and the accuracy rising at a pace set by the learning rate's distance from the
    optimizer's best; failed runs stop early and diverge, running ones have not finished."""
    steps, every, initial = TRAINING[name]
    rng = random.Random(f"{name}-{index}")
    distance = abs(math.log10(float(labels["lr"])) - BEST_RATE[labels["optimizer"]])
    tau = steps * rng.uniform(0.12, 0.22) * (1 + distance)
    floor = initial * rng.uniform(0.03, 0.08) * (1 + 1.5 * distance)
    ceiling = min(0.98, rng.uniform(0.78, 0.95) / (1 + 0.3 * distance))
    status = labels["status"]
    fraction = {"failed": rng.uniform(0.15, 0.6), "running": rng.uniform(0.3, 0.9)}.get(
        status, 1.0)
    last_step = int(steps * fraction) // every * every
    stride = every // 10 if index in DENSE_RUNS else every
    diverge = int(last_step * 0.85) if status == "failed" else last_step + 1
    # Noise from a table drawn once (a gauss draw per point would dominate the seeding).
    noise = _NOISE
    offset = rng.randrange(len(noise))
    wall = (start + timedelta(minutes=7 * index + rng.uniform(0, 5))).replace(tzinfo=None)
    tick = timedelta(seconds=stride * rng.uniform(0.02, 0.05) * 25_000 / steps)
    decay, ratio = 1.0, math.exp(-stride / tau)
    accuracy_ratio = math.exp(-3 * every / (tau * 0.8))
    rising = 1.0  # exp(-step / (0.8 tau)) at the accuracy's steps
    loss: list[tuple[int, str, str]] = []
    accuracy: list[tuple[int, str, str]] = []
    for number, step in enumerate(range(0, last_step + 1, stride)):
        text = wall.isoformat(timespec="microseconds") + "Z"
        wobble = noise[(offset + number) % len(noise)]
        value = floor + (initial - floor) * decay + wobble * (0.008 + 0.05 * decay) * initial
        if step > diverge:
            value *= 1 + 8 * (step - diverge) / last_step
        loss.append((step, text, f'{{"scalar": {{"value": {abs(value):.5f}}}}}'))
        if step % (3 * every) == 0:
            score = ceiling * (1 - rising) + 0.01 * wobble
            if step > diverge:
                score *= 1 - 2 * (step - diverge) / last_step
            score = min(1.0, max(0.0, score))
            accuracy.append((step, text, f'{{"scalar": {{"value": {score:.5f}}}}}'))
            rising *= accuracy_ratio
        decay *= ratio
        wall += tick
    return loss, accuracy


def _noise(size: int = 1021) -> list[float]:
    draws = random.Random(0)
    return [draws.gauss(0, 1) for _ in range(size)]


_NOISE = _noise()
