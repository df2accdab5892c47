"""The progress line of `runs-sql`: a one-line account of long work on standard error."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TextIO

from .base import PROG

PROGRESS_DELAY = 0.3  # seconds of work before the progress line shows
PROGRESS_INTERVAL = 0.1


class ProgressLine:
    """A one-line account of long work on standard error, redrawn in place (terminals only).

    It counts what the driver reports (`connect(progress=...)`: pages fetched, resources listed
    per collection, operations waited for) and the rows written out, and shows them once a
    statement has run for PROGRESS_DELAY seconds.
    """

    ORDER = ("tensorboards", "experiments", "runs")

    def __init__(self, stream: TextIO, enabled: bool) -> None:
        self.stream = stream
        self.enabled = enabled
        self.counts: dict[str, int] = {}
        self.label = ""
        self.started = 0.0
        self.shown = False
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def __call__(self, event: str, count: int) -> None:
        with self._lock:
            self.counts[event] = self.counts.get(event, 0) + count

    def start(self, label: str = "") -> None:
        if not self.enabled:
            return
        self.stop()
        with self._lock:
            self.counts = {}
            self.label = label
            self.started = time.monotonic()
        self._stop.clear()
        self._thread = threading.Thread(target=self._tick, name="runs-sql-progress",
                                        daemon=True)
        self._thread.start()

    def stop(self) -> None:
        if self._thread is not None:
            self._stop.set()
            self._thread.join()
            self._thread = None
        self.clear()

    def clear(self) -> None:
        with self._lock:
            self._erase()

    def _erase(self) -> None:
        if self.shown:
            self.stream.write("\r\x1b[K")
            self.stream.flush()
            self.shown = False

    @contextmanager
    def held(self) -> Iterator[None]:
        """Erase the line and keep it away while the caller writes to the same terminal."""
        with self._lock:
            self._erase()
            yield

    def text(self) -> str:
        with self._lock:
            counts = dict(self.counts)
            elapsed = time.monotonic() - self.started
        parts = [self.label] if self.label else []
        pages = counts.pop("pages", 0)
        if pages:
            listed = [_count(counts.pop(name, 0), name) for name in self.ORDER
                      if counts.get(name)]
            listed += [_count(n, name) for name, n in sorted(counts.items())
                       if name not in ("operations", "rows") and n]
            detail = f" ({', '.join(listed)})" if listed else ""
            parts.append(f"{_count(pages, 'pages')} fetched{detail}")
        if counts.get("operations"):
            parts.append(f"{_count(counts['operations'], 'operations')} waited for")
        if counts.get("rows"):
            parts.append(f"{_count(counts['rows'], 'rows')} written")
        parts.append(f"{elapsed:.1f} s")
        return f"{PROG}: " + ", ".join(parts)

    def _tick(self) -> None:
        while not self._stop.wait(PROGRESS_INTERVAL):
            if time.monotonic() - self.started < PROGRESS_DELAY:
                continue
            line = self.text()
            width = terminal_width(self.stream)
            if len(line) >= width:
                line = line[: max(10, width - 2)] + "…"
            with self._lock:
                if self._stop.is_set():
                    return
                self.stream.write("\r\x1b[K" + line)
                self.stream.flush()
                self.shown = True


def _count(number: int, plural: str) -> str:
    word = plural[:-1] if number == 1 and plural.endswith("s") else plural
    return f"{number:,} {word}"


def terminal_width(stream: TextIO) -> int:
    try:
        return os.get_terminal_size(stream.fileno()).columns or 80
    except (OSError, ValueError):
        return 80
