"""SQL that SQLAlchemy, pandas and notebook tools send, made to run in the local SQLite database.

Two halves:

- `register(db)` gives the local database the functions SQLite leaves to its host: `regexp`
  (what `X REGEXP Y` calls, as `regexp(Y, X)`), `regexp_replace`, the standard deviation and
  variance aggregates, and the aggregates the ordered-set rewrites below call.
- `rewrite(tree)` turns what SQLite cannot parse or would read differently into what it runs:
  `percentile_cont(p) WITHIN GROUP (ORDER BY x)`, `percentile_disc(...)`, `mode() ...` and
  `median(x)` become calls of those aggregates; `regexp_like(x, p, flags)` keeps its flags;
  and what has no local meaning (`FETCH FIRST n PERCENT`, `WITH TIES`, hypothetical-set
  aggregates, ...) is refused with `NotSupportedError` rather than run as something else.

Regular expressions are Python's (`re.search`), as in SQLAlchemy's pysqlite dialect; definitions
of the aggregates are PostgreSQL's. NULL in gives NULL out, and aggregates skip NULL inputs.
The rewrite is applied to the locally evaluated SQL only, after push-down has been decided from
the statement as written (a REGEXP predicate is never translated for the API).
"""

from __future__ import annotations

import logging
import math
import re
import sqlite3
import statistics
import threading
from functools import lru_cache
from typing import Any

from sqlglot import exp

from .exceptions import DataError, NotSupportedError

logger = logging.getLogger(__name__)

PERCENTILE_CONT = "runs_percentile_cont"
PERCENTILE_DISC = "runs_percentile_disc"
MODE = "runs_mode"
# Oracle's and MySQL's match options (they agree on these) as Python's inline flags; `c`
# (case-sensitive, the default) only undoes an earlier `i`.
_MATCH_OPTIONS = {"i": "i", "m": "m", "n": "s", "x": "x"}
# SQLAlchemy's `flags=` for this dialect: Python's own inline flag letters.
PYTHON_FLAGS = frozenset("aimsux")

# -- scalar functions ------------------------------------------------------------------------

_TEXT_LOCK = threading.Lock()
_TEXT_DB = sqlite3.connect(":memory:", check_same_thread=False)


def sqlite_text(value: Any) -> str | None:
    """A value as SQLite's text form of it (what its C functions read): `1.0` for the float 1."""
    if value is None or isinstance(value, str):
        return value
    with _TEXT_LOCK:
        row = _TEXT_DB.execute("SELECT CAST(? AS TEXT)", (value,)).fetchone()
    return None if row is None else str(row[0])


@lru_cache(maxsize=256)
def _compiled(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern)


def regexp(pattern: Any, value: Any) -> int | None:
    """`value REGEXP pattern`: 1 if Python's `re.search` finds the pattern, else 0; NULL if
    either is NULL (SQLite reads numbers as their text)."""
    pattern, value = sqlite_text(pattern), sqlite_text(value)
    if pattern is None or value is None:
        return None
    return int(_compiled(pattern).search(value) is not None)


def regexp_replace(value: Any, pattern: Any, replacement: Any) -> str | None:
    """Every match of `pattern` in `value` replaced (Python's `re.sub`: `\\1`, `\\g<name>`)."""
    value, pattern, replacement = (sqlite_text(v) for v in (value, pattern, replacement))
    if value is None or pattern is None or replacement is None:
        return None
    return _compiled(pattern).sub(replacement, value)


# -- aggregates ------------------------------------------------------------------------------


def _number(function: str, value: Any) -> float | int:
    if isinstance(value, (int, float)):
        return value
    message = f"{function}() needs numbers; got {value!r}"
    logger.error("local evaluation: %s", message)
    raise DataError(message)


def _sort_key(value: Any) -> tuple[int, Any]:
    """SQLite's order of values (BINARY collation): numbers, then text, then blobs."""
    if isinstance(value, (int, float)):
        return (0, value)
    if isinstance(value, str):
        return (1, value)
    return (2, bytes(value))


