"""`runs-sql`: SQL over Vertex AI TensorBoard runs from a terminal.

    runs-sql "SELECT displayName, labels FROM runs LIMIT 5"     # one or more statements
    runs-sql -f report.sql                                      # from a file
    echo "SELECT count(*) FROM runs" | runs-sql -F json         # from standard input
    runs-sql                                                    # an interactive shell

Where: `--url runs://PROJECT/LOCATION[/TENSORBOARD[/EXPERIMENT]][?option=...]`, else the
RUNS_URL environment variable, else the embedded emulator, kept in a SQLite file in the user's
data directory ($RUNS_SQL_HOME, else $XDG_DATA_HOME/runs-sql, else ~/.local/share/runs-sql)
and seeded with the demo data on first use.

This package is the one place of the project that writes to standard output and error. It
imports the driver only when a statement is about to run, so that start-up stays quick. Its
modules: base (names, exit statuses, error lines), script (statements in a text), target (the
URL), progress (the progress line), output (formats), safety (confirming risky writes),
session (running statements), shell (the interactive shell), and this one (the command line).
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from pathlib import Path
from typing import TextIO

from .base import (
    EXIT_ERROR,
    EXIT_INTERRUPTED,
    EXIT_OK,
    EXIT_USAGE,
    HOME_VARIABLE,
    PROG,
    URL_VARIABLE,
    UsageError,
    data_home,
    is_driver_error,
    one_line,
    report_error,
)
from .output import FORMATS
from .progress import PROGRESS_DELAY, ProgressLine
from .safety import Refused
from .script import all_statements, numbered_statements, split_statements, statement_verb
from .session import Session
from .target import EMBEDDED_FILE, embedded_notice, resolve_target

__all__ = [
    "EXIT_ERROR",
    "EXIT_INTERRUPTED",
    "EXIT_OK",
    "EXIT_USAGE",
    "PROG",
    "PROGRESS_DELAY",
    "ProgressLine",
    "Session",
    "UsageError",
    "all_statements",
    "build_parser",
    "data_home",
    "main",
    "one_line",
    "run_script",
    "split_statements",
    "statement_verb",
]

logger = logging.getLogger(__name__)


EPILOG = f"""\
where the data is:
  --url runs://PROJECT/LOCATION[/TENSORBOARD[/EXPERIMENT]][?option=value&...], else ${URL_VARIABLE},
  else the embedded emulator with the demo data, kept in ${HOME_VARIABLE}/{EMBEDDED_FILE}
  (default ~/.local/share/{PROG}/{EMBEDDED_FILE}; delete it to start afresh).
  URL options are those of runs_dbapi.connect(): credentials_path, access_token,
  impersonate_service_account, quota_project, endpoint, emulator, timeout, ...

