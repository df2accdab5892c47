"""`runs-sql` as people meet it (issue 15): safe writes, paths that do not exist, errors for
people, shell habits (through a real pseudo-terminal), EXPLAIN from the command line."""

from __future__ import annotations

import csv
import io
import re
import subprocess
import sys
from pathlib import Path

import pytest
from support.cli import CLI, TIMEOUT, Terminal, cli, on, url_of

from runs_dbapi.emulator import Emulator

pytestmark = pytest.mark.emulator(demo=True)

EMULATOR_CLI = [sys.executable, "-m", "runs_dbapi.emulator.cli"]


def runs(emu: Emulator, cli_env: dict[str, str], where: str = "") -> int:
    result = on(emu, cli_env, "-F", "csv", f"SELECT count(*) AS n FROM runs {where}")
    assert result.returncode == 0, result.stderr
    return int(result.stdout.splitlines()[1])


# -- safe writes ---------------------------------------------------------------------------------


def test_delete_without_where_needs_yes(emu: Emulator, cli_env: dict[str, str]) -> None:
    refused = on(emu, cli_env, "DELETE FROM runs")
    assert refused.returncode == 1
    assert re.match(r"runs-sql: refused: this DELETE has no WHERE clause: it would delete "
                    r"360 runs \(([\w-]+/[\w-]+-\d{4}, ){5}\.\.\.\); nothing was changed",
                    refused.stderr), refused.stderr
    assert "nothing was changed. Pass --yes" in refused.stderr
    assert emu.calls("runs.delete") == 0 and runs(emu, cli_env) == 360
    done = on(emu, cli_env, "--yes", "DELETE FROM runs")
    assert done.returncode == 0, done.stderr
    assert done.stderr == "runs-sql: 360 rows deleted\n"  # on a pipe: said on stderr
    assert runs(emu, cli_env) == 0


def test_a_write_touching_more_than_100_runs_needs_yes(emu: Emulator,
                                                       cli_env: dict[str, str]) -> None:
    wide = "UPDATE runs SET description = 'checked' WHERE labels ->> '$.status' = 'succeeded'"
    refused = on(emu, cli_env, "SELECT 1 AS one;\n" + wide)
    assert refused.returncode == 1 and refused.stdout == "one\n1\n"
    assert re.match(r"runs-sql: refused: this UPDATE touches more than 100 runs: it would "
                    r"update \d{3} runs \(", refused.stderr), refused.stderr
    assert emu.calls("runs.patch") == 0
    narrow = on(emu, cli_env, "UPDATE runs SET description = 'checked' WHERE experimentsId = "
                "'bert-glue' AND labels ->> '$.status' = 'succeeded'")
    assert narrow.returncode == 0, narrow.stderr
    assert re.fullmatch(r"runs-sql: \d+ rows updated\n", narrow.stderr)
    assert on(emu, cli_env, "--yes", wide).returncode == 0
    assert runs(emu, cli_env, "WHERE description = 'checked'") == runs(
        emu, cli_env, "WHERE labels ->> '$.status' = 'succeeded'") > 100


def test_the_shell_asks_before_a_risky_write(emu: Emulator, cli_env: dict[str, str]) -> None:
    term = Terminal([*CLI, "--url", url_of(emu)], cli_env)
    term.expect(r"runs> $")
    term.send("DELETE FROM runs WHERE experimentsId = 'bert-glue' OR 1 = 1;\n")
    term.expect(r"it would delete 360 runs \([\w-]+/[\w-]+-\d{4}, .*\)\.\nGo ahead\? "
                r"\[y/N\] $")
    term.send("n\n")
    term.expect(r"runs-sql: cancelled: nothing was changed\nruns> $")
    term.send("DELETE FROM runs;\n")
    term.expect(r"has no WHERE clause: it would delete 360 runs .*\nGo ahead\? \[y/N\] $")
    term.send("y\n")
    term.expect(r"\(360 rows deleted\)\nruns> $")
    term.send("quit\n")
    assert term.wait() == 0
    assert emu.calls("runs.delete") == 360


# -- paths that do not exist ---------------------------------------------------------------------


def test_a_url_naming_a_missing_experiment_is_an_error(emu: Emulator,
                                                       cli_env: dict[str, str]) -> None:
    path = "demo-project/us-central1/1000000000000000001/bert-glu"
    result = cli("--url", url_of(emu, path), "SELECT 1 AS one", env=cli_env)
    assert result.returncode == 1 and result.stdout == ""
    assert result.stderr.startswith("runs-sql: ProgrammingError: The experiment 'bert-glu' "
                                    "named by the connection does not exist")


