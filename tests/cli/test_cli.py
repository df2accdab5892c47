"""`runs-sql` through pipes (formats, sources, exit statuses, error lines) and through a real
pseudo-terminal (the shell, Tab completion, history, the progress line).

Commands run as subprocesses of this interpreter (`python -m runs_dbapi.cli`, what the console
script calls), against an emulator with the demo data: one in this process reached by `--url`
(quick), or the embedded default in a data directory of the test's own ($RUNS_SQL_HOME).
"""

from __future__ import annotations

import csv
import io
import json
import re
import subprocess
import sys
from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path

import pytest
from support.cli import CLI, TIMEOUT, Terminal, cli, on, url_of

from runs_dbapi.cli import (
    PROGRESS_DELAY,
    ProgressLine,
    all_statements,
    data_home,
    split_statements,
    statement_verb,
)
from runs_dbapi.cli.output import TableWriter, csv_text, readable_time, table_text
from runs_dbapi.cli.shell import Completer
from runs_dbapi.emulator import Emulator

pytestmark = pytest.mark.emulator(demo=True)

# -- statements and values, in-process ------------------------------------------------------------


def test_split_keeps_semicolons_in_strings_names_and_comments() -> None:
    text = ("SELECT ';' AS a, \"x;y\" FROM runs; -- a comment; still\n"
            "SELECT 'it''s; fine' /* ; */ FROM runs;\n  -- only a comment;\n  SELECT 3")
    statements, rest = split_statements(text)
    assert statements == ["SELECT ';' AS a, \"x;y\" FROM runs;",
                          "-- a comment; still\nSELECT 'it''s; fine' /* ; */ FROM runs;"]
    assert rest.strip().endswith("SELECT 3")
    assert all_statements(text)[-1].endswith("SELECT 3")
    # The seed's DELETE puts its `;` inside the last comment: one statement, no terminator.
    seed_delete = "DELETE FROM google.aiplatform.runs\nWHERE runsId = 'r' --required;\n"
    assert split_statements(seed_delete) == ([], seed_delete)
    assert all_statements(seed_delete) == [seed_delete.strip()]
    assert all_statements(" ;; -- nothing\n; /* */ ") == []


def test_statement_verb() -> None:
    assert statement_verb("  -- c\n/* d */ (SELECT 1)") == "SELECT"
    assert statement_verb("exec google.aiplatform.runs.write @a='b'") == "EXEC"
    assert statement_verb("DELETE FROM runs WHERE runsId = 'x'") == "DELETE"


def test_values_are_rendered_for_people_and_for_machines() -> None:
    moment = datetime(2026, 1, 5, 9, 0, 0, 123456, tzinfo=timezone.utc)
    assert readable_time(moment) == "2026-01-05 09:00:00 UTC"
    assert table_text(moment) == "2026-01-05 09:00:00 UTC"
    assert csv_text(moment) == "2026-01-05T09:00:00.123456Z"
    labels = {"team": "nlp", "status": "failed"}
    assert table_text(labels) == "team=nlp, status=failed"
    assert csv_text(labels) == '{"team":"nlp","status":"failed"}'
    assert table_text({}) == "" and table_text(None) == "" and csv_text(None) == ""
    assert table_text(True) == "true" and table_text(0.1 + 0.2) == "0.3"
    assert table_text("two\nlines") == "two lines"


def test_table_aligns_numbers_right_and_cuts_long_cells_in_the_middle() -> None:
    out = io.StringIO()
    writer = TableWriter(out, max_width=20)
    writer.start(["name", "n"])
    writer.rows([("projects/1/locations/l/runs/the-end", 5), ("short", 12345)])
    writer.finish()
    lines = out.getvalue().splitlines()
    assert lines[0] == " name                 | n"
    assert lines[1] == "----------------------+-------"
    assert lines[2].startswith(" projects/")
    assert "…" in lines[2] and lines[2].split("|")[0].rstrip().endswith("the-end")
    assert lines[2].endswith("|     5") and lines[3].endswith("| 12345")
    assert lines[4] == "(2 rows)"


