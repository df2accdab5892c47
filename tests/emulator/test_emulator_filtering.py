"""Tests for the AIP-160 filter parser/evaluator used by the emulator."""

from __future__ import annotations

import itertools
from collections.abc import Mapping
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from runs_dbapi.emulator.filtering import (
    And,
    Comparison,
    Field,
    FilterError,
    Node,
    Not,
    Or,
    Value,
    check_fields,
    evaluate,
    parse_filter,
    quote,
)

FIELDS: dict[str, Field] = {
    "display_name": Field("displayName", "string"),
    "displayName": Field("displayName", "string"),
    "name": Field("name", "string"),
    "create_time": Field("createTime", "timestamp"),
    "createTime": Field("createTime", "timestamp"),
    "step": Field("step", "number"),
    "labels": Field("labels", "map"),
}

UTC = timezone.utc
T0 = datetime(2024, 1, 1, tzinfo=UTC)


def matches(text: str, resource: Mapping[str, Any]) -> bool:
    return evaluate(parse_filter(text), resource, FIELDS)


def cmp(name: str, op: str, text: str, quoted: bool = False, wild: tuple[int, ...] = ()) -> Node:
    return Comparison(tuple(name.split(".")), op, Value(text, quoted, wild))


# --- parsing: structure -----------------------------------------------------------------


def test_empty_filter_is_none_and_matches_everything() -> None:
    assert parse_filter("") is None
    assert parse_filter(" \t\n ") is None
    assert evaluate(None, {}, FIELDS) is True
    check_fields(None, FIELDS)  # nothing to validate


def test_simple_comparison_structure() -> None:
    assert parse_filter('display_name = "run-1"') == cmp("display_name", "=", "run-1", True)
    assert parse_filter("step>=3") == cmp("step", ">=", "3")
    assert parse_filter("labels.team:ml") == cmp("labels.team", ":", "ml")


@pytest.mark.parametrize("op", ["=", "!=", "<", "<=", ">", ">=", ":"])
def test_every_comparator_parses_with_and_without_spaces(op: str) -> None:
    expected = cmp("step", op, "5")
    assert parse_filter(f"step {op} 5") == expected
    assert parse_filter(f"step{op}5") == expected


def test_or_binds_tighter_than_and() -> None:
    a, b, c = (cmp(n, "=", "1") for n in "abc")
    assert parse_filter("a = 1 AND b = 1 OR c = 1") == And((a, Or((b, c))))
    assert parse_filter("a = 1 OR b = 1 AND c = 1") == And((Or((a, b)), c))
    assert parse_filter("(a = 1 AND b = 1) OR c = 1") == Or((And((a, b)), c))


def test_implicit_and_is_flattened_with_explicit_and() -> None:
    a, b, c = (cmp(n, "=", "1") for n in "abc")
    assert parse_filter("a = 1 b = 1 c = 1") == And((a, b, c))
    assert parse_filter("a = 1 b = 1 AND c = 1") == And((a, b, c))
    # Juxtaposition still binds looser than OR.
    assert parse_filter("a = 1 b = 1 OR c = 1") == And((a, Or((b, c))))


def test_not_and_minus() -> None:
    a = cmp("a", "=", "1")
    assert parse_filter("NOT a = 1") == Not(a)
    assert parse_filter("-a = 1") == Not(a)
    assert parse_filter("NOT(a = 1)") == Not(a)
    assert parse_filter("-(a = 1 OR b = 2)") == Not(Or((a, cmp("b", "=", "2"))))
    # NOT binds tighter than OR and AND.
    assert parse_filter("NOT a = 1 OR b = 2") == Or((Not(a), cmp("b", "=", "2")))


def test_minus_value_is_a_number_not_a_negation() -> None:
    assert parse_filter("step > -5") == cmp("step", ">", "-5")
    assert parse_filter("step=-3.5") == cmp("step", "=", "-3.5")


