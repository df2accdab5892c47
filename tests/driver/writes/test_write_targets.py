"""UPDATE and DELETE read their WHERE with the planner's analysis (pushdown.Translator): the
same path terms, the same name rules, the same de-duplication as a SELECT."""

from __future__ import annotations

import pytest
from sqlglot import exp

from runs_dbapi.catalog import RUNS
from runs_dbapi.exceptions import ProgrammingError
from runs_dbapi.statements import parse
from runs_dbapi.writes.targets import find_target

DEFAULTS = {"projectsId": "p", "locationsId": "l", "tensorboardsId": "t", "experimentsId": "e"}
NAME = "projects/{}/locations/l/tensorboards/t/experiments/e/runs/r1"


def target(where: str, defaults: dict[str, str] | None = None) -> object:
    tree = parse(f"DELETE FROM runs WHERE {where}")
    assert isinstance(tree, exp.Delete)
    return find_target(RUNS, "runs", tree.args.get("where"),
                       DEFAULTS if defaults is None else defaults)


@pytest.mark.parametrize("where", [
    "runsId = 'r1'",
    "runsId IN ('r1', 'r1')",  # repeated values name one run, as in a SELECT
    "'r1' = runsId AND experimentsId = 'e'",
    f"name = '{NAME.format('p')}'",
    f"name = '{NAME.format('123456')}'",  # the project's number: the connection's project
])
def test_one_run_is_a_key(where: str) -> None:
    found = target(where)
    assert found.key == {**DEFAULTS, "runsId": "r1"}  # type: ignore[attr-defined]


def test_a_name_gives_the_project_when_nothing_else_does() -> None:
    found = target(f"name = '{NAME.format('123456')}'", {})
    assert found.key == {**DEFAULTS, "projectsId": "123456", "runsId": "r1"}  # type: ignore


@pytest.mark.parametrize("where", [
    "runsId IN ('r1', 'r2')",
    "runsId = 'r1' AND runsId = 'r2'",
    "runsId = 'r1' AND displayName = 'x'",
    "runsId LIKE 'r%'",
])
def test_anything_else_selects_rows(where: str) -> None:
    assert target(where).key is None  # type: ignore[attr-defined]


def test_etag_and_mask_qualify_the_write() -> None:
    found = target("runsId = 'r1' AND etag = 'x' AND updateMask = 'display_name'")
    assert found.key == {**DEFAULTS, "runsId": "r1"}  # type: ignore[attr-defined]
    assert (found.etag, found.update_mask) == ("x", ["displayName"])  # type: ignore


def test_a_name_of_another_table_is_refused() -> None:
    with pytest.raises(ProgrammingError, match="not the resource name"):
        target("name = 'projects/p/locations/l/tensorboards/t'")
