"""Pages fetched on a shared pool ahead of their reader, never holding a worker hostage."""

from __future__ import annotations

import logging
import threading
from collections import deque
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from .exceptions import InterfaceError
from .local import Row

logger = logging.getLogger(__name__)

Path = dict[str, str]

# Set when the interpreter exits, before it joins the pool's worker threads: page fetches still
# queued for a result nobody will read then end at once instead of delaying the exit.
# (`threading._register_atexit` is what concurrent.futures uses; its hooks run in reverse order
# of registration, so this one runs before the pool's join.)
_EXITING = threading.Event()
getattr(threading, "_register_atexit", lambda hook: None)(_EXITING.set)


@dataclass
class RawPage:
    """Resources as the API sent them (a page, or one get), with their parent's path.

    Producers hand these over as they are; the reader makes the rows, so that the next page is
    being fetched meanwhile.
    """

    path: Path
    resources: list[dict[str, Any]]


Item = list[Row] | RawPage  # what a source yields: a raw page (or get), or page-mode rows


class PageStream:
    """Pages fetched on a shared pool ahead of the reader, read in arrival order.

    Each source is an iterator of items (a listing's pages, or one get; one API call each)
    that a pool task advances. At most `ahead` items are buffered or being fetched: `depth`, or
    more for a fan-out, whose sources then start in one wave (up to the pool's size). A task
    goes on with its source only while there is room ahead; otherwise it parks the source here,
    holding no thread, and returns its worker; the reader resumes a parked source when it takes
    an item. No worker ever waits for a reader: a result that is not being read holds no thread
    and at most `ahead` pages, so other queries (and this one's own fan-out, between two rows of
    it) always find the pool's workers free after the calls in flight. Closing the stream, or
    dropping its reader (`abandon`), ends its fetching after those calls.
    """

    def __init__(self, pool: ThreadPoolExecutor, sources: list[Iterator[Item]],
                 depth: int = 4) -> None:
        self._pool = pool
        self._lock = threading.Condition(threading.RLock())
        self._buffer: deque[Item] = deque()
        self._ready: deque[Iterator[Item]] = deque(sources)  # waiting to start, or parked
        self._live = len(sources)  # sources not yet exhausted
        self._fetching = 0  # tasks on the pool
        self._error: BaseException | None = None
        self._stopped = False  # a plain flag: `abandon` may run in a finalizer, lock-free
        self._lost = False  # a fetch was cancelled (its pool shut down): the rows are not whole
        concurrency = max(1, getattr(pool, "_max_workers", 1))
        self.ahead = max(depth, min(concurrency, len(sources)))
        with self._lock:
            self._start()

    @property
    def stopped(self) -> bool:
        return self._stopped or _EXITING.is_set()

    def _start(self) -> None:
        """Put ready sources on the pool while there is room ahead (the lock is held)."""
        while self._ready and not self.stopped and \
                len(self._buffer) + self._fetching < self.ahead:
            source = self._ready.popleft()
            self._fetching += 1
            try:
                future = self._pool.submit(self._advance, source)
            except RuntimeError:  # the pool is shut down: its connection was closed
                self._fetching -= 1
                self._ready.appendleft(source)
                self._fail(InterfaceError("The connection was closed while reading a result."))
                return
            future.add_done_callback(self._cancelled)

    def _advance(self, source: Iterator[Item]) -> None:
        """Run a source on a pool worker: fetch its next item and buffer it, and go on while
        there is room ahead and no other source waits; then park it (or end it) and return."""
        going = True
        while going:
            item: Item | None = None
            failure: BaseException | None = None
            if not self.stopped:
                try:
                    item = next(source)
                except StopIteration:
                    pass
                except BaseException as error:  # handed to the reader, who raises it
                    failure = error
            with self._lock:
                if self.stopped or failure is not None or item is None:
                    self._fetching -= 1
                    self._live -= 1
                    if failure is None:
                        self._start()  # its room ahead goes to a waiting source
                    elif not self.stopped:
                        self._fail(failure)
                    item, going = None, False
                else:
                    self._buffer.append(item)
                    going = not self._ready and \
                        len(self._buffer) + self._fetching <= self.ahead  # itself included
                    if not going:
                        self._fetching -= 1
                        self._ready.append(source)  # parked
                        self._start()
                self._lock.notify_all()
        if item is None:
            _close(source)

    def _cancelled(self, future: Future[None]) -> None:
        # Run by the pool's shutdown under its own lock: taking this stream's lock here could
        # deadlock with `_start`, so it only sets a flag, which a waiting reader polls for.
        if future.cancelled():
            self._lost = True

    def _fail(self, error: BaseException) -> None:
        if self._error is None:
            self._error = error
        self._lock.notify_all()

    def __iter__(self) -> Iterator[Item]:
        while True:
            with self._lock:
                while not (self._buffer or self._error is not None or self._lost
                           or not self._live or self.stopped):
                    self._lock.wait(0.5)  # woken by each item; the timeout is for `_lost`
                if self.stopped:
                    return  # closed
                error = self._error
                if error is None and self._lost:
                    error = InterfaceError("The connection was closed while reading a result.")
                if error is None and not self._buffer:
                    return  # every source is exhausted
                if error is None:
                    item = self._buffer.popleft()
                    self._start()  # room ahead again: resume a parked source
            if error is not None:
                self.close()
                raise error
            yield item

    def close(self) -> None:
        """Stop fetching and let go of the pages fetched ahead and the parked sources."""
        self._stopped = True
        with self._lock:
            parked = list(self._ready)
            self._live -= len(parked)
            self._ready.clear()
            self._buffer.clear()
            self._lock.notify_all()
        for source in parked:
            _close(source)

    def abandon(self) -> None:
        """Stop fetching, from a finalizer (its reader was dropped): takes no lock, so that it
        is safe wherever garbage collection runs; the parked sources and buffered pages go with
        the stream, and a task on the pool stops after its current call."""
        self._stopped = True


def _close(source: Iterator[Item]) -> None:
    close = getattr(source, "close", None)
    if close is not None:
        try:
            close()
        except Exception:  # a listing that cannot end cleanly is let go all the same
            logger.debug("closing a page source failed", exc_info=True)
