"""The interactive shell of `runs-sql`: line editing and history (readline), statements over
several lines ended by `;`, completion of table and column names, and dot commands."""

from __future__ import annotations

import contextlib
import re
from collections.abc import Callable
from types import ModuleType
from typing import TYPE_CHECKING

from runs_dbapi.catalog import (
    BATCH_REQUESTS_COLUMN,
    BODY_PREFIX,
    LIST_PARAMETERS,
    PAGE_COLUMNS,
    SCHEMA_ALIASES,
    TABLES,
    UPDATE_MASK_PARAMETER,
    Table,
)
from runs_dbapi.suggest import did_you_mean

from .base import EXIT_OK, PROG, data_home, is_driver_error, report_error
from .output import FORMATS, aligned
from .safety import Refused
from .script import has_content, split_statements
from .target import embedded_notice

if TYPE_CHECKING:
    from .session import Session

PROMPT = "runs> "
CONTINUATION = "  ...> "
HISTORY_FILE = "history"
HISTORY_LENGTH = 2000

KEYWORDS = (
    "SELECT", "FROM", "WHERE", "AND", "OR", "NOT", "IN", "IS", "NULL", "LIKE", "GLOB",
    "BETWEEN", "ORDER", "BY", "GROUP", "HAVING", "LIMIT", "OFFSET", "AS", "ASC", "DESC",
    "DISTINCT", "JOIN", "LEFT", "ON", "WITH", "CASE", "WHEN", "THEN", "ELSE", "END", "COUNT",
    "INSERT", "INTO", "VALUES", "UPDATE", "SET", "DELETE", "RETURNING", "EXEC",
    "json_extract", "json_each",
)
# After these words a table name comes next.
TABLE_CONTEXT = ("FROM", "JOIN", "INTO", "UPDATE", "TABLE", "EXEC")

HELP = f"""\
Statements end with ';' and may span lines. Tab completes table and column names.

  help                 this text (also .help)
  quit, exit, \\q       leave (or Ctrl-D; also .quit)
  .tables, \\d          the tables
  .schema [TABLE]      a table's columns, list parameters and methods (also \\d TABLE)
  .format [FORMAT]     show or set the output format: {', '.join(FORMATS)}
  .expanded, \\x        one block per row, a line per column (again to turn off)
  .timer on|off        time and API calls of each statement
  EXPLAIN statement;   the API calls a statement will make, and its local SQL
  EXPLAIN ANALYZE ...; run it, with calls, pages, rows and time per step

Tables taller than the terminal go through $PAGER (runs-sql --no-pager: never). An UPDATE or
DELETE with no WHERE, or touching more than 100 runs, asks before it runs.

Examples:
  SELECT displayName, labels, createTime FROM runs LIMIT 5;
  SELECT experimentsId, count(*) AS runs FROM runs GROUP BY experimentsId;
  SELECT displayName FROM runs WHERE labels ->> '$.status' = 'failed' LIMIT 3;
"""
# Words that, alone on a line (with or without `;`), are commands rather than SQL.
BARE_COMMANDS = {"help": ".help", "exit": ".quit", "quit": ".quit"}
BACKSLASH = {"\\q": ".quit", "\\x": ".expanded", "\\timing": ".timer",
             "\\?": ".help", "\\h": ".help"}
DOT_COMMANDS = [".tables", ".schema", ".format", ".expanded", ".timer", ".help", ".quit"]


def _load_readline() -> ModuleType | None:
    try:
        import readline  # noqa: PLC0415 - not on every platform
    except ImportError:
        return None
    return readline


def column_notes(table: Table) -> list[list[str]]:
    """One line per column: name, type and what the API does with it."""
    rows = [["column", "type", "notes"]]
    for column in table.columns:
        notes = []
        if column.path_parameter:
            notes.append(f"path: {column.name[:-2]}/{{{column.name}}}")
        if column.output_only:
            notes.append("output only")
        if column.writable and table.writable:
            notes.append("writable")
        if column.filter_name:
            notes.append(f"filter pushed as {column.filter_name}")
        if column.order_name:
            notes.append("ORDER BY pushed")
        rows.append([column.name, column.type, ", ".join(notes)])
    return rows


