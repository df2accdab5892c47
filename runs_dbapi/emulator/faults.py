"""Seeded, deterministic fault injection and per-method call counters."""

from __future__ import annotations

import fnmatch
import random
import threading
from collections import Counter
from dataclasses import dataclass, field

# Kinds of fault: an HTTP error before the request is served, a connection reset before it is
# served, a reset after it was served (the response is lost: the client cannot know the write
# happened), a 503 UNAVAILABLE sent after it was served (`503_after`: a change it made is kept,
# its answer replaced, as when a front end gives up on a back end that went on to finish the
# work; like lost_response, a call the method refuses keeps its own error), or a slow reply.
FAULT_KINDS = ("429", "500", "503", "reset", "lost_response", "503_after", "slow")


@dataclass(frozen=True)
class FaultPlan:
    rate: float = 0.0
    kinds: tuple[str, ...] = ("429", "500", "503", "reset", "slow")
    methods: tuple[str, ...] = ("*",)  # fnmatch patterns over method names such as "runs.list"
    seed: int = 0
    retry_after: int = 0  # seconds sent in Retry-After with each 429
    slow_seconds: float = 0.2

    def __post_init__(self) -> None:
        if not 0.0 <= self.rate <= 1.0:
            raise ValueError(f"fault rate must be within [0, 1], got {self.rate}")
        unknown = set(self.kinds) - set(FAULT_KINDS)
        if unknown:
            raise ValueError(f"unknown fault kinds {sorted(unknown)}; known: {FAULT_KINDS}")
        if not self.kinds:
            raise ValueError("a fault plan needs at least one kind")


@dataclass
class Counters:
    """Calls per method, faults per kind; safe to update from many handler threads."""

    calls: Counter[str] = field(default_factory=Counter)
    faults: Counter[str] = field(default_factory=Counter)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def count_call(self, method: str) -> None:
        with self.lock:
            self.calls[method] += 1

    def count_fault(self, kind: str) -> None:
        with self.lock:
            self.faults[kind] += 1

    def snapshot(self) -> dict[str, dict[str, int]]:
        with self.lock:
            return {"calls": dict(self.calls), "faults": dict(self.faults)}

    def reset(self) -> None:
        with self.lock:
            self.calls.clear()
            self.faults.clear()


class FaultInjector:
    def __init__(self, plan: FaultPlan | None = None) -> None:
        self._lock = threading.Lock()
        self.configure(plan or FaultPlan())

    def configure(self, plan: FaultPlan) -> None:
        with self._lock:
            self.plan = plan
            self._random = random.Random(plan.seed)

    def draw(self, method: str) -> str | None:
        """The fault to inject into this call, if any (one draw per call, in arrival order)."""
        with self._lock:
            plan = self.plan
            if plan.rate <= 0 or not any(fnmatch.fnmatchcase(method, p) for p in plan.methods):
                return None
            if self._random.random() >= plan.rate:
                return None
            return plan.kinds[self._random.randrange(len(plan.kinds))]
