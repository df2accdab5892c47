"""`runs-sql deploy plan|apply|test|teardown FILE`: a manifest (runs_dbapi.deploy) from the
command line, with its results as text or JSON.

Exit status: 0 when nothing differs (plan, test) or the command did its work (apply,
teardown), 2 when plan or test finds differences, 1 on an error (a bad manifest included).
"""

from __future__ import annotations

import argparse
import json
from typing import TYPE_CHECKING, Any, TextIO

from .base import EXIT_ERROR, EXIT_OK, PROG, UsageError, report_error
from .session import Session
from .target import embedded_notice, resolve_target

if TYPE_CHECKING:
    from runs_dbapi.deploy import Report

EXIT_DIFFERENT = 2
COMMANDS = ("plan", "apply", "test", "teardown")
SYMBOLS = {"create": "+", "update": "~", "unchanged": "=", "delete": "-", "absent": " ",
           "kept": "!"}
LISTED = 10  # resources listed per block and action in text output


def _variable(text: str) -> tuple[str, str]:
    name, equals, value = text.partition("=")
    if not equals or not name.isidentifier():
        raise argparse.ArgumentTypeError(f"expected KEY=VALUE, got {text!r}")
    return name, value


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=f"{PROG} deploy",
        description="Plan, apply, test or tear down the resources a manifest declares.",
        epilog="exit status: 0 nothing differs (plan, test) or done (apply, teardown), "
               "1 an error, 2 plan or test found differences.")
    parser.add_argument("command", choices=COMMANDS)
    parser.add_argument("file", metavar="FILE", help="the manifest (YAML)")
    parser.add_argument("-e", dest="variables", action="append", type=_variable, default=[],
                        metavar="KEY=VALUE", help="a template variable; repeatable")
    parser.add_argument("--url", metavar="URL", help="runs:// URL of the data (default: "
                        "$RUNS_URL, else the embedded emulator)")
    parser.add_argument("--dry-run", action="store_true",
                        help="apply, teardown: show what would be done, do nothing")
    parser.add_argument("--output", choices=("text", "json"), default="text",
                        help="text (default) or a JSON document, for CI")
    parser.add_argument("-q", "--quiet", action="store_true",
                        help="no notice about the embedded emulator")
    parser.add_argument("--debug", action="store_true", help="print tracebacks of errors")
    return parser


def main(argv: list[str], out: TextIO, err: TextIO) -> int:
    args = build_parser().parse_args(argv)
    if args.dry_run and args.command not in ("apply", "teardown"):
        report_error(UsageError("--dry-run is for apply and teardown"), err, False)
        return EXIT_DIFFERENT
    from runs_dbapi import deploy  # noqa: PLC0415 - the driver loads when needed

    session: Session | None = None
    try:
        manifest = deploy.load_manifest(args.file, variables=dict(args.variables))
        target = resolve_target(args.url)
        options = argparse.Namespace(format=None, expanded=False, no_pager=True,
                                     parameters=None, no_progress=True, yes=False,
                                     max_width=80, debug=args.debug)
        session = Session(options, target, out, err)
        if target.embedded is not None and not args.quiet:
            err.write(embedded_notice(target) + "\n")
        connection = session.connect()
        progress = _progress(err) if err.isatty() and args.output == "text" else None
        if args.command == "plan":
            report = deploy.plan(connection, manifest, progress=progress)
        elif args.command == "test":
            report = deploy.test(connection, manifest, progress=progress)
        elif args.command == "apply":
            report = deploy.apply(connection, manifest, dry_run=args.dry_run,
                                  progress=progress)
        else:
            report = deploy.teardown(connection, manifest, dry_run=args.dry_run,
                                     progress=progress)
    except UsageError as error:
        report_error(error, err, False)
        return EXIT_DIFFERENT
    except Exception as error:
        report_error(error, err, args.debug)
        return EXIT_ERROR
    finally:
        if session is not None:
            session.close()
    if args.output == "json":
        json.dump(report.as_json(), out, indent=2, default=str)
        out.write("\n")
    else:
        out.write(text_of(report))
    out.flush()
    if args.command in ("plan", "test") and report.changed:
        return EXIT_DIFFERENT
    return EXIT_OK


def _progress(err: TextIO) -> Any:
    def say(message: str) -> None:
        err.write(f"{PROG}: deploy: {message}\n")
        err.flush()
    return say


def _value(value: Any) -> str:
    return "(none)" if value is None else json.dumps(value)


def text_of(report: Report) -> str:
    """The report for a reader: per block, per resource, then the statements (plan)."""
    lines: list[str] = []
    manifest = report.manifest
    dry = " (dry run: nothing done)" if report.dry_run else ""
    lines.append(f"{report.command} of {manifest.file} ({manifest.name}){dry}")
    for block in report.blocks:
        counts = ", ".join(f"{n:,} {a}" for a, n in block.counts().items())
        lines.append(f"\n{block.name} ({block.table}): {counts}")
        shown: dict[str, int] = {}
        for change in block.changes:
            shown[change.action] = shown.get(change.action, 0) + 1
            if shown[change.action] > LISTED and change.action != "update" and \
                    report.command != "test":
                if shown[change.action] == LISTED + 1:
                    more = block.counts()[change.action] - LISTED
                    lines.append(f"  ... and {more:,} more to {change.action}")
                continue
            action = "missing" if report.command == "test" and change.action == "create" \
                else "drift" if report.command == "test" and change.action == "update" \
                else change.action
            if report.command == "test" and action == "unchanged":
                action = "ok"
            name = f" {change.name}" if change.name else ""
            note = f": {change.note}" if change.note else ""
            lines.append(f"  {SYMBOLS.get(change.action, '?')} {change.resource}: {action}"
                         f"{name}{note}")
            if change.action == "update":
                for item in change.diffs:
                    lines.append(f"      {item.field}: {_value(item.live)} -> "
                                 f"{_value(item.wanted)}")
    statements = [s for b in report.blocks for s in b.statements]
    if report.command != "test" and statements:
        verb = {"plan": "would run", "apply": "ran", "teardown": "ran"}[report.command]
        if report.dry_run:
            verb = "would run"
        lines.append(f"\nstatements {verb}:")
        lines += [statement.text() for statement in statements]
    if report.command in ("plan", "test") and not report.changed:
        lines.append("\nno differences")
    return "\n".join(lines) + "\n"