def describe_table(table: Table) -> str:
    lines = [f"{table.name}: {table.description}", aligned(column_notes(table)).rstrip("\n")]
    if table.name in PAGE_COLUMNS:  # a table of resources listed by pages (not of points)
        page = ", ".join(c.name for c in PAGE_COLUMNS[table.name])
        lines.append(f"  list parameters (WHERE name = '...'): {', '.join(LIST_PARAMETERS)}")
        lines.append(f"  page columns (one row per API page): {page}")
    if table.writable:
        fields = [c.name for c in table.columns if c.writable] + ["etag"]
        lines.append("  INSERT and UPDATE fields: "
                     + ", ".join(f"{BODY_PREFIX}{f}" for f in fields)
                     + f"; {BODY_PREFIX}{BATCH_REQUESTS_COLUMN} (batchCreate); "
                     + f"{table.id_parameter} (the new ID); {UPDATE_MASK_PARAMETER} (UPDATE)")
    else:
        lines.append("  read only")
    for procedure in table.procedures:
        lines.append(f"  EXEC {SCHEMA_ALIASES[0]}.{table.name}.{procedure.name}: "
                     f"{procedure.description}")
    return "\n".join(lines) + "\n"


def describe_tables() -> str:
    return aligned([[t.name, t.description] for t in TABLES.values()])


class Completer:
    """readline completion: dot commands, table names after FROM/JOIN/INTO/UPDATE/EXEC,
    otherwise column names, list parameters, table names and keywords."""

    def __init__(self, before: Callable[[], str]) -> None:
        self.before = before  # the line up to the word being completed
        self.matches: list[str] = []
        self.tables = list(TABLES)
        names: dict[str, None] = {}
        for table in TABLES.values():
            for column in (*table.columns, *PAGE_COLUMNS.get(table.name, ())):
                names[column.name] = None
            names.update({f"{BODY_PREFIX}{c.name}": None for c in table.columns if c.writable})
        names.update({p: None for p in LIST_PARAMETERS})
        self.columns = list(names)

    def candidates(self, text: str, before: str) -> list[str]:
        if not before.strip() and text.startswith("."):
            return _matching(DOT_COMMANDS, text)
        if before.lstrip().startswith("."):
            command = before.split(maxsplit=1)[0].lower()
            if command == ".schema":
                return _matching(self.tables, text)
            if command == ".format":
                return _matching(list(FORMATS), text)
            return []
        if "." in text:
            head, _, tail = text.rpartition(".")
            table = TABLES.get(head.rsplit(".", 1)[-1].lower())
            if head.lower() in SCHEMA_ALIASES:
                return [f"{head}.{t}" for t in _matching(self.tables, tail)]
            if table is not None and table.procedures and "." in head:
                return [f"{head}.{p}" for p in _matching([p.name for p in table.procedures],
                                                          tail)]
            return [f"{head}.{c}" for c in _matching(self.columns, tail)]
        words = re.findall(r"[A-Za-z_]+", before)
        if words and words[-1].upper() in TABLE_CONTEXT:
            return _matching(self.tables, text) + _matching(
                [f"{SCHEMA_ALIASES[0]}."], text)
        keywords = [k.lower() if text[:1].islower() and k.isupper() else k for k in KEYWORDS]
        return _matching(self.columns + self.tables, text) + _matching(keywords, text)

    def __call__(self, text: str, state: int) -> str | None:
        if state == 0:
            try:
                found = self.candidates(text, self.before())
            except Exception:  # a completion bug must never end the shell
                found = []
            # Python's readline appends nothing to a completion: a whole word gets its space.
            self.matches = [m if m.endswith(".") else m + " " for m in found]
        return self.matches[state] if state < len(self.matches) else None


def _matching(words: list[str], text: str) -> list[str]:
    folded = text.lower()
    return [w for w in words if w.lower().startswith(folded)]