def test_nested_parentheses_keep_their_grouping() -> None:
    a, b, c, d = (cmp(n, "=", "1") for n in "abcd")
    assert parse_filter("((a = 1))") == a
    assert parse_filter("(a = 1 OR (b = 1 AND (c = 1 OR d = 1)))") == Or((a, And((b, Or((c, d))))))


def test_keywords_are_case_sensitive() -> None:
    # Lowercase "and" is not a keyword; it is a field name here, so "a = 1 and b = 2"
    # is a sequence of three restrictions... and "and" alone has no comparator.
    with pytest.raises(FilterError, match="free-text search"):
        parse_filter("a = 1 and b = 2")
    assert parse_filter("a = and") == cmp("a", "=", "and")
    assert parse_filter("a = 1 ANDROID = 2") == And((cmp("a", "=", "1"), cmp("ANDROID", "=", "2")))


def test_unquoted_values() -> None:
    assert parse_filter("create_time > 2024-01-01T00:00:00Z") == cmp(
        "create_time", ">", "2024-01-01T00:00:00Z"
    )
    # Unquoted values run up to whitespace or a parenthesis.
    assert parse_filter("(a = b:c.d)") == cmp("a", "=", "b:c.d")
    assert parse_filter("a = *") == cmp("a", "=", "*", wild=(0,))
    assert parse_filter("a = x*y*") == cmp("a", "=", "x*y*", wild=(1, 3))
    assert parse_filter(r"a = x\*y") == cmp("a", "=", "x*y")
    assert parse_filter(r"a = x\ y") == cmp("a", "=", "x y")


def test_quoted_member_segments() -> None:
    expected = Comparison(("labels", "my.key"), "=", Value("v", False))
    assert parse_filter('labels."my.key" = v') == expected
    assert parse_filter(r'labels."my\.key" = v') == expected
    assert parse_filter("'display_name' = v") == cmp("display_name", "=", "v")


def test_escapes_in_quoted_strings() -> None:
    cases = {
        r'"say \"hi\""': 'say "hi"',
        r"'it\'s'": "it's",
        r'"back\\slash"': "back\\slash",
        r'"tab\there"': "tab\there",
        r'"line\nbreak"': "line\nbreak",
        r'"\q\z"': "qz",  # any other escaped character stands for itself
        '"caf\u00e9 \u65e5\u672c \U0001f600"': "caf\u00e9 \u65e5\u672c \U0001f600",
        '"raw\nnewline"': "raw\nnewline",
        "'double \" inside single'": 'double " inside single',
        '"(not) AND a paren"': "(not) AND a paren",
        '""': "",
    }
    for source, text in cases.items():
        node = parse_filter(f"name = {source}")
        assert node == cmp("name", "=", text, True), source


def test_wildcard_positions_in_quoted_strings() -> None:
    node = parse_filter(r'name = "a*b\*c*"')
    assert node == cmp("name", "=", "a*b*c*", True, (1, 5))


def test_position_attributes_are_not_part_of_equality() -> None:
    node = parse_filter("  step > 3")
    assert isinstance(node, Comparison)
    assert node.position == 2
    assert node.value.position == 9
    assert node == Comparison(("step",), ">", Value("3", False))
    assert hash(node) == hash(Comparison(("step",), ">", Value("3", False)))


# --- parsing: errors --------------------------------------------------------------------

