"""`runs-sql`: SQL over Vertex AI TensorBoard runs from a terminal.

    runs-sql "SELECT displayName, labels FROM runs LIMIT 5"     # one or more statements
    runs-sql -f report.sql                                      # from a file
    echo "SELECT count(*) FROM runs" | runs-sql -F json         # from standard input
    runs-sql                                                    # an interactive shell

Where: `--url runs://PROJECT/LOCATION[/TENSORBOARD[/EXPERIMENT]][?option=...]`, else the
RUNS_URL environment variable, else the embedded emulator, kept in a SQLite file in the user's
data directory ($RUNS_SQL_HOME, else $XDG_DATA_HOME/runs-sql, else ~/.local/share/runs-sql)
and seeded with the demo data on first use.

This module is the one place of the project that writes to standard output and error. It
imports the driver only when a statement is about to run, so that start-up stays quick.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from .formatting import FORMATS, Writer, make_writer

if TYPE_CHECKING:
    from .connection import Connection

logger = logging.getLogger(__name__)

PROG = "runs-sql"
URL_VARIABLE = "RUNS_URL"
HOME_VARIABLE = "RUNS_SQL_HOME"
EMBEDDED_PROJECT = "demo-project"  # runs_dbapi.emulator.demo's, without importing it
EMBEDDED_LOCATION = "us-central1"
EMBEDDED_FILE = "emulator.sqlite"
FETCH_BATCH = 500
FLUSH_INTERVAL = 0.1  # seconds
PROGRESS_DELAY = 0.3  # seconds of work before the progress line shows
PROGRESS_INTERVAL = 0.1

EXIT_OK, EXIT_ERROR, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130


class UsageError(Exception):
    """A problem with the command line (exit status 2)."""


# -- statements --------------------------------------------------------------------------------


def split_statements(text: str) -> tuple[list[str], str]:
    """Statements ended by `;` outside strings, quoted names and comments, and the rest.

    The rest is the text after the last `;` (an unfinished statement, or only whitespace and
    comments). Statements holding nothing but comments are dropped.
    """
    statements: list[str] = []
    start = index = 0
    content = False  # the current statement has something besides whitespace and comments
    length = len(text)
    while index < length:
        char = text[index]
        if char in "'\"`":
            end = index + 1
            while end < length:
                if text[end] == char:
                    if end + 1 < length and text[end + 1] == char:  # '' inside a string
                        end += 2
                        continue
                    break
                end += 1
            index, content = end + 1, True
        elif text.startswith("--", index):
            newline = text.find("\n", index)
            index = length if newline < 0 else newline + 1
        elif text.startswith("/*", index):
            close = text.find("*/", index + 2)
            index = length if close < 0 else close + 2
        elif char == ";":
            if content:
                statements.append(text[start:index + 1].strip())
            start, index, content = index + 1, index + 1, False
        else:
            content = content or not char.isspace()
            index += 1
    return statements, text[start:]


def has_content(text: str) -> bool:
    """Whether text holds anything but whitespace and comments."""
    statements, rest = split_statements(text + "\n;")
    return bool(statements) or bool(rest.strip(" \t\r\n;"))


def all_statements(text: str) -> list[str]:
    statements, rest = split_statements(text)
    if has_content(rest):
        statements.append(rest.strip())
    return statements


def statement_verb(sql: str) -> str:
    """The first word of a statement, past comments and parentheses (SELECT, INSERT, ...)."""
    statements, rest = split_statements(sql)
    body = statements[0] if statements else rest
    index = 0
    while index < len(body):
        if body.startswith("--", index):
            newline = body.find("\n", index)
            index = len(body) if newline < 0 else newline + 1
        elif body.startswith("/*", index):
            close = body.find("*/", index)
            index = len(body) if close < 0 else close + 2
        elif body[index].isspace() or body[index] == "(":
            index += 1
        else:
            break
    word = ""
    while index < len(body) and (body[index].isalpha() or body[index] == "_"):
        word += body[index]
        index += 1
    return word.upper()


# -- where the data is -------------------------------------------------------------------------


def data_home(environ: dict[str, str] | os._Environ[str] | None = None) -> Path:
    """runs-sql's data directory: $RUNS_SQL_HOME, $XDG_DATA_HOME/runs-sql, ~/.local/share/..."""
    env = os.environ if environ is None else environ
    if env.get(HOME_VARIABLE):
        return Path(env[HOME_VARIABLE]).expanduser()
    base = env.get("XDG_DATA_HOME") or os.path.join(os.path.expanduser("~"), ".local", "share")
    return Path(base) / PROG


