"""A `runs-sql` session: the connection, and how each statement's result is written (rows in
the chosen format, through a pager when taller than the terminal; counts of writes; timing)."""

from __future__ import annotations

import argparse
import io
import os
import re
import shutil
import subprocess
import time
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from typing import TYPE_CHECKING, Any, TextIO

from .base import PAGER_VARIABLE, PROG
from .output import Writer, make_writer
from .progress import ProgressLine
from .safety import check_write
from .script import statement_verb
from .target import FileLock, Target

if TYPE_CHECKING:
    from runs_dbapi.connection import Connection

FETCH_BATCH = 500
FLUSH_INTERVAL = 0.1  # seconds
DEFAULT_PAGER = "less -FRSX"

# `:name` outside strings, quoted names and comments.
_NAMED = re.compile(r"'(?:[^']|'')*'|\"(?:[^\"]|\"\")*\"|`[^`]*`|--[^\n]*|/\*.*?\*/|"
                    r"(?<![:\w]):([A-Za-z_]\w*)", re.DOTALL)


def named_markers(sql: str) -> set[str]:
    """The `:name` parameter markers of a statement."""
    return {m.group(1) for m in _NAMED.finditer(sql) if m.group(1)}


def terminal_rows(stream: TextIO) -> int:
    try:
        return os.get_terminal_size(stream.fileno()).lines or 24
    except (OSError, ValueError):
        return 24


