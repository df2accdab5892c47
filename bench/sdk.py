"""The benchmark's workloads through Google's own SDK (google-cloud-aiplatform, REST transport).

Run by bench/run.py with the SDK's interpreter (`--sdk-python`), once per latency:

    /tmp/sdkenv/bin/python bench/sdk.py --layout bench/.layout.json --latency 20 --reps 1

Prints {"workloads": {workload: {client: result}}} as JSON on stdout. Two clients:

* "SDK low-level": `aiplatform_v1.TensorboardServiceClient(transport="rest")`, used as well as it
  can be: page_size=1000, batch_create_tensorboard_runs, and the same 16 threads as the floor for
  calls that do not depend on each other (fan-out, patches, deletes, batches);
* "SDK high-level": `aiplatform.TensorboardRun.list()` and `.create()`. These make one extra call
  per run listed (its time series) and three per run created (create, get, list time series), so
  they run on a smaller set (`sdk_list` / `sdk_insert` runs) and wall time and calls are scaled
  linearly to the workload's size; the measured figures are kept alongside.
"""

from __future__ import annotations

import argparse
import json
import logging
import warnings
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from common import Control, Seeder, default_labels, dump, measure

warnings.filterwarnings("ignore")
logging.disable(logging.WARNING)

from google.api_core.client_options import ClientOptions  # noqa: E402
from google.auth.credentials import AnonymousCredentials  # noqa: E402
from google.cloud import aiplatform, aiplatform_v1  # noqa: E402
from google.protobuf import field_mask_pb2  # noqa: E402

LOW = "SDK low-level"
HIGH = "SDK high-level"
WORKERS = 16


def insert_rows(count: int, prefix: str) -> list[tuple[str, str, str, dict[str, str]]]:
    return [(f"{prefix}-{i}", f"{prefix} {i}", f"inserted run {i}", default_labels(i))
            for i in range(count)]


def delete_labels(i: int) -> dict[str, str]:
    return {**default_labels(i), "grp": "d" if i % 2 == 0 else "k"}


