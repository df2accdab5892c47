"""The PEP 249 connection: configuration, the HTTP client, and dispatch of statements."""

from __future__ import annotations

import logging
import threading
import weakref
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from sqlglot import exp
from sqlglot.tokens import Token

from . import exceptions, explain
from .auth import build_session, default_endpoint
from .cache import DEFAULT_MAX_BYTES, CacheStats, CachingClient, identity_fingerprint, shared_cache
from .cursor import Cursor, Parameters
from .executor import QueryExecutor, Result
from .planner import plan_query
from .procedures import is_exec, parse_exec, run_exec
from .rest import Progress, RestClient, RetryPolicy
from .statements import bind, parse_tokens, tokenize
from .writes import WriteExecutor

logger = logging.getLogger(__name__)

PATH_OPTIONS = {"project": "projectsId", "location": "locationsId",
                "tensorboard": "tensorboardsId", "experiment": "experimentsId"}


class Connection:
    # PEP 249 optional extension: the exception classes as attributes.
    Warning = exceptions.Warning
    Error = exceptions.Error
    InterfaceError = exceptions.InterfaceError
    DatabaseError = exceptions.DatabaseError
    DataError = exceptions.DataError
    OperationalError = exceptions.OperationalError
    IntegrityError = exceptions.IntegrityError
    InternalError = exceptions.InternalError
    ProgrammingError = exceptions.ProgrammingError
    NotSupportedError = exceptions.NotSupportedError

    def __init__(
        self,
        *,
        project: str | None = None,
        location: str | None = None,
        tensorboard: str | None = None,
        experiment: str | None = None,
        endpoint: str | None = None,
        emulator: str | None = None,
        emulator_demo: bool = True,
        credentials: Any = None,
        credentials_path: str | None = None,
        credentials_info: dict[str, Any] | None = None,
        access_token: str | None = None,
        impersonate_service_account: str | None = None,
        iam_endpoint_override: str | None = None,
        quota_project: str | None = None,
        anonymous: bool = False,
        credentials_hosts: str | Sequence[str] | None = None,
        timeout: float = 60.0,
        retry: RetryPolicy | None = None,
        pushdown: bool = True,
        wait_operations: bool = True,
        ordered_inserts: bool = True,
        max_workers: int = 32,
        progress: Progress | None = None,
        cache_ttl: float | None = None,
        cache_max_bytes: int = DEFAULT_MAX_BYTES,
    ) -> None:
        """Options as documented in the README; `progress(event, count)`, if given, is told
        about work as it is done (see `runs_dbapi.rest.Progress`): pages fetched, resources
        listed per collection, operations waited for. It may be called from any thread.
        `cache_ttl` (seconds) turns on the time-to-live cache of API reads that connections
        with the same endpoint, identity and quota project share (`runs_dbapi.cache`)."""
        self.defaults = {PATH_OPTIONS[k]: v for k, v in (
            ("project", project), ("location", location), ("tensorboard", tensorboard),
            ("experiment", experiment)) if v}
        self.pushdown = pushdown
        self._embedded: Any = None
        if emulator is not None:
            from .embedded import start_embedded_emulator  # noqa: PLC0415 - only when asked

            self._embedded = start_embedded_emulator(emulator, demo=emulator_demo)
            endpoint, anonymous = self._embedded.url, True
        if endpoint is None:
            endpoint = default_endpoint(location or "global")
        self.endpoint = endpoint.rstrip("/")
        session = build_session(
            endpoint=self.endpoint, credentials=credentials, credentials_path=credentials_path,
            credentials_info=credentials_info, access_token=access_token,
            impersonate_service_account=impersonate_service_account,
            iam_endpoint_override=iam_endpoint_override, quota_project=quota_project,
            anonymous=anonymous, credentials_hosts=credentials_hosts,
            pool_size=max(32, max_workers * 2),
        )
        self.client: RestClient
        if cache_ttl is None:
            self.client = RestClient(self.endpoint, session, timeout=timeout, retry=retry,
                                     progress=progress)
        else:
            identity = "anonymous" if anonymous else identity_fingerprint(
                credentials=credentials, credentials_path=credentials_path,
                credentials_info=credentials_info, access_token=access_token,
                impersonate_service_account=impersonate_service_account)
            cache = shared_cache(cache_ttl, cache_max_bytes, self.endpoint, identity,
                                 quota_project or "")
            self.client = CachingClient(self.endpoint, session, timeout=timeout, retry=retry,
                                        progress=progress, cache=cache, identity=identity,
                                        quota_project=quota_project)
        self._pool = ThreadPoolExecutor(max_workers=max_workers,
                                        thread_name_prefix="runs-dbapi")
        self._executor = QueryExecutor(self.client, self._pool)
        # ordered_inserts=False: an INSERT's batchCreate chunks are sent at once (creation
        # order across chunks not kept), for large loads.
        self._writes = WriteExecutor(self.client, self._pool, self._query, self.defaults,
                                     wait_operations=wait_operations,
                                     ordered_inserts=ordered_inserts)
        self._lock = threading.Lock()
        # Open result sets, by id: Result is a dataclass, so unhashable (no WeakSet).
        self._results: weakref.WeakValueDictionary[int, Result] = weakref.WeakValueDictionary()
        self.closed = False

    def __repr__(self) -> str:
        where = "/".join(f"{k}={v}" for k, v in self.defaults.items())
        return f"<runs_dbapi.Connection {self.endpoint} {where}{' closed' if self.closed else ''}>"

    # -- PEP 249 -----------------------------------------------------------------------------

    def cursor(self) -> Cursor:
        self._check_open()
        return Cursor(self)

    def commit(self) -> None:
        """Writes take effect at once (the API has no transactions): nothing to commit."""
        self._check_open()

    def rollback(self) -> None:
        """Nothing to roll back: writes took effect when executed. A no-op, so that connection
        pools (which roll back on return) keep working."""
        self._check_open()

    def close(self) -> None:
        """Close now; the connection is unusable afterwards, closing it again included
        (PEP 249; the dbapi20 suite checks it). Leaving a `with` block closes it unless it
        was closed already."""
        if self.closed:
            raise exceptions.InterfaceError("The connection is already closed.")
        self.closed = True
        for result in list(self._results.values()):
            result.close()  # stops its page fetches: the workers end at their next page
        # An embedded emulator must outlive the calls still in flight to it.
        self._pool.shutdown(wait=self._embedded is not None, cancel_futures=True)
        if self._embedded is not None:
            self._embedded.stop()

    def __enter__(self) -> Connection:
        return self

    def __exit__(self, *exc: object) -> None:
        if not self.closed:
            self.close()

    def _check_open(self) -> None:
        if self.closed:
            raise exceptions.InterfaceError("The connection is closed.")

    def cache_stats(self) -> CacheStats | None:
        """Hits, misses, entries and bytes of the shared cache (None when `cache_ttl` is not
        set); the counts are the store's, so they include the other connections sharing it."""
        return self.client.cache_stats() if isinstance(self.client, CachingClient) else None

    # -- statements --------------------------------------------------------------------------

    def run(self, sql: str, parameters: Parameters) -> Result | int:
        """Execute one statement: a Result for queries, a row count for writes."""
        self._check_open()
        mode, explained = explain.split_explain(sql)
        if mode is not None:
            return explain.run_explain(self, explained, parameters, analyze=mode == "ANALYZE")
        return self._run_tokens(sql, tokenize(sql), parameters)

    def _run_tokens(self, sql: str, tokens: list[Token], parameters: Parameters
                    ) -> Result | int:
        """Execute a statement from its tokens (its only tokenization)."""
        if is_exec(tokens):
            return run_exec(self.client, parse_exec(sql, parameters, self.defaults, tokens))
        tree = bind(parse_tokens(sql, tokens), parameters)
        if isinstance(tree, exp.Query):
            return self._query(tree)
        if isinstance(tree, exp.Insert):
            return self._writes.insert(tree)
        if isinstance(tree, exp.Update):
            return self._writes.update(tree)
        if isinstance(tree, exp.Delete):
            return self._writes.delete(tree)
        kind = type(tree).__name__.upper()
        raise exceptions.NotSupportedError(
            f"Unsupported statement {kind}: runs_dbapi runs SELECT, INSERT, UPDATE, DELETE and "
            "EXEC over runs."
        )

    def _query(self, tree: exp.Expression) -> Result:
        plan = plan_query(tree, self.defaults, pushdown=self.pushdown)
        if logger.isEnabledFor(logging.DEBUG):
            logger.debug("plan:\n%s", explain.describe(plan))
        result = self._executor.run(plan)
        self._results[id(result)] = result
        return result

    def run_many(self, sql: str, parameter_sets: Sequence[Parameters]) -> int:
        """executemany: an INSERT's rows go out together (batchCreate), others one by one."""
        self._check_open()
        # EXEC has no sqlglot grammar: each parameter set runs as its own statement.
        tokens = tokenize(sql)
        tree = None if is_exec(tokens) else parse_tokens(sql, tokens)
        if isinstance(tree, exp.Insert) and parameter_sets:
            outcome = self._writes.insert(tree, list(parameter_sets))
            if isinstance(outcome, Result):
                outcome.close()
                return outcome.rowcount
            return outcome
        total = 0
        for parameters in parameter_sets:
            outcome = self._run_tokens(sql, tokens, parameters)
            if isinstance(outcome, int):
                total += outcome
            else:
                outcome.close()
        return total
