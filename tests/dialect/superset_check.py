"""Apache Superset over runs://, headless: the check `tox -e superset` runs.

Superset (6.1.0, in its own virtual environment) is configured against a SQLite metadata
database in WORKDIR, migrated and initialised, with the demo emulator's address allowed by the
administrator's RUNS_URL_ALLOWLIST; then, through its REST API and Flask's test client, as an
admin: see each URL option that would borrow the server's identity refused with its message
(in the URL and in the connect_args of a database's extra), the emulator's endpoint refused
without the setting and accepted with it, test a runs:// connection to the emulator, add the
database, list its schemas and tables, create a dataset from runs, run a SQL Lab query, and query
a chart grouped by a daily time grain; export a chart as CSV (labels as JSON); draw the training
curves (a line chart of the loss by step per run, saved over a virtual dataset joining
time_series_data and runs, its data equal to a direct query's); with DML allowed,
run INSERT, UPDATE and DELETE in SQL Lab (each shows its rowcount); "Upload CSV" and "Upload
Columnar" append into runs, and the options the API cannot honour (replace, fail, a new table,
the DataFrame index) are refused saying what to choose. Exits non-zero, saying what is wrong, on
any failure.

    python tests/dialect/superset_check.py WORKDIR
"""

from __future__ import annotations

import csv
import io
import json
import os
import sys
import textwrap
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

ADMIN, PASSWORD = "admin", "runs-check-password"


def write_config(workdir: Path, emulator_url: str) -> Path:
    path = Path(os.environ.get("SUPERSET_CONFIG_PATH") or workdir / "superset_config.py")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(f"""
        SECRET_KEY = "runs-dialect-superset-check-not-a-secret"
        SQLALCHEMY_DATABASE_URI = "sqlite:///{workdir / 'superset.db'}"
        WTF_CSRF_ENABLED = False
        TALISMAN_ENABLED = False
        RATELIMIT_ENABLED = False
        AUTH_RATE_LIMITED = False
        FEATURE_FLAGS = {{}}
        CACHE_CONFIG = {{"CACHE_TYPE": "NullCache"}}
        DATA_CACHE_CONFIG = {{"CACHE_TYPE": "NullCache"}}
        THUMBNAIL_SELENIUM_USER = None
        # The administrator lets runs:// URLs point at the demo emulator, and nowhere else.
        RUNS_URL_ALLOWLIST = {{"endpoint": [{emulator_url!r}]}}
    """), encoding="utf-8")
    os.environ["SUPERSET_CONFIG_PATH"] = str(path)
    return path


class Client:
    """Superset's REST API through Flask's test client, with a JWT of the admin."""

    def __init__(self, app: Any) -> None:
        self.http = app.test_client()
        login = self.http.post("/api/v1/security/login", json={
            "username": ADMIN, "password": PASSWORD, "provider": "db", "refresh": False})
        assert login.status_code == 200, login.get_data(as_text=True)
        self.headers = {"Authorization": f"Bearer {login.get_json()['access_token']}"}

    def call(self, method: str, path: str, expect: int = 200, **kwargs: Any) -> Any:
        return json.loads(self.text(method, path, expect, **kwargs))

    def text(self, method: str, path: str, expect: int = 200, **kwargs: Any) -> str:
        response = self.http.open(path, method=method, headers=self.headers, **kwargs)
        body: str = response.get_data(as_text=True)
        assert response.status_code == expect, f"{method} {path}: {response.status_code} {body}"
        return body


def step(title: str) -> None:
    print(f"--- {title}", flush=True)


# Each option that would make Superset act with its own identity or reach a host of the URL's
# choosing, with a value the administrator has not allowed.
REFUSED = {
    "endpoint": "http://127.0.0.2:9",
    "iam_endpoint_override": "https://iamcredentials.googleapis.com",
    "impersonate_service_account": "reader@demo-project.iam.gserviceaccount.com",
    "quota_project": "someone-elses-project",
    "credentials_hosts": "127.0.0.1",
    "credentials_path": "/etc/superset/server-key.json",
    "emulator": "memory",
}


