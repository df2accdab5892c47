"""What differs between SQLAlchemy 1.4 (which Apache Superset pins) and 2.x."""

from __future__ import annotations

import sqlalchemy

SQLALCHEMY_VERSION = tuple(int(part) for part in sqlalchemy.__version__.split(".")[:2])
SQLALCHEMY_2 = SQLALCHEMY_VERSION >= (2, 0)
