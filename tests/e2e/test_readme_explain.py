"""The README's EXPLAIN examples show what `runs-sql` prints: each ```sh block running EXPLAIN
that is followed by a ```text block is run against a fresh embedded emulator, and its output
must be that block, exactly. `RUNS_README_WRITE=1 pytest tests/e2e/test_readme_explain.py` writes
the outputs into README.md instead (then the test checks them like any other run)."""

from __future__ import annotations

import itertools
import os
import subprocess
import sys
from pathlib import Path

import pytest
from support import ROOT
from support.readme_blocks import README, Block, read_blocks

BLOCKS = read_blocks()
PAIRS = [(block, after) for block, after in itertools.pairwise(BLOCKS)
         if block.lang == "sh" and "EXPLAIN" in block.body and after.lang == "text"]


def _run(block: Block, home: Path) -> str:
    shims = home / "bin"
    shims.mkdir(parents=True, exist_ok=True)
    shim = shims / "runs-sql"
    shim.write_text(f'#!/bin/sh\nexec {sys.executable} -m runs_dbapi.cli "$@"\n')
    shim.chmod(0o755)
    env = {k: v for k, v in os.environ.items() if k not in ("RUNS_URL", "PAGER")}
    env.update(RUNS_SQL_HOME=str(home), PATH=f"{shims}{os.pathsep}{env.get('PATH', '')}",
               PYTHONPATH=str(ROOT))
    result = subprocess.run(["bash", "-eo", "pipefail", "-c", block.body], capture_output=True,
                            text=True, env=env, timeout=180, check=False)
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_the_readme_shows_explain_of_the_seed_a_fan_out_and_a_delete() -> None:
    bodies = " ".join(block.body for block, _ in PAIRS)
    assert len(PAIRS) >= 4
    for shown in ("EXPLAIN SELECT name, displayName FROM google.aiplatform.runs",
                  "EXPLAIN SELECT nextPageToken, tensorboardRuns", "GROUP BY experimentsId",
                  "EXPLAIN DELETE FROM runs WHERE"):
        assert shown in bodies, shown


@pytest.mark.parametrize(("block", "output"), PAIRS, ids=[b.id for b, _ in PAIRS])
def test_explain_output_in_the_readme(block: Block, output: Block,
                                      tmp_path_factory: pytest.TempPathFactory) -> None:
    printed = _run(block, tmp_path_factory.mktemp("home"))
    assert "runs.delete" not in printed or "DELETE /v1/" in printed
    if os.environ.get("RUNS_README_WRITE"):
        text = README.read_text(encoding="utf-8")
        fence = f"```sh\n{block.body}```\n\n```text\n{output.body}```"
        assert fence in text
        README.write_text(text.replace(fence, f"```sh\n{block.body}```\n\n```text\n{printed}```"),
                          encoding="utf-8")
        return
    assert printed == output.body