def refusal(client: Client, url: str, **fields: Any) -> str:
    """The message of a test_connection that Superset refuses (422)."""
    answer = client.call("POST", "/api/v1/database/test_connection/", expect=422,
                         json={"database_name": "runs", "sqlalchemy_uri": url, **fields})
    messages = [e.get("message", "") for e in answer.get("errors", [])]
    return " | ".join(m for m in messages if m) or json.dumps(answer)


def check_refusals(app: Any, client: Client, url: str) -> None:
    from runs_dialect import build_url

    step("URL options that borrow the server's identity are refused")
    for option, value in REFUSED.items():
        refused = build_url("demo-project", "us-central1", **{option: value}).render_as_string(
            hide_password=False)
        message = refusal(client, refused)
        print(f"{option}={value}: {message}")
        assert f"runs:// option {option} is refused on this server" in message, message
        assert "RUNS_URL_ALLOWLIST" in message, message

    step("... and so are they in the connect_args of the database's extra")
    extra = json.dumps({"engine_params": {"connect_args": {
        "impersonate_service_account": REFUSED["impersonate_service_account"]}}})
    message = refusal(client, url, extra=extra)
    print("extra connect_args:", message)
    assert "runs:// option impersonate_service_account is refused" in message, message
    encrypted = json.dumps({"connect_args": {"credentials_hosts": "127.0.0.1"}})
    message = refusal(client, url, masked_encrypted_extra=encrypted)
    print("encrypted extra connect_args:", message)
    assert "runs:// option credentials_hosts is refused" in message, message

    step("the emulator's endpoint: refused without the administrator's setting, then allowed")
    allowlist = app.config.pop("RUNS_URL_ALLOWLIST")
    try:
        message = refusal(client, url)
        print("without RUNS_URL_ALLOWLIST:", message)
        assert "runs:// option endpoint is refused on this server" in message, message
    finally:
        app.config["RUNS_URL_ALLOWLIST"] = allowlist
    print("RUNS_URL_ALLOWLIST =", allowlist)
    answer = client.call("POST", "/api/v1/database/test_connection/",
                         json={"database_name": "runs", "sqlalchemy_uri": url})
    assert answer["message"] == "OK", answer
    same_project = url + "&quota_project=demo-project"  # billing the URL's own project is fine
    answer = client.call("POST", "/api/v1/database/test_connection/",
                         json={"database_name": "runs", "sqlalchemy_uri": same_project})
    assert answer["message"] == "OK", answer