def test_a_where_naming_a_missing_experiment_is_noted(emu: Emulator,
                                                      cli_env: dict[str, str]) -> None:
    result = on(emu, cli_env, "SELECT displayName FROM runs WHERE experimentsId = 'bert-glu'")
    assert (result.returncode, result.stdout) == (0, "displayName\n")
    assert result.stderr == (
        "runs-sql: note: experiment 'bert-glu' does not exist (in projects/demo-project/"
        "locations/us-central1/tensorboards/1000000000000000001), so no row matched. Did you "
        "mean 'bert-glue'?\n")
    # A real experiment with no matching row gets no note.
    empty = on(emu, cli_env, "SELECT displayName FROM runs WHERE experimentsId = 'bert-glue' "
               "AND displayName = 'none'")
    assert (empty.returncode, empty.stderr) == (0, "")


# -- errors for people ---------------------------------------------------------------------------


@pytest.mark.parametrize(("sql", "message"), [
    ("SELEC * FROM runs", "runs-sql: ProgrammingError: SQL syntax error at line 1, column 1: "
                          "'SELEC' does not begin a statement; did you mean SELECT?"),
    ("SELECT *\nFORM runs", "runs-sql: ProgrammingError: SQL syntax error at line 2, column 9: "
                            "unexpected 'runs'; did you mean FROM instead of 'FORM'? (in: "
                            "'SELECT * FORM runs')"),
    ("SELECT * FROM runs WHERE", "runs-sql: ProgrammingError: SQL syntax error at line 1, "
                                 "column 24: expected a condition after WHERE"),
    ("SELECT * FROM run", "runs-sql: ProgrammingError: Unknown table 'run'. Did you mean "
                          "'runs'?"),
    ("SELECT displayNme FROM runs", "runs-sql: ProgrammingError: no such column: displayNme; "
                                    "did you mean 'displayName'?"),
    ("SELECT cout(*) FROM runs", "runs-sql: ProgrammingError: no such function: COUT; did you "
                                 "mean 'count'?"),
    ("SELECT displayName FROM runs WHERE labels.status = 'failed'",
     "runs-sql: ProgrammingError: no such column: labels.status; labels is a JSON column: "
     "write labels ->> '$.status' for its 'status' key"),
])
def test_errors_say_what_to_write(emu: Emulator, cli_env: dict[str, str], sql: str,
                                  message: str) -> None:
    result = on(emu, cli_env, sql)
    assert result.returncode == 1
    assert len(result.stderr.splitlines()) == 1
    assert result.stderr.startswith(message), result.stderr
    assert "sqlglot" not in result.stderr and "<class" not in result.stderr


@pytest.mark.parametrize(("url", "hint"), [
    ("runs:/demo-project/us-central1", "Hint: write runs://demo-project/us-central1 (two "
                                       "slashes after runs:)."),
    ("http://127.0.0.1:8471", "Hint: http://127.0.0.1:8471 is an API address: write "
                              "runs://PROJECT/LOCATION?endpoint=http://127.0.0.1:8471"),
    ("runs://localhost:8471/us-central1", "Hint: for an API or emulator at localhost:8471, "
                                          "write runs://PROJECT/LOCATION?endpoint="
                                          "http://localhost:8471."),
    ("demo-project/us-central1", "Hint: a URL starts with runs://: write "
                                 "runs://demo-project/us-central1."),
])
def test_an_almost_right_url_says_what_to_write(cli_env: dict[str, str], url: str,
                                                hint: str) -> None:
    result = cli("--url", url, "SELECT 1", env=cli_env)
    assert result.returncode == 2
    assert result.stderr.startswith("runs-sql: error: ") and hint in result.stderr, \
        result.stderr


def test_a_failing_statement_of_a_script_is_named(emu: Emulator, cli_env: dict[str, str],
                                                  tmp_path: Path) -> None:
    script = tmp_path / "report.sql"
    script.write_text("-- two good, one bad\nSELECT 1 AS a;\nSELECT 2 AS b;\n\n"
                      "SELECT nope\nFROM runs;\nSELECT 4 AS d;\n")
    result = on(emu, cli_env, "-f", str(script))
    assert result.returncode == 1 and result.stdout == "a\n1\nb\n2\n"
    assert result.stderr.startswith("runs-sql: ProgrammingError: no such column: nope")
    assert result.stderr.rstrip().endswith(f"(statement 3, line 5 of {script})")


# -- the command line ----------------------------------------------------------------------------