class _Collect:
    """The non-NULL inputs of a group (or window frame), and the aggregate's direct argument."""

    function = ""

    def __init__(self) -> None:
        self.values: list[Any] = []
        self.argument: Any = None
        self.descending = False

    def step(self, value: Any, *direct: Any) -> None:
        if direct:
            self.argument = direct[0]
            self.descending = bool(direct[-1]) if len(direct) > 1 else False
        if value is not None:
            self.values.append(value)

    def inverse(self, value: Any, *direct: Any) -> None:
        if value is not None:
            self.values.remove(value)

    def value(self) -> Any:
        return self.compute()

    def finalize(self) -> Any:
        return self.compute()

    def compute(self) -> Any:
        raise NotImplementedError

    def ordered(self) -> list[Any]:
        return sorted(self.values, key=_sort_key, reverse=self.descending)


class PercentileCont(_Collect):
    """PostgreSQL's `percentile_cont(p) WITHIN GROUP (ORDER BY x)`: linear interpolation between
    the values at rows floor and ceil of p * (n - 1); a double; NULL for no rows or a NULL p."""

    function = "percentile_cont"

    def compute(self) -> float | None:
        if self.argument is None or not self.values:
            return None
        values = [float(_number(self.function, v)) for v in self.ordered()]
        position = float(self.argument) * (len(values) - 1)
        first, second = math.floor(position), math.ceil(position)
        low = values[first]
        if second == first:
            return low
        return low + (values[second] - low) * (position - first)


class PercentileDisc(_Collect):
    """PostgreSQL's `percentile_disc(p) WITHIN GROUP (ORDER BY x)`: the first value whose
    position in the order reaches the fraction p, i.e. row max(ceil(p * n), 1)."""

    function = "percentile_disc"

    def compute(self) -> Any:
        if self.argument is None or not self.values:
            return None
        values = self.ordered()
        row = max(math.ceil(float(self.argument) * len(values)), 1)
        return values[row - 1]


class Mode(_Collect):
    """PostgreSQL's `mode() WITHIN GROUP (ORDER BY x)`: the most frequent value, the first in
    the order among equally frequent ones."""

    function = "mode"

    def step(self, value: Any, *direct: Any) -> None:
        super().step(value, None, *direct)

    def inverse(self, value: Any, *direct: Any) -> None:
        super().inverse(value)

    def compute(self) -> Any:
        best, best_count, previous, count = None, 0, None, 0
        for index, value in enumerate(self.ordered()):
            count = count + 1 if index and value == previous else 1
            previous = value
            if count > best_count:
                best, best_count = value, count
        return best


class _Spread(_Collect):
    """Standard deviation and variance (PostgreSQL's: NULL for too few rows), as doubles."""

    sample = True
    root = False

    def compute(self) -> float | None:
        values = [float(_number(self.function, v)) for v in self.values]
        if len(values) < (2 if self.sample else 1):
            return None
        spread = statistics.variance(values) if self.sample else statistics.pvariance(values)
        return math.sqrt(spread) if self.root else spread


def _spread(name: str, sample: bool, root: bool) -> type[_Spread]:
    return type(name, (_Spread,), {"function": name, "sample": sample, "root": root})


AGGREGATES: dict[str, tuple[int, type[_Collect]]] = {
    PERCENTILE_CONT: (3, PercentileCont),
    PERCENTILE_DISC: (3, PercentileDisc),
    MODE: (2, Mode),
    **{name: (1, _spread(name, sample, root)) for name, sample, root in (
        ("stddev", True, True), ("stddev_samp", True, True), ("stddev_pop", False, True),
        ("variance", True, False), ("var_samp", True, False), ("var_pop", False, False),
        ("variance_samp", True, False), ("variance_pop", False, False))},
}
WINDOWS = hasattr(sqlite3.Connection, "create_window_function")  # Python 3.11 and later


def register(db: sqlite3.Connection) -> None:
    """Give a local database the functions and aggregates above."""
    db.create_function("regexp", 2, regexp, deterministic=True)
    db.create_function("regexp_replace", 3, regexp_replace, deterministic=True)
    for name, (arity, implementation) in AGGREGATES.items():
        if WINDOWS:  # a window function is an aggregate too
            db.create_window_function(name, arity, implementation)  # type: ignore[attr-defined]
        else:
            db.create_aggregate(name, arity, implementation)


