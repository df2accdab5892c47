"""The README's two set-up commands, as written, in a fresh clone with a new virtual environment.

The clone is of the working tree as it is (tracked files and untracked ones git does not
ignore, committed into a scratch repository), so the test needs no commit first. pip installs
everything for real, from its cache where it can. The data directory is a new one
($XDG_DATA_HOME), as on a machine that never ran runs-sql. The test command runs the whole suite
in the clone; there this test skips itself (RUNS_SQL_FRESH_CLONE), or it would never end.
"""

from __future__ import annotations

import csv
import io
import os
import shutil
import subprocess
from pathlib import Path

import pytest
from readme_blocks import ROOT, read_blocks

INSIDE = "RUNS_SQL_FRESH_CLONE"

pytestmark = pytest.mark.skipif(os.environ.get(INSIDE) == "1",
                                reason="this is the fresh clone's own test run")


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


@pytest.mark.timeout(3600)
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

    tests = subprocess.run(["bash", "-c", test_command], cwd=clone, env={**env, INSIDE: "1"},
                           capture_output=True, text=True, timeout=3000, check=False)
    summary = tests.stdout.strip().splitlines()[-1] if tests.stdout.strip() else ""
    assert tests.returncode == 0, tests.stdout[-5000:] + tests.stderr[-3000:]
    assert " passed" in summary and " failed" not in summary, summary
