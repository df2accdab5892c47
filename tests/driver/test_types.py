"""PEP 249 type objects (strings that equal their group's type codes) and constructors."""

from __future__ import annotations

import copy
import datetime as dt
import pickle

import pytest

from runs_dbapi.types import (
    BINARY,
    DATETIME,
    NUMBER,
    ROWID,
    STRING,
    Binary,
    Date,
    DateFromTicks,
    DBAPITypeObject,
    Time,
    TimeFromTicks,
    Timestamp,
    TimestampFromTicks,
)

CATALOG_CODES = ("STRING", "TIMESTAMP", "JSON", "INTEGER", "FLOAT", "BOOLEAN", "BINARY")
GROUPS = {
    "STRING": STRING, "JSON": STRING, "TIMESTAMP": DATETIME, "INTEGER": NUMBER,
    "FLOAT": NUMBER, "BOOLEAN": NUMBER, "BINARY": BINARY,
}
OBJECTS = (STRING, BINARY, NUMBER, DATETIME, ROWID)


@pytest.mark.parametrize("code", CATALOG_CODES)
def test_every_catalog_code_belongs_to_exactly_one_type_object(code: str) -> None:
    matches = [obj for obj in OBJECTS if obj == code]
    assert matches == [GROUPS[code]]
    # Both operand orders: the description code is usually on the left.
    assert code == GROUPS[code]
    assert GROUPS[code] == code
    for other in OBJECTS:
        if other is not GROUPS[code]:
            assert code != other
            assert other != code


def test_type_objects_are_strings() -> None:
    for obj in OBJECTS:
        assert isinstance(obj, str)
        assert isinstance(obj, DBAPITypeObject)
    assert str(STRING) == "STRING"
    assert f"{DATETIME}" == "DATETIME"
    assert STRING.upper() == "STRING"
    assert STRING == "STRING"
    assert DATETIME == "TIMESTAMP"
    assert STRING == "JSON"


def test_comparison_is_case_insensitive_and_type_safe() -> None:
    assert STRING == "json"
    assert NUMBER == "integer"
    assert STRING != 1
    assert STRING != None  # noqa: E711 - exercising __ne__ with None
    assert STRING != b"STRING"
    assert STRING != NUMBER
    twin = DBAPITypeObject("STRING", "JSON")
    assert twin == STRING


def test_hashable_and_usable_as_keys() -> None:
    assert hash(STRING) == hash("STRING")
    keyed: dict[str, int] = {STRING: 1}
    assert keyed["STRING"] == 1
    assert {"NUMBER": 2}[NUMBER] == 2
    assert len({STRING, BINARY, NUMBER, DATETIME, ROWID}) == 5
    assert STRING in {STRING}


def test_group_and_repr() -> None:
    assert STRING.group == ("STRING", "JSON")
    assert NUMBER.group[0] == "NUMBER"
    assert set(NUMBER.group) == {"NUMBER", "INTEGER", "FLOAT", "BOOLEAN"}
    assert repr(STRING) == "DBAPITypeObject('STRING', 'JSON')"


def test_pickle_and_copy_keep_the_group() -> None:
    for obj in (pickle.loads(pickle.dumps(DATETIME)), copy.deepcopy(DATETIME),
                copy.copy(DATETIME)):
        assert isinstance(obj, DBAPITypeObject)
        assert obj == "TIMESTAMP"
        assert obj == DATETIME


def test_date_and_time_constructors() -> None:
    assert Date(2024, 2, 29) == dt.date(2024, 2, 29)
    assert Time(23, 59, 58) == dt.time(23, 59, 58)
    assert Time(1, 2, 3, 4) == dt.time(1, 2, 3, 4)
    with pytest.raises(ValueError):
        Date(2023, 2, 29)


def test_timestamps_are_utc_aware() -> None:
    stamp = Timestamp(2024, 5, 1, 12, 34, 56)
    assert stamp.tzinfo is not None and stamp.utcoffset() == dt.timedelta(0)
    assert stamp == dt.datetime(2024, 5, 1, 12, 34, 56, tzinfo=dt.timezone.utc)
    assert Timestamp(2024, 5, 1, 12, 34, 56, microsecond=123000).microsecond == 123000
    assert Timestamp(2024, 5, 1) == dt.datetime(2024, 5, 1, tzinfo=dt.timezone.utc)


def test_from_ticks_read_ticks_in_utc() -> None:
    ticks = 1_714_566_896.5  # 2024-05-01T12:34:56.5Z
    stamp = TimestampFromTicks(ticks)
    assert stamp == dt.datetime(2024, 5, 1, 12, 34, 56, 500000, tzinfo=dt.timezone.utc)
    assert stamp.utcoffset() == dt.timedelta(0)
    assert DateFromTicks(ticks) == dt.date(2024, 5, 1)
    assert TimeFromTicks(ticks) == dt.time(12, 34, 56, 500000)
    assert DateFromTicks(0) == dt.date(1970, 1, 1)


def test_binary() -> None:
    assert Binary(b"\x00\xff") == b"\x00\xff"
    assert Binary(bytearray(b"ab")) == b"ab"
    assert Binary(memoryview(b"cd")) == b"cd"
    assert Binary("é") == "é".encode()
    assert type(Binary(bytearray(b"x"))) is bytes
