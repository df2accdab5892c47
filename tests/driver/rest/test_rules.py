"""The API's input rules, as rules.py checks them before any call (reference section 3)."""

from __future__ import annotations

import pytest

from runs_dbapi.exceptions import DataError
from runs_dbapi.rules import (
    MAX_LABEL_LENGTH,
    MAX_LABELS,
    SYSTEM_LABEL_PREFIX,
    check_labels,
    check_path_value,
    check_resource_id,
    parse_labels,
    same_resource_name,
)

# -- resource IDs ------------------------------------------------------------------------------


@pytest.mark.parametrize("value", [
    "r", "0", "run-1", "a" * 128, "9f1c6f5e-1d2b-4c3a-8e7f-0a1b2c3d4e5f", "0-", "a--b",
])
def test_valid_run_ids(value: str) -> None:
    check_resource_id(value, "tensorboardRunId")


@pytest.mark.parametrize("value", [
    "", "-a", "A", "run_1", "run.1", "run 1", "a" * 129, "run\n", "\nrun", "rün", "r/1",
    "\uff52",  # a fullwidth letter r: not ASCII
])
def test_invalid_run_ids(value: str) -> None:
    with pytest.raises(DataError) as caught:
        check_resource_id(value, "tensorboardRunId")
    assert f"Invalid tensorboardRunId {value!r}" in str(caught.value)


# -- path values -------------------------------------------------------------------------------


@pytest.mark.parametrize("value", [
    "demo-project", "us-central1", "1000000000000000001", "example.com:my-project", "-", "a.b",
])
def test_valid_path_values(value: str) -> None:
    check_path_value(value, "projectsId")


@pytest.mark.parametrize("value", ["", ".", "..", "a/b", "/", "a?b", "a#b", "a%2Fb", "a b",
                                   "a\tb", "a\n", "a\x00"])
def test_path_values_that_could_address_another_resource(value: str) -> None:
    with pytest.raises(DataError, match="a path parameter is one segment"):
        check_path_value(value, "experimentsId")


# -- parsing labels ----------------------------------------------------------------------------


@pytest.mark.parametrize("value, expected", [
    (None, {}),
    ("", {}),
    ("{}", {}),
    ({}, {}),
    ({"team": "nlp"}, {"team": "nlp"}),
    ('{"team": "nlp", "lr": "0-01"}', {"team": "nlp", "lr": "0-01"}),
    ('{"k": ""}', {"k": ""}),
])
def test_parse_labels(value: object, expected: dict[str, str]) -> None:
    parsed = parse_labels(value)
    assert parsed == expected
    if isinstance(value, dict):
        assert parsed is not value  # a copy: the caller's dict is never changed


@pytest.mark.parametrize("value, message", [
    ("{team: nlp}", "labels must be a JSON object"),
    ("not json", "labels must be a JSON object"),
    ("[1]", "labels must map strings to strings"),
    ('"team"', "labels must map strings to strings"),
    ("null", "labels must map strings to strings"),
    ('{"n": 1}', "labels must map strings to strings"),
    ('{"n": null}', "labels must map strings to strings"),
    ('{"n": {"a": "b"}}', "labels must map strings to strings"),
    ({"n": 1}, "labels must map strings to strings"),
    (["team"], "labels must map strings to strings"),
    (42, "labels must map strings to strings"),
])
def test_parse_labels_refuses_what_is_not_a_string_map(value: object, message: str) -> None:
    with pytest.raises(DataError, match=message):
        parse_labels(value)


# -- checking labels ---------------------------------------------------------------------------


@pytest.mark.parametrize("labels", [
    {},
    {"team": "nlp"},
    {"a": ""},
    {"k_1-x": "v_1-x"},
    {"a" * MAX_LABEL_LENGTH: "b" * MAX_LABEL_LENGTH},
    {"équipe": "données"},  # international lowercase letters
    {"チーム": "言語"},  # letters without case
    {f"k{i}": "v" for i in range(MAX_LABELS)},
    {**{f"k{i}": "v" for i in range(MAX_LABELS)}, f"{SYSTEM_LABEL_PREFIX}job": "1"},
])
def test_valid_labels(labels: dict[str, str]) -> None:
    check_labels(labels, allow_system=True)
    user = {k: v for k, v in labels.items() if not k.startswith(SYSTEM_LABEL_PREFIX)}
    check_labels(user, allow_system=False)