# -- tree rewrites ---------------------------------------------------------------------------


class _Absent(exp.Expression):  # type: ignore[misc]  # sqlglot is untyped here
    """Stands for a node class this sqlglot release lacks: no tree holds one."""


def _node(name: str) -> Any:
    return getattr(exp, name, _Absent)


_Mode, _Median, _RegexpILike = _node("Mode"), _node("Median"), _node("RegexpILike")


def _fraction(node: exp.Expression | None, function: str) -> exp.Expression:
    """The direct argument of percentile_cont/percentile_disc: a number from 0 to 1, or NULL."""
    value = node.this if isinstance(node, exp.Paren) else node
    if isinstance(value, exp.Null):
        return exp.Null()
    negative = isinstance(value, exp.Neg)
    if negative and value is not None:
        value = value.this
    if not isinstance(value, exp.Literal) or value.is_string:
        shown = node.sql() if node is not None else "nothing"
        raise NotSupportedError(
            f"{function}() needs one constant fraction from 0 to 1, e.g. {function}(0.25) "
            f"WITHIN GROUP (ORDER BY x); got {shown} (several fractions at once, as an array, "
            "are not supported: write one call per fraction)")
    number = float(str(value.this)) * (-1 if negative else 1)
    if not 0 <= number <= 1:
        raise DataError(f"percentile value {number:g} is not between 0 and 1")
    return exp.Literal.number(repr(number))


def _order_key(order: exp.Expression | None, function: str) -> tuple[exp.Expression, bool]:
    terms = order.expressions if isinstance(order, exp.Order) else []
    if len(terms) != 1:
        raise NotSupportedError(
            f"{function}() WITHIN GROUP needs exactly one ORDER BY expression; got {len(terms)}")
    term = terms[0]
    key = term.this if isinstance(term, exp.Ordered) else term
    if key.find(exp.Collate):
        raise NotSupportedError(f"{function}() WITHIN GROUP (ORDER BY ... COLLATE ...) is not "
                                "supported: it orders by SQLite's BINARY collation only")
    return key, bool(isinstance(term, exp.Ordered) and term.args.get("desc"))


def _call(name: str, *arguments: exp.Expression) -> exp.Expression:
    return exp.Anonymous(this=name, expressions=list(arguments))


def _ordered_set(node: exp.WithinGroup) -> exp.Expression:
    function = node.this
    name = (function.sql_name() if isinstance(function, exp.Func) else str(function)).lower()
    if not isinstance(function, (exp.PercentileCont, exp.PercentileDisc, _Mode)):
        raise NotSupportedError(
            f"{name}(...) WITHIN GROUP (ORDER BY ...) is not supported; the ordered-set "
            "aggregates are percentile_cont, percentile_disc and mode")
    key, descending = _order_key(node.expression, name)
    direction = exp.Literal.number(int(descending))
    if isinstance(function, _Mode):
        if function.this is not None or function.expressions:
            raise NotSupportedError("mode() WITHIN GROUP takes no argument of its own")
        return _call(MODE, key, direction)
    if function.args.get("expression") is not None:
        raise NotSupportedError(f"{name}() WITHIN GROUP takes one fraction")
    target = PERCENTILE_CONT if isinstance(function, exp.PercentileCont) else PERCENTILE_DISC
    return _call(target, key, _fraction(function.this, name), direction)


def _check_window(window: exp.Window) -> None:
    if window.args.get("order") is not None or window.args.get("spec") is not None:
        raise NotSupportedError(
            "an ordered-set aggregate (percentile_cont, percentile_disc, mode) over a window "
            "takes OVER () or OVER (PARTITION BY ...) only: no ORDER BY or frame")
    if not WINDOWS:
        raise NotSupportedError(
            "ordered-set aggregates as window functions need Python 3.11 or later")


