"""AIP-160 filter expressions, as the Vertex AI TensorBoard API accepts them.

The emulator's list methods take a ``filter`` query parameter and the time-series
read/export methods take filters such as ``step > 3``.  This module parses such text
into a small, inspectable AST (frozen dataclasses), validates it against the fields a
resource exposes, and evaluates it against one resource (a plain mapping).

Grammar (AIP-160; note that OR binds *tighter* than AND)::

    filter      := expression
    expression  := sequence { "AND" sequence }
    sequence    := factor { factor }             # juxtaposition is an implicit AND
    factor      := term { "OR" term }
    term        := [ "NOT" | "-" ] simple        # "-" must touch its term
    simple      := restriction | "(" expression ")"
    restriction := member comparator arg         # a bare member (text search) is an error
    member      := segment { "." segment }       # segment: word or quoted string
    comparator  := "=" | "!=" | "<" | "<=" | ">" | ">=" | ":"
    arg         := quoted string | unquoted text (ends at whitespace or a parenthesis)

Decisions the AIP leaves open, made here and relied on by tests:

* Keywords AND, OR and NOT are upper case and only count as keywords when they stand
  alone (followed by whitespace, a parenthesis or the end); a keyword where a value is
  expected is an error rather than the text "AND" -- quote it to mean the text.
* Backslash escapes work in unquoted values too, so ``name = a\\*b`` has a literal star.
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
from dataclasses import field as _dc_field
from datetime import datetime, timedelta, timezone
from enum import Enum, auto
from typing import Any, Literal, TypeAlias

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


class FilterError(ValueError):
    """A filter that cannot be parsed, validated or applied (HTTP 400 INVALID_ARGUMENT)."""

    def __init__(self, reason: str, position: int | None = None) -> None:
        self.reason = reason
        self.position = position
        where = "" if position is None else f" at position {position}"
        super().__init__(f"Invalid filter{where}: {reason}")


FieldKind: TypeAlias = Literal["string", "timestamp", "number", "map"]


@dataclass(frozen=True)
class Field:
    """How one filterable field is read from a resource mapping."""

    key: str
    kind: FieldKind


FieldSpec: TypeAlias = Mapping[str, Field]


# --- AST -------------------------------------------------------------------------------
# ``position`` fields are extra, optional and excluded from equality/hash/repr: they only
# let check_fields() point at the offending text, and hand-built nodes need not set them.


@dataclass(frozen=True)
class Value:
    text: str
    quoted: bool
    wildcard_positions: tuple[int, ...] = ()
    position: int | None = _dc_field(default=None, compare=False, repr=False)


@dataclass(frozen=True)
class Comparison:
    field: tuple[str, ...]
    op: str
    value: Value
    position: int | None = _dc_field(default=None, compare=False, repr=False)


@dataclass(frozen=True)
class And:
    terms: tuple[Node, ...]


@dataclass(frozen=True)
class Or:
    terms: tuple[Node, ...]


@dataclass(frozen=True)
class Not:
    term: Node


Node: TypeAlias = And | Or | Not | Comparison

_COMPARATORS = frozenset({"=", "!=", "<", "<=", ">", ">=", ":"})
_COMPARATOR_CHARS = frozenset("=!<>:")
_KEYWORDS = frozenset({"AND", "OR", "NOT"})
_QUOTES = frozenset("\"'")
_ESCAPES = {"n": "\n", "t": "\t"}  # any other escaped character stands for itself


def quote(value: str) -> str:
    """Return a double-quoted literal that parses back to exactly ``value``, wildcard-free."""
    escaped = value.replace("\\", "\\\\").replace('"', '\\"').replace("*", "\\*")
    return f'"{escaped}"'


# --- tokenizer -------------------------------------------------------------------------


class _Kind(Enum):
    LPAREN = auto()
    RPAREN = auto()
    AND = auto()
    OR = auto()
    NOT = auto()
    MINUS = auto()  # negation: "-" touching the following term
    WORD = auto()  # unquoted member segment
    STRING = auto()  # quoted member segment
    DOT = auto()
    COMPARATOR = auto()
    ARG = auto()  # the value after a comparator, quoted or not
    END = auto()


@dataclass(frozen=True)
class _Token:
    kind: _Kind
    text: str  # source text, for messages and member segments
    pos: int
    end: int
    value: Value | None = None  # resolved text of STRING and ARG tokens


def _is_word_start(char: str) -> bool:
    return char.isalnum() or char == "_"


class _Lexer:
    """Produces tokens on demand, so the earliest problem in the text is reported first.

    The lexer has one bit of context: right after a comparator it reads an argument, whose
    unquoted form may contain ``:``, ``-``, ``.`` and ``*`` (``2024-01-01T00:00:00Z``).
    """

    def __init__(self, text: str) -> None:
        self._text = text
        self._pos = 0
        self._comparator: str | None = None  # set when the next token must be an argument

    def next(self) -> _Token:
        text = self._text
        while self._pos < len(text) and text[self._pos].isspace():
            self._pos += 1
        if self._comparator is not None:
            comparator, self._comparator = self._comparator, None
            return self._argument(comparator)
        token = self._plain()
        if token.kind is _Kind.COMPARATOR:
            self._comparator = token.text
        return token

    def _token(self, kind: _Kind, start: int, value: Value | None = None) -> _Token:
        return _Token(kind, self._text[start : self._pos], start, self._pos, value)

    def _plain(self) -> _Token:
        text, start = self._text, self._pos
        if start >= len(text):
            return _Token(_Kind.END, "end of filter", start, start)
        char = text[start]
        single = {"(": _Kind.LPAREN, ")": _Kind.RPAREN, ".": _Kind.DOT}.get(char)
        if single is not None:
            self._pos += 1
            return self._token(single, start)
        if char in _QUOTES:
            return self._token(_Kind.STRING, start, self._quoted())
        if char in _COMPARATOR_CHARS:
            # Take the whole run so that "==" or "=<" is reported as one bad comparator
            # instead of "=" followed by a strange value.
            while self._pos < len(text) and text[self._pos] in _COMPARATOR_CHARS:
                self._pos += 1
            if text[start : self._pos] not in _COMPARATORS:
                raise FilterError(f'unknown comparator "{text[start : self._pos]}"', start)
            return self._token(_Kind.COMPARATOR, start)
        if char == "-":
            if start + 1 >= len(text) or text[start + 1].isspace():
                raise FilterError('expected a term directly after "-"', start)
            self._pos += 1
            return self._token(_Kind.MINUS, start)
        if _is_word_start(char):
            # "-" may continue a word (label keys such as "my-key") but not start one.
            while self._pos < len(text) and (
                _is_word_start(text[self._pos]) or text[self._pos] == "-"
            ):
                self._pos += 1
            word = text[start : self._pos]
            standalone = (
                self._pos >= len(text) or text[self._pos].isspace() or (text[self._pos] in "()")
            )
            if word in _KEYWORDS and standalone:
                return self._token(_Kind[word], start)
            return self._token(_Kind.WORD, start)
        raise FilterError(f'unexpected character "{char}"', start)

    def _argument(self, comparator: str) -> _Token:
        text, start = self._text, self._pos
        if start >= len(text) or text[start] in "()":
            raise FilterError(f'expected a value after "{comparator}"', start)
        if text[start] in _QUOTES:
            return self._token(_Kind.ARG, start, self._quoted())
        if text[start] in _COMPARATOR_CHARS:
            raise FilterError(
                f'expected a value after "{comparator}", found "{text[start]}"', start
            )
        chars: list[str] = []
        wildcards: list[int] = []
        while (
            self._pos < len(text)
            and not text[self._pos].isspace()
            and (text[self._pos] not in "()")
        ):
            char = text[self._pos]
            if char == "\\":
                if self._pos + 1 >= len(text):
                    raise FilterError(
                        "backslash at the end of the filter escapes nothing", self._pos
                    )
                chars.append(_ESCAPES.get(text[self._pos + 1], text[self._pos + 1]))
                self._pos += 2
                continue
            if char == "*":
                wildcards.append(len(chars))
            chars.append(char)
            self._pos += 1
        if text[start : self._pos] in _KEYWORDS:
            raise FilterError(
                f'expected a value after "{comparator}", found keyword '
                f'"{text[start : self._pos]}" (quote it to mean the text)',
                start,
            )
        value = Value("".join(chars), False, tuple(wildcards), start)
        return self._token(_Kind.ARG, start, value)

    def _quoted(self) -> Value:
        text, start = self._text, self._pos
        closing = text[start]
        self._pos += 1
        chars: list[str] = []
        wildcards: list[int] = []
        while self._pos < len(text):
            char = text[self._pos]
            if char == closing:
                self._pos += 1
                return Value("".join(chars), True, tuple(wildcards), start)
            if char == "\\":
                if self._pos + 1 >= len(text):
                    break
                chars.append(_ESCAPES.get(text[self._pos + 1], text[self._pos + 1]))
                self._pos += 2
                continue
            if char == "*":
                wildcards.append(len(chars))
            chars.append(char)
            self._pos += 1
        raise FilterError(f"unterminated string starting with {closing}", start)


# --- parser ----------------------------------------------------------------------------

_TERM_START = frozenset({_Kind.LPAREN, _Kind.NOT, _Kind.MINUS, _Kind.WORD, _Kind.STRING})
_SIMPLE_START = frozenset({_Kind.LPAREN, _Kind.WORD, _Kind.STRING})
_SEGMENT = frozenset({_Kind.WORD, _Kind.STRING})


class _Parser:
    """Recursive descent over the grammar in the module docstring, one token of lookahead."""

    def __init__(self, text: str) -> None:
        self._lexer = _Lexer(text)
        self._tok = self._lexer.next()

    def _peek(self) -> _Kind:
        # A method rather than an attribute read, so type checkers do not narrow the kind
        # across _advance() calls.
        return self._tok.kind

    def _advance(self) -> _Token:
        token = self._tok
        self._tok = self._lexer.next()
        return token

    def parse(self) -> Node:
        node = self._expression()
        if self._peek() is _Kind.RPAREN:
            raise FilterError('unbalanced parenthesis: ")" has no matching "("', self._tok.pos)
        if self._peek() is not _Kind.END:
            raise FilterError(f'unexpected "{self._tok.text}"', self._tok.pos)
        return node

    def _expect_after(self, keyword: _Token, allowed: frozenset[_Kind]) -> None:
        # Point at the keyword itself: "a = 1 AND" is missing something after the AND.
        if self._peek() not in allowed:
            raise FilterError(f'expected a term after "{keyword.text}"', keyword.pos)

    def _expression(self) -> Node:
        # Sequences and explicit ANDs are the same conjunction, so they share one And node.
        terms = list(self._sequence())
        while self._peek() is _Kind.AND:
            self._expect_after(self._advance(), _TERM_START)
            terms.extend(self._sequence())
        return terms[0] if len(terms) == 1 else And(tuple(terms))

    def _sequence(self) -> list[Node]:
        factors = [self._factor()]
        while self._peek() in _TERM_START:
            factors.append(self._factor())
        return factors

    def _factor(self) -> Node:
        terms = [self._term()]
        while self._peek() is _Kind.OR:
            self._expect_after(self._advance(), _TERM_START)
            terms.append(self._term())
        return terms[0] if len(terms) == 1 else Or(tuple(terms))

    def _term(self) -> Node:
        if self._peek() in (_Kind.NOT, _Kind.MINUS):
            self._expect_after(self._advance(), _SIMPLE_START)
            return Not(self._simple())
        return self._simple()

    def _simple(self) -> Node:
        if self._peek() is not _Kind.LPAREN:
            return self._restriction()
        opening = self._advance()
        if self._peek() is _Kind.RPAREN:
            raise FilterError("empty parentheses", opening.pos)
        node = self._expression()
        if self._peek() is _Kind.END:
            raise FilterError('unbalanced parenthesis: "(" is never closed', opening.pos)
        if self._peek() is not _Kind.RPAREN:
            raise FilterError(f'expected ")" but found "{self._tok.text}"', self._tok.pos)
        self._advance()
        return node

    def _restriction(self) -> Comparison:
        segment = self._segment()
        start = segment.pos
        path = [_segment_text(segment)]
        # Members are written solid ("labels.team"): spaces around "." are an error, not a
        # silent join, because "labels . team" is more likely a typo than intent.
        while self._peek() is _Kind.DOT:
            dot = self._advance()
            if dot.pos != segment.end:
                raise FilterError('unexpected space before "."', segment.end)
            if self._peek() not in _SEGMENT or self._tok.pos != dot.end:
                raise FilterError('expected a field name directly after "."', dot.end)
            segment = self._segment()
            path.append(_segment_text(segment))
        if self._peek() is not _Kind.COMPARATOR:
            raise FilterError(
                f'"{".".join(path)}" needs a comparator and a value, e.g. {path[0]} = "x"; '
                "free-text search is not supported",
                start,
            )
        op = self._advance().text
        value = self._advance().value  # the lexer only ever follows a comparator with an ARG
        assert value is not None
        return Comparison(tuple(path), op, value, start)

    def _segment(self) -> _Token:
        token = self._tok
        if token.kind not in _SEGMENT:
            if token.kind in (_Kind.AND, _Kind.OR):
                raise FilterError(
                    f'unexpected "{token.text}": expected a term before it', token.pos
                )
            raise FilterError(f'expected a field name, found "{token.text}"', token.pos)
        return self._advance()


def _segment_text(token: _Token) -> str:
    """A member segment's name: quoted segments ("a.b") are taken with escapes resolved."""
    return token.text if token.value is None else token.value.text


def parse_filter(text: str) -> Node | None:
    """Parse AIP-160 filter text; None for an empty filter.  Raises FilterError."""
    if not text.strip():
        return None
    return _Parser(text).parse()


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
    if op not in _COMPARATORS:
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
