"""runs:// URLs: parsing into the driver's connect() options (strictly) and building them."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import create_engine
from sqlalchemy.engine.url import make_url
from sqlalchemy.exc import ArgumentError

from runs_dbapi.rest import RetryPolicy
from runs_dialect import build_url, parse_url
from runs_dialect.url import OPTIONS


def test_full_path() -> None:
    assert parse_url("runs://demo-project/us-central1/123/bert-glue") == {
        "project": "demo-project", "location": "us-central1", "tensorboard": "123",
        "experiment": "bert-glue",
    }


@pytest.mark.parametrize(("url", "expected"), [
    ("runs://demo-project/us-central1/123", {"project": "demo-project",
                                             "location": "us-central1", "tensorboard": "123"}),
    ("runs://demo-project/us-central1/", {"project": "demo-project", "location": "us-central1"}),
    ("runs://demo-project", {"project": "demo-project"}),
    ("runs:///", {}),
    ("runs://", {}),
    ("runs+rest://p1/us-east1", {"project": "p1", "location": "us-east1"}),
    ("runs://p1/us-east1?experiment=e1", {"project": "p1", "location": "us-east1",
                                          "experiment": "e1"}),
])
def test_trailing_parts_may_be_left_out(url: str, expected: dict[str, str]) -> None:
    assert parse_url(url) == expected


def test_query_options_are_converted() -> None:
    options = parse_url(
        "runs://p/l?endpoint=http%3A%2F%2F127.0.0.1%3A8471&anonymous=true&timeout=2.5"
        "&pushdown=off&wait_operations=0&max_workers=4&quota_project=billing"
        "&credentials_info=%7B%22type%22%3A%22authorized_user%22%7D&emulator_demo=no"
        "&access_token=tok&impersonate_service_account=sa%40p.iam.gserviceaccount.com"
        "&iam_endpoint_override=http%3A%2F%2F127.0.0.1%3A8471&credentials_path=%2Fk.json"
        "&emulator=memory"
    )
    assert options == {
        "project": "p", "location": "l", "endpoint": "http://127.0.0.1:8471", "anonymous": True,
        "timeout": 2.5, "pushdown": False, "wait_operations": False, "max_workers": 4,
        "quota_project": "billing", "credentials_info": {"type": "authorized_user"},
        "emulator_demo": False, "access_token": "tok",
        "impersonate_service_account": "sa@p.iam.gserviceaccount.com",
        "iam_endpoint_override": "http://127.0.0.1:8471", "credentials_path": "/k.json",
        "emulator": "memory",
    }


def test_retry_options_make_a_retry_policy() -> None:
    options = parse_url("runs://p/l?max_attempts=3&retry_deadline=9")
    assert options["retry"] == RetryPolicy(max_attempts=3, deadline=9.0)
    assert "max_attempts" not in options


def test_every_url_option_is_a_connect_option() -> None:
    import inspect

    from runs_dbapi.connection import Connection

    accepted = set(inspect.signature(Connection.__init__).parameters)
    assert set(OPTIONS) - {"max_attempts", "retry_deadline"} <= accepted


@pytest.mark.parametrize(("url", "message"), [
    ("runs://p/l?colour=blue", "Unknown runs:// URL option 'colour'. Known options: "),
    ("runs://p/l?timeout=soon", "timeout='soon': expected a positive number"),
    ("runs://p/l?timeout=-1", "expected a positive number"),
    ("runs://p/l?timeout=nan", "expected a positive number"),
    ("runs://p/l?max_workers=0", "expected a positive integer"),
    ("runs://p/l?pushdown=maybe", "expected true or false"),
    ("runs://p/l?endpoint=localhost", "expected an http(s):// URL"),
    ("runs://p/l?credentials_info=%5B1%5D", "expected a JSON object"),
    ("runs://p/l?credentials_info=%7B", "not JSON"),
    ("runs://p/l?anonymous=true&anonymous=false", "given more than once"),
    ("runs://p/l?location=l2", "location is given both in the path and as an option"),
    ("runs://p/l/t/e/extra", "more than 4 parts"),
    ("runs://p//t", "the location part is empty"),
    ("runs://user:secret@p/l", "take no user or password"),
    ("runs://p:443/l", "take no port"),
    ("runs://p/l/bad%20id", "not a valid ID"),
    ("postgresql://p/l", "Not a runs:// URL"),
])
def test_bad_urls_are_refused_clearly(url: str, message: str) -> None:
    with pytest.raises(ArgumentError) as raised:
        parse_url(url)
    assert message in str(raised.value)


def test_create_engine_refuses_unknown_options() -> None:
    with pytest.raises(ArgumentError, match="Unknown runs:// URL option 'nonsense'"):
        create_engine("runs://p/l?nonsense=1")


def test_build_url_round_trips() -> None:
    url = build_url("demo-project", "us-central1", "123", "bert-glue",
                    endpoint="http://127.0.0.1:8471/", anonymous=True, timeout=5,
                    credentials_info={"type": "service_account", "x": "a&b=c"})
    text = url.render_as_string(hide_password=False)
    assert text.startswith("runs://demo-project/us-central1/123/bert-glue?")
    assert parse_url(text) == {
        "project": "demo-project", "location": "us-central1", "tensorboard": "123",
        "experiment": "bert-glue", "endpoint": "http://127.0.0.1:8471/", "anonymous": True,
        "timeout": 5.0, "credentials_info": {"type": "service_account", "x": "a&b=c"},
    }
    assert parse_url(make_url(text)) == parse_url(url)


def test_build_url_moves_parts_after_a_gap_into_the_query() -> None:
    url = build_url("p", "l", experiment="e1")
    assert url.render_as_string() == "runs://p/l?experiment=e1"
    assert parse_url(url) == {"project": "p", "location": "l", "experiment": "e1"}
    assert build_url().render_as_string() == "runs://"
    assert build_url(drivername="runs+rest", location="l").render_as_string() == \
        "runs+rest://?location=l"


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"colour": "blue"}, "Unknown runs:// URL option 'colour'"),
    ({"timeout": "soon"}, "expected a positive number"),
    ({"credentials": object()}, "Unknown runs:// URL option 'credentials'"),
    ({"endpoint": object()}, "pass it in connect_args"),
    ({"project": "a/b"}, "not a valid ID"),
    ({"location": "l?x=1"}, "not a valid ID"),
    ({"drivername": "sqlite"}, "drivername must be"),
])
def test_build_url_refuses_what_parse_url_would(kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(ArgumentError) as raised:
        build_url(**kwargs)
    assert message in str(raised.value)


def test_connect_args_carry_what_a_url_cannot() -> None:
    from runs_dialect import RunsDialect

    dialect = RunsDialect()
    args, kwargs = dialect.create_connect_args(make_url("runs://p/l?anonymous=1"))
    assert args == [] and kwargs == {"project": "p", "location": "l", "anonymous": True}