@dataclass
class Target:
    """What to connect to: connect() keyword arguments and how to describe them."""

    options: dict[str, Any]
    description: str
    embedded: Path | None = None  # the embedded emulator's data file

    @property
    def first_use(self) -> bool:
        return self.embedded is not None and not self.embedded.exists()


def resolve_target(url: str | None) -> Target:
    """--url, else $RUNS_URL, else the embedded emulator in the user's data directory."""
    url = url or os.environ.get(URL_VARIABLE) or None
    if url:
        from sqlalchemy.exc import ArgumentError  # noqa: PLC0415 - only for a runs:// URL

        from runs_dialect.url import parse_url  # noqa: PLC0415

        try:
            options = parse_url(url)
        except ArgumentError as error:
            raise UsageError(str(error)) from None
        return Target(options, _redacted_url(url))
    path = data_home() / EMBEDDED_FILE
    options = {"emulator": str(path), "emulator_demo": True, "project": EMBEDDED_PROJECT,
               "location": EMBEDDED_LOCATION}
    return Target(options, f"the embedded emulator ({path})", embedded=path)


def _redacted_url(url: str) -> str:
    """The URL without secret option values, for messages."""
    from .exceptions import redact  # noqa: PLC0415

    text = redact(url)
    for option in ("access_token", "credentials_info"):
        marker = f"{option}="
        start = text.find(marker)
        if start >= 0:
            end = text.find("&", start)
            text = text[:start + len(marker)] + "***" + (text[end:] if end >= 0 else "")
    return text


def embedded_notice(target: Target) -> str:
    first = " (first use: creating the demo data)" if target.first_use else ""
    return (f"{PROG}: no --url or ${URL_VARIABLE}: using the embedded emulator's demo data in "
            f"{target.embedded}{first}; for Vertex AI, pass --url runs://PROJECT/LOCATION or "
            f"set {URL_VARIABLE}")


