"""AIP-160 filter expressions, as the Vertex AI TensorBoard API accepts them.

The emulator's list methods take a ``filter`` query parameter and the time-series
read/export methods take filters such as ``step > 3``.  `runs_dbapi.emulator.filter_syntax`
parses such text into a small, inspectable AST (frozen dataclasses; its names are importable
from here too); this module validates it against the fields a resource exposes, and evaluates
it against one resource (a plain mapping).

Decisions of meaning the AIP leaves open, made here and relied on by tests (those of syntax
are in `runs_dbapi.emulator.filter_syntax`):

* An argument made only of wildcards (``*``, ``"*"``) means "set": a non-empty string,
  a present timestamp or number.  Elsewhere ``*`` matches any run, including an empty one.
* A missing string field or map entry reads as "" (the proto3 default), so
  ``labels.k != "v"`` is true when key ``k`` is absent, while ``labels.k:*`` is false.
* A missing number reads as 0; a missing timestamp is unset, so every comparison with it
  is false except ``!=``.
* Timestamps keep nanoseconds: the literal is compared as (datetime, extra nanoseconds)
  so that ``.0000005Z`` is not silently rounded to a microsecond.
"""

from __future__ import annotations

import operator
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any, Literal, TypeAlias

from .filter_syntax import (
    COMPARATORS,
    And,
    Comparison,
    FilterError,
    Node,
    Not,
    Or,
    Value,
    parse_filter,
    quote,
)

__all__ = [
    "And",
    "Comparison",
    "Field",
    "FieldKind",
    "FieldSpec",
    "FilterError",
    "Node",
    "Not",
    "Or",
    "Value",
    "check_fields",
    "evaluate",
    "parse_filter",
    "quote",
]


FieldKind: TypeAlias = Literal["string", "timestamp", "number", "map"]


@dataclass(frozen=True)
class Field:
    """How one filterable field is read from a resource mapping."""

    key: str
    kind: FieldKind


FieldSpec: TypeAlias = Mapping[str, Field]


# --- validation ------------------------------------------------------------------------

_TIMESTAMP = re.compile(
    r"([0-9]{4})-([0-9]{2})-([0-9]{2})[Tt]([0-9]{2}):([0-9]{2}):([0-9]{2})"
    r"(?:\.([0-9]{1,9}))?(?:([Zz])|([+-])([0-9]{2}):([0-9]{2}))"
)
_NUMBER = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")
_INTEGER = re.compile(r"[+-]?[0-9]+")

# A timestamp as an ordered key: (datetime to the microsecond, remaining nanoseconds).
_TimeKey: TypeAlias = tuple[datetime, int]


def _parse_timestamp(text: str) -> _TimeKey | None:
    match = _TIMESTAMP.fullmatch(text)
    if match is None:
        return None
    year, month, day, hour, minute, second, fraction, zulu, sign, off_h, off_m = match.groups()
    if zulu:
        tz = timezone.utc
    else:
        if int(off_h) > 23 or int(off_m) > 59:
            return None
        offset = timedelta(hours=int(off_h), minutes=int(off_m))
        tz = timezone(-offset if sign == "-" else offset)
    nanos = int((fraction or "").ljust(9, "0"))
    try:
        moment = datetime(
            int(year),
            int(month),
            int(day),
            int(hour),
            int(minute),
            int(second),
            nanos // 1000,
            tzinfo=tz,
        )
    except ValueError:  # e.g. month 13, February 30, second 60
        return None
    return moment, nanos % 1000


def _parse_number(text: str) -> int | float | None:
    if _NUMBER.fullmatch(text) is None:
        return None
    try:
        return int(text) if _INTEGER.fullmatch(text) else float(text)
    except ValueError:  # an integer too long for int()
        return None


def _is_presence(value: Value) -> bool:
    """``*`` (or ``**``...): nothing but wildcards, i.e. "the field is set"."""
    return bool(value.text) and len(value.wildcard_positions) == len(value.text)


def _comparisons(node: Node | None) -> Iterator[Comparison]:
    if isinstance(node, And | Or):
        for term in node.terms:
            yield from _comparisons(term)
    elif isinstance(node, Not):
        yield from _comparisons(node.term)
    elif isinstance(node, Comparison):
        yield node


def _field_of(comparison: Comparison, fields: FieldSpec) -> Field:
    """Check one comparison against the field spec and return the field it reads."""
    name, op, value = comparison.field[0], comparison.op, comparison.value
    where = comparison.position
    if op not in COMPARATORS:
        raise FilterError(f'unknown comparator "{op}"', where)
    spec = fields.get(name)
    if spec is None:
        valid = ", ".join(sorted(fields)) or "(none)"
        raise FilterError(f'unknown field "{name}"; valid fields are: {valid}', where)
    if spec.kind == "map":
        if len(comparison.field) > 2:
            raise FilterError(
                f'"{".".join(comparison.field)}": map field "{name}" takes exactly one key, '
                f"as in {name}.<key>",
                where,
            )
        if len(comparison.field) == 1 and op != ":":
            raise FilterError(
                f'"{name}" is a map: compare one entry ({name}.<key> {op} <value>) '
                f"or test for a key ({name}:<key>)",
                where,
            )
        return spec
    if len(comparison.field) > 1:
        raise FilterError(
            f'"{name}" is a {spec.kind} field and has no sub-field "{comparison.field[1]}"',
            where,
        )
    if spec.kind == "string":
        return spec
    if _is_presence(value):
        if op != ":":
            raise FilterError(
                f'a wildcard cannot be compared with {spec.kind} field "{name}" using "{op}"; '
                f'use "{name}:*" to test that it is set',
                value.position,
            )
        return spec
    if spec.kind == "timestamp" and _parse_timestamp(value.text) is None:
        raise FilterError(
            f'invalid timestamp "{value.text}" for "{name}": expected RFC 3339, '
            "such as 2024-01-01T00:00:00Z or 2024-01-01T00:00:00.5+02:00",
            value.position,
        )
    if spec.kind == "number" and _parse_number(value.text) is None:
        raise FilterError(f'invalid number "{value.text}" for "{name}"', value.position)
    return spec


