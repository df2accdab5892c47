"""The README's two set-up commands, as written, in a fresh clone with a new virtual environment.

The clone is of the working tree as it is (tracked files and untracked ones git does not
ignore, committed into a scratch repository), so the test needs no commit first. pip installs
everything for real, from its cache where it can. The data directory is a new one
($XDG_DATA_HOME), as on a machine that never ran runs-sql.

The test command runs as written, with `PYTEST_ADDOPTS` (extra arguments pytest reads from the
environment) narrowing what it runs, not what it collects. Running the whole suite a second time
inside the clone would double the time of the default `python -m pytest` (issue 12), and the
outer run has just run every test on the same files. What only a new environment can get wrong
is checked all the same:

- every test module is still collected, that is imported, in the new environment: `-k` deselects
  after collection, and a module that fails to import there (a dependency missing from
  setup.cfg, a file git does not track) fails the run. The tests collected there (passed plus
  deselected) and the modules skipped at collection (`pytest.importorskip` of a package of
  another extra) must be exactly those this environment collects from the same clone (so run
  this test from an environment installed as the README says, with `.[test]`, as CI does);
- the tests of a few quick modules (QUICK: about 20 seconds, none of them skipped) then run with
  the packages as installed there, in one process, and must all pass: the architecture checks,
  connections with keys, tokens and the embedded emulator, the ORM over a `runs://` engine (the
  dialect's entry point), the emulator's HTTP server, EXPLAIN and the seed's SELECTs through the
  driver.

This test is not among them: it would start itself again, without end.
"""

from __future__ import annotations

import csv
import io
import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from support.readme_blocks import ROOT, read_blocks

# The test modules the clone's run runs in full, chosen by a `-k` expression over their file
# names: quick ones (about 20 seconds together), none of which skips a test, that go through
# every layer of the packages as installed.
QUICK = ("tests/test_architecture.py", "tests/driver/test_connection.py",
         "tests/dialect/test_dialect_orm.py", "tests/emulator/test_emulator_server.py",
         "tests/driver/sql/test_explain.py", "tests/driver/sql/test_seed_select.py")
NARROWED = ["-p", "no:cacheprovider", "-k", " or ".join(Path(name).name for name in QUICK)]


def _git(*args: str, cwd: Path) -> str:
    return subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True,
                          text=True).stdout


def _clone_of_the_working_tree(tmp_path: Path) -> Path:
    if not (ROOT / ".git").exists() or shutil.which("git") is None:
        pytest.skip("not a git checkout, or no git")
    listed = _git("ls-files", "-z", "--cached", "--others", "--exclude-standard", cwd=ROOT)
    source = tmp_path / "source"
    for name in filter(None, listed.split("\0")):
        origin = ROOT / name
        if origin.is_file():  # a tracked file deleted in the working tree is left out
            (source / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(origin, source / name)
    _git("init", "-q", cwd=source)
    _git("add", "-A", cwd=source)
    _git("-c", "user.name=runs tests", "-c", "user.email=tests@runs.invalid", "commit", "-q",
         "-m", "the working tree", cwd=source)
    clone = tmp_path / "clone"
    _git("clone", "-q", str(source), str(clone), cwd=tmp_path)
    return clone


def _counts(summary: str) -> dict[str, int]:
    """`{"passed": 57, "deselected": 3659}` from pytest's last line."""
    return {word: int(number) for number, word in re.findall(
        r"(\d+) (passed|failed|skipped|deselected|errors?|xfailed|xpassed)", summary)}


def _skips(output: str) -> list[str]:
    """The `SKIPPED [n] file:line: reason` lines of pytest's short summary (`-ra`)."""
    return sorted(line for line in output.splitlines() if line.startswith("SKIPPED ["))


def _skipped_count(skips: list[str]) -> int:
    return sum(int(line.split("[", 1)[1].split("]", 1)[0]) for line in skips)


def _collect(python: str, clone: Path, env: dict[str, str], *narrowed: str
             ) -> tuple[str, list[str], list[str]]:
    """(pytest's count line, the test IDs, the modules skipped) of `python -m pytest
    --collect-only` over the clone's tests."""
    listing = subprocess.run([python, "-m", "pytest", "--collect-only", "-q", *narrowed],
                             cwd=clone, env=env, capture_output=True, text=True, timeout=600,
                             check=False)
    assert listing.returncode == 0, listing.stdout[-5000:] + listing.stderr[-3000:]
    lines = listing.stdout.splitlines()
    return (next(line for line in lines if " collected" in line),
            [line for line in lines if "::" in line], _skips(listing.stdout))


@pytest.mark.timeout(3600)
@pytest.mark.long
def test_the_readme_commands_in_a_fresh_clone(tmp_path: Path) -> None:
    main_job, test_command = (b.body.strip() for b in read_blocks() if b.mark == "fresh-clone")
    clone = _clone_of_the_working_tree(tmp_path)
    assert not (clone / ".venv").exists()
    env = {k: v for k, v in os.environ.items()
           if k not in ("RUNS_URL", "RUNS_SQL_HOME", "VIRTUAL_ENV", "PYTHONPATH",
                        "PYTEST_ADDOPTS")}
    env["XDG_DATA_HOME"] = str(tmp_path / "data")

    job = subprocess.run(["bash", "-c", main_job], cwd=clone, env=env, capture_output=True,
                         text=True, timeout=1200, check=False)
    assert job.returncode == 0, job.stdout + job.stderr
    rows = list(csv.reader(io.StringIO(job.stdout)))
    assert rows[0] == ["displayName", "labels"], job.stdout
    assert len(rows) == 6 and all(row[0] and row[1].startswith("{") for row in rows[1:])
    assert "using the embedded emulator's demo data" in job.stderr
    assert (tmp_path / "data" / "runs-sql" / "emulator.sqlite").is_file()

    # What this environment collects from the clone's files: what the new one must match.
    count, selected, skipped = _collect(sys.executable, clone, env, *NARROWED)
    found = re.match(r"(\d+)/(\d+) tests collected \((\d+) deselected\)", count)
    assert found, count
    collected = int(found.group(2))
    assert {test.split("::")[0] for test in selected} == set(QUICK)
    assert len(selected) == int(found.group(1)) < collected

    # In one process (`-n 0`): pytest-xdist's workers deselect on their own, and its summary has
    # no count of deselected tests to check against what was collected here.
    tests = subprocess.run(["bash", "-c", test_command], cwd=clone,
                           env={**env, "PYTEST_ADDOPTS": shlex.join([*NARROWED, "-n", "0"])},
                           capture_output=True, text=True, timeout=3000, check=False)
    summary = tests.stdout.strip().splitlines()[-1] if tests.stdout.strip() else ""
    assert tests.returncode == 0, tests.stdout[-5000:] + tests.stderr[-3000:]
    counts = _counts(summary)
    if (_skips(tests.stdout) != skipped
            or counts.get("passed", 0) + counts.get("deselected", 0) != collected):
        there = _collect(str(clone / ".venv" / "bin" / "python"), clone, env)
        here = _collect(sys.executable, clone, env)
        pytest.fail(f"the new environment collects differently: there only "
                    f"{sorted(set(there[1]) - set(here[1]))} {there[2]}, here only "
                    f"{sorted(set(here[1]) - set(there[1]))} {here[2]}; {summary}")
    # Modules skipped at collection (a package of an extra other than `test`) count as skipped.
    assert counts == {"passed": len(selected), "deselected": collected - len(selected),
                      **({"skipped": _skipped_count(skipped)} if skipped else {})}, summary