def test_data_home_precedence(tmp_path: Path) -> None:
    assert data_home({"RUNS_SQL_HOME": str(tmp_path / "x"), "XDG_DATA_HOME": "/y"}) == \
        tmp_path / "x"
    assert data_home({"XDG_DATA_HOME": "/y"}) == Path("/y/runs-sql")
    assert data_home({}) == Path.home() / ".local" / "share" / "runs-sql"


def test_completion_candidates() -> None:
    completer = Completer(lambda: "")
    assert completer.candidates("displ", "SELECT ") == ["displayName"]
    assert completer.candidates("ru", "SELECT displayName FROM ") == ["runs"]
    assert completer.candidates("experim", "SELECT * FROM ") == ["experiments"]
    assert "experimentsId" in completer.candidates("experim", "SELECT ")
    assert completer.candidates(".sch", "") == [".schema"]
    assert completer.candidates("ten", ".schema ") == ["tensorboards"]
    assert completer.candidates("google.aiplatform.ru", "SELECT * FROM ") == [
        "google.aiplatform.runs"]
    assert completer.candidates("google.aiplatform.runs.wr", "EXEC ") == [
        "google.aiplatform.runs.write"]
    assert completer.candidates("r.lab", "SELECT ") == ["r.labels"]
    assert "where" in completer.candidates("wh", "SELECT 1 ")
    assert "WHERE" in completer.candidates("WH", "SELECT 1 ")


def test_the_progress_line_text() -> None:
    line = ProgressLine(io.StringIO(), enabled=True)
    line.start()
    for event, count in (("pages", 1), ("tensorboards", 1), ("pages", 1), ("experiments", 6),
                         ("pages", 6), ("runs", 360), ("operations", 2), ("rows", 1200)):
        line(event, count)
    text = line.text()
    line.stop()
    assert re.fullmatch(r"runs-sql: 8 pages fetched \(1 tensorboard, 6 experiments, 360 runs\), "
                        r"2 operations waited for, 1,200 rows written, \d+\.\d s", text), text


# -- through pipes ------------------------------------------------------------------------------


def test_csv_is_the_default_in_a_pipe(module_emu: Emulator, cli_env: dict[str, str]) -> None:
    result = on(module_emu, cli_env, "SELECT runsId, displayName, labels FROM runs "
                "WHERE experimentsId = 'bert-glue' ORDER BY runsId LIMIT 3")
    assert result.returncode == 0, result.stderr
    rows = list(csv.reader(io.StringIO(result.stdout)))
    assert rows[0] == ["runsId", "displayName", "labels"]
    assert [r[0] for r in rows[1:]] == ["bert-glue-0001", "bert-glue-0002", "bert-glue-0003"]
    assert json.loads(rows[1][2])["team"] == "nlp"
    assert result.stderr == ""  # no notice with --url, no progress line in a pipe


def test_table_format(module_emu: Emulator, cli_env: dict[str, str]) -> None:
    result = on(module_emu, cli_env, "-F", "table",
                "SELECT displayName, labels, createTime, 42 AS n "
                "FROM runs WHERE experimentsId = 'bert-glue' AND runsId = 'bert-glue-0001'")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert re.fullmatch(r" displayName +\| labels +\| createTime +\| n", lines[0])
    assert set(lines[1]) == {"-", "+"}
    assert "team=nlp, model=bert-base" in lines[2]
    assert re.search(r"\| \d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC \| 42$", lines[2])
    assert lines[3] == "(1 row)"