SYNTAX_ERRORS = [
    # (filter, position, message fragment)
    ("(a = 1", 0, '"(" is never closed'),
    ("((a = 1)", 0, '"(" is never closed'),
    ("a = 1 AND (b = 2", 10, '"(" is never closed'),
    ("a = 1)", 5, '")" has no matching "("'),
    ("(a = 1))", 7, '")" has no matching "("'),
    ("()", 0, "empty parentheses"),
    ("a = 1 AND ( )", 10, "empty parentheses"),
    ("a =", 3, 'expected a value after "="'),
    ("a = ", 4, 'expected a value after "="'),
    ("(a != )", 6, 'expected a value after "!="'),
    ("a : (b)", 4, 'expected a value after ":"'),
    ("a = AND b = 1", 4, 'found keyword "AND"'),
    ("a = = 1", 4, 'expected a value after "=", found "="'),
    ('a = "abc', 4, "unterminated string"),
    ("a = 'abc\\'", 4, "unterminated string"),
    ('"abc = 1', 0, "unterminated string"),
    ("a = abc\\", 7, "backslash at the end"),
    ("a = 1 = 2", 6, 'unexpected "="'),
    ("a = 1 AND", 6, 'expected a term after "AND"'),
    ("a = 1 OR", 6, 'expected a term after "OR"'),
    ("a = 1 AND OR b = 2", 6, 'expected a term after "AND"'),
    ("(a = 1 OR) b = 2", 7, 'expected a term after "OR"'),
    ("AND a = 1", 0, 'unexpected "AND"'),
    ("OR a = 1", 0, 'unexpected "OR"'),
    ("a = 1 OR NOT", 9, 'expected a term after "NOT"'),
    ("NOT NOT a = 1", 0, 'expected a term after "NOT"'),
    ("- a = 1", 0, 'expected a term directly after "-"'),
    ("a = 1 -", 6, 'expected a term directly after "-"'),
    ("a == 1", 2, 'unknown comparator "=="'),
    ("a =< 1", 2, 'unknown comparator "=<"'),
    ("a ! 1", 2, 'unknown comparator "!"'),
    ("a => 1", 2, 'unknown comparator "=>"'),
    ("a", 0, "free-text search is not supported"),
    ("a = 1 b", 6, "free-text search is not supported"),
    ('"hello"', 0, "free-text search is not supported"),
    ("labels.team", 0, '"labels.team" needs a comparator'),
    ("a ~ 1", 2, 'unexpected character "~"'),
    ("= 1", 0, 'expected a field name, found "="'),
    ("a = 1 (b = 2) )", 14, '")" has no matching "("'),
    ("labels. team = 1", 7, 'expected a field name directly after "."'),
    ("labels .team = 1", 6, 'unexpected space before "."'),
    ("labels. = 1", 7, 'expected a field name directly after "."'),
    ("(a = 1 b = 2 = 3)", 13, 'expected ")" but found "="'),
]


@pytest.mark.parametrize(("text", "position", "fragment"), SYNTAX_ERRORS)
def test_syntax_errors_report_position(text: str, position: int, fragment: str) -> None:
    with pytest.raises(FilterError) as info:
        parse_filter(text)
    assert info.value.position == position
    assert fragment in str(info.value)
    assert str(info.value).startswith(f"Invalid filter at position {position}: ")


def test_filter_error_is_a_value_error() -> None:
    err = FilterError("boom")
    assert isinstance(err, ValueError)
    assert err.position is None
    assert str(err) == "Invalid filter: boom"
    assert str(FilterError("boom", 3)) == "Invalid filter at position 3: boom"


def test_earliest_error_wins() -> None:
    # The lexer is lazy, so a problem at 0 is reported before the unterminated string.
    with pytest.raises(FilterError) as info:
        parse_filter('AND a = "oops')
    assert info.value.position == 0


# --- check_fields -----------------------------------------------------------------------