def scaled(result: dict[str, Any], factor: float, measured_rows: int) -> dict[str, Any]:
    out = dict(result)
    out.update({"measured_wall": result["wall"], "measured_calls": result["calls"],
                "measured_rows": measured_rows, "scale": factor,
                "wall": result["wall"] * factor, "calls": round(result["calls"] * factor)})
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--layout", required=True)
    parser.add_argument("--latency", type=float, required=True)
    parser.add_argument("--reps", type=int, default=1)
    args = parser.parse_args()
    with open(args.layout, encoding="utf-8") as handle:
        layout = json.load(handle)
    url, sizes, latency, reps = layout["url"], layout["sizes"], args.latency, args.reps
    control = Control(url)
    seeder = Seeder(url)
    tag = f"{int(latency)}ms"
    client = aiplatform_v1.TensorboardServiceClient(
        credentials=AnonymousCredentials(), transport="rest",
        client_options=ClientOptions(api_endpoint=url))
    aiplatform.init(project=layout["project"], location=layout["location"], api_endpoint=url,
                    api_transport="rest", credentials=AnonymousCredentials())
    pool = ThreadPoolExecutor(WORKERS)
    results: dict[str, dict[str, Any]] = {}

    def record(workload: str, who: str, outcome: dict[str, Any]) -> None:
        results.setdefault(workload, {})[who] = outcome

    def low_list(parent: str, **request: Any) -> list[Any]:
        return list(client.list_tensorboard_runs(
            request={"parent": parent, "page_size": 1000, **request}))

    def check(got: int, expected: int) -> None:
        assert got == expected, f"{got} rows, expected {expected}"

    # -- reads -----------------------------------------------------------------------------
    record("list", LOW, measure(control, latency, reps,
                                lambda _: check(len(low_list(layout["list"])), sizes["list"])))
    subset = sizes["sdk_list"]
    record("list", HIGH, scaled(measure(control, latency, reps, lambda _: check(len(
        aiplatform.TensorboardRun.list(tensorboard_experiment_name=layout["sdk_list"])), subset)),
        sizes["list"] / subset, subset))
    record("filtered", LOW, measure(control, latency, reps, lambda _: check(len(low_list(
        layout["list"], filter='labels.team = "a"')), sizes["list"] // 4)))
    record("filtered", HIGH, scaled(measure(control, latency, reps, lambda _: check(len(
        aiplatform.TensorboardRun.list(tensorboard_experiment_name=layout["sdk_list"],
                                       filter='labels.team = "a"')), subset // 4)),
        sizes["list"] / subset, subset))

    def limit(_: Any) -> None:
        pager = client.list_tensorboard_runs(request={"parent": layout["list"], "page_size": 10})
        check(len([run for _, run in zip(range(10), pager, strict=False)]), 10)

    record("limit", LOW, measure(control, latency, reps, limit))

    def first_row(_: Any) -> dict[str, float]:
        import time  # noqa: PLC0415

        started = time.perf_counter()
        pager = client.list_tensorboard_runs(request={"parent": layout["list"],
                                                      "page_size": 1000})
        next(iter(pager))
        return {"first_row": time.perf_counter() - started}

    record("first_row", LOW, measure(control, latency, reps, first_row, settle=0.5))

    fan_total = sizes["fan_experiments"] * sizes["fan_runs"]
    fan_parent = layout["fan_name"]

    def fan_out(_: Any) -> None:
        names = [e.name for e in client.list_tensorboard_experiments(
            request={"parent": fan_parent, "page_size": 1000})]
        check(sum(len(runs) for runs in pool.map(low_list, names)), fan_total)

    record("fan_out", LOW, measure(control, latency, reps, fan_out))

    def group_by(_: Any) -> None:
        counts = Counter(run.labels.get("team") for run in client.list_tensorboard_runs(
            request={"parent": layout["group"], "page_size": 1000}))
        check(sum(counts.values()), sizes["group"])

    record("group_by", LOW, measure(control, latency, reps, group_by))

    # -- writes ----------------------------------------------------------------------------
    rows = insert_rows(sizes["insert"], "i")

    def low_insert(experiment: str) -> None:
        requests = [aiplatform_v1.CreateTensorboardRunRequest(
            parent=experiment, tensorboard_run_id=rid,
            tensorboard_run=aiplatform_v1.TensorboardRun(display_name=display, description=text,
                                                         labels=labels))
            for rid, display, text, labels in rows]
        chunks = [requests[i:i + 1000] for i in range(0, len(requests), 1000)]
        answers = pool.map(lambda chunk: client.batch_create_tensorboard_runs(
            parent=experiment, requests=chunk), chunks)
        check(sum(len(a.tensorboard_runs) for a in answers), len(rows))

    record("insert", LOW, measure(
        control, latency, reps, low_insert,
        setup=lambda rep: seeder.experiment(layout["main"], f"ins-sl-{tag}-{rep}")))
    few = insert_rows(sizes["sdk_insert"], "h")

    def high_insert(experiment: str) -> None:
        for rid, display, text, labels in few:
            aiplatform.TensorboardRun.create(tensorboard_run_id=rid,
                                             tensorboard_experiment_name=experiment,
                                             display_name=display, description=text,
                                             labels=labels)

    record("insert", HIGH, scaled(measure(
        control, latency, reps, high_insert,
        setup=lambda rep: seeder.experiment(layout["main"], f"ins-sh-{tag}-{rep}")),
        sizes["insert"] / len(few), len(few)))

    passes = iter(range(10**6))

    def low_update(_: Any) -> None:
        runs = low_list(layout["update"], filter='labels.grp = "u"')
        description = f"sdk pass {next(passes)}"
        mask = field_mask_pb2.FieldMask(paths=["description"])
        done = list(pool.map(lambda run: client.update_tensorboard_run(
            tensorboard_run=aiplatform_v1.TensorboardRun(name=run.name, description=description),
            update_mask=mask), runs))
        check(len(done), sizes["update"])

    record("update", LOW, measure(control, latency, reps, low_update))

    def delete_setup(rep: int) -> str:
        name = seeder.experiment(layout["main"], f"del-sl-{tag}-{rep}")
        seeder.runs(name, 2 * sizes["delete"], labels=delete_labels)
        return name

    def low_delete(experiment: str) -> None:
        runs = low_list(experiment, filter='labels.grp = "d"')
        list(pool.map(lambda run: client.delete_tensorboard_run(name=run.name).result(), runs))
        check(len(runs), sizes["delete"])

    record("delete", LOW, measure(control, latency, reps, low_delete, setup=delete_setup))
    pool.shutdown()
    print(dump({"workloads": results}))


if __name__ == "__main__":
    main()