def check_fields(node: Node | None, fields: FieldSpec) -> None:
    """Validate every comparison in ``node`` against ``fields``; raises FilterError."""
    for comparison in _comparisons(node):
        _field_of(comparison, fields)


# --- evaluation ------------------------------------------------------------------------

_ORDERING: dict[str, Callable[[Any, Any], Any]] = {
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
}


def _compare(op: str, left: Any, right: Any) -> bool:
    if op in ("=", ":"):
        return bool(left == right)
    if op == "!=":
        return bool(left != right)
    return bool(_ORDERING[op](left, right))


def _wildcard_match(value: Value, candidate: str) -> bool:
    if _is_presence(value):
        return candidate != ""
    if not value.wildcard_positions:
        return candidate == value.text
    # Split the pattern at its wildcards; with only "*" wildcards, matching the first piece
    # as a prefix, the last as a suffix and each middle piece at its leftmost place is exact.
    pieces, start = [], 0
    for index in value.wildcard_positions:
        pieces.append(value.text[start:index])
        start = index + 1
    pieces.append(value.text[start:])
    first, *middle, last = pieces
    if len(candidate) < len(first) + len(last):
        return False
    if not (candidate.startswith(first) and candidate.endswith(last)):
        return False
    pos, end = len(first), len(candidate) - len(last)
    for piece in middle:
        found = candidate.find(piece, pos, end)
        if found < 0:
            return False
        pos = found + len(piece)
    return True


def _match_string(op: str, value: Value, actual: str) -> bool:
    if op in ("=", ":"):
        return _wildcard_match(value, actual)
    if op == "!=":
        return not _wildcard_match(value, actual)
    return _compare(op, actual, value.text)  # ordering is lexical; "*" is just a character


def _resource_time(raw: Any) -> _TimeKey:
    if isinstance(raw, str):  # tolerate RFC 3339 text as stored in JSON
        parsed = _parse_timestamp(raw)
        if parsed is None:
            raise ValueError(f"resource timestamp {raw!r} is not RFC 3339")
        return parsed
    if not isinstance(raw, datetime):
        raise TypeError(f"resource timestamp must be a datetime, not {type(raw).__name__}")
    if raw.tzinfo is None:  # naive values are taken to be UTC rather than local time
        raw = raw.replace(tzinfo=timezone.utc)
    return raw, 0


def _matches(comparison: Comparison, resource: Mapping[str, Any], fields: FieldSpec) -> bool:
    spec = fields[comparison.field[0]]
    op, value = comparison.op, comparison.value
    raw = resource.get(spec.key)
    if spec.kind == "string":
        return _match_string(op, value, "" if raw is None else str(raw))
    if spec.kind == "map":
        entries: Mapping[str, Any] = raw if isinstance(raw, Mapping) else {}
        if len(comparison.field) == 1:  # "labels:key" -- is there such a key?
            return any(_wildcard_match(value, key) for key in entries)
        key = comparison.field[1]
        if op == ":" and _is_presence(value):
            return key in entries
        entry = entries.get(key)
        return _match_string(op, value, "" if entry is None else str(entry))
    if _is_presence(value):  # validated: only with ":"
        return raw is not None
    if spec.kind == "number":
        literal = _parse_number(value.text)
        return _compare(op, 0 if raw is None else raw, literal)
    if raw is None:  # an unset timestamp equals nothing and has no order
        return op == "!="
    return _compare(op, _resource_time(raw), _parse_timestamp(value.text))


def _evaluate(node: Node, resource: Mapping[str, Any], fields: FieldSpec) -> bool:
    if isinstance(node, And):
        return all(_evaluate(term, resource, fields) for term in node.terms)
    if isinstance(node, Or):
        return any(_evaluate(term, resource, fields) for term in node.terms)
    if isinstance(node, Not):
        return not _evaluate(node.term, resource, fields)
    return _matches(node, resource, fields)


def evaluate(node: Node | None, resource: Mapping[str, Any], fields: FieldSpec) -> bool:
    """Whether ``resource`` satisfies ``node``; None matches everything.

    The whole tree is validated first, so an invalid comparison raises FilterError even
    when short-circuiting would never reach it.
    """
    if node is None:
        return True
    check_fields(node, fields)
    return _evaluate(node, resource, fields)