FIELD_ERRORS = [
    ("colour = red", 0, 'unknown field "colour"'),
    ("step > 1 AND colour = red", 13, 'unknown field "colour"'),
    ("display_name.x = 1", 0, '"display_name" is a string field and has no sub-field "x"'),
    ("step.x = 1", 0, "has no sub-field"),
    ("labels = x", 0, '"labels" is a map'),
    ("labels < x", 0, '"labels" is a map'),
    ("labels != x", 0, '"labels" is a map'),
    ("labels.a.b = x", 0, "takes exactly one key"),
    ("create_time > yesterday", 14, 'invalid timestamp "yesterday"'),
    ("create_time > 2024-01-01", 14, "invalid timestamp"),
    ("create_time > 2024-01-01T00:00:00", 14, "invalid timestamp"),
    ("create_time > 2024-01-01 00:00:00Z", 14, "invalid timestamp"),
    ("create_time > 2024-13-01T00:00:00Z", 14, "invalid timestamp"),
    ("create_time > 2024-02-30T00:00:00Z", 14, "invalid timestamp"),
    ("create_time > 2024-01-01T24:00:00Z", 14, "invalid timestamp"),
    ("create_time > 2024-01-01T00:00:00.Z", 14, "invalid timestamp"),
    ("create_time > 2024-01-01T00:00:00.1234567890Z", 14, "invalid timestamp"),
    ("create_time > 2024-01-01T00:00:00+24:00", 14, "invalid timestamp"),
    ("create_time > 2024-01-01T00:00:00+0100", 14, "invalid timestamp"),
    ("create_time > 2024*", 14, "invalid timestamp"),
    ("create_time = *", 14, 'use "create_time:*"'),
    ("createTime != *", 14, 'use "createTime:*"'),
    ("step > abc", 7, 'invalid number "abc"'),
    ("step > 1e", 7, "invalid number"),
    ("step > nan", 7, "invalid number"),
    ("step > inf", 7, "invalid number"),
    ("step > 1_000", 7, "invalid number"),
    ("step > 0x10", 7, "invalid number"),
    ('step > ""', 7, "invalid number"),
    ("step = *", 7, 'use "step:*"'),
]


@pytest.mark.parametrize(("text", "position", "fragment"), FIELD_ERRORS)
def test_check_fields_errors(text: str, position: int, fragment: str) -> None:
    node = parse_filter(text)
    with pytest.raises(FilterError) as info:
        check_fields(node, FIELDS)
    assert info.value.position == position
    assert fragment in str(info.value)
    # evaluate() validates the same way.
    with pytest.raises(FilterError):
        evaluate(node, {}, FIELDS)


def test_unknown_field_message_lists_valid_fields() -> None:
    with pytest.raises(FilterError) as info:
        check_fields(parse_filter("colour = red"), FIELDS)
    assert str(info.value) == (
        'Invalid filter at position 0: unknown field "colour"; valid fields are: '
        "createTime, create_time, displayName, display_name, labels, name, step"
    )


def test_check_fields_accepts_valid_filters() -> None:
    for text in [
        'display_name = "x" AND displayName:* AND labels:team AND labels.team != "a"',
        "create_time >= 2024-01-01T00:00:00.123456789+05:30 OR createTime:*",
        'create_time < "2024-01-01t00:00:00z" step:* step <= 1.5e3 step > -.5',
        "labels:* labels.k < m name > a*",
    ]:
        check_fields(parse_filter(text), FIELDS)


def test_evaluate_validates_branches_it_would_short_circuit() -> None:
    node = parse_filter('display_name = "x" OR colour = 1')
    with pytest.raises(FilterError, match="unknown field"):
        evaluate(node, {"displayName": "x"}, FIELDS)


def test_hand_built_comparison_with_bad_operator() -> None:
    with pytest.raises(FilterError, match='unknown comparator "=="'):
        check_fields(Comparison(("step",), "==", Value("1", False)), FIELDS)


# --- evaluation: boolean structure ------------------------------------------------------


def bits_resource(a: bool, b: bool, c: bool) -> dict[str, Any]:
    return {"labels": {"a": str(int(a)), "b": str(int(b)), "c": str(int(c))}}


A, B, C = 'labels.a = "1"', 'labels.b = "1"', 'labels.c = "1"'


@pytest.mark.parametrize(("a", "b", "c"), list(itertools.product([False, True], repeat=3)))
def test_precedence_truth_tables(a: bool, b: bool, c: bool) -> None:
    resource = bits_resource(a, b, c)
    assert matches(f"{A} AND {B} OR {C}", resource) == (a and (b or c))
    assert matches(f"({A} AND {B}) OR {C}", resource) == ((a and b) or c)
    assert matches(f"{A} OR {B} AND {C}", resource) == ((a or b) and c)
    assert matches(f"{A} {B} OR {C}", resource) == (a and (b or c))
    assert matches(f"{A} {B} {C}", resource) == (a and b and c)
    assert matches(f"NOT {A} OR {B}", resource) == ((not a) or b)
    assert matches(f"-({A} OR {B}) {C}", resource) == ((not (a or b)) and c)
    assert matches(f"-{A} AND NOT {B}", resource) == ((not a) and (not b))


