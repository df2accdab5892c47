"""The ORM over reflected runs: declarative with autoload_with, automap, and a Session's round
trip (add, query, change, delete) against the emulator. SQLAlchemy 1.4 and 2.x alike."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pytest
from sqlalchemy import MetaData, Table, func, select
from sqlalchemy.engine import Engine
from sqlalchemy.ext.automap import automap_base
from sqlalchemy.orm import Session, declarative_base
from support.dialect import Demo

from runs_dbapi.catalog import TABLES


def _mapped_run(engine: Engine) -> Any:
    Base: Any = declarative_base()

    class Run(Base):  # type: ignore[misc]
        __table__ = Table("runs", Base.metadata, autoload_with=engine)

    return Run


def test_declarative_class_over_the_reflected_table(demo: Demo) -> None:
    Run = _mapped_run(demo.engine("bert-glue"))
    assert [c.name for c in Run.__table__.primary_key] == ["name"]
    with Session(demo.engine("bert-glue")) as session:
        runs = session.execute(select(Run).order_by(Run.runsId).limit(3)).scalars().all()
        assert [r.runsId for r in runs] == ["bert-glue-0001", "bert-glue-0002", "bert-glue-0003"]
        assert isinstance(runs[0].createTime, datetime) and runs[0].labels["team"] == "nlp"
        failed = session.execute(
            select(func.count()).select_from(Run).where(
                Run.labels["status"].as_string() == "failed")).scalar_one()
        assert 0 < failed < 60


def test_session_round_trip(demo: Demo) -> None:
    engine = demo.engine(demo.new_experiment("orm"))
    Run = _mapped_run(engine)
    demo.emulator.reset_stats()
    with Session(engine) as session:
        run = Run(displayName="first", description="made by the ORM", labels={"team": "orm"})
        session.add(run)
        session.add_all([Run(displayName="second", runsId="second"),
                         Run(displayName="third", runsId="third")])
        session.flush()
        # The API's values come back at once through RETURNING.
        assert run.name.startswith("projects/") and "/runs/" in run.name
        assert isinstance(run.createTime, datetime) and run.etag
        session.commit()
        name = run.name
        assert demo.calls("runs.create") == 3

    with Session(engine) as session:
        found = session.get(Run, name)
        assert found is not None
        assert (found.displayName, found.description, found.labels) == (
            "first", "made by the ORM", {"team": "orm"})
        found.displayName = "renamed"
        found.labels = {"team": "orm", "stage": "two"}
        session.commit()
        assert demo.calls("runs.patch") == 1

    with Session(engine) as session:
        changed = session.execute(select(Run).where(Run.name == name)).scalar_one()
        assert changed.displayName == "renamed"
        assert changed.labels == {"team": "orm", "stage": "two"}
        assert changed.updateTime >= changed.createTime
        listed = session.execute(select(Run.runsId).order_by(Run.runsId)).scalars().all()
        assert sorted(listed) == sorted([changed.runsId, "second", "third"])
        session.delete(changed)
        for other in session.execute(select(Run).where(Run.runsId.in_(["second", "third"])))\
                .scalars():
            other.description = "bulk"
        session.commit()

    with Session(engine) as session:
        assert session.get(Run, name) is None
        left = session.execute(select(Run).order_by(Run.runsId)).scalars().all()
        assert [(r.runsId, r.description) for r in left] == [("second", "bulk"),
                                                            ("third", "bulk")]


def test_stale_object_is_detected_through_rowcount(demo: Demo) -> None:
    from sqlalchemy.orm.exc import StaleDataError

    engine = demo.engine(demo.new_experiment("stale"))
    Run = _mapped_run(engine)
    table = Table("runs", MetaData(), autoload_with=engine)
    with Session(engine) as session:
        run = Run(displayName="doomed")
        session.add(run)
        session.commit()
        name = run.name
        with engine.begin() as connection:  # someone else deletes it meanwhile
            assert connection.execute(table.delete().where(table.c.name == name)).rowcount == 1
        run.description = "too late"
        with pytest.raises(StaleDataError):
            session.commit()


def test_automap_maps_every_table(demo: Demo) -> None:
    engine = demo.engine("bert-glue")
    Base: Any = automap_base()
    Base.prepare(autoload_with=engine)
    assert sorted(Base.classes.keys()) == sorted(TABLES)  # every table of the catalog
    Run, Experiment = Base.classes.runs, Base.classes.experiments
    with Session(engine) as session:
        assert session.execute(select(func.count()).select_from(Run)).scalar() == 60
        experiment = session.execute(
            select(Experiment).where(Experiment.experimentsId == "bert-glue")).scalars().one()
        assert experiment.experimentsId == "bert-glue"
        assert experiment.labels == {"team": "nlp", "model": "bert-base"}


def test_automap_writes(demo: Demo) -> None:
    engine = demo.engine(demo.new_experiment("automap"))
    Base: Any = automap_base()
    Base.prepare(autoload_with=engine)
    Run = Base.classes.runs
    with Session(engine) as session:
        session.add(Run(displayName="auto", runsId="auto-1"))
        session.commit()
        run = session.execute(select(Run)).scalars().one()
        assert (run.runsId, run.displayName) == ("auto-1", "auto")
        session.delete(run)
        session.commit()
        assert session.execute(select(func.count()).select_from(Run)).scalar() == 0
