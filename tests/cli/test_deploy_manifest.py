"""Bad manifests (issue 14): each gets one message naming the file, the line and the prop (or
resource), raised by load_manifest, before any connection exists, so before any call."""

from __future__ import annotations

from pathlib import Path

import pytest

from runs_dbapi.deploy import ManifestError, load_manifest

HEAD = """\
version: 1
name: stack
resources:
"""

GOOD_RUN = """\
  - name: runs
    props:
      - name: projectsId
        value: p
      - name: locationsId
        value: us-central1
      - name: tensorboardsId
        value: "1"
      - name: experimentsId
        value: e
      - name: tensorboardRunId
        value: r1
      - name: displayName
        value: run one
"""


def _load(tmp_path: Path, text: str, **variables: str) -> None:
    path = tmp_path / "stack.yml"
    path.write_text(text)
    load_manifest(path, variables=variables, environ={})


def _error(tmp_path: Path, text: str, **variables: str) -> ManifestError:
    with pytest.raises(ManifestError) as caught:
        _load(tmp_path, text, **variables)
    return caught.value


def test_a_good_manifest_loads(tmp_path: Path) -> None:
    _load(tmp_path, HEAD + GOOD_RUN)


def test_a_yaml_error_names_its_line(tmp_path: Path) -> None:
    error = _error(tmp_path, HEAD + GOOD_RUN + "      - name: labels\n    value: [\n")
    assert str(error).startswith(f"{tmp_path / 'stack.yml'}, line ")
    assert "not valid YAML" in str(error)
    assert error.line is not None and error.line >= 16


def test_an_unquoted_template_says_to_quote_it(tmp_path: Path) -> None:
    text = HEAD + GOOD_RUN.replace("value: e\n", "value: {{ experiment }}\n")
    error = _error(tmp_path, text, experiment="e")
    assert error.line == 13 and error.prop == "experimentsId"
    assert 'must be quoted: value: "{{ name }}"' in str(error)


def test_an_unknown_type_names_the_types(tmp_path: Path) -> None:
    error = _error(tmp_path, HEAD + GOOD_RUN.replace("  - name: runs\n",
                                                     "  - name: runs\n    type: run\n"))
    assert error.line == 5 and error.resource == "runs"
    assert ("unknown type 'run' (known: experiments, runs, tensorboards, time_series). "
            "Did you mean 'runs'?") in str(error)


def test_an_unknown_prop_gets_the_nearest(tmp_path: Path) -> None:
    error = _error(tmp_path, HEAD + GOOD_RUN.replace("name: displayName", "name: displayname"))
    assert (error.line, error.resource, error.prop) == (16, "runs", "displayname")
    assert "'displayname' is not a prop of runs. Did you mean 'displayName'?" in str(error)


def test_an_output_only_prop_is_refused(tmp_path: Path) -> None:
    error = _error(tmp_path, HEAD + GOOD_RUN + "      - name: createTime\n        value: x\n")
    assert (error.line, error.prop) == (18, "createTime")
    assert "'createTime' is output only: the API sets it on TensorboardRuns" in str(error)


def test_a_template_variable_with_no_value(tmp_path: Path) -> None:
    text = HEAD + GOOD_RUN.replace("value: run one", 'value: "{{ team }} run"')
    error = _error(tmp_path, text)
    assert (error.line, error.prop) == (17, "displayName")
    assert "template variable 'team' has no value: define it in globals, with -e team=VALUE" \
        in str(error)
    _load(tmp_path, text, team="nlp")  # given with -e, it loads


def test_a_variable_exported_later_is_not_known_earlier(tmp_path: Path) -> None:
    board = ("  - name: board\n    type: tensorboards\n    props:\n      - name: displayName\n"
             "        value: b\n    exports:\n      - tensorboardsId\n")
    uses = GOOD_RUN.replace('value: "1"', 'value: "{{ tensorboardsId }}"')
    _load(tmp_path, HEAD + board + uses)  # exported by an earlier block: known
    error = _error(tmp_path, HEAD + uses + board)
    assert (error.line, error.resource, error.prop) == (11, "runs", "tensorboardsId")


def test_duplicate_resource_names(tmp_path: Path) -> None:
    error = _error(tmp_path, HEAD + GOOD_RUN + GOOD_RUN.replace("r1", "r2"))
    assert (error.line, error.resource) == (18, "runs")
    assert "duplicate resource name 'runs' (first at line 4)" in str(error)


def test_a_label_the_api_would_refuse(tmp_path: Path) -> None:
    error = _error(tmp_path, HEAD + GOOD_RUN + "      - name: labels\n"
                   "        value: {Team: nlp}\n")
    assert (error.line, error.prop) == (19, "labels")
    assert "Invalid label key 'Team'" in str(error)
    error = _error(tmp_path, HEAD + GOOD_RUN + "      - name: labels\n"
                   "        value: {aiplatform.googleapis.com/job: x}\n")
    assert "is reserved by Vertex AI" in str(error)


def test_a_bad_label_in_one_request_names_its_line(tmp_path: Path) -> None:
    text = HEAD + GOOD_RUN.replace("      - name: tensorboardRunId\n        value: r1\n"
                                   "      - name: displayName\n        value: run one\n", "") + (
        "      - name: requests\n        value:\n"
        "          - tensorboardRunId: a\n            tensorboardRun: {displayName: a}\n"
        "          - tensorboardRunId: b\n"
        "            tensorboardRun: {displayName: b, labels: {status: Done}}\n")
    error = _error(tmp_path, text)
    assert (error.line, error.prop) == (18, "requests.labels")
    assert "Invalid value 'Done' of label 'status'" in str(error)


def test_an_invalid_id_and_a_duplicate_in_requests(tmp_path: Path) -> None:
    error = _error(tmp_path, HEAD + GOOD_RUN.replace("value: r1", "value: R_1"))
    assert (error.line, error.prop) == (15, "tensorboardRunId")
    assert "Invalid tensorboardRunId 'R_1'" in str(error)
    text = HEAD + GOOD_RUN + ("      - name: requests\n        value:\n"
                              "          - {tensorboardRunId: r1, displayName: again}\n")
    error = _error(tmp_path, text)
    assert error.line == 20 and "'r1' is declared twice in this block" in str(error)


def test_missing_keys_and_unknown_keys(tmp_path: Path) -> None:
    error = _error(tmp_path, "version: 1\nresources: []\n")
    assert "the manifest needs 'name'" in str(error)
    error = _error(tmp_path, HEAD.replace("name: stack", "name: stack\nprovider: google")
                   + GOOD_RUN)
    assert error.line == 3 and "unknown key 'provider'" in str(error)
    error = _error(tmp_path, HEAD + "  - name: r\n    props:\n      - name: description\n"
                   "        value: x\n")
    assert "is found by its ID prop (tensorboardRunId) or its displayName" in str(error)


def test_exports_must_be_columns(tmp_path: Path) -> None:
    error = _error(tmp_path, HEAD + GOOD_RUN + "    exports:\n      - runId\n")
    assert (error.line, error.prop) == (19, "runId")
    assert "'runId' is not a column of runs" in str(error)
