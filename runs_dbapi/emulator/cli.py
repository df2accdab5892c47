"""`runs-emulator`: serve the emulated Vertex AI TensorBoard API from a terminal."""

from __future__ import annotations

import argparse
import errno
import ipaddress
import logging
import sys

from .app import Emulator
from .faults import FAULT_KINDS, FaultPlan


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="runs-emulator",
        description="Serve a local emulator of the Vertex AI TensorBoard REST API.",
        epilog="Test hooks: GET /emulator/stats (calls per method, faults per kind), POST "
        "/emulator/stats:reset, POST /emulator/config (latencyMs, faults, operationPolls, "
        "requireAuth). A --db file keeps the data across restarts; with --demo an empty one "
        "is seeded with the demo project, an existing one is left as it is.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"runs-emulator {_version()}")
    parser.add_argument("--host", default="127.0.0.1", help="address to bind")
    parser.add_argument("--port", type=int, default=8471, help="port (0 picks a free one)")
    parser.add_argument("--db", default=":memory:",
                        help="SQLite file that keeps the data across restarts")
    parser.add_argument("--latency-ms", type=float, default=0.0,
                        help="delay added to every API call")
    parser.add_argument("--fault-rate", type=float, default=0.0,
                        help="share of API calls that fail (0..1)")
    parser.add_argument("--fault-kinds", default="429,500,503,reset,slow",
                        help=f"comma-separated kinds of fault, from {','.join(FAULT_KINDS)}")
    parser.add_argument("--fault-methods", default="*",
                        help="comma-separated method patterns to fault, e.g. 'runs.*'")
    parser.add_argument("--fault-seed", type=int, default=0, help="seed of the fault draws")
    parser.add_argument("--operation-polls", type=int, default=0,
                        help="polls an Operation needs before it reports done")
    parser.add_argument("--require-auth", action="store_true",
                        help="refuse requests without a token issued by this emulator")
    parser.add_argument("--demo", action="store_true", help="seed the demo project")
    parser.add_argument("-v", "--verbose", action="store_true", help="log every request")
    return parser


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version  # noqa: PLC0415

    try:
        return version("runs-sql")
    except PackageNotFoundError:
        return "unknown"


def _is_loopback(host: str) -> bool:
    """`localhost` or a loopback address literal; any other name may be reached from outside."""
    if host.rstrip(".").lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def exposure_warning(host: str, require_auth: bool) -> str | None:
    """What to say when the emulator listens where other machines can reach it."""
    if _is_loopback(host):
        return None
    if not require_auth:
        return (f"listening on {host}, reachable from other machines, with NO authentication: "
                "anyone who can reach it can read and change its data. Bind to 127.0.0.1, or "
                "pass --require-auth")
    return (f"listening on {host}, reachable from other machines. --require-auth refuses calls "
            "without a token issued by this emulator, but its /token endpoint issues tokens "
            "to any caller (signatures are not checked): it stands in for Google in tests and "
            "is no security boundary")


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.INFO,
                        format="%(asctime)s %(message)s", stream=sys.stderr)
    try:
        plan = FaultPlan(rate=args.fault_rate, kinds=tuple(args.fault_kinds.split(",")),
                         methods=tuple(args.fault_methods.split(",")), seed=args.fault_seed)
    except ValueError as exc:
        build_parser().error(str(exc))
    try:
        emulator = Emulator(host=args.host, port=args.port, db=args.db,
                            latency_ms=args.latency_ms, faults=plan,
                            operation_polls=args.operation_polls,
                            require_auth=args.require_auth, demo=args.demo)
    except OSError as error:
        reason = ("the port is in use (pick another with --port, or 0 for a free one)"
                  if error.errno == errno.EADDRINUSE else error.strerror or str(error))
        sys.stderr.write(f"runs-emulator: cannot listen on {args.host}:{args.port}: {reason}\n")
        return 2
    log = logging.getLogger("runs_dbapi.emulator")
    log.info("runs-emulator serving %s (db %s)", emulator.url, args.db)
    warning = exposure_warning(args.host, args.require_auth)
    if warning is not None:
        log.warning("runs-emulator: %s", warning)
    if args.demo:
        log.info("demo data: project demo-project, location us-central1, tensorboard 'demo'")
    try:
        emulator.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        emulator.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