@pytest.mark.parametrize("labels, message", [
    ({f"k{i}": "v" for i in range(MAX_LABELS + 1)}, "65 labels given; at most 64"),
    ({"": "v"}, "Invalid label key ''"),
    ({"Team": "v"}, "Invalid label key 'Team'"),
    ({"1team": "v"}, "Invalid label key '1team'"),
    ({"_team": "v"}, "Invalid label key '_team'"),
    ({"-team": "v"}, "Invalid label key '-team'"),
    ({"te am": "v"}, "Invalid label key 'te am'"),
    ({"te.am": "v"}, "Invalid label key 'te.am'"),
    ({"a" * (MAX_LABEL_LENGTH + 1): "v"}, "Invalid label key"),
    ({"Équipe": "v"}, "Invalid label key 'Équipe'"),
    ({"team": "NLP"}, "Invalid value 'NLP' of label 'team'"),
    ({"team": "n.l.p"}, "Invalid value 'n.l.p'"),
    ({"team": "n l p"}, "Invalid value 'n l p'"),
    ({"team": "b" * (MAX_LABEL_LENGTH + 1)}, "Invalid value"),
    ({f"{SYSTEM_LABEL_PREFIX}": "1"}, f"Invalid label key '{SYSTEM_LABEL_PREFIX}'"),
    ({f"{SYSTEM_LABEL_PREFIX}Job": "1"}, "Invalid label key"),
    ({f"{SYSTEM_LABEL_PREFIX}job": "X"}, "Invalid value 'X'"),
])
def test_invalid_labels(labels: dict[str, str], message: str) -> None:
    with pytest.raises(DataError, match=message.replace(".", r"\.")):
        check_labels(labels, allow_system=True)


def test_system_labels_only_when_allowed() -> None:
    labels = {"team": "nlp", f"{SYSTEM_LABEL_PREFIX}training_job_id": "123"}
    check_labels(labels, allow_system=True)
    with pytest.raises(DataError) as caught:
        check_labels(labels, allow_system=False)
    assert "reserved by Vertex AI" in str(caught.value)
    assert f"{SYSTEM_LABEL_PREFIX}training_job_id" in str(caught.value)


def test_system_labels_do_not_count_towards_the_limit() -> None:
    labels = {f"k{i}": "v" for i in range(MAX_LABELS)}
    labels.update({f"{SYSTEM_LABEL_PREFIX}s{i}": "v" for i in range(10)})
    check_labels(labels, allow_system=True)


def test_lengths_are_counted_in_codepoints() -> None:
    check_labels({"é" * MAX_LABEL_LENGTH: "ü" * MAX_LABEL_LENGTH}, allow_system=False)
    with pytest.raises(DataError):
        check_labels({"é" * (MAX_LABEL_LENGTH + 1): "v"}, allow_system=False)


# -- resource names ----------------------------------------------------------------------------


RUN = "projects/demo-project/locations/us-central1/tensorboards/1/experiments/e/runs/r"


@pytest.mark.parametrize("given, same", [
    (RUN, True),
    (RUN.replace("demo-project", "510835001129"), True),  # the project's number
    (RUN.replace("demo-project", "other-project"), False),
    (RUN.replace("/runs/r", "/runs/s"), False),
    (RUN.replace("/experiments/e", "/experiments/f"), False),
    (RUN.replace("us-central1", "europe-west4"), False),
    (RUN.replace("510835001129", "x").replace("demo-project", "510835001129") + "/timeSeries/1",
     False),
    (RUN.rsplit("/runs/", 1)[0], False),
    ("", False),
    ("runs/r", False),
])
def test_same_resource_name(given: str, same: bool) -> None:
    assert same_resource_name(given, RUN) is same