def test_bind_parameters_on_the_command_line(emu: Emulator, cli_env: dict[str, str]) -> None:
    result = on(emu, cli_env, "-p", "experiment=bert-glue", "-p", "status=failed",
                "SELECT count(*) AS n FROM runs WHERE experimentsId = :experiment AND "
                "labels ->> '$.status' = :status; SELECT ':status' AS text")
    assert result.returncode == 0, result.stderr
    expected = runs(emu, cli_env, "WHERE experimentsId = 'bert-glue' AND "
                    "labels ->> '$.status' = 'failed'")
    assert result.stdout == f"n\n{expected}\ntext\n:status\n"
    bad = on(emu, cli_env, "-p", "oops", "SELECT 1")
    assert bad.returncode == 2 and "expected NAME=VALUE" in bad.stderr


def test_version_and_help_of_both_commands(cli_env: dict[str, str]) -> None:
    for command in (CLI, EMULATOR_CLI):
        version = subprocess.run([*command, "--version"], capture_output=True, text=True,
                                 env=cli_env, timeout=TIMEOUT, check=False)
        assert version.returncode == 0
        assert re.fullmatch(r"runs-(sql|emulator) \S+\n", version.stdout), version.stdout
    sql_help = subprocess.run([*CLI, "--help"], capture_output=True, text=True, env=cli_env,
                              timeout=TIMEOUT, check=True).stdout
    for variable in ("RUNS_URL", "RUNS_SQL_HOME", "XDG_DATA_HOME", "PAGER",
                     "GOOGLE_APPLICATION_CREDENTIALS", "--yes", "--no-pager", "-p NAME=VALUE"):
        assert variable in sql_help, variable
    emulator_help = subprocess.run([*EMULATOR_CLI, "--help"], capture_output=True, text=True,
                                   env=cli_env, timeout=TIMEOUT, check=True).stdout
    assert "(default: 8471)" in emulator_help and "(default: 127.0.0.1)" in emulator_help
    assert "/emulator/stats" in emulator_help


def test_expanded_rows_booleans_and_the_debug_plan(emu: Emulator, cli_env: dict[str, str]) -> None:
    result = on(emu, cli_env, "-F", "table", "-x",
                "SELECT displayName, isDefault FROM tensorboards")
    assert result.stdout == ("-[ RECORD 1 ]---\ndisplayName | demo\nisDefault   | false\n"
                             "(1 row)\n")
    assert on(emu, cli_env, "-F", "csv", "SELECT isDefault FROM tensorboards").stdout == \
        "isDefault\nfalse\n"
    debug = on(emu, cli_env, "--debug", "SELECT displayName FROM runs WHERE experimentsId = "
               "'bert-glue' AND labels ->> '$.status' = 'failed'")
    assert debug.returncode == 0
    plan = debug.stderr[debug.stderr.index("plan:"):]
    assert re.search(r"plan:\n  1\. tensorboards\.list: GET /v1/projects/demo-project/"
                     r"locations/us-central1/tensorboards\n", plan), plan
    assert '     parameters: filter=labels.status = "failed"; pageSize=1000' in plan
    assert "Scan(" not in debug.stderr and len(max(debug.stderr.splitlines(), key=len)) < 400


def test_explain_from_the_command_line(emu: Emulator, cli_env: dict[str, str]) -> None:
    result = on(emu, cli_env, "-F", "csv", "EXPLAIN SELECT count(*) FROM runs")
    assert result.returncode == 0, result.stderr
    rows = list(csv.reader(io.StringIO(result.stdout)))
    assert rows[0] == ["step", "operation", "resource", "parameters", "detail"]
    assert [r[1] for r in rows[1:]] == ["tensorboards.list", "experiments.list", "runs.list",
                                        "local SQL"]
    assert emu.calls("runs.list") == 0


# -- the shell -------------------------------------------------------------------------------------


def test_shell_habits(emu: Emulator, cli_env: dict[str, str]) -> None:
    term = Terminal([*CLI, "--url", url_of(emu)], cli_env)
    term.expect(r"runs> $")
    term.send("help\n")
    term.expect(r"quit, exit, \\q +leave")
    term.expect(r"runs> $")
    term.send("\\d\n")
    term.expect(r"  runs +TensorboardRun maps")
    term.expect(r"runs> $")
    term.send("\\d runs\n")
    term.expect(r"  labels +JSON +writable, filter pushed as labels")
    term.expect(r"runs> $")
    term.send("\\x\n")
    term.expect(r"Expanded display is on\.\nruns> $")
    term.send("SELECT displayName FROM tensorboards;\n")
    term.expect(r"-\[ RECORD 1 \]-+\ndisplayName \| demo\n\(1 row\)\nruns> $")
    term.send("\\x\n")
    term.expect(r"Expanded display is off\.\nruns> $")
    term.send(".timer on\n")
    term.expect(r"Timer is on\.\nruns> $")
    term.send("SELECT count(*) AS n FROM experiments;\n")
    term.expect(r" n\n-+\n +6\n\(1 row\)\nTime: \d+\.\d ms, 2 API calls\nruns> $")
    term.send("exit;\n")
    assert term.wait() == 0


