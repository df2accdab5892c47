"""sqlacodegen against a runs:// URL: the model it writes imports, matches the catalog, and works.

Run by `tox -e codegen` (sqlacodegen pinned there): `python tests/dialect/codegen_check.py WORKDIR`.
Exits non-zero, saying what is wrong, if the generated model is not right.
"""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path
from typing import Any

from sqlalchemy import BigInteger, Boolean, DateTime, String, create_engine, func, select, text
from sqlalchemy import types as sqltypes
from sqlalchemy.orm import Session

from runs_dbapi.catalog import TABLES
from runs_dbapi.emulator import Emulator
from runs_dialect import build_url

EXPECTED_TYPES: dict[str, type[Any]] = {"STRING": String, "TIMESTAMP": DateTime,
                                        "JSON": sqltypes.JSON, "INTEGER": BigInteger,
                                        "BOOLEAN": Boolean, "FLOAT": sqltypes.Float,
                                        "BYTES": sqltypes.LargeBinary}


def class_name(table: str) -> str:
    """sqlacodegen's class name for a table: `time_series_data` -> `TimeSeriesData`."""
    return "".join(part.capitalize() for part in table.split("_"))


def generate(url: str, outfile: Path) -> str:
    subprocess.run([sys.executable, "-m", "sqlacodegen", url, "--outfile", str(outfile)],
                   check=True, timeout=300)
    return outfile.read_text(encoding="utf-8")


def load(path: Path) -> Any:
    spec = importlib.util.spec_from_file_location("generated_runs_model", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def check_model(model: Any) -> None:
    for table in TABLES.values():
        cls = getattr(model, class_name(table.name), None)
        assert cls is not None, f"no class for table {table.name}"
        mapped = cls.__table__
        assert mapped.name == table.name
        # sqlacodegen puts the key and the NOT NULL columns first; the set is what counts.
        assert sorted(c.name for c in mapped.columns) == sorted(table.column_names), table.name
        assert [c.name for c in mapped.primary_key] == list(table.key_columns), table.name
        assert mapped.comment == table.description, table.name
        for spec in table.columns:
            column = mapped.columns[spec.name]
            expected = EXPECTED_TYPES[spec.type]
            assert type(column.type) is expected, (table.name, spec.name, column.type)
            assert column.comment == spec.description, (table.name, spec.name)
        if table.points is None:  # a resource: its times and the name the API assigns
            assert mapped.columns["createTime"].type.timezone is True
            assert mapped.columns["name"].server_default is not None
        else:
            assert mapped.columns["wallTime"].type.timezone is True


def exercise(model: Any, url: str) -> None:
    engine = create_engine(url)
    Runs = model.Runs
    with Session(engine) as session:
        first = session.execute(select(Runs).order_by(Runs.runsId).limit(2)).scalars().all()
        assert [r.runsId for r in first] == ["bert-glue-0001", "bert-glue-0002"], first
        assert first[0].labels["team"] == "nlp"
        run = Runs(displayName="made by the generated model", runsId="codegen-1",
                   labels={"via": "sqlacodegen"})
        session.add(run)
        session.commit()
        assert run.name.endswith("/runs/codegen-1") and run.createTime is not None
        assert session.execute(select(func.count()).select_from(Runs)).scalar() == 61
        session.delete(run)
        session.commit()
        assert session.execute(select(func.count()).select_from(Runs)).scalar() == 60


def main() -> None:
    workdir = Path(sys.argv[1] if len(sys.argv) > 1 else ".").resolve()
    workdir.mkdir(parents=True, exist_ok=True)
    with Emulator(demo=True) as emulator:
        base = build_url("demo-project", "us-central1", endpoint=emulator.url, anonymous=True)
        with create_engine(base).connect() as connection:
            tensorboard = str(connection.execute(
                text("SELECT tensorboardsId FROM tensorboards")).scalar())
        url = build_url("demo-project", "us-central1", tensorboard, "bert-glue",
                        endpoint=emulator.url, anonymous=True).render_as_string(
                            hide_password=False)
        path = workdir / "generated_runs_model.py"
        source = generate(url, path)
        print(source)
        model = load(path)
        check_model(model)
        exercise(model, url)
    print("codegen check: the generated model matches the catalog and round-trips runs")


if __name__ == "__main__":
    main()
