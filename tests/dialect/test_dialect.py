"""runs_dialect through SQLAlchemy: entry points, reflection, compilation, Core statements.

Runs under SQLAlchemy 1.4 and 2.x alike (tox -e sqla14, sqla2, and the default environment).
"""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import datetime, timezone
from importlib.metadata import entry_points
from typing import Any

import pytest
import sqlalchemy
from sqlalchemy import (
    BigInteger,
    Boolean,
    DateTime,
    Integer,
    MetaData,
    String,
    Table,
    create_engine,
    func,
    inspect,
    literal,
    literal_column,
    select,
    text,
    type_coerce,
)
from sqlalchemy import types as sqltypes
from sqlalchemy.engine import Engine
from sqlalchemy.exc import ArgumentError, NoSuchTableError
from support.dialect import LOCATION, PROJECT, Demo

import runs_dbapi
from runs_dbapi.catalog import TABLES
from runs_dialect import RunsDialect
from runs_dialect.compat import SQLALCHEMY_2


@pytest.fixture(scope="module")
def engine(demo: Demo) -> Engine:
    return demo.engine("bert-glue")


@pytest.fixture(scope="module")
def runs(engine: Engine) -> Table:
    return Table("runs", MetaData(), autoload_with=engine)


def _experiment_table(demo: Demo, prefix: str) -> tuple[Engine, Table]:
    engine = demo.engine(demo.new_experiment(prefix))
    return engine, Table("runs", MetaData(), autoload_with=engine)


# -- entry points and the dialect class ---------------------------------------------------------


def test_entry_points_resolve_both_names(demo: Demo) -> None:
    names = {ep.name: ep.value for ep in entry_points(group="sqlalchemy.dialects")}
    assert names["runs"] == "runs_dialect.base:RunsDialect"
    assert names["runs.rest"] == "runs_dialect.base:RunsDialect"
    for scheme in ("runs", "runs+rest"):
        engine = create_engine(f"{scheme}://{PROJECT}/{LOCATION}?endpoint={demo.emulator.url}"
                               "&anonymous=true")
        assert isinstance(engine.dialect, RunsDialect)
        assert engine.dialect.name == "runs" and engine.dialect.driver == "rest"
        with engine.connect() as connection:
            assert connection.execute(text("SELECT 1")).scalar() == 1