def check(app: Any, url: str, emulator: Any) -> None:
    client = Client(app)

    step("engine spec")
    from superset.db_engine_specs import get_engine_spec

    from runs_dbapi.catalog import TABLES
    from runs_dialect.superset import RunsEngineSpec

    with app.app_context():
        assert get_engine_spec("runs") is RunsEngineSpec
        assert get_engine_spec("runs", "rest") is RunsEngineSpec

    check_refusals(app, client, url)

    step("test the connection")
    answer = client.call("POST", "/api/v1/database/test_connection/",
                         json={"database_name": "runs", "sqlalchemy_uri": url})
    assert answer["message"] == "OK", answer

    step("add the database")
    created = client.call("POST", "/api/v1/database/", expect=201, json={
        "database_name": "TensorBoard runs", "sqlalchemy_uri": url, "expose_in_sqllab": True,
        "allow_dml": True, "allow_file_upload": True})
    database_id = created["id"]
    listed = client.call("GET", f"/api/v1/database/{database_id}")
    assert listed["result"]["backend"] == "runs", listed

    step("schemas and tables")
    schemas = client.call("GET", f"/api/v1/database/{database_id}/schemas/")["result"]
    assert schemas == ["aiplatform"], schemas
    tables = client.call("GET", f"/api/v1/database/{database_id}/tables/"
                         "?q=(force:!t,schema_name:aiplatform)")
    names = sorted(t["value"] for t in tables["result"])
    assert names == sorted(TABLES), tables  # the catalog's tables, no more, no fewer
    metadata = client.call("GET", f"/api/v1/database/{database_id}/table_metadata/"
                           "?name=runs&schema=aiplatform")
    columns = {c["column_name"] if "column_name" in c else c["name"]: c
               for c in metadata["columns"]}
    assert {"createTime", "labels", "runsId", "displayName"} <= set(columns), metadata
    print("runs columns:", sorted(columns))

    step("dataset from runs")
    dataset = client.call("POST", "/api/v1/dataset/", expect=201, json={
        "database": database_id, "schema": "aiplatform", "table_name": "runs"})
    dataset_id = dataset["id"]
    detail = client.call("GET", f"/api/v1/dataset/{dataset_id}")["result"]
    by_name = {c["column_name"]: c for c in detail["columns"]}
    assert by_name["createTime"]["is_dttm"] and by_name["updateTime"]["is_dttm"], by_name
    assert not by_name["displayName"]["is_dttm"]
    print("dataset columns:", {n: c["type"] for n, c in by_name.items()})

    step("SQL Lab query")
    def sql_lab(sql: str, limit: int = 1000) -> list[dict[str, Any]]:
        # queryLimit is SQL Lab's row limit; Superset writes it into the SQL (LIMIT n + 1).
        result = client.call("POST", "/api/v1/sqllab/execute/", json={
            "database_id": database_id, "schema": "aiplatform", "runAsync": False, "sql": sql,
            "queryLimit": limit})
        assert result["status"] == "success", result
        print("SQL Lab:", " ".join(result["query"]["executedSql"].split()), "->", result["data"])
        rows: list[dict[str, Any]] = result["data"]
        return rows

    rows = sql_lab("SELECT experimentsId, count(*) AS runs, "
                   "sum(labels ->> '$.status' = 'failed') AS failed FROM runs "
                   "GROUP BY experimentsId ORDER BY experimentsId")
    assert [r["experimentsId"] for r in rows] == sorted(
        ["bert-glue", "ppo-atari", "resnet-sweep", "t5-summarize", "vit-finetune",
         "wavenet-tts"]), rows
    assert all(r["runs"] == 60 and 0 < r["failed"] < 60 for r in rows), rows
    first = sql_lab("SELECT runsId, createTime FROM runs WHERE experimentsId = 'bert-glue' "
                    "ORDER BY runsId", limit=3)
    assert [r["runsId"] for r in first] == ["bert-glue-0001", "bert-glue-0002",
                                            "bert-glue-0003"], first

    step("SQL Lab query with json_extract (Superset re-renders it with its own sqlglot)")
    failed = sql_lab("SELECT count(*) AS failed FROM runs "
                     "WHERE json_extract(labels, '$.status') = 'failed'")[0]["failed"]
    expected = sum(r["failed"] for r in rows)
    assert failed == expected, f"json_extract counted {failed}, not {expected}"

    step("chart query grouped by day")
    now = datetime.now(timezone.utc)
    today = now.strftime("%Y-%m-%d")
    def runs_per_grain(grain: str, **extra: Any) -> dict[str, Any]:
        """A chart query: runs counted per createTime bucket of a time grain."""
        chart = client.call("POST", "/api/v1/chart/data", json={
            "datasource": {"id": dataset_id, "type": "table"},
            "force": True,
            "queries": [{
                "columns": [{"columnType": "BASE_AXIS", "expressionType": "SQL",
                             "sqlExpression": "createTime", "label": "createTime",
                             "timeGrain": grain}],
                "metrics": [{"expressionType": "SQL", "sqlExpression": "COUNT(*)",
                             "label": "runs"}],
                "row_limit": 1000,
                **extra,
            }],
            "result_format": "json",
            "result_type": "full",
        })
        result: dict[str, Any] = chart["result"][0]
        return result

    for grain, expression in (("P1D", "start of day"), ("P1M", "start of month")):
        query = runs_per_grain(
            grain,
            filters=[{"col": "createTime", "op": "TEMPORAL_RANGE", "val": "No filter"}],
            orderby=[[{"expressionType": "SQL", "sqlExpression": "COUNT(*)", "label": "runs"},
                      False]],
        )
        assert query["status"] == "success", query
        assert expression in query["query"], query["query"]
        data = query["data"]
        assert sum(r["runs"] for r in data) == 360, data
        buckets = [datetime.fromtimestamp(r["createTime"] / 1000, timezone.utc) for r in data]
        assert all(b.hour == b.minute == b.second == 0 for b in buckets), buckets
        if grain == "P1D":
            assert today in {b.strftime("%Y-%m-%d") for b in buckets}, buckets
        else:
            assert all(b.day == 1 for b in buckets), buckets
        print(f"chart ({grain}):", [(b.isoformat(), r["runs"]) for b, r in
                                    zip(buckets, data, strict=True)])
        print(query["query"])

    step("every time grain of the engine spec")
    with app.app_context():
        grains = [g for g in RunsEngineSpec.get_time_grain_expressions() if g]
    for grain in grains:
        query = runs_per_grain(grain)
        assert query["status"] == "success", (grain, query)
        assert sum(r["runs"] for r in query["data"]) == 360, (grain, query)
        buckets = [datetime.fromtimestamp(r["createTime"] / 1000, timezone.utc)
                   for r in query["data"]]
        # Within a year before the runs (a week after, for the week-ending grains).
        assert all(now - timedelta(days=366) < b <= now + timedelta(days=7)
                   for b in buckets), (grain, buckets)
        print(f"grain {grain}:", [b.isoformat() for b in buckets])

    step("chart with a time range filter")
    chart = client.call("POST", "/api/v1/chart/data", json={
        "datasource": {"id": dataset_id, "type": "table"},
        "force": True,
        "queries": [{
            "columns": [{"columnType": "BASE_AXIS", "expressionType": "SQL",
                         "sqlExpression": "createTime", "label": "createTime",
                         "timeGrain": "P1D"}],
            "metrics": [{"expressionType": "SQL", "sqlExpression": "COUNT(*)",
                         "label": "runs"}],
            "filters": [{"col": "createTime", "op": "TEMPORAL_RANGE",
                         "val": "2000-01-01 : 2001-01-01"}],
            "row_limit": 1000,
        }],
        "result_format": "json",
        "result_type": "full",
    })
    assert chart["result"][0]["status"] == "success", chart
    assert chart["result"][0]["data"] == [], chart["result"][0]
    print(chart["result"][0]["query"])
    around = (f"{(now - timedelta(days=1)).strftime('%Y-%m-%d')} : "
              f"{(now + timedelta(days=1)).strftime('%Y-%m-%d')}")
    chart = client.call("POST", "/api/v1/chart/data", json={
        "datasource": {"id": dataset_id, "type": "table"},
        "force": True,
        "queries": [{
            "columns": [{"columnType": "BASE_AXIS", "expressionType": "SQL",
                         "sqlExpression": "createTime", "label": "createTime",
                         "timeGrain": "P1D"}],
            "metrics": [{"expressionType": "SQL", "sqlExpression": "COUNT(*)",
                         "label": "runs"}],
            "filters": [{"col": "createTime", "op": "TEMPORAL_RANGE", "val": around},
                        {"col": "experimentsId", "op": "IN", "val": ["bert-glue", "ppo-atari"]}],
            "row_limit": 1000,
        }],
        "result_format": "json",
        "result_type": "full",
    })
    query = chart["result"][0]
    assert query["status"] == "success", chart
    assert sum(r["runs"] for r in query["data"]) == 120, query
    print(query["query"])

    check_csv_export(client, dataset_id)
    check_training_curves(client, database_id, url)
    check_sql_lab_dml(sql_lab)
    check_uploads(client, database_id, sql_lab, emulator)


