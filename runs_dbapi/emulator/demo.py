"""Realistic demo data: one tensorboard, several experiments, hundreds of labelled runs, scalars."""

from __future__ import annotations

import random
from datetime import datetime, timedelta, timezone
from typing import Any

from .data import DataService
from .kinds import KINDS
from .service import Service, project_number
from .wire import format_time

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
    points_per_series: int = 20,
    seed: int = 7,
) -> dict[str, Any]:
    """Create the demo project's data once; seeding again finds it and adds nothing."""
    rng = random.Random(seed)
    location = f"projects/{project_number(DEMO_PROJECT)}/locations/{DEMO_LOCATION}"
    board = _existing_tensorboard(service, location)
    created = board is None
    if board is None:
        # Creation is an Operation that may not be done yet: find the board by name instead.
        service.create(KINDS["tensorboards"], location, {}, {
            "displayName": DEMO_TENSORBOARD,
            "description": "Demo TensorBoard of the runs emulator",
            "labels": {"env": "demo"},
        })
        board = _existing_tensorboard(service, location)
        assert board is not None
    if created:
        start = datetime(2026, 1, 5, 9, 0, tzinfo=timezone.utc)
        for experiment, (description, model, team) in EXPERIMENTS.items():
            service.create(KINDS["experiments"], board, {"tensorboardExperimentId": [experiment]},
                           {"displayName": experiment, "description": description,
                            "labels": {"team": team, "model": model}})
            _seed_runs(service, data, rng, f"{board}/experiments/{experiment}",
                       name=experiment, model=model, team=team, count=runs_per_experiment,
                       points=points_per_series, start=start)
    return {
        "project": DEMO_PROJECT,
        "location": DEMO_LOCATION,
        "tensorboard": board.rsplit("/", 1)[1],
        "experiments": list(EXPERIMENTS),
        "runs": runs_per_experiment * len(EXPERIMENTS),
        "created": created,
    }


def _seed_runs(
    service: Service, data: DataService, rng: random.Random, experiment: str, *, name: str,
    model: str, team: str, count: int, points: int, start: datetime,
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
    for request in requests:
        run = f"{experiment}/runs/{request['tensorboardRunId']}"
        series = {}
        for metric in ("loss", "accuracy"):
            created = service.create(KINDS["timeSeries"], run, {}, {
                "displayName": metric, "valueType": "SCALAR", "pluginName": "scalars",
            })
            series[metric] = str(created["name"]).rsplit("/", 1)[1]
        decay = rng.uniform(0.05, 0.3)
        values: dict[str, list[dict[str, Any]]] = {"loss": [], "accuracy": []}
        for step in range(points):
            wall = format_time(start + timedelta(minutes=5 * step + rng.random()))
            loss = 2.5 * (1 - decay) ** step + rng.uniform(0, 0.05)
            values["loss"].append({"step": str(step * 100), "wallTime": wall,
                                   "scalar": {"value": round(loss, 5)}})
            values["accuracy"].append({"step": str(step * 100), "wallTime": wall,
                                       "scalar": {"value": round(1 - loss / 2.6, 5)}})
        data.write_run(run, {"timeSeriesData": [
            {"tensorboardTimeSeriesId": series[m], "valueType": "SCALAR", "values": values[m]}
            for m in ("loss", "accuracy")
        ]})