class _FileLock:
    """An exclusive lock on a file while the embedded data file is created (POSIX only)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.handle: TextIO | None = None

    def __enter__(self) -> _FileLock:
        try:
            import fcntl  # noqa: PLC0415 - POSIX only
        except ImportError:
            return self
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.handle = open(self.path, "a")
        fcntl.flock(self.handle.fileno(), fcntl.LOCK_EX)
        return self

    def __exit__(self, *exc: object) -> None:
        if self.handle is not None:
            self.handle.close()  # closing releases the lock


# -- progress ------------------------------------------------------------------------------------


class ProgressLine:
    """A one-line account of long work on standard error, redrawn in place (terminals only).

    It counts what the driver reports (`connect(progress=...)`: pages fetched, resources listed
    per collection, operations waited for) and the rows written out, and shows them once a
    statement has run for PROGRESS_DELAY seconds.
    """

    ORDER = ("tensorboards", "experiments", "runs")

    def __init__(self, stream: TextIO, enabled: bool) -> None:
        self.stream = stream
        self.enabled = enabled
        self.counts: dict[str, int] = {}
        self.label = ""
        self.started = 0.0
        self.shown = False
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def __call__(self, event: str, count: int) -> None:
        with self._lock:
            self.counts[event] = self.counts.get(event, 0) + count

    def start(self, label: str = "") -> None:
        if not self.enabled:
            return
        self.stop()
        with self._lock:
            self.counts = {}
            self.label = label
            self.started = time.monotonic()
        self._stop.clear()
        self._thread = threading.Thread(target=self._tick, name="runs-sql-progress",
                                        daemon=True)
        self._thread.start()

    def stop(self) -> None:
        if self._thread is not None:
            self._stop.set()
            self._thread.join()
            self._thread = None
        self.clear()

    def clear(self) -> None:
        with self._lock:
            self._erase()

    def _erase(self) -> None:
        if self.shown:
            self.stream.write("\r\x1b[K")
            self.stream.flush()
            self.shown = False

    @contextmanager
    def held(self) -> Iterator[None]:
        """Erase the line and keep it away while the caller writes to the same terminal."""
        with self._lock:
            self._erase()
            yield

    def text(self) -> str:
        with self._lock:
            counts = dict(self.counts)
            elapsed = time.monotonic() - self.started
        parts = [self.label] if self.label else []
        pages = counts.pop("pages", 0)
        if pages:
            listed = [_count(counts.pop(name, 0), name) for name in self.ORDER
                      if counts.get(name)]
            listed += [_count(n, name) for name, n in sorted(counts.items())
                       if name not in ("operations", "rows") and n]
            detail = f" ({', '.join(listed)})" if listed else ""
            parts.append(f"{_count(pages, 'pages')} fetched{detail}")
        if counts.get("operations"):
            parts.append(f"{_count(counts['operations'], 'operations')} waited for")
        if counts.get("rows"):
            parts.append(f"{_count(counts['rows'], 'rows')} written")
        parts.append(f"{elapsed:.1f} s")
        return f"{PROG}: " + ", ".join(parts)

    def _tick(self) -> None:
        while not self._stop.wait(PROGRESS_INTERVAL):
            if time.monotonic() - self.started < PROGRESS_DELAY:
                continue
            line = self.text()
            width = _terminal_width(self.stream)
            if len(line) >= width:
                line = line[: max(10, width - 2)] + "…"
            with self._lock:
                if self._stop.is_set():
                    return
                self.stream.write("\r\x1b[K" + line)
                self.stream.flush()
                self.shown = True


def _count(number: int, plural: str) -> str:
    word = plural[:-1] if number == 1 and plural.endswith("s") else plural
    return f"{number:,} {word}"


def _terminal_width(stream: TextIO) -> int:
    try:
        return os.get_terminal_size(stream.fileno()).columns or 80
    except (OSError, ValueError):
        return 80


# -- running statements ------------------------------------------------------------------------


class Session:
    """A connection, the output format, and how statements' results are written."""

    def __init__(self, args: argparse.Namespace, target: Target, out: TextIO, err: TextIO
                 ) -> None:
        self.args = args
        self.target = target
        self.out = out
        self.err = err
        self.format: str = args.format or ("table" if out.isatty() else "csv")
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
                    with _FileLock(self.target.embedded.with_suffix(".lock")):
                        self.connection = runs_dbapi.connect(**options)
                finally:
                    self.progress.stop()
            else:
                self.connection = runs_dbapi.connect(**options)
        return self.connection

    def close(self) -> None:
        if self.connection is not None:
            self.connection.close()
            self.connection = None

    # -- statements --------------------------------------------------------------------------

    def execute(self, sql: str) -> None:
        """Run one statement and write its result; driver errors propagate."""
        connection = self.connect()
        cursor = connection.cursor()
        self.progress.start()
        try:
            cursor.execute(sql)
            if cursor.description is not None:
                self._write_rows(cursor, [d[0] for d in cursor.description])
            else:
                self.progress.stop()
                self._write_count(statement_verb(sql), cursor.rowcount)
        finally:
            self.progress.stop()
            cursor.close()
        self.statements_run += 1

    def _write_rows(self, cursor: Any, names: list[str]) -> None:
        writer: Writer = make_writer(self.format, self.out, max_width=self.args.max_width)
        streaming = self.format != "table"
        # Rows written to the terminal the progress line is on keep it away meanwhile.
        guard = self.progress.held if streaming and self._shared_terminal else nullcontext
        with guard():
            if self.statements_run and self.format == "table":
                self.out.write("\n")
            writer.start(names)
        batch: list[Any] = []
        last = time.monotonic()
        for row in cursor:
            batch.append(row)
            # Rows go out in batches, and at least every FLUSH_INTERVAL while they trickle in.
            if len(batch) >= FETCH_BATCH or time.monotonic() - last >= FLUSH_INTERVAL:
                self._write_batch(writer, batch, guard, streaming)
                batch, last = [], time.monotonic()
        if batch:
            self._write_batch(writer, batch, guard, streaming)
        self.progress.stop()
        writer.finish()
        self.out.flush()

    def _write_batch(self, writer: Writer, rows: list[Any],
                     guard: Callable[[], AbstractContextManager[None]], streaming: bool) -> None:
        with guard():
            writer.rows(rows)
            if streaming:
                self.out.flush()
        self.progress("rows", len(rows))

    def _write_count(self, verb: str, count: int) -> None:
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
        elif self.err.isatty():
            self.err.write(message + "\n")


