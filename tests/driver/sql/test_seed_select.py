"""The SELECT examples of the seed's resource page (google.aiplatform.runs), run as written.

The SQL below is copied verbatim from the page (comments and all); only the `{{ placeholders }}`
are filled in, by plain text replacement. Answers are checked against the demo emulator read
directly over HTTP with `requests`.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest
import requests

import runs_dbapi
from runs_dbapi.emulator import Emulator

pytestmark = pytest.mark.emulator(demo=True)

# -- the page's SELECT examples, verbatim -----------------------------------------------------

GET_EXAMPLE = """SELECT
name,
createTime,
description,
displayName,
etag,
labels,
updateTime
FROM google.aiplatform.runs
WHERE projectsId = '{{ projectsId }}' -- required
AND locationsId = '{{ locationsId }}' -- required
AND tensorboardsId = '{{ tensorboardsId }}' -- required
AND experimentsId = '{{ experimentsId }}' -- required
AND runsId = '{{ runsId }}' -- required;"""

LIST_EXAMPLE = """SELECT
nextPageToken,
tensorboardRuns
FROM google.aiplatform.runs
WHERE projectsId = '{{ projectsId }}' -- required
AND locationsId = '{{ locationsId }}' -- required
AND tensorboardsId = '{{ tensorboardsId }}' -- required
AND experimentsId = '{{ experimentsId }}' -- required
AND filter = '{{ filter }}'
AND pageSize = '{{ pageSize }}'
AND pageToken = '{{ pageToken }}'
AND orderBy = '{{ orderBy }}'
AND readMask = '{{ readMask }}';"""

SEED_COLUMNS = ["name", "createTime", "description", "displayName", "etag", "labels",
                "updateTime"]
PROJECT, LOCATION = "demo-project", "us-central1"


def fill(template: str, **values: str) -> str:
    sql = template
    for key, value in values.items():
        sql = sql.replace("{{ " + key + " }}", value)
    assert "{{" not in sql, sql
    return sql


def seed_page() -> Path | None:
    here = Path(__file__).resolve()
    for root in (*here.parents, Path("/work")):
        candidate = root / "shared" / "seed" / "google.aiplatform.runs.md"
        if candidate.is_file():
            return candidate
    return None


def test_examples_are_the_pages_text() -> None:
    page = seed_page()
    if page is None:
        pytest.skip("the seed page (shared/seed/google.aiplatform.runs.md) is not on this machine")
    text = page.read_text(encoding="utf-8")
    assert f"```sql\n{GET_EXAMPLE}\n```" in text
    assert f"```sql\n{LIST_EXAMPLE}\n```" in text


# -- fixtures -------------------------------------------------------------------------------


class Demo:
    def __init__(self, emu: Emulator) -> None:
        self.emu = emu
        self.location = f"projects/{PROJECT}/locations/{LOCATION}"
        boards = requests.get(f"{emu.url}/v1/{self.location}/tensorboards", timeout=30).json()
        (board,) = boards["tensorboards"]
        self.tb = str(board["name"]).rsplit("/", 1)[1]

    def experiment(self, experiment: str) -> str:
        return f"{self.location}/tensorboards/{self.tb}/experiments/{experiment}"

    def pages(self, experiment: str, params: dict[str, str]) -> list[tuple[Any, list[Any]]]:
        """(nextPageToken, tensorboardRuns) of each page, read directly."""
        sent = {k: v for k, v in params.items() if v}
        pages = []
        while True:
            page = requests.get(f"{self.emu.url}/v1/{self.experiment(experiment)}/runs",
                                params=sent, timeout=30).json()
            pages.append((page.get("nextPageToken"), page.get("tensorboardRuns", [])))
            if not page.get("nextPageToken"):
                return pages
            sent["pageToken"] = page["nextPageToken"]


@pytest.fixture(scope="module")
def demo(module_emu: Emulator) -> Demo:
    return Demo(module_emu)


@pytest.fixture
def con(demo: Demo) -> Iterator[Any]:
    connection = runs_dbapi.connect(endpoint=demo.emu.url, anonymous=True)
    demo.emu.reset_stats()
    yield connection
    connection.close()


def parse_time(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(timezone.utc)


# -- the get example --------------------------------------------------------------------------


@pytest.mark.parametrize("experiment,run", [("bert-glue", "bert-glue-0007"),
                                            ("ppo-atari", "ppo-atari-0060")])
def test_get_example(demo: Demo, con: Any, experiment: str, run: str) -> None:
    sql = fill(GET_EXAMPLE, projectsId=PROJECT, locationsId=LOCATION, tensorboardsId=demo.tb,
               experimentsId=experiment, runsId=run)
    cursor = con.cursor()
    cursor.execute(sql)
    assert [d[0] for d in cursor.description] == SEED_COLUMNS
    rows = cursor.fetchall()
    assert demo.emu.calls("runs.get") == 1
    assert demo.emu.calls("runs.list") == 0
    direct = requests.get(f"{demo.emu.url}/v1/{demo.experiment(experiment)}/runs/{run}",
                          timeout=30).json()
    assert len(rows) == 1
    (row,) = rows
    assert row == (
        direct["name"], parse_time(direct["createTime"]), direct["description"],
        direct["displayName"], direct["etag"], direct["labels"],
        parse_time(direct["updateTime"]),
    )
    assert row[0].endswith(f"/experiments/{experiment}/runs/{run}")
    assert row[1].tzinfo is not None and row[1].utcoffset().total_seconds() == 0
    assert isinstance(row[5], dict) and row[5]["team"]
    codes = [d[1] for d in cursor.description]
    assert codes[1] == runs_dbapi.DATETIME and codes[6] == runs_dbapi.DATETIME
    assert all(codes[i] == runs_dbapi.STRING for i in (0, 2, 3, 4, 5))


def test_get_example_for_a_missing_run_is_empty(demo: Demo, con: Any) -> None:
    sql = fill(GET_EXAMPLE, projectsId=PROJECT, locationsId=LOCATION, tensorboardsId=demo.tb,
               experimentsId="bert-glue", runsId="bert-glue-9999")
    cursor = con.cursor()
    cursor.execute(sql)
    assert cursor.fetchall() == []
    assert [d[0] for d in cursor.description] == SEED_COLUMNS
    assert demo.emu.calls("runs.get") == 1


# -- the list example -------------------------------------------------------------------------


LIST_FILLINGS = {
    "filtered-ordered-masked": dict(filter='labels.optimizer = "adam"', pageSize="4",
                                    orderBy="display_name desc",
                                    readMask="name,displayName,labels"),
    "plain": dict(filter="", pageSize="25", orderBy="", readMask=""),
    "time-filter": dict(filter='create_time > "2024-01-01T00:00:00Z" AND labels.status:*',
                        pageSize="7", orderBy="create_time", readMask="name,createTime"),
}


@pytest.mark.parametrize("filling", LIST_FILLINGS, ids=list(LIST_FILLINGS))
def test_list_example_returns_the_api_pages(demo: Demo, con: Any, filling: str) -> None:
    values = LIST_FILLINGS[filling]
    sql = fill(LIST_EXAMPLE, projectsId=PROJECT, locationsId=LOCATION, tensorboardsId=demo.tb,
               experimentsId="bert-glue", pageToken="", **values)
    cursor = con.cursor()
    cursor.execute(sql)
    assert [d[0] for d in cursor.description] == ["nextPageToken", "tensorboardRuns"]
    rows = cursor.fetchall()
    calls = demo.emu.calls("runs.list")
    expected = demo.pages("bert-glue", dict(values))
    assert len(expected) >= 2  # the fillings span several pages
    assert calls == len(expected)
    assert [tuple(r) for r in rows] == expected
    assert rows[-1][0] is None
    sizes = [len(r[1]) for r in rows]
    assert all(size == int(values["pageSize"]) for size in sizes[:-1])
    if values["readMask"]:
        masked = set(values["readMask"].split(","))
        assert all(set(run) <= masked for r in rows for run in r[1])


def test_list_example_starts_at_the_page_token(demo: Demo, con: Any) -> None:
    values = dict(filter='labels.team = "nlp"', pageSize="20", orderBy="display_name",
                  readMask="name,displayName")
    pages = demo.pages("bert-glue", dict(values))
    assert len(pages) == 3
    demo.emu.reset_stats()
    sql = fill(LIST_EXAMPLE, projectsId=PROJECT, locationsId=LOCATION, tensorboardsId=demo.tb,
               experimentsId="bert-glue", pageToken=pages[0][0], **values)
    cursor = con.cursor()
    cursor.execute(sql)
    assert [tuple(r) for r in cursor.fetchall()] == pages[1:]
    assert demo.emu.calls("runs.list") == 2


def test_list_example_with_a_bad_filter_is_a_programming_error(demo: Demo, con: Any) -> None:
    sql = fill(LIST_EXAMPLE, projectsId=PROJECT, locationsId=LOCATION, tensorboardsId=demo.tb,
               experimentsId="bert-glue", filter="no_such_field = 1", pageSize="5",
               pageToken="", orderBy="", readMask="")
    with pytest.raises(runs_dbapi.ProgrammingError) as caught:
        con.cursor().execute(sql)
    assert caught.value.http_status == 400
    assert "no_such_field" in str(caught.value)


# -- table names ------------------------------------------------------------------------------


@pytest.mark.parametrize("table", ["google.aiplatform.runs", "aiplatform.runs", "main.runs",
                                   "runs"])
def test_table_names_resolve(demo: Demo, con: Any, table: str) -> None:
    get = fill(GET_EXAMPLE, projectsId=PROJECT, locationsId=LOCATION, tensorboardsId=demo.tb,
               experimentsId="vit-finetune", runsId="vit-finetune-0011")
    get = get.replace("FROM google.aiplatform.runs", f"FROM {table}")
    assert f"FROM {table}\n" in get
    cursor = con.cursor()
    cursor.execute(get)
    rows = cursor.fetchall()
    assert len(rows) == 1
    assert rows[0][0].endswith("/experiments/vit-finetune/runs/vit-finetune-0011")

    listing = fill(LIST_EXAMPLE, projectsId=PROJECT, locationsId=LOCATION,
                   tensorboardsId=demo.tb, experimentsId="vit-finetune", filter="",
                   pageSize="30", pageToken="", orderBy="", readMask="name")
    listing = listing.replace("FROM google.aiplatform.runs", f"FROM {table}")
    cursor.execute(listing)
    pages = cursor.fetchall()
    assert [len(p[1]) for p in pages] == [30, 30]
    assert pages[1][1][-1] == {"name": rows[0][0].rsplit("/", 1)[0] + "/vit-finetune-0060"}

    cursor.execute(f"SELECT count(*) FROM {table} WHERE projectsId = ? AND locationsId = ?",
                   (PROJECT, LOCATION))
    assert cursor.fetchall() == [(360,)]