def test_superset_spec_is_registered_but_never_imported_by_the_dialect() -> None:
    specs = {ep.name: ep.value for ep in entry_points(group="superset.db_engine_specs")}
    assert specs["runs"] == "runs_dialect.superset:RunsEngineSpec"
    code = ("import sys, sqlalchemy, runs_dialect, runs_dialect.base, runs_dialect.url; "
            "sqlalchemy.create_engine('runs://p/l?anonymous=true&endpoint=http://127.0.0.1:9'); "
            "print(sorted(m for m in sys.modules if m.split('.')[0] == 'superset' "
            "or m == 'runs_dialect.superset'))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, timeout=120)
    assert out.stdout.strip() == "[]"


def test_class_attributes_match_what_the_driver_does() -> None:
    assert "supports_statement_cache" in RunsDialect.__dict__
    assert RunsDialect.supports_statement_cache is True
    assert RunsDialect.import_dbapi() is runs_dbapi
    assert RunsDialect.dbapi() is runs_dbapi  # SQLAlchemy 1.4's name
    assert RunsDialect.default_paramstyle == runs_dbapi.paramstyle == "qmark"
    assert RunsDialect.insert_returning and RunsDialect.update_returning
    assert RunsDialect.delete_returning
    assert RunsDialect.supports_multivalues_insert
    assert RunsDialect.supports_sane_rowcount and RunsDialect.supports_sane_multi_rowcount
    assert not RunsDialect.supports_sequences and not RunsDialect.supports_native_boolean


def test_no_sqlalchemy_2_only_import_at_run_time() -> None:
    """Every module imports under the installed SQLAlchemy (1.4 in tox -e sqla14)."""
    import runs_dialect.base
    import runs_dialect.compiler
    import runs_dialect.types
    import runs_dialect.url

    assert runs_dialect.base.RunsDialect is RunsDialect
    assert sqlalchemy.__version__.startswith("2.") == SQLALCHEMY_2


# -- reflection -------------------------------------------------------------------------------


def test_inspector_lists_schema_tables_and_no_views(engine: Engine) -> None:
    inspector = inspect(engine)
    assert inspector.get_schema_names() == ["aiplatform"]
    assert inspector.default_schema_name == "aiplatform"
    assert inspector.get_table_names() == list(TABLES)  # the catalog's, in its order
    assert inspector.get_table_names()[:3] == ["runs", "experiments", "tensorboards"]
    assert inspector.get_table_names(schema="aiplatform") == inspector.get_table_names()
    assert inspector.get_table_names(schema="elsewhere") == []
    assert inspector.get_view_names() == []
    assert inspector.has_table("runs") and inspector.has_table("runs", schema="aiplatform")
    assert not inspector.has_table("nope") and not inspector.has_table("runs", schema="x")


def test_reflected_columns_have_real_types_and_catalog_comments(engine: Engine) -> None:
    inspector = inspect(engine)
    for table in TABLES.values():
        columns = inspector.get_columns(table.name)
        assert [c["name"] for c in columns] == table.column_names
        for column, spec in zip(columns, table.columns, strict=True):
            assert column["comment"] == spec.description
            expected = {"STRING": String, "TIMESTAMP": DateTime, "JSON": sqltypes.JSON,
                        "INTEGER": BigInteger, "BOOLEAN": Boolean, "FLOAT": sqltypes.Float,
                        "BYTES": sqltypes.LargeBinary}[spec.type]
            assert type(column["type"]) is expected, (table.name, column["name"])
    by_name = {c["name"]: c for c in inspector.get_columns("runs")}
    created = by_name["createTime"]["type"]
    assert isinstance(created, DateTime) and created.timezone is True
    assert by_name["name"]["nullable"] is False and by_name["runsId"]["nullable"] is False
    assert by_name["description"]["nullable"] is True
    assert by_name["name"]["default"] is not None  # assigned by the API, fetched by RETURNING
    assert by_name["displayName"]["default"] is None


def test_constraints_indexes_and_comments(engine: Engine) -> None:
    inspector = inspect(engine)
    for name in TABLES:
        assert inspector.get_pk_constraint(name)["constrained_columns"] == (
            ["name"] if TABLES[name].points is None else
            [*TABLES[name].path, "step"])  # a data point: its series and step
        assert inspector.get_foreign_keys(name) == []
        assert inspector.get_indexes(name) == []
        assert inspector.get_unique_constraints(name) == []
        assert inspector.get_check_constraints(name) == []
        assert inspector.get_table_comment(name)["text"] == TABLES[name].description
    with pytest.raises(NoSuchTableError):
        inspector.get_columns("nope")
    with pytest.raises(NoSuchTableError):
        inspector.get_pk_constraint("runs", schema="elsewhere")


def test_reflection_is_cached_per_inspector(engine: Engine,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    from runs_dialect import base
    from runs_dialect.types import sqlalchemy_type as real

    calls: list[str] = []

    def counting(kind: str) -> Any:
        calls.append(kind)
        return real(kind)

    monkeypatch.setattr(base, "sqlalchemy_type", counting)
    inspector = inspect(engine)
    assert inspector.get_columns("runs") == inspector.get_columns("runs")
    assert len(calls) == len(TABLES["runs"].columns)
    inspect(engine).get_columns("runs")
    assert len(calls) == 2 * len(TABLES["runs"].columns)


def test_reflection_makes_no_api_call(demo: Demo, engine: Engine) -> None:
    with engine.connect():
        pass  # the first connect may ask nothing either, but keep it out of the count
    demo.emulator.reset_stats()
    metadata = MetaData()
    metadata.reflect(engine)
    assert sorted(metadata.tables) == sorted(TABLES)
    assert demo.emulator.stats()["calls"] == {}


def test_metadata_reflect_with_schema(engine: Engine) -> None:
    metadata = MetaData()
    metadata.reflect(engine, schema="aiplatform", only=["runs"])
    table = metadata.tables["aiplatform.runs"]
    with engine.connect() as connection:
        rows = connection.execute(select(table.c.runsId).order_by(table.c.runsId).limit(2)).all()
    assert [r[0] for r in rows] == ["bert-glue-0001", "bert-glue-0002"]


# -- compilation --------------------------------------------------------------------------------


def _sql(engine: Engine, statement: Any) -> str:
    return str(statement.compile(dialect=engine.dialect))


def test_compiler_quotes_camel_case_and_binds_limit_offset(engine: Engine, runs: Table) -> None:
    sql = _sql(engine, select(runs.c.displayName, runs.c.name).order_by(runs.c.createTime)
               .limit(5).offset(10))
    assert 'runs."displayName"' in sql and 'ORDER BY runs."createTime"' in sql
    assert "LIMIT ? OFFSET ?" in sql
    compiled = select(runs.c.name).limit(5).offset(10).compile(dialect=engine.dialect)
    assert list(compiled.params.values()) == [5, 10]


def test_compiler_true_and_floor_division(engine: Engine) -> None:
    integer = literal_column("15", Integer) / literal_column("10", Integer)
    assert _sql(engine, select(integer)) == "SELECT 15 / (10 + 0.0) AS anon_1"
    with engine.connect() as connection:
        assert connection.execute(select(integer)).scalar_one() == 1.5
        assert connection.execute(select(literal(-15) / literal(10))).scalar_one() == -1.5
        if SQLALCHEMY_2:  # `//` is SQLAlchemy 2's
            floor = literal_column("-15", Integer) // literal_column("10", Integer)
            assert connection.scalar(select(floor)) == -2


def test_json_index_renders_the_pushed_down_form(demo: Demo, engine: Engine,
                                                 runs: Table) -> None:
    team = runs.c.labels["team"].as_string()
    statement = select(runs.c.runsId).where(team == "nlp").where(
        runs.c.labels["status"].as_string() == "failed")
    sql = _sql(engine, statement)
    assert "(runs.labels ->> ?) = ?" in sql
    compiled = statement.compile(dialect=engine.dialect)
    processed = [compiled.binds[k].type.dialect_impl(engine.dialect).bind_processor(
        engine.dialect) for k in compiled.params]
    values = [p(v) if p else v for p, v in zip(processed, compiled.params.values(), strict=True)]
    assert values[:2] == ["$.team", "nlp"]
    with engine.connect() as connection:
        failed = connection.execute(statement).scalars().all()
        everything = connection.execute(select(runs.c.runsId, runs.c.labels)).all()
    assert failed == sorted(r[0] for r in everything if r[1]["status"] == "failed")
    assert failed


def test_returning_names_plain_columns(engine: Engine, runs: Table) -> None:
    sql = _sql(engine, runs.insert().values(displayName="x").returning(runs.c.name,
                                                                       runs.c.createTime))
    assert sql.endswith('RETURNING name, "createTime"')


# -- statements ----------------------------------------------------------------------------------


def test_select_types_come_back_as_python_values(engine: Engine, runs: Table) -> None:
    with engine.connect() as connection:
        row = connection.execute(select(runs).where(runs.c.runsId == "bert-glue-0001")).one()
    assert isinstance(row.createTime, datetime) and row.createTime.tzinfo is not None
    assert isinstance(row.labels, dict) and row.labels["team"] == "nlp"
    assert row.name.endswith("/experiments/bert-glue/runs/bert-glue-0001")


def test_computed_timestamps_parse_as_utc_datetimes(engine: Engine, runs: Table) -> None:
    day = func.datetime(runs.c.createTime, "start of day", type_=DateTime(timezone=True))
    with engine.connect() as connection:
        rows = connection.execute(select(day.label("day"), func.count().label("n"))
                                  .group_by(day)).all()
    assert sum(r.n for r in rows) == 60
    assert all(r.day.tzinfo is timezone.utc and r.day.hour == 0 for r in rows)


def test_boolean_and_integer_columns(engine: Engine) -> None:
    boards = Table("tensorboards", MetaData(), autoload_with=engine)
    with engine.connect() as connection:
        row = connection.execute(select(boards.c.isDefault, boards.c.runCount)).one()
    assert row.isDefault is False
    assert row.runCount >= 360


def test_datetime_parameters_compare_with_timestamps(engine: Engine, runs: Table) -> None:
    with engine.connect() as connection:
        later = connection.execute(select(func.count()).select_from(runs).where(
            runs.c.createTime >= datetime(2000, 1, 1, tzinfo=timezone.utc))).scalar()
        never = connection.execute(select(func.count()).select_from(runs).where(
            runs.c.createTime >= datetime(2999, 1, 1))).scalar()
    assert (later, never) == (60, 0)


def test_insert_update_delete_returning_and_rowcounts(demo: Demo) -> None:
    engine, runs = _experiment_table(demo, "core")
    with engine.begin() as connection:
        created = connection.execute(
            runs.insert().returning(runs.c.name, runs.c.runsId, runs.c.labels,
                                    runs.c.createTime),
            {"displayName": "one", "runsId": "one", "labels": {"k": "v"}},
        ).one()
        assert created.runsId == "one" and created.labels == {"k": "v"}
        assert isinstance(created.createTime, datetime)
        result = connection.execute(runs.update().where(runs.c.name == created.name)
                                    .values(description="changed"))
        assert result.rowcount == 1
        missing = connection.execute(runs.update().where(runs.c.name == created.name + "x")
                                     .values(description="changed"))
        assert missing.rowcount == 0
        updated = connection.execute(
            runs.update().where(runs.c.runsId == "one").values(displayName="uno")
            .returning(runs.c.displayName, runs.c.description)).all()
        assert [tuple(r) for r in updated] == [("uno", "changed")]
        deleted = connection.execute(runs.delete().where(runs.c.name == created.name)
                                     .returning(runs.c.runsId)).all()
        assert [tuple(r) for r in deleted] == [("one",)]
        assert connection.execute(select(func.count()).select_from(runs)).scalar() == 0


def test_executemany_insert_is_one_batch_create(demo: Demo) -> None:
    engine, runs = _experiment_table(demo, "many")
    rows = [{"displayName": f"r{i}", "runsId": f"r{i}"} for i in range(1500)]
    demo.emulator.reset_stats()
    with engine.begin() as connection:
        result = connection.execute(runs.insert(), rows)
        assert result.rowcount == 1500
    assert demo.calls("runs.batchCreate") == 2 and demo.calls("runs.create") == 0


@pytest.mark.skipif(not SQLALCHEMY_2, reason="insertmanyvalues is SQLAlchemy 2's")
def test_executemany_insert_returning_keeps_row_order(demo: Demo) -> None:
    engine, runs = _experiment_table(demo, "imv")
    rows = [{"displayName": f"r{i}", "runsId": f"r{i:04d}"} for i in range(30)]
    demo.emulator.reset_stats()
    with engine.begin() as connection:
        result = connection.execute(runs.insert().returning(runs.c.runsId), rows)
        assert [r[0] for r in result] == [r["runsId"] for r in rows]
    assert demo.calls("runs.batchCreate") == 1


def test_multi_values_insert(demo: Demo) -> None:
    engine, runs = _experiment_table(demo, "multi")
    demo.emulator.reset_stats()
    with engine.begin() as connection:
        connection.execute(runs.insert().values([{"displayName": "a"}, {"displayName": "b"}]))
        names = connection.execute(select(runs.c.displayName)).scalars().all()
    assert sorted(names) == ["a", "b"]
    assert demo.calls("runs.batchCreate") == 1


def test_transactions_are_no_ops_and_isolation_is_autocommit(engine: Engine,
                                                             demo: Demo) -> None:
    with engine.connect() as connection:
        assert connection.get_isolation_level() == "AUTOCOMMIT"
        transaction = connection.begin()
        transaction.rollback()
        with pytest.raises(ArgumentError, match="AUTOCOMMIT"):
            connection.execution_options(isolation_level="SERIALIZABLE").execute(text("SELECT 1"))
    with engine.begin() as connection:
        assert connection.execute(text("SELECT 2")).scalar() == 2


def test_do_ping_calls_the_api(demo: Demo, engine: Engine) -> None:
    raw = engine.raw_connection()
    try:
        demo.emulator.reset_stats()
        assert engine.dialect.do_ping(raw) is True
        assert sum(demo.emulator.stats()["calls"].values()) == 1
    finally:
        raw.close()
    broken = create_engine(demo.url(endpoint="http://127.0.0.1:9", max_attempts=1),
                           pool_pre_ping=True)
    with pytest.raises(sqlalchemy.exc.DBAPIError), broken.connect() as connection:
        connection.execute(text("SELECT name FROM runs"))


def test_pool_pre_ping(demo: Demo) -> None:
    engine = demo.engine("bert-glue", pool_pre_ping=True)
    for _ in range(2):
        with engine.connect() as connection:
            assert connection.execute(text("SELECT count(*) FROM runs")).scalar() == 60


def test_json_serializer_hooks(demo: Demo) -> None:
    seen: list[Any] = []

    def dumps(value: Any) -> str:
        seen.append(value)
        return json.dumps(value)

    def loads(value: str) -> Any:
        seen.append(value)
        return json.loads(value)

    experiment = demo.new_experiment("hooks")
    engine = demo.engine(experiment, json_serializer=dumps, json_deserializer=loads)
    runs = Table("runs", MetaData(), autoload_with=engine)
    with engine.begin() as connection:
        connection.execute(runs.insert(), {"displayName": "j", "labels": {"a": "b"}})
        assert seen == [{"a": "b"}]
        # The driver decodes its JSON columns itself ...
        assert connection.execute(select(runs.c.labels)).scalar() == {"a": "b"}
        assert seen == [{"a": "b"}]
        # ... and JSON that comes back as text (`labels -> '$.a'` is JSON text, as in SQLite)
        # goes through the deserializer.
        assert connection.execute(select(runs.c.labels["a"])).scalar() == "b"
        as_text = type_coerce(literal_column("""'{"x": [1, 2]}'"""), sqltypes.JSON)
        assert connection.execute(select(as_text)).scalar() == {"x": [1, 2]}
    assert seen == [{"a": "b"}, '"b"', '{"x": [1, 2]}']


def test_driver_errors_are_wrapped(engine: Engine) -> None:
    with pytest.raises(sqlalchemy.exc.ProgrammingError), engine.connect() as connection:
        connection.execute(text("SELECT nope FROM nothing"))
