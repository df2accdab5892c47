"""The syntax of AIP-160 filter expressions: their tokens, grammar and tree.

``parse_filter`` turns filter text (the ``filter`` query parameter of the emulator's list
methods, ``step > 3`` of the time-series read/export methods) into a small, inspectable AST of
frozen dataclasses; `runs_dbapi.emulator.filtering` validates such a tree against the fields of
a resource and evaluates it.

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

Decisions of syntax the AIP leaves open, made here and relied on by tests (those of meaning
are in `runs_dbapi.emulator.filtering`):

* Keywords AND, OR and NOT are upper case and only count as keywords when they stand
  alone (followed by whitespace, a parenthesis or the end); a keyword where a value is
  expected is an error rather than the text "AND" -- quote it to mean the text.
* Backslash escapes work in unquoted values too, so ``name = a\\*b`` has a literal star.
"""

from __future__ import annotations

from dataclasses import dataclass
from dataclasses import field as _dc_field
from enum import Enum, auto
from typing import TypeAlias

__all__ = [
    "COMPARATORS",
    "And",
    "Comparison",
    "FilterError",
    "Node",
    "Not",
    "Or",
    "Value",
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

COMPARATORS = frozenset({"=", "!=", "<", "<=", ">", ">=", ":"})
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
            if text[start : self._pos] not in COMPARATORS:
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
