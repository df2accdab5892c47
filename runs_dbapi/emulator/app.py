"""`Emulator`: start, configure, inspect and stop an emulated Vertex AI TensorBoard API."""

from __future__ import annotations

import logging
import threading
from types import TracebackType
from typing import Any

from .auth import TokenAuthority
from .demo import seed
from .faults import FaultPlan
from .server import DEFAULT_MAX_BODY, EmulatorServer
from .service import Settings
from .store import Store

logger = logging.getLogger(__name__)


class Emulator:
    """A real HTTP server on loopback that answers like the Vertex AI TensorBoard REST API.

    >>> with Emulator(demo=True) as emu:          # doctest: +SKIP
    ...     requests.get(emu.url + "/v1/projects/demo-project/locations/us-central1/tensorboards")
    """

    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        db: str = ":memory:",
        latency_ms: float = 0.0,
        faults: FaultPlan | None = None,
        operation_polls: int = 0,
        require_auth: bool = False,
        tokens: tuple[str, ...] = (),
        max_body_bytes: int = DEFAULT_MAX_BODY,
        demo: bool = False,
    ) -> None:
        self.store = Store(db)
        self.auth = TokenAuthority(required=require_auth, tokens=tokens)
        self._server = EmulatorServer(
            (host, port), store=self.store, settings=Settings(operation_polls=operation_polls),
            faults=faults, latency_ms=latency_ms, auth=self.auth, max_body_bytes=max_body_bytes,
        )
        self._thread: threading.Thread | None = None
        if demo:
            self.seed_demo()

    # -- lifecycle ---------------------------------------------------------------------------

    @property
    def host(self) -> str:
        return str(self._server.server_address[0])

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def token_uri(self) -> str:
        """Put this in a service-account key's `token_uri` to get tokens from the emulator."""
        return self.url + "/token"

    def start(self) -> Emulator:
        if self._thread is None:
            self._thread = threading.Thread(
                # A short poll interval makes stop() quick (the default waits up to 0.5 s).
                target=self._server.serve_forever, args=(0.01,),
                name=f"runs-emulator:{self.port}", daemon=True
            )
            self._thread.start()
            logger.info("emulator listening on %s (db %s)", self.url, self.store.path)
        return self

    def serve_forever(self) -> None:
        """Serve in the calling thread until interrupted (the console script uses this)."""
        self._server.serve_forever()

    def stop(self) -> None:
        if self._thread is not None:
            self._server.shutdown()
            self._thread.join()
            self._thread = None
        self._server.server_close()
        self.store.close()

    def __enter__(self) -> Emulator:
        return self.start()

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self.stop()

    # -- test hooks --------------------------------------------------------------------------

    def stats(self) -> dict[str, dict[str, int]]:
        """Calls per method (e.g. `runs.list`) and faults injected per kind since the last reset."""
        return self._server.counters.snapshot()

    def calls(self, method: str) -> int:
        return self.stats()["calls"].get(method, 0)

    def reset_stats(self) -> None:
        self._server.counters.reset()

    def set_faults(self, plan: FaultPlan | None) -> None:
        self._server.faults.configure(plan or FaultPlan())

    def set_latency(self, latency_ms: float) -> None:
        self._server.latency_ms = latency_ms

    def set_operation_polls(self, polls: int) -> None:
        self._server.service.settings = Settings(operation_polls=polls)

    def issue_token(self, principal: str = "test") -> str:
        """A bearer token the emulator accepts when it requires authentication."""
        return self.auth.issue(principal)

    def seed_demo(self, **options: Any) -> dict[str, Any]:
        """Fill the store with the demo project (see demo.py); returns what it made."""
        return seed(self._server.service, self._server.data, **options)