def check_csv_export(client: Client, dataset_id: int) -> None:
    step("chart exported as CSV: labels as JSON")
    exported = client.text("POST", "/api/v1/chart/data", json={
        "datasource": {"id": dataset_id, "type": "table"},
        "force": True,
        "queries": [{
            "columns": ["runsId", "labels"],
            "filters": [{"col": "experimentsId", "op": "==", "val": "bert-glue"}],
            "orderby": [["runsId", True]],
            "row_limit": 3,
        }],
        "result_format": "csv",
        "result_type": "full",
    })
    print(exported)
    rows = list(csv.DictReader(io.StringIO(exported)))
    assert [r["runsId"] for r in rows] == ["bert-glue-0001", "bert-glue-0002",
                                           "bert-glue-0003"], rows
    for row in rows:
        labels = json.loads(row["labels"])  # JSON, not Python's {'team': 'nlp'}
        assert labels["team"] == "nlp" and labels["model"] == "bert-base", row


# A virtual dataset of data points with their run's display name and labels (one experiment).
CURVES_SQL = """SELECT d.runsId, r.displayName AS run, r.labels ->> '$.optimizer' AS optimizer,
       d.displayName, d.step, d.wallTime, d.scalar
FROM time_series_data AS d
JOIN runs AS r ON r.experimentsId = d.experimentsId AND r.runsId = d.runsId
WHERE d.experimentsId = 'bert-glue'"""


