"""Start an in-process emulator for `connect(emulator=...)`: the one place the driver imports it."""

from __future__ import annotations

from typing import Any


def start_embedded_emulator(where: str, *, demo: bool) -> Any:
    """`where` is "memory" or the path of a SQLite file that keeps the data across runs."""
    from .emulator import Emulator  # noqa: PLC0415 - the driver loads it only on request

    emulator = Emulator(db=":memory:" if where == "memory" else where)
    if demo:
        emulator.seed_demo()
    return emulator.start()