def test_precedence_forms_really_differ() -> None:
    # a=0, b=0, c=1 tells "a AND (b OR c)" from "(a AND b) OR c".
    resource = bits_resource(False, False, True)
    assert matches(f"{A} AND {B} OR {C}", resource) is False
    assert matches(f"({A} AND {B}) OR {C}", resource) is True


# --- evaluation: strings ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('display_name = "beta"', True),
        ('display_name = "Beta"', False),
        ('display_name != "beta"', False),
        ('display_name != "alpha"', True),
        ('display_name < "c"', True),
        ('display_name < "beta"', False),
        ('display_name <= "beta"', True),
        ('display_name > "alpha"', True),
        ('display_name > "beta"', False),
        ('display_name >= "beta"', True),
        ('display_name >= "betb"', False),
        ('display_name : "beta"', True),
        ('display_name : "bet"', False),
        ("display_name:*", True),
        ("display_name = beta", True),
        ("displayName = beta", True),
    ],
)
def test_string_comparators(text: str, expected: bool) -> None:
    assert matches(text, {"displayName": "beta"}) is expected


def test_missing_string_reads_as_empty() -> None:
    assert matches('display_name = ""', {}) is True
    assert matches('display_name != "x"', {}) is True
    assert matches("display_name:*", {}) is False
    assert matches("display_name:*", {"displayName": ""}) is False
    assert matches('display_name < "a"', {"displayName": None}) is True


@pytest.mark.parametrize(
    ("pattern", "hits", "misses"),
    [
        ('"run-*"', ["run-", "run-1", "run-abc"], ["run", "xrun-1", "Run-1"]),
        ('"*-final"', ["a-final", "-final"], ["a-final2", "final"]),
        ('"a*z"', ["az", "abcz", "a-z"], ["a", "z", "abc", "zaz"]),
        ('"a*b*c"', ["abc", "a1b2c", "abbc", "acbc"], ["acb", "ab", "bc"]),
        ('"*mid*"', ["mid", "amidb", "midmid"], ["mi", "m-id"]),
        ('"ab*ab"', ["abab", "ab-ab"], ["ab", "aba"]),
        ('"*"', ["x", "anything"], [""]),
        ('"**"', ["x"], [""]),
        (r'"run-\*"', ["run-*"], ["run-1", "run-"]),
        (r'"\**"', ["*", "*x"], ["x", ""]),
        ("run-*", ["run-1"], ["run"]),
    ],
)
def test_wildcards(pattern: str, hits: list[str], misses: list[str]) -> None:
    for name in hits:
        assert matches(f"display_name = {pattern}", {"displayName": name}), name
        assert matches(f"display_name : {pattern}", {"displayName": name}), name
        assert not matches(f"display_name != {pattern}", {"displayName": name}), name
    for name in misses:
        assert not matches(f"display_name = {pattern}", {"displayName": name}), name
        assert matches(f"display_name != {pattern}", {"displayName": name}), name


def test_ordering_ignores_wildcards() -> None:
    # "*" sorts before letters; as a wildcard it would have matched anything.
    assert matches('display_name > "a*"', {"displayName": "ab"}) is True
    assert matches('display_name < "a*"', {"displayName": "ab"}) is False
    assert matches('display_name <= "a*"', {"displayName": "a*"}) is True


def test_snake_and_camel_aliases_agree() -> None:
    resources = [
        {"displayName": n, "createTime": T0 + timedelta(days=d)}
        for n, d in [("x", 0), ("run-1", 1), ("run-2", 5)]
    ]
    for snake, camel in [
        ('display_name = "run-*"', 'displayName = "run-*"'),
        ("create_time > 2024-01-02T00:00:00Z", "createTime > 2024-01-02T00:00:00Z"),
    ]:
        got = [matches(snake, r) for r in resources]
        assert got == [matches(camel, r) for r in resources]
        assert True in got
        assert False in got


