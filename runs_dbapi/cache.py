"""An opt-in time-to-live cache of API reads, shared by the connections of one engine.

A dashboard of several charts over one dataset sends the same listings once per chart; against
a quota-limited API that is the cost of BI use. With `connect(cache_ttl=SECONDS)` (or
`?cache_ttl=SECONDS` in a runs:// URL) the connection's REST client is a `CachingClient`:

* what is cached: the answers of listings (each page of `GET parent/collection`) and gets
  (`GET name`); never operations, writes or custom verbs;
* the key: everything that can change an answer: the endpoint, a fingerprint of the
  credentials' identity (a hash: never a token), the quota project, the path, and every query
  parameter (filter, orderBy, pageSize, pageToken, readMask);
* shared: connections with the same endpoint, identity, quota project and cache settings use
  one store (a process-level registry), so the connections of an engine's pool, and the charts
  of a Superset dashboard, share it;
* emptied by writes through the driver: create, batchCreate, patch, delete (and its operation)
  and custom verbs drop every entry on the written resource's path: its own gets and listings
  below it, the listing it belongs to, and its ancestors (whose counts may change), whatever
  spelling of the project (ID or number) either side used;
* bounded: entries expire after the TTL, and the store keeps at most `max_bytes` of JSON,
  dropping the least recently used first.

Hits and misses are counted (`stats()`, `Connection.cache_stats()`, EXPLAIN ANALYZE's total)
and logged at DEBUG. Writes made elsewhere (the console, another process) are seen when the
entries expire: choose the TTL as the staleness a dashboard may show.
"""

from __future__ import annotations

import copy
import hashlib
import json
import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from .rest import RestClient

__all__ = ["CacheStats", "CachingClient", "SharedCache", "clear_shared_caches",
           "identity_fingerprint", "shared_cache"]

logger = logging.getLogger(__name__)

Json = dict[str, Any]
DEFAULT_MAX_BYTES = 64 * 1024 * 1024
# (kind, endpoint, identity, quota project, path, query parameters)
Key = tuple[str, str, str, str, str, tuple[tuple[str, str], ...]]


@dataclass(frozen=True)
class CacheStats:
    hits: int
    misses: int
    entries: int
    bytes: int
    invalidations: int


@dataclass
class _Entry:
    value: Any
    expires: float
    size: int


def _unprojected(path: str) -> str:
    """The path without its project segment (`projects/p/...` and `projects/123/...` alike)."""
    parts = path.strip("/").split("/")
    if len(parts) >= 2 and parts[0] == "projects":
        parts[1] = "*"
    return "/".join(parts)


def _related(entry_path: str, written: str) -> bool:
    """An entry on the written path: the resource itself or below it, the listing it belongs
    to, or an ancestor (compared segment by segment)."""
    a, b = _unprojected(entry_path).split("/"), _unprojected(written).split("/")
    shorter = min(len(a), len(b))
    return a[:shorter] == b[:shorter]


class SharedCache:
    """A thread-safe store of API answers with a time to live and a size bound (LRU)."""

    def __init__(self, ttl: float, max_bytes: int = DEFAULT_MAX_BYTES) -> None:
        if ttl <= 0:
            raise ValueError(f"cache_ttl must be a positive number of seconds, not {ttl!r}")
        self.ttl = ttl
        self.max_bytes = max_bytes
        self._entries: OrderedDict[Key, _Entry] = OrderedDict()
        self._lock = threading.Lock()
        self._bytes = 0
        self._hits = 0
        self._misses = 0
        self._invalidations = 0

    def lookup(self, key: Key) -> tuple[bool, Any]:
        """(True, a copy of the answer) if fresh, else (False, None); counted."""
        now = time.monotonic()
        with self._lock:
            entry = self._entries.get(key)
            if entry is not None and entry.expires <= now:
                self._drop(key)
                entry = None
            if entry is None:
                self._misses += 1
                return False, None
            self._entries.move_to_end(key)
            self._hits += 1
        return True, copy.deepcopy(entry.value)  # callers may change what they get

    def store(self, key: Key, value: Any) -> None:
        size = len(json.dumps(value, default=str))
        if size > self.max_bytes:
            return
        with self._lock:
            if key in self._entries:
                self._drop(key)
            self._entries[key] = _Entry(copy.deepcopy(value), time.monotonic() + self.ttl, size)
            self._bytes += size
            while self._bytes > self.max_bytes:
                self._drop(next(iter(self._entries)))

    def invalidate(self, written: str) -> int:
        """Drop every entry on the written resource's path; how many were dropped."""
        with self._lock:
            stale = [k for k in self._entries if _related(k[4], written)]
            for key in stale:
                self._drop(key)
            self._invalidations += len(stale)
        if stale:
            logger.debug("cache: a write to %s dropped %d entries", written, len(stale))
        return len(stale)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
            self._bytes = 0

    def stats(self) -> CacheStats:
        with self._lock:
            return CacheStats(self._hits, self._misses, len(self._entries), self._bytes,
                              self._invalidations)

    def _drop(self, key: Key) -> None:
        self._bytes -= self._entries.pop(key).size


_REGISTRY: dict[tuple[Any, ...], SharedCache] = {}
_REGISTRY_LOCK = threading.Lock()


def shared_cache(ttl: float, max_bytes: int, *scope: str) -> SharedCache:
    """The process's store for these settings and scope (endpoint, identity, quota project):
    connections made with the same ones (an engine's pool) share it."""
    with _REGISTRY_LOCK:
        key = (float(ttl), int(max_bytes), *scope)
        cache = _REGISTRY.get(key)
        if cache is None:
            cache = _REGISTRY[key] = SharedCache(ttl, max_bytes)
        return cache