def test_json_and_json_lines(module_emu: Emulator, cli_env: dict[str, str]) -> None:
    sql = ("SELECT runsId, labels, createTime FROM runs WHERE experimentsId = 'ppo-atari' "
           "ORDER BY runsId LIMIT 2")
    result = on(module_emu, cli_env, "-F", "json", sql)
    assert result.returncode == 0, result.stderr
    rows = json.loads(result.stdout)
    assert [r["runsId"] for r in rows] == ["ppo-atari-0001", "ppo-atari-0002"]
    assert rows[0]["labels"]["team"] == "rl"
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z", rows[0]["createTime"])
    lines = on(module_emu, cli_env, "-F", "jsonl", sql).stdout.splitlines()
    assert [json.loads(line) for line in lines] == rows
    assert json.loads(on(module_emu, cli_env, "-F", "json", sql + " OFFSET 1000").stdout) == []


def test_statements_from_arguments_a_file_and_standard_input(
        module_emu: Emulator, cli_env: dict[str, str], tmp_path: Path) -> None:
    two = ("SELECT count(*) AS runs FROM runs WHERE experimentsId = 'bert-glue';\n"
           "-- and the experiments\nSELECT count(*) AS experiments FROM experiments;")
    expected = ['{"runs": 60}', '{"experiments": 6}']
    assert on(module_emu, cli_env, "-F", "jsonl", two).stdout.splitlines() == expected
    script = tmp_path / "two.sql"
    script.write_text(two)
    assert on(module_emu, cli_env, "-F", "jsonl", "-f", str(script)).stdout.splitlines() == expected
    assert on(module_emu, cli_env, "-F", "jsonl", stdin=two).stdout.splitlines() == expected
    from_dash = on(module_emu, cli_env, "-F", "jsonl", "-f", "-", stdin=two)
    assert from_dash.stdout.splitlines() == expected
    # Words given unquoted are one statement.
    assert on(module_emu, cli_env, "-F", "csv", "SELECT", "1", "AS", "one").stdout == "one\n1\n"


def test_writes_report_their_counts(module_emu: Emulator, cli_env: dict[str, str]) -> None:
    board = module_emu.seed_demo()["tensorboard"]
    script = (f"INSERT INTO runs (tensorboardsId, experimentsId, runsId, displayName) VALUES "
              f"('{board}', 'wavenet-tts', 'cli-1', 'cli one'), "
              f"('{board}', 'wavenet-tts', 'cli-2', 'cli two');\n"
              "UPDATE runs SET description = 'from the cli' WHERE experimentsId = 'wavenet-tts' "
              "AND runsId IN ('cli-1', 'cli-2');\n"
              "DELETE FROM runs WHERE experimentsId = 'wavenet-tts' AND runsId LIKE 'cli-%';")
    result = on(module_emu, cli_env, "-F", "table", script)
    assert result.returncode == 0, result.stderr
    assert result.stdout == "(2 rows inserted)\n\n(2 rows updated)\n\n(2 rows deleted)\n"
    # Machine formats keep standard output for rows; on a pipe, writes report on stderr.
    again = on(module_emu, cli_env, "-F", "csv", script.replace("cli-", "cli2-"))
    assert (again.returncode, again.stdout) == (0, "")
    assert again.stderr.splitlines() == ["runs-sql: 2 rows inserted", "runs-sql: 2 rows updated",
                                         "runs-sql: 2 rows deleted"]


def test_an_error_is_one_line_and_stops_the_script(module_emu: Emulator,
                                                   cli_env: dict[str, str]) -> None:
    result = on(module_emu, cli_env, "SELECT 1 AS a; SELECT nope FROM runs; SELECT 3 AS c")
    assert result.returncode == 1
    assert result.stdout == "a\n1\n"  # the statement before ran; the one after did not
    lines = result.stderr.splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("runs-sql: ProgrammingError: no such column: nope")
    unknown = on(module_emu, cli_env, "SELECT * FROM nothing")
    assert unknown.returncode == 1
    assert len(unknown.stderr.splitlines()) == 1
    assert unknown.stderr.startswith(
        "runs-sql: ProgrammingError: Unknown table 'nothing'. Tables: runs, experiments, "
        "tensorboards")
    assert "(also as google.aiplatform.<table>)." in unknown.stderr
    syntax = on(module_emu, cli_env, "SELEC 1")
    assert syntax.returncode == 1 and len(syntax.stderr.splitlines()) == 1


