"""The emulator under load, shortened: 16 concurrent clients for 10 seconds of mixed traffic
with 5% injected faults. No 5xx beyond those injected, no lost update, memory steady. The full
60-second form is `python bench/emulator_load.py` (or this test with RUNS_LOAD_SECONDS=60).
"""

from __future__ import annotations

import importlib.util
import os
import sys
from types import ModuleType

from support import ROOT


def _bench() -> ModuleType:
    path = ROOT / "bench" / "emulator_load.py"
    spec = importlib.util.spec_from_file_location("bench_emulator_load", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


def test_sixteen_clients_of_mixed_traffic() -> None:
    seconds = float(os.environ.get("RUNS_LOAD_SECONDS", "10"))
    figures = _bench().run_load(seconds=seconds, clients=16, rate=0.05)
    assert figures["failures"] == []
    assert figures["lost_updates"] == 0
    assert figures["5xx_by_cause"]["not injected"] == 0
    assert sum(figures["faults_injected"].values()) > 0
    assert figures["shared_appends"] > 0
    assert figures["requests"] > 16 * seconds  # every client made progress