class Shell:
    def __init__(self, session: Session) -> None:
        self.session = session
        self.readline = _load_readline()
        self.history = data_home() / HISTORY_FILE

    # -- readline ------------------------------------------------------------------------------

    def _setup_readline(self) -> None:
        readline = self.readline
        if readline is None:
            return
        if "libedit" in (readline.__doc__ or ""):
            readline.parse_and_bind("bind ^I rl_complete")
        else:
            readline.parse_and_bind("tab: complete")
        readline.set_completer_delims(" \t\n(),;=<>!+-*/|'\"")
        readline.set_completer(Completer(
            lambda: readline.get_line_buffer()[:readline.get_begidx()]))
        readline.set_auto_history(False)
        readline.set_history_length(HISTORY_LENGTH)
        with contextlib.suppress(OSError):
            readline.read_history_file(self.history)

    def _remember(self, text: str) -> None:
        if self.readline is None or not text.strip():
            return
        entry = text.strip() if "--" in text else " ".join(text.split())
        self.readline.add_history(entry)

    def _save_history(self) -> None:
        if self.readline is None:
            return
        try:
            self.history.parent.mkdir(parents=True, exist_ok=True)
            self.readline.write_history_file(self.history)
        except OSError:
            pass

    # -- the loop ------------------------------------------------------------------------------

    def banner(self) -> str:
        target = self.session.target
        where = (embedded_notice(target).removeprefix(f"{PROG}: ") if target.embedded
                 else f"querying {target.description}")
        return (f"{PROG}: {where}. Statements end with ';'. Type help for help, quit to "
                "leave.\n")

    def ask(self, question: str) -> bool:
        """The shell's confirmation of a risky write."""
        summary, _, prompt = question.rpartition(". ")
        self.session.err.write(f"{PROG}: {summary}.\n")
        self.session.err.flush()
        try:
            answer = input(prompt)
        except (EOFError, KeyboardInterrupt):
            self.session.out.write("\n")
            return False
        return answer.strip().lower() in ("y", "yes")

    def loop(self) -> int:
        self._setup_readline()
        err = self.session.err
        if not self.session.args.quiet:
            err.write(self.banner())
            err.flush()
        self.session.confirm = self.ask
        buffer: list[str] = []
        try:
            while True:
                try:
                    line = input(CONTINUATION if buffer else PROMPT)
                except EOFError:
                    self.session.out.write("\n")
                    break
                except KeyboardInterrupt:
                    self.session.out.write("^C\n")
                    buffer = []
                    continue
                command = None if buffer else as_command(line)
                if command is not None:
                    self._remember(line)
                    if not self.command(command):
                        break
                    continue
                buffer.append(line)
                text = "\n".join(buffer)
                statements, rest = split_statements(text)
                if not statements:
                    if not has_content(text) and not text.strip():
                        buffer = []
                    continue
                self._remember(text)
                buffer = [rest] if has_content(rest) else []
                for sql in statements:
                    self.run(sql)
        finally:
            self._save_history()
        return EXIT_OK

    def run(self, sql: str) -> None:
        session = self.session
        try:
            session.execute(sql)
        except KeyboardInterrupt:
            session.progress.stop()
            session.err.write(f"\n{PROG}: interrupted\n")
        except Refused as refused:
            session.err.write(f"{PROG}: {refused}\n")
        except Exception as error:
            session.progress.stop()
            report_error(error, session.err, session.args.debug or not is_driver_error(error))
        session.out.flush()

    # -- commands --------------------------------------------------------------------------------

    def command(self, line: str) -> bool:
        """Run a dot command; False to leave the shell."""
        words = line.split()
        name, rest = words[0].lower(), words[1:]
        out, err = self.session.out, self.session.err
        if name in (".quit", ".exit", ".q"):
            return False
        if name == ".help":
            out.write(HELP)
        elif name == ".tables":
            out.write(describe_tables())
        elif name == ".schema":
            self._schema(rest)
        elif name == ".format":
            if not rest:
                out.write(f"{self.session.format}\n")
            elif rest[0].lower() in FORMATS:
                self.session.format = rest[0].lower()
            else:
                err.write(f"{PROG}: unknown format {rest[0]!r}; formats: "
                          f"{', '.join(FORMATS)}\n")
        elif name == ".expanded":
            on = not self.session.expanded if not rest else rest[0].lower() in ("on", "1")
            self.session.expanded = on
            out.write(f"Expanded display is {'on' if on else 'off'}.\n")
        elif name == ".timer":
            on = not self.session.timer if not rest else rest[0].lower() in ("on", "1")
            self.session.timer = on
            out.write(f"Timer is {'on' if on else 'off'}.\n")
        else:
            err.write(f"{PROG}: unknown command {words[0]}; help lists the commands\n")
        out.flush()
        return True

    def _schema(self, names: list[str]) -> None:
        chosen = [TABLES.get(w.lower().rsplit(".", 1)[-1]) for w in names] or list(
            TABLES.values())
        for word, table in zip(names or [t.name for t in TABLES.values()], chosen, strict=True):
            if table is None:
                self.session.err.write(f"{PROG}: no table {word!r};"
                                       f"{did_you_mean(word, TABLES)} Tables: "
                                       f"{', '.join(TABLES)}\n")
            else:
                self.session.out.write(describe_table(table))


def as_command(line: str) -> str | None:
    """The dot command a line stands for (`help` is `.help`, `\\d runs` is `.schema runs`),
    or None for SQL."""
    stripped = line.strip()
    if stripped.startswith("."):
        return stripped
    word = stripped.rstrip(";").strip()
    if word.lower() in BARE_COMMANDS:
        return BARE_COMMANDS[word.lower()]
    if stripped.startswith("\\"):
        head, _, tail = word.partition(" ")
        if head.lower() == "\\d":
            return f".schema {tail}" if tail.strip() else ".tables"
        known = BACKSLASH.get(head.lower())
        return head if known is None else f"{known} {tail}".strip()  # unknown: reported
    return None