# -- errors --------------------------------------------------------------------------------------


def one_line(error: BaseException) -> str:
    """`runs-sql: ProgrammingError: Unknown table 'x'. ...` on one line."""
    from .exceptions import Error  # noqa: PLC0415

    text = " ".join(str(error).split()) or type(error).__name__
    if isinstance(error, Error):
        return f"{PROG}: {type(error).__name__}: {text}"
    if isinstance(error, UsageError):
        return f"{PROG}: error: {text}"
    if isinstance(error, OSError):
        return f"{PROG}: error: {text}"
    return f"{PROG}: internal error: {type(error).__name__}: {text} (run with --debug for the " \
        "traceback)"


def report_error(error: BaseException, err: TextIO, debug: bool) -> None:
    if debug:
        import traceback  # noqa: PLC0415

        traceback.print_exception(error, file=err)
    err.write(one_line(error) + "\n")
    err.flush()


def is_driver_error(error: BaseException) -> bool:
    from .exceptions import Error  # noqa: PLC0415

    return isinstance(error, Error)


# -- command line --------------------------------------------------------------------------------


EPILOG = f"""\
where the data is:
  --url runs://PROJECT/LOCATION[/TENSORBOARD[/EXPERIMENT]][?option=value&...], else ${URL_VARIABLE},
  else the embedded emulator with the demo data, kept in ${HOME_VARIABLE}/{EMBEDDED_FILE}
  (default ~/.local/share/{PROG}/{EMBEDDED_FILE}; delete it to start afresh).
  URL options are those of runs_dbapi.connect(): credentials_path, access_token,
  impersonate_service_account, quota_project, endpoint, emulator, timeout, ...

examples:
  {PROG} "SELECT displayName, labels FROM runs LIMIT 5"
  {PROG} --url runs://my-project/us-central1 "SELECT displayName FROM experiments"
  {PROG} -F json -f report.sql
  {PROG}                      (an interactive shell: .help lists its commands)

exit status: 0 success, 1 a statement failed, 2 a bad command line or URL, 130 interrupted.
"""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=PROG,
        description="Run SQL over Vertex AI TensorBoard runs (or the embedded emulator).",
        epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("sql", nargs="*", metavar="SQL",
                        help="statements to run, separated by ';' (several words are joined)")
    parser.add_argument("-f", "--file", metavar="FILE",
                        help="read statements from FILE ('-' for standard input)")
    parser.add_argument("--url", metavar="URL",
                        help=f"runs:// URL of the data (default: ${URL_VARIABLE}, else the "
                        "embedded emulator)")
    parser.add_argument("-F", "--format", choices=FORMATS,
                        help="output format (default: table on a terminal, else csv)")
    parser.add_argument("--max-width", type=int, default=80, metavar="N",
                        help="cut table cells longer than N characters (0: never; default 80)")
    parser.add_argument("--no-progress", action="store_true",
                        help="no progress line on standard error")
    parser.add_argument("-q", "--quiet", action="store_true",
                        help="no notice about the embedded emulator")
    parser.add_argument("--debug", action="store_true",
                        help="log the HTTP calls made and print tracebacks of errors")
    parser.add_argument("--version", action="store_true", help="print the version and exit")
    return parser