environment variables:
  {URL_VARIABLE}        the runs:// URL used when --url is not given
  {HOME_VARIABLE}   the data directory (embedded emulator's data file, shell history)
  XDG_DATA_HOME   its parent when {HOME_VARIABLE} is not set ($XDG_DATA_HOME/{PROG})
  PAGER           the pager for tables taller than the terminal (default: less -FRSX)
  GOOGLE_APPLICATION_CREDENTIALS  a key file for Application Default Credentials

examples:
  {PROG} "SELECT displayName, labels FROM runs LIMIT 5"
  {PROG} --url runs://my-project/us-central1 "SELECT displayName FROM experiments"
  {PROG} -F json -f report.sql
  {PROG} -p status=failed "SELECT count(*) FROM runs WHERE labels ->> '$.status' = :status"
  {PROG} "EXPLAIN SELECT * FROM runs WHERE experimentsId = 'bert-glue'"
  {PROG}                      (an interactive shell: type help for its commands)
  {PROG} deploy plan stack.yml  (a manifest: plan, apply, test, teardown; deploy --help)

safe writes: an UPDATE or DELETE with no WHERE clause, or one that would touch more than 100
  runs, is confirmed in the shell and refused elsewhere unless --yes is given.

exit status: 0 success, 1 a statement failed (or a risky write was refused), 2 a bad command
line or URL, 130 interrupted.
"""


def _parameter(text: str) -> tuple[str, str]:
    name, equals, value = text.partition("=")
    if not equals or not name.isidentifier():
        raise argparse.ArgumentTypeError(f"expected NAME=VALUE, got {text!r}")
    return name, value


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
    parser.add_argument("-x", "--expanded", action="store_true",
                        help="tables as one block per row, a line per column (the shell's \\x)")
    parser.add_argument("-p", "--param", dest="parameters", action="append", type=_parameter,
                        metavar="NAME=VALUE",
                        help="a value (text) for the :NAME parameter markers; repeatable")
    parser.add_argument("--yes", action="store_true",
                        help="run UPDATE and DELETE with no WHERE clause, or touching more than "
                        "100 runs, without asking")
    parser.add_argument("--max-width", type=int, default=80, metavar="N",
                        help="cut table cells longer than N characters (0: never; default 80)")
    parser.add_argument("--no-pager", action="store_true",
                        help="never page tables taller than the terminal through $PAGER")
    parser.add_argument("--no-progress", action="store_true",
                        help="no progress line on standard error")
    parser.add_argument("-q", "--quiet", action="store_true",
                        help="no notice about the embedded emulator, no shell banner")
    parser.add_argument("--debug", action="store_true",
                        help="log each statement's plan and the HTTP calls made, and print "
                        "tracebacks of errors")
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


def version() -> str:
    from importlib.metadata import PackageNotFoundError  # noqa: PLC0415
    from importlib.metadata import version as installed  # noqa: PLC0415

    try:
        return installed("runs-sql")
    except PackageNotFoundError:
        return "unknown"


def _read_source(args: argparse.Namespace, stdin: TextIO) -> tuple[str | None, str]:
    """The statements' text (None for the interactive shell), and where it comes from."""
    if args.file is not None and args.sql:
        raise UsageError("give statements as arguments or with -f, not both")
    if args.file == "-":
        return stdin.read(), "standard input"
    if args.file is not None:
        try:
            return Path(args.file).read_text(encoding="utf-8"), args.file
        except OSError as error:
            raise UsageError(f"cannot read {args.file}: {error.strerror or error}") from None
    if args.sql:
        return " ".join(args.sql), "the command line"
    if stdin.isatty():
        return None, ""
    return stdin.read(), "standard input"


def run_script(session: Session, text: str, source: str = "") -> int:
    """Run the statements in order; stop at the first that fails (exit status 1), naming it
    by number and line when there are several."""
    statements = numbered_statements(text)
    for statement in statements:
        try:
            session.execute(statement.sql)
        except Refused as refused:
            session.err.write(f"{PROG}: refused: {refused}\n")
            return EXIT_ERROR
        except Exception as error:
            if not is_driver_error(error):
                raise
            where = ""
            if len(statements) > 1:
                where = f"statement {statement.number}, line {statement.line}" + (
                    f" of {source}" if source else "")
            report_error(error, session.err, session.args.debug, where)
            return EXIT_ERROR
    return EXIT_OK


def main(argv: list[str] | None = None, *, stdin: TextIO | None = None,
         stdout: TextIO | None = None, stderr: TextIO | None = None) -> int:
    stdin = stdin or sys.stdin
    out = stdout or sys.stdout
    err = stderr or sys.stderr
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["deploy"]:  # `runs-sql deploy plan|apply|test|teardown FILE`
        from .deploy import main as deploy_main  # noqa: PLC0415

        _configure_logging("--debug" in argv, err)
        return deploy_main(argv[1:], out, err)
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.version:
        out.write(f"{PROG} {version()}\n")
        return EXIT_OK
    _configure_logging(args.debug, err)
    session: Session | None = None
    try:
        text, source = _read_source(args, stdin)
        target = resolve_target(args.url)
        session = Session(args, target, out, err)
        if text is None:
            from .shell import Shell  # noqa: PLC0415 - only for the interactive shell

            return Shell(session).loop()  # its banner is the one start-up notice
        if target.embedded is not None and not args.quiet:
            err.write(embedded_notice(target) + "\n")
            err.flush()
        return run_script(session, text, source)  # nothing to do for empty input, like sqlite3
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