def check_training_curves(client: Client, database_id: int, url: str) -> None:
    """A line chart of the loss by step, a line per run, from a virtual dataset joining
    time_series_data and runs: saved, then its data fetched through the chart data API and
    compared, line by line and point by point, with a direct SQL query."""
    from sqlalchemy import create_engine, text

    step("virtual dataset of training curves (time_series_data joined to runs)")
    dataset = client.call("POST", "/api/v1/dataset/", expect=201, json={
        "database": database_id, "schema": "aiplatform", "table_name": "training_curves",
        "sql": CURVES_SQL})
    dataset_id = dataset["id"]
    detail = client.call("GET", f"/api/v1/dataset/{dataset_id}")["result"]
    columns = {c["column_name"] for c in detail["columns"]}
    assert {"runsId", "run", "optimizer", "displayName", "step", "scalar"} <= columns, columns

    step("line chart: avg(scalar) by step, a line per run, for displayName = 'loss'")
    metric = {"expressionType": "SIMPLE", "column": {"column_name": "scalar"},
              "aggregate": "AVG", "label": "AVG(scalar)"}
    loss = {"expressionType": "SIMPLE", "subject": "displayName", "operator": "==",
            "comparator": "loss", "clause": "WHERE"}
    form_data = {"datasource": f"{dataset_id}__table", "viz_type": "echarts_timeseries_line",
                 "x_axis": "step", "metrics": [metric], "groupby": ["runsId"],
                 "adhoc_filters": [loss], "row_limit": 50_000, "truncate_metric": True}
    query_context = {
        "datasource": {"id": dataset_id, "type": "table"},
        "force": True,
        "queries": [{
            "columns": [{"columnType": "BASE_AXIS", "expressionType": "SQL",
                         "sqlExpression": "step", "label": "step"}, "runsId"],
            "metrics": [metric],
            "filters": [{"col": "displayName", "op": "==", "val": "loss"}],
            "orderby": [[metric, False]],
            "row_limit": 50_000,
            "post_processing": [
                {"operation": "pivot", "options": {
                    "index": ["step"], "columns": ["runsId"],
                    "aggregates": {"AVG(scalar)": {"operator": "mean"}},
                    "drop_missing_columns": False}},
                {"operation": "flatten"},
            ],
        }],
        "form_data": form_data,
        "result_format": "json",
        "result_type": "full",
    }
    chart = client.call("POST", "/api/v1/chart/", expect=201, json={
        "slice_name": "bert-glue loss by step", "viz_type": "echarts_timeseries_line",
        "datasource_id": dataset_id, "datasource_type": "table",
        "params": json.dumps(form_data), "query_context": json.dumps(query_context)})
    answer = client.call("GET", f"/api/v1/chart/{chart['id']}/data/?format=json&type=full"
                         "&force=true")
    result = answer["result"][0]
    assert result["status"] == "success", result
    print(" ".join(result["query"].split())[:400], "...")
    drawn: dict[str, dict[int, float]] = {}
    for row in result["data"]:
        for label, value in row.items():
            if label != "step" and value is not None:
                run = label.removeprefix("AVG(scalar), ")
                drawn.setdefault(run, {})[int(row["step"])] = float(value)

    with create_engine(url).connect() as connection:
        direct = connection.execute(text(
            "SELECT runsId, step, avg(scalar) FROM time_series_data "
            "WHERE experimentsId = 'bert-glue' AND displayName = 'loss' GROUP BY 1, 2")).all()
    expected: dict[str, dict[int, float]] = {}
    for run, at, value in direct:
        expected.setdefault(str(run), {})[int(at)] = float(value)
    assert sorted(drawn) == sorted(expected) and len(expected) == 60, (sorted(drawn),
                                                                       sorted(expected))
    for run, points in expected.items():
        assert drawn[run].keys() == points.keys(), run
        assert all(abs(drawn[run][s] - v) <= 1e-12 * max(1.0, abs(v))
                   for s, v in points.items()), run
    longest = max(len(p) for p in expected.values())
    print(f"chart: {len(drawn)} lines, {sum(len(p) for p in drawn.values())} points "
          f"(the longest {longest}, past batchRead's sample of 1,000), equal to direct SQL")
    assert longest > 1000, longest


