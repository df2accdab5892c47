"""A curated subset of SQLAlchemy's dialect compliance suite (sqlalchemy.testing.suite).

Most of the suite creates its own tables (CREATE TABLE, then INSERT and SELECT); the API has
no such thing, so those tests cannot run against runs_dbapi. What is here runs without DDL:
pinging, the compilers' signatures, true and floor division, huge integers, numeric and float
coercion, string concatenation, DISTINCT ON. The tests of these classes that need a table are
left out by name below. Classes that the installed SQLAlchemy lacks (1.4 has fewer) are skipped.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.testing import suite

# suite class -> its tests that create a table (not collected here)
CURATED: dict[str, tuple[str, ...]] = {
    "PingTest": (),
    "ArgSignatureTest": (),
    "DistinctOnTest": (),
    "TrueDivTest": (),
    "IntegerTest": ("test_literal", "test_huge_int"),
    "NumericTest": (
        "test_render_literal_numeric", "test_render_literal_numeric_asfloat",
        "test_render_literal_float", "test_numeric_as_decimal", "test_numeric_as_float",
        "test_infinity_floats", "test_numeric_null_as_decimal", "test_numeric_null_as_float",
        "test_float_as_decimal", "test_float_as_float", "test_float_custom_scale",
        "test_precision_decimal", "test_enotation_decimal", "test_enotation_decimal_large",
        "test_many_significant_digits", "test_numeric_no_decimal",
    ),
    "StringTest": (
        "test_nolength_string", "test_literal", "test_literal_non_ascii",
        "test_literal_quoting", "test_literal_backslashes", "test_dont_truncate_rightside",
    ),
}


def _curated(name: str, needs_a_table: tuple[str, ...]) -> Any:
    base = getattr(suite, name, None)
    if base is None:
        return None
    namespace: dict[str, Any] = {test: None for test in needs_a_table}
    namespace["__doc__"] = f"SQLAlchemy's {name}, without the tests that create a table."
    namespace["__module__"] = __name__
    return type(name, (base,), namespace)


for _name, _needs_a_table in CURATED.items():
    _class = _curated(_name, _needs_a_table)
    if _class is not None:
        globals()[_name] = _class