def _configure_logging(debug: bool, err: TextIO) -> None:
    handler = logging.StreamHandler(err)
    handler.setFormatter(logging.Formatter(
        "%(relativeCreated)7.0f ms %(name)s: %(message)s" if debug
        else f"{PROG}: %(levelname)s: %(message)s"))
    root = logging.getLogger()
    root.addHandler(handler)
    root.setLevel(logging.WARNING)
    if debug:
        logging.getLogger("runs_dbapi").setLevel(logging.DEBUG)
        # The embedded emulator's own request log would repeat every call.
        logging.getLogger("runs_dbapi.emulator").setLevel(logging.WARNING)


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version  # noqa: PLC0415

    try:
        return version("runs-sql")
    except PackageNotFoundError:
        return "unknown"


def _read_source(args: argparse.Namespace, stdin: TextIO) -> str | None:
    """The statements' text, or None for the interactive shell."""
    if args.file is not None and args.sql:
        raise UsageError("give statements as arguments or with -f, not both")
    if args.file == "-":
        return stdin.read()
    if args.file is not None:
        try:
            return Path(args.file).read_text(encoding="utf-8")
        except OSError as error:
            raise UsageError(f"cannot read {args.file}: {error.strerror or error}") from None
    if args.sql:
        return " ".join(args.sql)
    if stdin.isatty():
        return None
    return stdin.read()


def run_script(session: Session, text: str) -> int:
    """Run the statements in order; stop at the first that fails (exit status 1)."""
    for sql in all_statements(text):
        try:
            session.execute(sql)
        except Exception as error:
            if not is_driver_error(error):
                raise
            report_error(error, session.err, session.args.debug)
            return EXIT_ERROR
    return EXIT_OK


def main(argv: list[str] | None = None, *, stdin: TextIO | None = None,
         stdout: TextIO | None = None, stderr: TextIO | None = None) -> int:
    stdin = stdin or sys.stdin
    out = stdout or sys.stdout
    err = stderr or sys.stderr
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.version:
        out.write(f"{PROG} {_version()}\n")
        return EXIT_OK
    _configure_logging(args.debug, err)
    session: Session | None = None
    try:
        text = _read_source(args, stdin)
        target = resolve_target(args.url)
        session = Session(args, target, out, err)
        if target.embedded is not None and not args.quiet:
            err.write(embedded_notice(target) + "\n")
            err.flush()
        if text is None:
            from .shell import Shell  # noqa: PLC0415 - only for the interactive shell

            return Shell(session).loop()
        return run_script(session, text)  # nothing to do for empty input, like sqlite3
    except UsageError as error:
        report_error(error, err, False)
        return EXIT_USAGE
    except KeyboardInterrupt:
        if session is not None:
            session.progress.stop()
        err.write(f"\n{PROG}: interrupted\n")
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        # The reader went away (`runs-sql ... | head`): nothing more to say.
        _silence_stdout()
        return EXIT_OK
    except Exception as error:
        report_error(error, err, args.debug)
        return EXIT_ERROR
    finally:
        if session is not None:
            try:
                session.close()
            except Exception as error:  # closing must not hide the outcome
                logger.debug("closing the connection failed: %s", error)


def _silence_stdout() -> None:
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):
        pass


if __name__ == "__main__":
    raise SystemExit(main())
