"""runs_dialect: a SQLAlchemy dialect for Vertex AI TensorBoard runs, over `runs_dbapi`.

`create_engine("runs://PROJECT/LOCATION/TENSORBOARD/EXPERIMENT?endpoint=...")` (or
`runs+rest://`); `build_url()` makes such URLs. Works with SQLAlchemy 1.4 and 2.x, the ORM,
pandas, sqlacodegen and Apache Superset (whose engine spec, `runs_dialect.superset`, is loaded
by Superset alone: importing this package never imports Superset).
"""

from __future__ import annotations

from .base import DEFAULT_SCHEMA, RunsDialect, dialect
from .url import build_url, parse_url

__all__ = ["DEFAULT_SCHEMA", "RunsDialect", "build_url", "dialect", "parse_url"]