# --- evaluation: timestamps -------------------------------------------------------------


@pytest.mark.parametrize(
    ("op", "literal", "expected"),
    [
        ("=", "2024-01-01T00:00:00Z", True),
        ("=", "2024-01-01T01:00:00+01:00", True),  # same instant, other offset
        ("=", "2023-12-31T19:00:00-05:00", True),
        ("=", "2024-01-01T00:00:00.000000001Z", False),
        ("!=", "2024-01-01T00:00:00Z", False),
        ("!=", "2024-01-01T00:00:01Z", True),
        ("<", "2024-01-01T00:00:00.0000005Z", True),  # nanoseconds are not rounded away
        ("<", "2024-01-01T00:00:00Z", False),
        ("<=", "2024-01-01T00:00:00Z", True),
        (">", "2023-12-31T23:59:59.999999999Z", True),
        (">", "2024-01-01T00:00:00Z", False),
        (">=", "2024-01-01T00:00:00.000Z", True),
        (">=", "2024-01-01T00:00:00.5Z", False),
        (":", "2024-01-01T00:00:00Z", True),
        ("=", '"2024-01-01T00:00:00Z"', True),  # quoted literal
        ("=", "2024-01-01t00:00:00z", True),  # RFC 3339 allows lower-case t and z
    ],
)
def test_timestamp_comparators(op: str, literal: str, expected: bool) -> None:
    assert matches(f"create_time {op} {literal}", {"createTime": T0}) is expected


def test_timestamp_microseconds_on_the_resource() -> None:
    resource = {"createTime": T0.replace(microsecond=5)}
    assert matches("create_time > 2024-01-01T00:00:00.000004999Z", resource)
    assert matches("create_time = 2024-01-01T00:00:00.000005Z", resource)
    assert matches("create_time < 2024-01-01T00:00:00.000005001Z", resource)


def test_missing_timestamp() -> None:
    assert matches("create_time:*", {"createTime": T0}) is True
    assert matches("create_time:*", {}) is False
    for op in ["=", "<", "<=", ">", ">="]:
        assert matches(f"create_time {op} 2024-01-01T00:00:00Z", {}) is False, op
    assert matches("create_time != 2024-01-01T00:00:00Z", {}) is True


def test_timestamp_resource_forms() -> None:
    naive = datetime(2024, 1, 1)  # naive datetimes are read as UTC
    assert matches("create_time = 2024-01-01T00:00:00Z", {"createTime": naive})
    text = "2024-01-01T02:00:00+02:00"
    assert matches("create_time = 2024-01-01T00:00:00Z", {"createTime": text})
    with pytest.raises(TypeError):
        matches("create_time = 2024-01-01T00:00:00Z", {"createTime": 12})


# --- evaluation: numbers ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("step = 5", True),
        ("step = 5.0", True),
        ("step = 5e0", True),
        ('step = "5"', True),
        ("step != 5", False),
        ("step != 4", True),
        ("step < 6", True),
        ("step < 5", False),
        ("step <= 5", True),
        ("step > 4.5", True),
        ("step > 5", False),
        ("step >= 5", True),
        ("step >= 5.000001", False),
        ("step > -3", True),
        ("step : 5", True),
        ("step:*", True),
    ],
)
def test_number_comparators(text: str, expected: bool) -> None:
    assert matches(text, {"step": 5}) is expected


def test_number_float_resource_and_missing() -> None:
    assert matches("step > 2.25", {"step": 2.5}) is True
    assert matches("step < .5", {"step": 0.25}) is True
    assert matches("step = 0", {}) is True  # proto3 default
    assert matches("step:*", {}) is False
    assert matches("step > 12345678901234567890", {"step": 12345678901234567891}) is True


# --- evaluation: maps -------------------------------------------------------------------

