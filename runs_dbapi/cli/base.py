"""What every part of `runs-sql` shares: its name, exit statuses, where its data lives, and how
an error becomes one line on standard error. Imports nothing of the command line's own."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TextIO

PROG = "runs-sql"
URL_VARIABLE = "RUNS_URL"
HOME_VARIABLE = "RUNS_SQL_HOME"
PAGER_VARIABLE = "PAGER"

EXIT_OK, EXIT_ERROR, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130


class UsageError(Exception):
    """A problem with the command line (exit status 2)."""


def data_home(environ: dict[str, str] | os._Environ[str] | None = None) -> Path:
    """runs-sql's data directory: $RUNS_SQL_HOME, $XDG_DATA_HOME/runs-sql, ~/.local/share/..."""
    env = os.environ if environ is None else environ
    if env.get(HOME_VARIABLE):
        return Path(env[HOME_VARIABLE]).expanduser()
    base = env.get("XDG_DATA_HOME") or os.path.join(os.path.expanduser("~"), ".local", "share")
    return Path(base) / PROG


def is_driver_error(error: BaseException) -> bool:
    from runs_dbapi.exceptions import Error  # noqa: PLC0415 - the driver loads when needed

    return isinstance(error, Error)


def one_line(error: BaseException, where: str = "") -> str:
    """`runs-sql: ProgrammingError: Unknown table 'x'. ...` on one line; `where` (e.g.
    `statement 2, line 5 of report.sql`) is added in parentheses."""
    text = " ".join(str(error).split()) or type(error).__name__
    suffix = f" ({where})" if where else ""
    if is_driver_error(error):
        return f"{PROG}: {type(error).__name__}: {text}{suffix}"
    if isinstance(error, (UsageError, OSError)):
        return f"{PROG}: error: {text}{suffix}"
    return (f"{PROG}: internal error: {type(error).__name__}: {text}{suffix} (run with --debug "
            "for the traceback)")


def report_error(error: BaseException, err: TextIO, debug: bool, where: str = "") -> None:
    if debug:
        import traceback  # noqa: PLC0415

        traceback.print_exception(error, file=err)
    err.write(one_line(error, where) + "\n")
    err.flush()