@pytest.mark.parametrize(("args", "message"), [
    (["--url", "runs://p:80/l", "SELECT 1"], "runs-sql: error: runs:// URLs take no port"),
    (["--url", "runs://p/l?colour=red", "SELECT 1"], "runs-sql: error: Unknown runs:// URL "
                                                     "option 'colour'"),
    (["-f", "/no/such/file.sql"], "runs-sql: error: cannot read /no/such/file.sql"),
    (["-f", "x.sql", "SELECT 1"], "runs-sql: error: give statements as arguments or with -f"),
    (["--format", "xml", "SELECT 1"], "runs-sql: error: argument -F/--format: invalid choice"),
])
def test_usage_errors_exit_with_status_2(cli_env: dict[str, str], args: list[str],
                                         message: str) -> None:
    result = cli(*args, env=cli_env)
    assert result.returncode == 2
    assert result.stderr.splitlines()[-1].startswith(message), result.stderr


def test_an_unreachable_api_is_an_operational_error(cli_env: dict[str, str]) -> None:
    result = cli("--url", "runs://p/l?endpoint=http://127.0.0.1:9&anonymous=true&"
                 "max_attempts=1", "SELECT * FROM tensorboards", env=cli_env)
    assert result.returncode == 1
    assert re.fullmatch(r"runs-sql: OperationalError: GET /v1/projects/p/locations/l/"
                        r"tensorboards\?pageSize=100: .*cannot connect to .*\n", result.stderr)


def test_the_url_comes_from_runs_url_unless_given(module_emu: Emulator,
                                                  cli_env: dict[str, str]) -> None:
    cli_env = dict(cli_env, RUNS_URL=url_of(module_emu))
    result = cli("-F", "csv", "SELECT count(*) AS n FROM experiments", env=cli_env)
    assert (result.returncode, result.stdout, result.stderr) == (0, "n\n6\n", "")
    other = cli("--url", url_of(module_emu, "other-project/us-central1"), "-F", "csv",
                "SELECT count(*) AS n FROM experiments", env=cli_env)
    assert other.stdout == "n\n0\n"


def test_debug_logs_the_http_calls_and_tracebacks(module_emu: Emulator,
                                                  cli_env: dict[str, str]) -> None:
    result = on(module_emu, cli_env, "--debug", "SELECT count(*) FROM experiments")
    assert result.returncode == 0
    assert re.search(r"GET /v1/projects/demo-project/locations/us-central1/tensorboards"
                     r"\?pageSize=100 -> 200 in [\d.]+ ms", result.stderr), result.stderr
    failed = on(module_emu, cli_env, "--debug", "SELECT nope FROM runs")
    assert failed.returncode == 1
    assert "Traceback (most recent call last)" in failed.stderr
    assert failed.stderr.splitlines()[-1].startswith("runs-sql: ProgrammingError:")


def test_the_embedded_default(cli_env: dict[str, str], tmp_path: Path) -> None:
    first = cli("SELECT displayName, labels FROM runs LIMIT 5", env=cli_env)
    assert first.returncode == 0, first.stderr
    rows = list(csv.reader(io.StringIO(first.stdout)))
    assert rows[0] == ["displayName", "labels"] and len(rows) == 6
    home = tmp_path / "home"
    assert first.stderr.splitlines() == [
        f"runs-sql: no --url or $RUNS_URL: using the embedded emulator's demo data in "
        f"{home / 'emulator.sqlite'} (first use: creating the demo data); for Vertex AI, pass "
        "--url runs://PROJECT/LOCATION or set RUNS_URL"]
    assert (home / "emulator.sqlite").is_file()
    # Writes persist in the data file; -q drops the notice (the write's report remains).
    write = cli("-q", "UPDATE runs SET description = 'kept' WHERE experimentsId = 'bert-glue' "
                "AND runsId = 'bert-glue-0001'", env=cli_env)
    assert (write.returncode, write.stderr) == (0, "runs-sql: 1 row updated\n")
    read = cli("-q", "SELECT description FROM runs WHERE experimentsId = 'bert-glue' "
               "AND runsId = 'bert-glue-0001'", env=cli_env)
    assert read.stdout == "description\nkept\n"
    # XDG_DATA_HOME when RUNS_SQL_HOME is not set.
    xdg = {k: v for k, v in cli_env.items() if k != "RUNS_SQL_HOME"}
    xdg["XDG_DATA_HOME"] = str(tmp_path / "xdg")
    assert cli("-q", "SELECT 1", env=xdg).returncode == 0
    assert (tmp_path / "xdg" / "runs-sql" / "emulator.sqlite").is_file()