class Session:
    """A connection, the output format, and how statements' results are written."""

    def __init__(self, args: argparse.Namespace, target: Target, out: TextIO, err: TextIO
                 ) -> None:
        self.args = args
        self.target = target
        self.out = out
        self.err = err
        self.format: str = args.format or ("table" if out.isatty() else "csv")
        self.expanded: bool = bool(args.expanded)
        self.timer = False
        self.pager = not args.no_pager
        self.parameters: dict[str, str] = dict(args.parameters or {})
        # The shell asks before a risky write; elsewhere --yes is needed (see safety.py).
        self.confirm: Callable[[str], bool] | None = None
        self.progress = ProgressLine(err, enabled=err.isatty() and not args.no_progress)
        self.connection: Connection | None = None
        self.statements_run = 0
        # The progress line is cleared before rows go to the same terminal.
        self._shared_terminal = out.isatty() and err.isatty()

    # -- connection --------------------------------------------------------------------------

    def connect(self) -> Connection:
        if self.connection is None:
            import runs_dbapi  # noqa: PLC0415 - the driver loads when first needed

            options = dict(self.target.options, progress=self.progress)
            if self.target.embedded is not None:
                label = "creating the demo data (first use)" if self.target.first_use else ""
                self.progress.start(label)
                try:
                    with FileLock(self.target.embedded.with_suffix(".lock")):
                        self.connection = runs_dbapi.connect(**options)
                finally:
                    self.progress.stop()
            else:
                self.connection = runs_dbapi.connect(**options)
            if self.target.names_a_path:
                # A tensorboard or experiment of the URL that does not exist is an error.
                from runs_dbapi.paths import check_connection_path  # noqa: PLC0415

                try:
                    check_connection_path(self.connection.client, {
                        k: v for k, v in self.connection.defaults.items() if v})
                except Exception:
                    self.close()
                    raise
        return self.connection

    def close(self) -> None:
        if self.connection is not None:
            self.connection.close()
            self.connection = None

    # -- statements --------------------------------------------------------------------------

    def parameters_for(self, sql: str) -> dict[str, str] | None:
        """The -p values for the statement's `:name` markers (None: it has none)."""
        names = named_markers(sql)
        if not names:
            return None
        return {name: self.parameters[name] for name in names if name in self.parameters}

    def execute(self, sql: str) -> None:
        """Run one statement and write its result; driver errors propagate."""
        connection = self.connect()
        parameters = self.parameters_for(sql)
        verb = statement_verb(sql)
        if verb in ("UPDATE", "DELETE"):
            check_write(connection, sql, parameters, yes=self.args.yes, confirm=self.confirm)
        started, calls = time.monotonic(), connection.client.calls
        cursor = connection.cursor()
        self.progress.start()
        try:
            cursor.execute(sql, parameters)
            if cursor.description is not None:
                count = self._write_rows(cursor, [d[0] for d in cursor.description])
            else:
                self.progress.stop()
                count = cursor.rowcount
                self._write_count(verb, count)
        finally:
            self.progress.stop()
            cursor.close()
        self.statements_run += 1
        if count == 0 and verb in ("SELECT", "WITH", "UPDATE", "DELETE"):
            self._note_missing_paths(connection, sql, parameters)
        if self.timer:
            used = connection.client.calls - calls
            self.err.write(f"Time: {(time.monotonic() - started) * 1000:.1f} ms, "
                           f"{used} API call{'' if used == 1 else 's'}\n")
            self.err.flush()

    def _note_missing_paths(self, connection: Connection, sql: str, parameters: Any) -> None:
        """No rows: say so when the statement named a tensorboard or experiment that does
        not exist (a typo returns no rows, as SQL says, but should not pass unnoticed)."""
        from runs_dbapi.notes import missing_parents  # noqa: PLC0415

        try:
            notes = missing_parents(connection, sql, parameters)
        except Exception:  # a note must never turn a result into an error
            return
        for note in notes:
            self.err.write(f"{PROG}: note: {note}\n")
        self.err.flush()

    def _write_rows(self, cursor: Any, names: list[str]) -> int:
        """Write a result set; the number of rows."""
        paged = self.format == "table" and self.pager and self.out.isatty()
        target: TextIO = io.StringIO() if paged else self.out
        writer: Writer = make_writer(self.format, target, max_width=self.args.max_width,
                                     expanded=self.expanded)
        streaming = self.format != "table"
        # Rows written to the terminal the progress line is on keep it away meanwhile.
        guard = self.progress.held if streaming and self._shared_terminal else nullcontext
        with guard():
            if self.statements_run and self.format == "table":
                self.out.write("\n")
            writer.start(names)
        batch: list[Any] = []
        count = 0
        last = time.monotonic()
        for row in cursor:
            batch.append(row)
            # Rows go out in batches, and at least every FLUSH_INTERVAL while they trickle in.
            if len(batch) >= FETCH_BATCH or time.monotonic() - last >= FLUSH_INTERVAL:
                self._write_batch(writer, batch, guard, streaming)
                count += len(batch)
                batch, last = [], time.monotonic()
        if batch:
            self._write_batch(writer, batch, guard, streaming)
            count += len(batch)
        self.progress.stop()
        writer.finish()
        if isinstance(target, io.StringIO):
            self._page(target.getvalue())
        self.out.flush()
        return count

    def _page(self, text: str) -> None:
        """Text taller than the terminal goes through $PAGER (default `less -FRSX`)."""
        command = os.environ.get(PAGER_VARIABLE)
        if command is None:
            command = DEFAULT_PAGER if shutil.which("less") else "more"
        if not command.strip() or text.count("\n") < terminal_rows(self.out) - 1:
            self.out.write(text)
            return
        self.out.flush()
        try:
            subprocess.run(command, shell=True, input=text.encode("utf-8"), check=False)
        except OSError:
            self.out.write(text)

    def _write_batch(self, writer: Writer, rows: list[Any],
                     guard: Callable[[], AbstractContextManager[None]], streaming: bool) -> None:
        with guard():
            writer.rows(rows)
            if streaming:
                self.out.flush()
        self.progress("rows", len(rows))

    def _write_count(self, verb: str, count: int) -> None:
        """`(3 rows updated)`: in a table, with the results; otherwise on standard error, so
        that a write on a pipe reports what it did without mixing with rows."""
        done = {"INSERT": "inserted", "UPDATE": "updated", "DELETE": "deleted",
                "EXEC": "points written", "EXECUTE": "points written"}.get(verb, "affected")
        if done == "points written":
            message = f"({count:,} data point{'' if count == 1 else 's'} written)"
        else:
            message = f"({count:,} row{'' if count == 1 else 's'} {done})"
        if self.format == "table":
            if self.statements_run:
                self.out.write("\n")
            self.out.write(message + "\n")
            self.out.flush()
        else:
            self.err.write(f"{PROG}: {message[1:-1]}\n")
            self.err.flush()