def _fetch(node: exp.Fetch) -> None:
    options = node.args.get("limit_options")
    source = options if isinstance(options, exp.Expression) else node

    def flag(name: str) -> bool:
        return bool(source.args.get(name))

    if flag("percent"):
        raise NotSupportedError(
            "FETCH FIRST n PERCENT ROWS is not supported: use LIMIT with a row count (e.g. "
            "computed first with count(*))")
    if flag("with_ties"):
        raise NotSupportedError(
            "FETCH FIRST n ROWS WITH TIES is not supported: keep the rows whose rank() OVER "
            "(ORDER BY ...) is at most n instead")


def _regexp_pattern(node: exp.Expression) -> exp.Expression:
    pattern: exp.Expression = node.expression
    flags = "i" if isinstance(node, _RegexpILike) else ""
    option = node.args.get("flag")
    if option is not None:
        if not isinstance(option, exp.Literal) or not option.is_string:
            raise NotSupportedError("regexp_like()'s match options must be a string literal")
        for letter in str(option.this):
            if letter == "c":
                flags = flags.replace("i", "")
            elif letter in _MATCH_OPTIONS:
                flags += _MATCH_OPTIONS[letter]
            else:
                raise NotSupportedError(
                    f"regexp_like() match option {letter!r} is not supported; use i, c, m, n "
                    "or x, or Python's inline flags in the pattern, e.g. '(?i)abc'")
    if node.args.get("full_match"):
        pattern = exp.DPipe(this=exp.DPipe(this=exp.Literal.string("^(?:"), expression=pattern),
                            expression=exp.Literal.string(")$"))
    if flags:
        pattern = exp.DPipe(this=exp.Literal.string(f"(?{''.join(sorted(set(flags)))})"),
                            expression=pattern)
    return pattern


def _regexp_replace(node: exp.RegexpReplace) -> exp.Expression:
    extra = [k for k, v in node.args.items()
             if v is not None and k not in ("this", "expression", "replacement")]
    if extra or node.args.get("replacement") is None:
        raise NotSupportedError(
            "regexp_replace() takes three arguments here (value, pattern, replacement) and "
            "replaces every match; put flags inline in the pattern, e.g. '(?i)abc'")
    return _call("regexp_replace", node.this, node.expression, node.args["replacement"])


def _replacement(node: exp.Expression) -> exp.Expression | None:
    if isinstance(node, exp.WithinGroup):
        if isinstance(node.parent, exp.Window):
            _check_window(node.parent)
        return _ordered_set(node)
    if isinstance(node, exp.Fetch):
        _fetch(node)
        return None
    if isinstance(node, _Median):
        return _call(PERCENTILE_CONT, node.this, exp.Literal.number("0.5"),
                     exp.Literal.number(0))
    if isinstance(node, (exp.PercentileCont, exp.PercentileDisc)):
        name = node.sql_name().lower()
        if isinstance(node, exp.PercentileCont) and node.args.get("expression") is not None:
            # percentile_cont(x, p), SQLite's and DuckDB's spelling: the same definition.
            return _call(PERCENTILE_CONT, node.this, _fraction(node.expression, name),
                         exp.Literal.number(0))
        raise NotSupportedError(f"{name}() needs WITHIN GROUP (ORDER BY ...)")
    if isinstance(node, (exp.RegexpLike, _RegexpILike)):
        # regexp(pattern, value) is what SQLite's `value REGEXP pattern` calls.
        return _call("regexp", _regexp_pattern(node), node.this)
    if isinstance(node, exp.RegexpReplace):
        return _regexp_replace(node)
    return None


_HANDLED: tuple[type[exp.Expression], ...] = (
    exp.WithinGroup, exp.Fetch, _Median, exp.PercentileCont, exp.PercentileDisc,
    exp.RegexpLike, _RegexpILike, exp.RegexpReplace)


def rewrite(tree: exp.Expression) -> exp.Expression:
    """The locally evaluated form of a statement tree (a copy when anything changes); raises
    NotSupportedError for what the local database cannot run with the statement's meaning."""
    if not any(True for _ in tree.find_all(*_HANDLED)):
        return tree
    def transform(node: exp.Expression) -> exp.Expression:
        return _replacement(node) or node

    return tree.copy().transform(transform, copy=False)
