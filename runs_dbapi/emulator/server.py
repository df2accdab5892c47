"""The HTTP face of the emulator: a threading HTTP/1.1 server, faults, latency, auth, counters."""

from __future__ import annotations

import json
import logging
import math
import socket
import struct
import sys
import time
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from .auth import OAuthError, TokenAuthority
from .data import DataService
from .errors import ApiError, invalid
from .faults import Counters, FaultInjector, FaultPlan
from .kinds import VALUE_TYPES
from .routes import Request, resolve
from .service import Service, Settings
from .store import Store
from .wire import wants_int_enums

logger = logging.getLogger(__name__)

DEFAULT_MAX_BODY = 32 * 1024 * 1024
_IAM_PREFIX = "/v1/projects/-/serviceAccounts/"


def _fault_error(fault: str, retry_after: int) -> ApiError | None:
    """The error an injected HTTP fault answers with (a fresh one per request)."""
    if fault == "429":
        return ApiError(
            "RESOURCE_EXHAUSTED",
            "Quota exceeded for quota metric 'Resource management (CRUD) requests' and limit "
            "'Resource management (CRUD) requests per minute per region' of service "
            "'aiplatform.googleapis.com'.",
            reason="RATE_LIMIT_EXCEEDED",
            headers={"Retry-After": str(retry_after)},
        )
    if fault == "500":
        return ApiError("INTERNAL", "Internal error encountered.")
    if fault in ("503", "503_after"):
        return ApiError("UNAVAILABLE", "The service is currently unavailable.")
    return None


class _BodyTooLarge(Exception):
    pass


def _config_number(value: Any, name: str) -> float:
    """A finite, non-negative number of an /emulator/config body."""
    number = float(value)
    if not math.isfinite(number) or number < 0:
        raise ValueError(f"{name} must be a finite number >= 0, got {value!r}")
    return number


def _config_strings(value: Any, name: str) -> tuple[str, ...]:
    """A list of strings of an /emulator/config body (one string stands for itself)."""
    if isinstance(value, str):
        return (value,)
    if not isinstance(value, (list, tuple)) or not all(isinstance(v, str) for v in value):
        raise TypeError(f"{name} must be a list of strings, got {value!r}")
    return tuple(value)


def _int_enums(value: Any) -> Any:
    """Re-encode enum names as numbers, for clients that asked for `enum-encoding=int`."""
    if isinstance(value, dict):
        return {
            k: (VALUE_TYPES.index(v) if k == "valueType" and v in VALUE_TYPES else _int_enums(v))
            for k, v in value.items()
        }
    if isinstance(value, list):
        return [_int_enums(v) for v in value]
    return value


class EmulatorServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128

    def __init__(
        self,
        address: tuple[str, int],
        *,
        store: Store,
        settings: Settings,
        faults: FaultPlan | None,
        latency_ms: float,
        auth: TokenAuthority,
        max_body_bytes: int,
    ) -> None:
        self.service = Service(store, settings)
        self.data = DataService(self.service)
        self.faults = FaultInjector(faults)
        self.counters = Counters()
        self.latency_ms = latency_ms
        self.auth = auth
        self.max_body_bytes = max_body_bytes
        super().__init__(address, _Handler)

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client dropping its connection is routine (and tests do it on purpose)."""
        if isinstance(sys.exc_info()[1], ConnectionError):
            logger.debug("connection from %s dropped", client_address, exc_info=True)
            return
        super().handle_error(request, client_address)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # Headers and body go out in two writes: without TCP_NODELAY, Nagle's algorithm and the
    # client's delayed ACK hold the body back ~40 ms on every keep-alive response.
    disable_nagle_algorithm = True
    server: EmulatorServer
    server_version = "ESF"
    sys_version = ""

    def log_message(self, format: str, *args: Any) -> None:
        logger.debug("%s " + format, self.address_string(), *args)

    def do_GET(self) -> None:
        self._handle("GET")

    def do_POST(self) -> None:
        self._handle("POST")

    def do_PATCH(self) -> None:
        self._handle("PATCH")

    def do_DELETE(self) -> None:
        self._handle("DELETE")

    def do_PUT(self) -> None:
        self._handle("PUT")

    def send_error(self, code: int, message: str | None = None,
                   explain: str | None = None) -> None:
        """The base class's protocol errors (bad request line, URI too long, unsupported
        method...) as AIP-193 JSON: an unsupported method is NOT_FOUND like an unknown path,
        anything else INVALID_ARGUMENT; never an HTML page or a 5xx."""
        logger.debug("protocol error %d: %s", code, message)
        if self.request_version == "HTTP/0.9":
            self.request_version = "HTTP/1.0"  # answer with a status line and headers
        if code == HTTPStatus.NOT_IMPLEMENTED:
            error = ApiError("NOT_FOUND", f"The requested URL {self.command} "
                                          f"{urlsplit(self.path).path} was not found.")
        else:
            error = invalid(f"Bad request: {message or HTTPStatus(code).phrase}.")
        self.close_connection = True  # any body of the request is still unread
        self._send_json(error.http_status, error.body(), headers={"Connection": "close"})

    # -- plumbing ----------------------------------------------------------------------------

    def _read_body(self) -> bytes:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            return self._read_chunked()
        length = int(self.headers.get("Content-Length") or 0)
        if length > self.server.max_body_bytes:
            raise _BodyTooLarge
        return self.rfile.read(length) if length > 0 else b""

    def _read_chunked(self) -> bytes:
        chunks: list[bytes] = []
        total = 0
        while True:
            size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
            if size == 0:
                while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                    pass
                return b"".join(chunks)
            total += size
            if total > self.server.max_body_bytes:
                raise _BodyTooLarge
            chunks.append(self.rfile.read(size))
            self.rfile.readline()

    def _send_json(
        self, status: int, payload: Any, *, pretty: bool = True,
        headers: dict[str, str] | None = None,
    ) -> None:
        text = json.dumps(payload, indent=2 if pretty else None, ensure_ascii=False)
        data = text.encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=UTF-8")
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Vary", "Origin, X-Origin, Referer")
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        if self.close_connection and "Connection" not in (headers or {}):
            # Say so, or a keep-alive client races the close with its next request.
            self.send_header("Connection", "close")
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    def _send_error(self, error: ApiError, pretty: bool = True) -> None:
        self._send_json(error.http_status, error.body(), pretty=pretty, headers=error.headers)

    def _reset_connection(self) -> None:
        """Abort the TCP connection with a RST, as a dropped connection looks to a client."""
        self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.connection.close()
        self.close_connection = True

    # -- dispatch ----------------------------------------------------------------------------

    def _handle(self, http_method: str) -> None:
        started = time.monotonic()
        url = urlsplit(self.path)
        query = parse_qs(url.query, keep_blank_values=True)
        pretty = (query.get("prettyPrint") or ["true"])[0].lower() not in ("false", "0")
        try:
            raw = self._read_body()
        except (_BodyTooLarge, ValueError):
            self.close_connection = True  # the unread body makes the connection unusable
            self._send_error(invalid(
                f"Request payload size exceeds the limit: {self.server.max_body_bytes} bytes."
            ), pretty)
            return
        if url.path.startswith("/emulator/"):
            self._control(http_method, url.path, raw)
            return
        if url.path == "/token":
            self._token(raw)
            return
        try:
            self._api(http_method, url.path, query, raw=raw, pretty=pretty, started=started)
        except ApiError as error:
            self._send_error(error, pretty)
        except Exception:
            logger.exception("unexpected emulator error on %s %s", http_method, url.path)
            self._send_error(ApiError("INTERNAL", "Internal error encountered."), pretty)

    def _api(
        self, http_method: str, path: str, query: dict[str, list[str]], *, raw: bytes,
        pretty: bool, started: float,
    ) -> None:
        def body() -> Any:
            if not raw.strip():
                return {}
            try:
                # UTF-8 only (json.loads on bytes would also take UTF-16/32), and no lone
                # surrogates (`"\ud800"` parses, but cannot be stored or sent back).
                value = json.loads(raw.decode("utf-8-sig"))
                json.dumps(value, ensure_ascii=False).encode("utf-8")
                return value
            except (ValueError, RecursionError) as exc:  # UnicodeError is a ValueError
                raise invalid(f"Invalid JSON payload received. {exc}.") from exc

        server = self.server
        if path.startswith(_IAM_PREFIX) and path.endswith(":generateAccessToken"):
            server.counters.count_call("iam.generateAccessToken")
            server.auth.check(self.headers.get("Authorization"))
            account = path[len(_IAM_PREFIX):-len(":generateAccessToken")]
            self._send_json(200, server.auth.generate_access_token(account, body()), pretty=pretty)
            return
        try:
            route = resolve(server.service, server.data,
                            Request(http_method, path, query, body))
        except ApiError:
            server.counters.count_call("unknown")
            raise
        server.counters.count_call(route.method)
        server.auth.check(self.headers.get("Authorization"))
        fault = server.faults.draw(route.method)
        if fault:
            server.counters.count_fault(fault)
        latency = server.latency_ms / 1000.0 - (time.monotonic() - started)
        if latency > 0:
            time.sleep(latency)
        if fault == "reset":
            self._reset_connection()
            return
        if fault == "slow":
            time.sleep(server.faults.plan.slow_seconds)
        error = _fault_error(fault, server.faults.plan.retry_after) if fault else None
        if error is not None and fault != "503_after":
            raise error
        result = route.call()
        if error is not None:
            # 503_after: applied, then answered 503. As with lost_response, a call the method
            # refuses (nothing applied) keeps its own answer.
            raise error
        if fault == "lost_response":
            self._reset_connection()
            return
        if wants_int_enums(query):
            result = _int_enums(result)
        self._send_json(200, result, pretty=pretty)

    def _token(self, raw: bytes) -> None:
        self.server.counters.count_call("oauth.token")
        try:
            form = parse_qs(raw.decode("utf-8"), keep_blank_values=True)
            self._send_json(200, self.server.auth.token_endpoint(form))
        except OAuthError as error:
            self._send_json(400, error.body())
        except UnicodeDecodeError:
            self._send_json(400, OAuthError("invalid_request", "Body is not UTF-8.").body())

    def _control(self, http_method: str, path: str, raw: bytes) -> None:
        """Test hooks: counters, faults and latency, readable and settable over HTTP."""
        server = self.server
        if (http_method, path) == ("GET", "/emulator/stats"):
            self._send_json(200, server.counters.snapshot())
        elif (http_method, path) == ("POST", "/emulator/stats:reset"):
            server.counters.reset()
            self._send_json(200, {})
        elif (http_method, path) == ("GET", "/emulator/health"):
            self._send_json(200, {"status": "ok"})
        elif (http_method, path) == ("POST", "/emulator/config"):
            try:
                self._configure(json.loads(raw or b"{}"))
            except (ValueError, TypeError, RecursionError) as exc:
                self._send_error(invalid(f"Invalid emulator configuration: {exc}"))
                return
            self._send_json(200, {})
        else:
            self._send_error(ApiError("NOT_FOUND", f"No emulator control endpoint {path}."))

    def _configure(self, config: Any) -> None:
        """Apply a configuration once all of it is valid (else TypeError / ValueError)."""
        if not isinstance(config, dict):
            raise TypeError("the configuration must be a JSON object")
        server = self.server
        latency = _config_number(config.get("latencyMs", server.latency_ms), "latencyMs")
        plan = server.faults.plan
        if "faults" in config:
            given = config["faults"] or {}
            if not isinstance(given, dict):
                raise TypeError("faults must be an object or null")
            plan = FaultPlan(
                rate=float(given.get("rate", 0.0)),
                kinds=_config_strings(given.get("kinds", FaultPlan.kinds), "faults.kinds"),
                methods=_config_strings(given.get("methods", FaultPlan.methods),
                                        "faults.methods"),
                seed=int(given.get("seed", 0)),
                retry_after=int(_config_number(given.get("retryAfter", 0), "faults.retryAfter")),
                slow_seconds=_config_number(given.get("slowSeconds", FaultPlan.slow_seconds),
                                            "faults.slowSeconds"),
            )
        polls = int(config.get("operationPolls", server.service.settings.operation_polls))
        require_auth = config.get("requireAuth", server.auth.required)
        if not isinstance(require_auth, bool):
            raise TypeError("requireAuth must be true or false")
        server.latency_ms = latency
        if "faults" in config:
            server.faults.configure(plan)
        if "operationPolls" in config:
            server.service.settings = Settings(operation_polls=polls)
        server.auth.required = require_auth