LABELED = {"labels": {"team": "ml", "env": "", "my.key": "dotted"}}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('labels.team = "ml"', True),
        ("labels.team = ml", True),
        ('labels.team = "ops"', False),
        ('labels.team != "ml"', False),
        ('labels.team != "ops"', True),
        ('labels.team : "ml"', True),
        ('labels.team = "m*"', True),
        ('labels.team < "n"', True),
        ('labels.team <= "ml"', True),
        ('labels.team > "ml"', False),
        ('labels.team >= "ml"', True),
        ("labels.team:*", True),
        ("labels.env:*", True),  # key present, even with an empty value
        ('labels.env = "*"', False),  # "*" as a value still means non-empty
        ('labels.env = ""', True),
        ("labels.missing:*", False),
        ('labels.missing = "x"', False),
        ('labels.missing != "x"', True),  # a missing entry reads as ""
        ('labels.missing = ""', True),
        ("labels:team", True),
        ('labels:"team"', True),
        ("labels:env", True),
        ("labels:missing", False),
        ("labels:te*", True),
        ("labels:*", True),
        ('labels."my.key" = dotted', True),
        ("NOT labels:missing", True),
    ],
)
def test_map_comparators(text: str, expected: bool) -> None:
    assert matches(text, LABELED) is expected


def test_map_field_missing_entirely() -> None:
    assert matches("labels:*", {}) is False
    assert matches("labels:team", {"labels": {}}) is False
    assert matches('labels.team != "x"', {}) is True


# --- quote() ----------------------------------------------------------------------------


def test_quote_examples() -> None:
    assert quote('a"b*') == '"a\\"b\\*"'
    assert quote("") == '""'
    assert quote("back\\slash") == '"back\\\\slash"'
    assert quote("it's") == '"it\'s"'
    assert quote("line\nbreak") == '"line\nbreak"'


@given(st.text())
def test_quote_round_trips_exactly(s: str) -> None:
    node = parse_filter("display_name = " + quote(s))
    assert node == Comparison(("display_name",), "=", Value(s, True, ()))
    assert evaluate(node, {"displayName": s}, FIELDS) is True
    assert evaluate(node, {"displayName": s + "x"}, FIELDS) is False


@given(st.text(min_size=1), st.text())
def test_quoted_prefix_with_wildcard(prefix: str, rest: str) -> None:
    # What a client builds for "starts with": quote the literal part, then add "*".
    # (An empty prefix would give "*" alone, which means "non-empty", not "anything".)
    node = parse_filter("display_name = " + quote(prefix)[:-1] + '*"')
    assert evaluate(node, {"displayName": prefix + rest}, FIELDS) is True
    assert evaluate(node, {"displayName": prefix[:-1]}, FIELDS) is False
    assert evaluate(node, {"displayName": "\x00" + prefix[1:]}, FIELDS) is (prefix[0] == "\x00")


# --- property: rendering any AST and parsing it back gives the same AST ------------------

comparisons = st.builds(
    lambda name, op, text: Comparison((*name,), op, Value(text, True)),
    st.sampled_from([("display_name",), ("labels", "team"), ("labels", "a b.c"), ("step",)]),
    st.sampled_from(["=", "!=", "<", "<=", ">", ">=", ":"]),
    st.text(max_size=8),
)
trees: st.SearchStrategy[Node] = st.recursive(
    comparisons,
    lambda children: st.one_of(
        st.builds(And, st.lists(children, min_size=2, max_size=3).map(tuple)),
        st.builds(Or, st.lists(children, min_size=2, max_size=3).map(tuple)),
        st.builds(Not, children),
    ),
    max_leaves=8,
)


def render(node: Node) -> str:
    if isinstance(node, Comparison):
        path = ".".join(part if part.isidentifier() else quote(part) for part in node.field)
        return f"{path} {node.op} {quote(node.value.text)}"
    if isinstance(node, Not):
        return f"NOT ({render(node.term)})"
    joiner = " AND " if isinstance(node, And) else " OR "
    return "(" + joiner.join(render(term) for term in node.terms) + ")"


@given(trees)
def test_render_parse_round_trip(tree: Node) -> None:
    assert parse_filter(render(tree)) == tree