@pytest.mark.parametrize("leave", ["quit", "\\q", "exit"])
def test_bare_words_leave_the_shell(emu: Emulator, cli_env: dict[str, str], leave: str) -> None:
    term = Terminal([*CLI, "--url", url_of(emu)], cli_env)
    term.expect(r"runs> $")
    term.send(leave + "\n")
    assert term.wait() == 0
    assert "...>" not in term.plain


def test_one_start_up_notice(cli_env: dict[str, str]) -> None:
    term = Terminal(CLI, cli_env)  # the embedded default
    term.expect(r"runs> $", timeout=120)
    before = term.plain[:term.plain.rindex("runs> ")]
    assert before.count("runs-sql:") == 1, before
    assert "embedded emulator's demo data" in before and "Type help for help" in before
    term.send("\\q\n")
    assert term.wait() == 0


def test_a_pager_for_tall_results(emu: Emulator, cli_env: dict[str, str]) -> None:
    sql = "SELECT runsId FROM runs WHERE experimentsId = 'bert-glue' ORDER BY runsId;\n"
    paged = dict(cli_env, PAGER="sed 's/^/paged: /'")
    term = Terminal([*CLI, "--url", url_of(emu)], paged)  # 50 rows tall
    term.expect(r"runs> $")
    term.send(sql)
    term.expect(r"paged: \(60 rows\)\nruns> $")
    assert "paged:  bert-glue-0001" in term.plain
    term.send("SELECT 1 AS one;\n")  # short: no pager
    term.expect(r"\n one\n-+\n +1\n\(1 row\)\nruns> $")
    term.send("quit\n")
    assert term.wait() == 0
    plain = Terminal([*CLI, "--url", url_of(emu), "--no-pager", sql], paged)
    plain.expect(r"\(60 rows\)")
    assert plain.wait() == 0 and "paged:" not in plain.plain


# -- runs-emulator -------------------------------------------------------------------------------


def test_emulator_port_in_use_is_one_line(cli_env: dict[str, str]) -> None:
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = subprocess.run([*EMULATOR_CLI, "--port", str(port)], capture_output=True,
                                text=True, env=cli_env, timeout=TIMEOUT, check=False)
    assert result.returncode == 2
    assert result.stderr == (f"runs-emulator: cannot listen on 127.0.0.1:{port}: the port is in "
                             "use (pick another with --port, or 0 for a free one)\n")


def test_emulator_demo_seeds_an_empty_store_on_restart(tmp_path: Path) -> None:
    db = str(tmp_path / "store.sqlite")
    with Emulator(db=db) as first:
        assert first.stats()["calls"] == {} or sum(first.stats()["calls"].values()) == 0
    with Emulator(db=db, demo=True) as second:
        made = second.seed_demo()
        assert made["created"] is False  # seeded at start, found again
    with Emulator(db=db, demo=True) as third:
        import requests

        board = f"{third.url}/v1/projects/demo-project/locations/us-central1/tensorboards"
        boards = requests.get(board, timeout=10).json()["tensorboards"]
        assert len(boards) == 1  # not seeded twice
        experiments = requests.get(f"{third.url}/v1/{boards[0]['name']}/experiments",
                                   timeout=10).json()["tensorboardExperiments"]
        assert len(experiments) == 6


def test_demo_labels_read_as_people_expect(emu: Emulator, cli_env: dict[str, str]) -> None:
    result = on(emu, cli_env, "-F", "csv", "SELECT DISTINCT labels ->> '$.lr' AS lr FROM runs "
                "ORDER BY 1")
    assert result.stdout.splitlines() == ["lr", "1e-1", "1e-2", "1e-3", "3e-2", "3e-3"]
    names = on(emu, cli_env, "-F", "csv", "SELECT displayName, labels ->> '$.lr' AS lr FROM runs "
               "WHERE experimentsId = 'bert-glue' AND runsId = 'bert-glue-0001'")
    row = names.stdout.splitlines()[1]
    name, lr = row.split(",")
    assert float(name.split("lr=")[1].split()[0]) == float(lr)