def check_sql_lab_dml(sql_lab: Any) -> None:
    step("SQL Lab DML (the database allows DML): INSERT, UPDATE, DELETE show their rowcount")
    inserted = sql_lab(
        "INSERT INTO runs (experimentsId, runsId, displayName, labels) VALUES "
        "('bert-glue', 'sqllab-1', 'from SQL Lab 1', '{\"status\": \"running\"}'), "
        "('bert-glue', 'sqllab-2', 'from SQL Lab 2', '{\"status\": \"running\"}')")
    assert inserted == [{"rowcount": 2}], inserted
    updated = sql_lab("UPDATE runs SET description = 'relabelled in SQL Lab' "
                      "WHERE experimentsId = 'bert-glue' AND runsId LIKE 'sqllab-%'")
    assert updated == [{"rowcount": 2}], updated
    assert sql_lab("SELECT runsId, description FROM runs WHERE experimentsId = 'bert-glue' "
                   "AND runsId LIKE 'sqllab-%' ORDER BY runsId") == [
        {"runsId": "sqllab-1", "description": "relabelled in SQL Lab"},
        {"runsId": "sqllab-2", "description": "relabelled in SQL Lab"}]
    assert sql_lab("DELETE FROM runs WHERE experimentsId = 'bert-glue' "
                   "AND runsId LIKE 'sqllab-%'") == [{"rowcount": 2}]
    assert sql_lab("SELECT count(*) AS n FROM runs WHERE experimentsId = 'bert-glue'")[0][
        "n"] == 60
    returned = sql_lab("UPDATE runs SET description = 'trial 1' WHERE experimentsId = "
                       "'bert-glue' AND runsId = 'bert-glue-0001' RETURNING runsId, "
                       "description")
    assert returned == [{"runsId": "bert-glue-0001", "description": "trial 1"}], returned


def upload(client: Client, database_id: int, content: bytes, filename: str, kind: str, *,
           expect: int = 201, **options: str) -> Any:
    form = {"file": (io.BytesIO(content), filename), "type": kind, "schema": "aiplatform",
            "table_name": "runs", "already_exists": "append", **options}
    return client.call("POST", f"/api/v1/database/{database_id}/upload/", expect=expect,
                       data=form, content_type="multipart/form-data")


