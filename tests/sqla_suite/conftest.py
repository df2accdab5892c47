"""SQLAlchemy's pytest plugin, with a demo emulator for the runs:// URL under test.

As SQLAlchemy documents for third-party dialects: register the dialect, then import the plugin.
Unless --dburi is given, the suite runs against an emulator (demo data) started here.
"""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy.dialects import registry

from runs_dbapi.emulator import Emulator
from runs_dialect import build_url

registry.register("runs", "runs_dialect.base", "RunsDialect")
registry.register("runs.rest", "runs_dialect.base", "RunsDialect")

pytest.register_assert_rewrite("sqlalchemy.testing.assertions")

from sqlalchemy.testing.plugin import pytestplugin  # noqa: E402
from sqlalchemy.testing.plugin.pytestplugin import *  # noqa: E402,F403

_emulator: Emulator | None = None


def pytest_configure(config: Any) -> None:
    global _emulator  # noqa: PLW0603 - one emulator for the whole session
    if not config.option.dburi and not config.option.db:
        _emulator = Emulator(demo=True).start()
        config.option.dburi = [
            build_url("demo-project", "us-central1", endpoint=_emulator.url,
                      anonymous=True).render_as_string(hide_password=False)
        ]
    pytestplugin.pytest_configure(config)


def pytest_unconfigure(config: Any) -> None:
    unconfigure = getattr(pytestplugin, "pytest_unconfigure", None)  # SQLAlchemy 2 has one
    if unconfigure is not None:
        unconfigure(config)
    if _emulator is not None:
        _emulator.stop()