def clear_shared_caches() -> None:
    """Empty every store of the process (a benchmark's fresh start, or after writes made
    elsewhere that should be seen before the entries expire)."""
    with _REGISTRY_LOCK:
        caches = list(_REGISTRY.values())
    for cache in caches:
        cache.clear()


def identity_fingerprint(**identity: Any) -> str:
    """A short hash naming whose credentials these are, from the connect() options that pick
    them (a token is hashed with the rest, never kept): equal for the same identity, so that
    one identity's cached answers are never served to another."""
    parts: list[str] = []
    for name, given in sorted(identity.items()):
        if given is None or given is False:
            continue
        value = given
        if isinstance(given, Mapping):  # credentials_info: the account, not the key
            value = given.get("client_email") or given.get("client_id") or json.dumps(
                given, sort_keys=True)
        elif not isinstance(given, (str, bool, int)):  # a credentials object
            value = (getattr(given, "service_account_email", None)
                     or f"{type(given).__name__}@{id(given)}")
        parts.append(f"{name}={value}")
    digest = hashlib.sha256("\n".join(parts or ["ambient"]).encode()).hexdigest()
    return digest[:16]


class CachingClient(RestClient):
    """A RestClient whose reads go through a SharedCache and whose writes empty it."""

    def __init__(self, *args: Any, cache: SharedCache, identity: str = "",
                 quota_project: str | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.cache = cache
        self._scope = (self.endpoint, identity, quota_project or "")
        self._pending_deletes: set[str] = set()
        self._pending_lock = threading.Lock()

    def _key(self, kind: str, path: str, params: Mapping[str, Any] | None) -> Key:
        query = tuple(sorted((str(k), str(v)) for k, v in (params or {}).items()))
        return (kind, *self._scope, path.strip("/"), query)

    def _cached(self, kind: str, path: str, params: Mapping[str, Any] | None,
                fetch: Any) -> Any:
        key = self._key(kind, path, params)
        hit, value = self.cache.lookup(key)
        if hit:
            logger.debug("cache hit: GET %s %s", path, dict(key[5]))
            return value
        logger.debug("cache miss: GET %s %s", path, dict(key[5]))
        value = fetch()
        if value is not None:
            self.cache.store(key, value)
        return value

    # -- reads ---------------------------------------------------------------------------------

    def get(self, name: str) -> Json | None:
        answer: Json | None = self._cached("get", name, None, lambda: super(
            CachingClient, self).get(name))
        return answer

    def request(self, method: str, path: str, *, params: Mapping[str, Any] | None = None,
                body: Any = None, idempotent: bool) -> Json:
        """Listings (a GET of a collection: an odd number of path segments, as in
        `projects/p/locations/l/tensorboards`) are cached page by page; anything else is
        sent (operations polled, custom verbs)."""
        def send() -> Json:
            return super(CachingClient, self).request(method, path, params=params, body=body,
                                                      idempotent=idempotent)

        if method.upper() != "GET" or len(path.strip("/").split("/")) % 2 == 0:
            return send()
        answer: Json = self._cached("list", path, params, send)
        return answer

    # -- writes: the entries on the written path are dropped, whatever the outcome -------------

    def _written(self, path: str) -> None:
        self.cache.invalidate(path.split(":", 1)[0])

    def create(self, parent: str, collection: str, body: Mapping[str, Any],
               **kw: Any) -> Json:
        try:
            return super().create(parent, collection, body, **kw)
        finally:
            self._written(f"{parent}/{collection}")

    def batch_create(self, parent: str, collection: str, requests: list[dict[str, Any]],
                     *args: Any, **kw: Any) -> Any:
        try:
            return super().batch_create(parent, collection, requests, *args, **kw)
        finally:
            # Each request names its parent (under another resource than `parent`, for a
            # batchCreate posted to an ancestor): each of their listings is written.
            for written in {f"{r.get('parent') or parent}/{collection}" for r in requests
                            if isinstance(r, dict)} | {f"{parent}/{collection}"}:
                self._written(written)

    def patch(self, name: str, body: Mapping[str, Any],
              update_mask: Sequence[str] | None = None, *, idempotent: bool = False) -> Json:
        try:
            return super().patch(name, body, update_mask, idempotent=idempotent)
        finally:
            self._written(name)

    def delete(self, name: str) -> Json:
        try:
            return super().delete(name)
        finally:
            self._written(name)
            with self._pending_lock:
                self._pending_deletes.add(name)

    def wait_operation(self, *args: Any, **kw: Any) -> Any:
        """A delete takes effect when its operation is done: what was read meanwhile is
        dropped again then."""
        try:
            return super().wait_operation(*args, **kw)
        finally:
            with self._pending_lock:
                pending, self._pending_deletes = self._pending_deletes, set()
            for name in pending:
                self._written(name)

    def post(self, name_with_verb: str, body: Any, *, idempotent: bool = False) -> Json:
        try:
            return super().post(name_with_verb, body, idempotent=idempotent)
        finally:
            self._written(name_with_verb)

    def cache_stats(self) -> CacheStats:
        return self.cache.stats()


def stats_text(stats: CacheStats) -> str:
    return (f"cache: {stats.hits} hits, {stats.misses} misses, {stats.entries} entries "
            f"({stats.bytes} bytes)")