def check_uploads(client: Client, database_id: int, sql_lab: Any, emulator: Any) -> None:
    import pandas as pd

    step("Upload CSV: appends into runs (one batchCreate per 1000 rows)")
    frame = pd.DataFrame({
        "experimentsId": "wavenet-tts",
        "runsId": [f"uploaded-{i:04d}" for i in range(1, 1201)],
        "displayName": [f"uploaded trial {i}" for i in range(1, 1201)],
        "description": "from Upload CSV",
        "labels": [json.dumps({"source": "csv", "i": str(i)}) for i in range(1, 1201)],
    })
    emulator.reset_stats()
    answer = upload(client, database_id, frame.to_csv(index=False).encode(), "runs.csv", "csv")
    calls = emulator.stats()["calls"]
    print("upload CSV:", answer, "API calls:", calls)
    assert calls.get("runs.batchCreate") == 2 and "runs.create" not in calls, calls
    counted = sql_lab("SELECT count(*) AS n, min(runsId) AS first, max(runsId) AS last, "
                      "sum(labels ->> '$.source' = 'csv') AS from_csv FROM runs "
                      "WHERE experimentsId = 'wavenet-tts' AND runsId LIKE 'uploaded-%'")
    assert counted == [{"n": 1200, "first": "uploaded-0001", "last": "uploaded-1200",
                        "from_csv": 1200}], counted

    step("Upload Columnar (Parquet): appends into runs")
    parquet = io.BytesIO()
    pd.DataFrame({
        "experimentsId": ["wavenet-tts"] * 3,
        "runsId": [f"columnar-{i}" for i in range(3)],
        "displayName": [f"columnar trial {i}" for i in range(3)],
        "labels": [json.dumps({"source": "parquet"})] * 3,
    }).to_parquet(parquet, index=False)
    answer = upload(client, database_id, parquet.getvalue(), "runs.parquet", "columnar")
    print("upload Columnar:", answer)
    rows = sql_lab("SELECT runsId, labels FROM runs WHERE experimentsId = 'wavenet-tts' "
                   "AND runsId LIKE 'columnar-%' ORDER BY runsId")
    assert [r["runsId"] for r in rows] == ["columnar-0", "columnar-1", "columnar-2"], rows
    assert all(json.loads(r["labels"]) == {"source": "parquet"} for r in rows), rows

    step("Upload CSV: a metrics log appends into time_series_data (the series created)")
    log = pd.DataFrame({
        "experimentsId": "wavenet-tts", "runsId": "uploaded-0001", "displayName": "val_loss",
        "step": list(range(0, 1500)), "scalar": [1.0 / (s + 1) for s in range(1500)],
    })
    emulator.reset_stats()
    answer = upload(client, database_id, log.to_csv(index=False).encode(), "log.csv", "csv",
                    table_name="time_series_data")
    calls = emulator.stats()["calls"]
    print("upload CSV into time_series_data:", answer, "API calls:", calls)
    assert calls.get("experiments.write", 0) >= 1 and calls.get("experiments.batchCreate") == 1, \
        calls
    rows = sql_lab("SELECT count(*) AS n, min(step) AS first, max(step) AS last, "
                   "sum(scalar) AS total FROM time_series_data WHERE experimentsId = "
                   "'wavenet-tts' AND runsId = 'uploaded-0001' AND displayName = 'val_loss'")
    assert rows[0]["n"] == 1500 and (rows[0]["first"], rows[0]["last"]) == (0, 1499), rows
    assert abs(rows[0]["total"] - sum(1.0 / (s + 1) for s in range(1500))) < 1e-9, rows

    step("uploads the API cannot honour are refused, saying what to choose")
    small = b"experimentsId,runsId,displayName\nwavenet-tts,refused-1,refused\n"
    for options, expected in (
        ({"already_exists": "replace"}, "'Replace' would drop table runs"),
        ({"already_exists": "fail"}, "choose 'Append'"),
        ({"table_name": "my_uploads"}, "Cannot upload into a new table 'my_uploads'"),
        ({"dataframe_index": "true"}, "leave 'Dataframe index' unchecked"),
    ):
        answer = upload(client, database_id, small, "runs.csv", "csv", expect=422, **options)
        message = json.dumps(answer)
        print(options, "->", answer)
        assert expected in message, (options, answer)
    assert sql_lab("SELECT count(*) AS n FROM runs WHERE runsId = 'refused-1'") == [{"n": 0}]


def main() -> None:
    workdir = Path(sys.argv[1] if len(sys.argv) > 1 else "superset-check").resolve()
    workdir.mkdir(parents=True, exist_ok=True)
    (workdir / "superset.db").unlink(missing_ok=True)

    from flask_migrate import upgrade
    from sqlalchemy import create_engine, text

    from runs_dbapi.emulator import Emulator
    from runs_dialect import build_url

    with Emulator(demo=True) as emulator:
        write_config(workdir, emulator.url)
        from superset.app import create_app

        app = create_app()
        with app.app_context():
            step("metadata database: migrate and initialise")
            upgrade()
            from superset import appbuilder, security_manager

            appbuilder.add_permissions(update_perms=True)
            security_manager.sync_role_definitions()
            security_manager.add_user(ADMIN, "Run", "Checker", "admin@example.com",
                                      security_manager.find_role("Admin"), password=PASSWORD)

        # The emulator is not a Google host: the driver reaches it anonymously (no
        # anonymous=true needed), sending none of the server's credentials.
        base = build_url("demo-project", "us-central1", endpoint=emulator.url)
        with create_engine(base).connect() as connection:
            tensorboard = str(connection.execute(
                text("SELECT tensorboardsId FROM tensorboards")).scalar())
        url = build_url("demo-project", "us-central1", tensorboard,
                        endpoint=emulator.url).render_as_string(hide_password=False)
        check(app, url, emulator)  # each test-client request brings its own app context
    print("superset check: passed")


if __name__ == "__main__":
    main()