def test_empty_input_does_nothing(cli_env: dict[str, str], module_emu: Emulator) -> None:
    result = on(module_emu, cli_env, stdin="-- nothing to do\n")
    assert (result.returncode, result.stdout, result.stderr) == (0, "", "")


def test_a_closed_pipe_ends_quietly(module_emu: Emulator, cli_env: dict[str, str]) -> None:
    command = " ".join([*map(_quote, CLI), "--url", _quote(url_of(module_emu)),
                        "'SELECT * FROM runs'", "| head -n 2"])
    result = subprocess.run(["bash", "-o", "pipefail", "-c", command], capture_output=True,
                            text=True, env=cli_env, timeout=TIMEOUT, check=False)
    assert result.returncode == 0, result.stderr
    assert len(result.stdout.splitlines()) == 2
    assert result.stderr == ""


def _quote(text: str) -> str:
    return "'" + text.replace("'", "'\"'\"'") + "'"


def test_start_up_imports_lazily() -> None:
    """--help and --version load neither the driver nor its dependencies."""
    code = ("import sys; from runs_dbapi.cli import main; main(['--version']); "
            "print(sorted(m for m in ('sqlglot', 'requests', 'sqlalchemy', 'google.auth', "
            "'runs_dbapi.connection') if m in sys.modules))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            timeout=TIMEOUT, check=True)
    assert result.stdout.splitlines()[-1] == "[]"
    assert result.stdout.startswith("runs-sql ")


# -- through a pseudo-terminal ---------------------------------------------------------------------


def test_the_interactive_shell(module_emu: Emulator, cli_env: dict[str, str],
                               tmp_path: Path) -> None:
    term = Terminal([*CLI, "--url", url_of(module_emu)], cli_env)
    term.expect(r"Statements end with ';'")
    term.expect(r"runs> $")
    # Tab completes a column, then (after FROM) a table.
    term.send("SELECT displ\t")
    term.expect(r"runs> SELECT displayName $")
    term.send(", runsId FROM ru\t")
    term.expect(r"FROM runs $")
    # The statement goes on over lines until a ';'.
    term.send("\n")
    term.expect(r"\.\.\.> $")
    term.send("WHERE experimentsId = 'bert-glue' ORDER BY runsId\n")
    term.send("LIMIT 2;\n")
    table = term.expect(r" displayName +\| runsId\n-+\+-+\n(.*)\n(.*)\n\(2 rows\)")
    assert "bert-glue-0001" in table.group(1) and "bert-glue-0002" in table.group(2)
    term.expect(r"runs> $")
    term.send(".tables\n")
    term.expect(r"  runs +TensorboardRun maps")
    term.expect(r"  tensorboards +A Tensorboard")
    term.expect(r"runs> $")
    term.send(".schema runs\n")
    term.expect(r"  labels +JSON +writable, filter pushed as labels")
    term.expect(r"  runsId +STRING +path: runs/\{runsId\}")
    term.expect(r"EXEC google\.aiplatform\.runs\.write")
    term.expect(r"runs> $")
    term.send(".help\n")
    term.expect(r"\.schema \[TABLE\]")
    term.expect(r"runs> $")
    term.send(".format json\n")
    term.expect(r"runs> $")
    term.send("SELECT runsId FROM runs WHERE experimentsId = 'ppo-atari' "
              "AND runsId = 'ppo-atari-0007';\n")
    term.expect(r'\[\n\{"runsId": "ppo-atari-0007"\}\n\]')
    # An error is reported and the shell goes on.
    term.expect(r"runs> $")
    term.send("SELECT nope FROM runs;\n")
    term.expect(r"runs-sql: ProgrammingError: no such column: nope")
    term.expect(r"runs> $")
    term.send("SELECT 7 AS seven;\n")
    term.expect(r'\{"seven": 7\}')
    term.expect(r"runs> $")
    term.send(".quit\n")
    assert term.wait() == 0
    history = (tmp_path / "home" / "history").read_text()
    assert "SELECT displayName , runsId FROM runs WHERE experimentsId = 'bert-glue'" in history
    assert ".schema runs" in history


def test_history_is_recalled(module_emu: Emulator, cli_env: dict[str, str], tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    (home / "history").write_text("SELECT 41 + 1 AS answer;\n")
    term = Terminal([*CLI, "--url", url_of(module_emu)], cli_env)
    term.expect(r"runs> $")
    term.send("\x1b[A")  # the up arrow
    term.expect(r"runs> SELECT 41 \+ 1 AS answer;$")
    term.send("\n")
    term.expect(r" answer\n-+\n +42\n\(1 row\)\nruns> $")
    term.send("\x04")  # Ctrl-D
    assert term.wait() == 0


@pytest.fixture
def slow_emu() -> Iterator[Emulator]:
    with Emulator(demo=True) as emulator:
        emulator.set_latency(250)
        yield emulator


def test_the_progress_line_on_a_terminal(slow_emu: Emulator, cli_env: dict[str, str]) -> None:
    term = Terminal([*CLI, "--url", url_of(slow_emu), "SELECT count(*) AS n FROM runs"], cli_env)
    term.expect(r" n\n-+\n +360\n\(1 row\)")
    assert term.wait() == 0
    lines = re.findall(r"\r\x1b\[K(runs-sql: [^\r\x1b]*)", term.text)
    assert lines, term.text
    assert any(re.fullmatch(r"runs-sql: \d+ pages? fetched \(1 tensorboard, 6 experiments.*\), "
                            r"\d+\.\d s", line) for line in lines), lines
    # It is erased before the result is written.
    assert term.text.rindex("\r\x1b[K") < term.text.index(" n\r\n")


def test_the_progress_line_counts_rows_written_to_a_file(
        slow_emu: Emulator, cli_env: dict[str, str], tmp_path: Path) -> None:
    target = tmp_path / "runs.csv"
    with target.open("wb") as out:
        term = Terminal([*CLI, "--url", url_of(slow_emu), "-F", "csv",
                         "SELECT runsId FROM runs WHERE experimentsId = 'bert-glue' "
                         "AND pageSize = '5'"], cli_env, stdout=out.fileno())
        assert term.wait() == 0
    assert len(target.read_text().splitlines()) == 61
    assert re.search(r"runs-sql: \d+ pages fetched \(1 tensorboard, \d+ runs\), \d+ rows written, "
                     r"\d+\.\d s",
                     term.text), term.text
    assert term.text.endswith("\r\x1b[K")  # nothing left on the line


def test_no_progress_line_for_quick_work_or_when_asked(module_emu: Emulator,
                                                       cli_env: dict[str, str]) -> None:
    assert PROGRESS_DELAY >= 0.2
    term = Terminal([*CLI, "--url", url_of(module_emu), "--no-progress",
                     "SELECT count(*) FROM runs"], cli_env)
    term.expect(r"\(1 row\)")
    assert term.wait() == 0
    assert "\x1b[K" not in term.text
