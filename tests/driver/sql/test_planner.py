"""Query plans: what each table reference asks of the API, and what stays local."""

from __future__ import annotations

import pytest

from runs_dbapi.exceptions import ProgrammingError
from runs_dbapi.planner import QueryPlan, plan_query
from runs_dbapi.statements import bind, parse

DEFAULTS = {"projectsId": "p", "locationsId": "l"}


def _plan(sql: str, parameters: object = None, *, pushdown: bool = True) -> QueryPlan:
    return plan_query(bind(parse(sql), parameters), DEFAULTS,  # type: ignore[arg-type]
                      pushdown=pushdown)


def test_a_get_by_key_with_every_parent() -> None:
    plan = _plan("SELECT * FROM runs WHERE tensorboardsId = 't' AND experimentsId = 'e' "
                 "AND runsId IN ('a', 'b')")
    (scan,) = plan.scans
    assert scan.keys == ["a", "b"]
    assert scan.pushed.path["experimentsId"] == ["e"]


def test_values_that_are_not_one_name_segment_match_nothing() -> None:
    plan = _plan("SELECT * FROM runs WHERE experimentsId = ? AND runsId = ?",
                 ["e", "r/timeSeries"])
    (scan,) = plan.scans
    assert scan.keys == []
    plan = _plan("SELECT * FROM runs WHERE experimentsId IN ('..', 'ok')")
    assert plan.scans[0].pushed.path["experimentsId"] == ["ok"]


def test_limit_goes_to_the_api_only_when_every_predicate_was_pushed() -> None:
    pushed = _plan("SELECT name FROM runs WHERE tensorboardsId = 't' AND experimentsId = 'e' "
                   "AND displayName > 'm' ORDER BY createTime DESC LIMIT 10")
    assert pushed.stream and pushed.scans[0].limit == 10
    assert pushed.scans[0].order_by == "create_time desc"
    local = _plan("SELECT name FROM runs WHERE tensorboardsId = 't' AND experimentsId = 'e' "
                  "AND lower(displayName) = 'x' LIMIT 10")
    assert local.scans[0].limit is None
    assert local.limit == 10  # still applied, locally, while streaming


def test_order_across_a_fan_out_is_local() -> None:
    plan = _plan("SELECT name FROM runs WHERE experimentsId = 'e' ORDER BY createTime LIMIT 5")
    assert not plan.stream  # several tensorboards: one listing each, merged and sorted here
    assert plan.scans[0].limit == 5  # each listing can still stop after 5


def test_aggregates_and_subqueries_are_evaluated_over_all_rows() -> None:
    plan = _plan("SELECT count(*) FROM (SELECT * FROM runs WHERE experimentsId = 'e') AS v")
    assert not plan.stream
    assert plan.scans[0].pushed.path["experimentsId"] == ["e"]


def test_pushdown_off_keeps_only_the_path() -> None:
    plan = _plan("SELECT * FROM runs WHERE experimentsId = 'e' AND displayName = 'x' "
                 "AND runsId = 'r' ORDER BY displayName LIMIT 3", pushdown=False)
    (scan,) = plan.scans
    assert scan.pushed.filters == [] and scan.keys is None and scan.limit is None
    assert scan.order_by is None
    assert scan.pushed.path["experimentsId"] == ["e"]


def test_the_seeds_list_parameters_go_to_the_api_as_written() -> None:
    plan = _plan("SELECT nextPageToken, tensorboardRuns FROM google.aiplatform.runs "
                 "WHERE experimentsId = 'e' AND filter = 'display_name = \"a\"' "
                 "AND pageSize = '5' AND orderBy = 'create_time desc'")
    (scan,) = plan.scans
    assert scan.page_mode
    assert scan.pushed.parameters == {"filter": 'display_name = "a"', "pageSize": "5",
                                      "orderBy": "create_time desc"}
    assert "filter" not in plan.sql and "pageSize" not in plan.sql


def test_missing_project_names_the_parameter_and_the_fix() -> None:
    with pytest.raises(ProgrammingError, match=r"projectsId = '\.\.\.'.*project="):
        plan_query(parse("SELECT * FROM runs"), {"locationsId": "l"})


def test_unknown_tables_list_the_known_ones() -> None:
    with pytest.raises(ProgrammingError, match="runs, experiments, tensorboards"):
        _plan("SELECT * FROM jobs")


def test_cte_names_are_not_tables() -> None:
    plan = _plan("WITH r AS (SELECT * FROM runs WHERE experimentsId = 'e') "
                 "SELECT count(*) FROM r")
    assert [s.table.name for s in plan.scans] == ["runs"]


def test_the_projection_becomes_a_read_mask() -> None:
    plan = _plan("SELECT displayName FROM runs WHERE experimentsId = 'e' "
                 "AND json_extract(labels, '$.team') = 'nlp'")
    assert plan.scans[0].read_mask == ["displayName", "labels", "name"]
    assert _plan("SELECT count(*) FROM runs").scans[0].read_mask == ["name"]
    assert _plan("SELECT * FROM runs").scans[0].read_mask is None
    assert _plan("SELECT r.* FROM runs AS r").scans[0].read_mask is None
    assert _plan("SELECT displayName FROM runs", pushdown=False).scans[0].read_mask is None
