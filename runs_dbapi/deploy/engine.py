"""plan, apply, test and teardown of a manifest over a DB-API connection.

Blocks go in the manifest's order (teardown: the reverse). Each block's props are rendered with
what is known (globals, -e values, environment, earlier exports), its resources read with one
SELECT of their parent, matched and compared; the differences become the driver's own
statements (sql.py), which `plan` shows and `apply` runs. Nothing is written before every
block's values have been checked; apply stops at the first failure, raising ApplyError with
exactly what it changed before.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ..catalog import TABLES, Table
from ..connection import Connection
from ..exceptions import Error, OperationalError
from .desired import Desired, resolve_block
from .manifest import Block, Manifest
from .sql import Statement, create_statements, delete_statement, patch_statement
from .state import FieldDiff, Index, Live, diff, match, read_live
from .templates import has_unknown, render, unknown

__all__ = ["ApplyError", "BlockReport", "Change", "Progress", "Report", "apply", "plan",
           "teardown", "test"]

logger = logging.getLogger(__name__)

Progress = Callable[[str], None]
RUNS = TABLES["runs"]


@dataclass
class Change:
    """What happens (or happened) to one declared resource."""

    resource: str  # the block's name, `block[key]` for one of many
    action: str  # create, update, unchanged; teardown: delete, absent, kept
    name: str = ""  # its API resource name, when known
    diffs: list[FieldDiff] = field(default_factory=list)
    note: str = ""

    def as_json(self) -> dict[str, Any]:
        return {"resource": self.resource, "action": self.action, "name": self.name,
                "diffs": [d.as_json() for d in self.diffs], "note": self.note}


@dataclass
class BlockReport:
    name: str
    table: str
    changes: list[Change] = field(default_factory=list)
    statements: list[Statement] = field(default_factory=list)
    exports: dict[str, Any] = field(default_factory=dict)

    def counts(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for change in self.changes:
            counts[change.action] = counts.get(change.action, 0) + 1
        return counts

    def as_json(self) -> dict[str, Any]:
        return {"name": self.name, "type": self.table, "counts": self.counts(),
                "changes": [c.as_json() for c in self.changes],
                "statements": [s.as_json() for s in self.statements],
                "exports": self.exports}


@dataclass
class Report:
    command: str
    manifest: Manifest
    blocks: list[BlockReport] = field(default_factory=list)
    dry_run: bool = False

    @property
    def changed(self) -> bool:
        """Whether anything differs (plan, test) or was changed (apply, teardown)."""
        return any(c.action not in ("unchanged", "absent", "kept")
                   for b in self.blocks for c in b.changes)

    def as_json(self) -> dict[str, Any]:
        return {"command": self.command, "manifest": self.manifest.name,
                "file": self.manifest.file, "dry_run": self.dry_run, "changed": self.changed,
                "resources": [b.as_json() for b in self.blocks]}


class ApplyError(OperationalError):
    """Apply stopped at a resource: what it created or changed before, and the cause."""

    def __init__(self, failed: str, cause: Error, done: list[Change]) -> None:
        applied = "; ".join(f"{c.action}d {c.resource}" + (f" ({c.name})" if c.name else "")
                            for c in done) or "nothing"
        super().__init__(f"apply stopped at {failed}: {cause} Applied before it: {applied}.",
                         http_status=cause.http_status, rpc_status=cause.rpc_status,
                         outcome_unknown=cause.outcome_unknown,
                         rows_written=cause.rows_written,
                         rows_not_written=cause.rows_not_written,
                         rows_unknown=cause.rows_unknown)
        self.failed, self.cause, self.done = failed, cause, done


class _Run:
    """One pass over a manifest with one connection."""

    def __init__(self, connection: Connection, manifest: Manifest, progress: Progress | None
                 ) -> None:
        self.connection = connection
        self.manifest = manifest
        self.progress = progress
        self.context: dict[str, Any] = dict(manifest.context)
        self.new_parents: set[str] = set()  # resources a create of this pass makes
        self.missing_parents: set[str] = set()  # resources found not to exist

    def say(self, message: str) -> None:
        if self.progress is not None:
            self.progress(message)

    def desired(self, block: Block) -> list[Desired]:
        rendered = {p.name: render(p.value, self.context, self.manifest, p.line,
                                   resource=block.name, prop=p.name) for p in block.props}
        return resolve_block(self.manifest, block, rendered, self.connection.defaults)

    def live(self, desired: list[Desired]) -> dict[int, Live | None]:
        """Each declared resource's live row (None: none), reading each parent once."""
        found: dict[int, Live | None] = {}
        indexes: dict[str, Index] = {}
        for number, item in enumerate(desired):
            parent = item.parent_name
            if item.unknown or has_unknown(item.parent) or parent in self.new_parents or \
                    any(parent == p or parent.startswith(p + "/") for p in self.missing_parents):
                found[number] = None
                continue
            if parent not in indexes:
                indexes[parent] = Index(item.table, read_live(self.connection, item.table,
                                                              item.parent))
            found[number] = match(item, indexes[parent])
        return found

    def exports(self, block: Block, desired: list[Desired], row: Live | None) -> dict[str, Any]:
        values: dict[str, Any] = {}
        for name in block.exports:
            if row is not None and row.get(name) is not None:
                values[name] = row[name]
            elif len(desired) == 1 and name in desired[0].path and not desired[0].unknown:
                values[name] = desired[0].path[name]
            elif len(desired) == 1 and name in desired[0].fields:
                values[name] = desired[0].fields[name]
            else:
                values[name] = unknown(block.name, name)
        return values

    def plan_block(self, block: Block) -> tuple[BlockReport, list[tuple[Statement,
                                                                        list[Change]]]]:
        table = block.table
        report = BlockReport(block.name, table.name)
        desired = self.desired(block)
        live = self.live(desired)
        creates: list[tuple[str, dict[str, str], str | None, dict[str, Any]]] = []
        create_changes: dict[str, Change] = {}
        work: list[tuple[Statement, list[Change]]] = []
        for number, item in enumerate(desired):
            row = live[number]
            if row is None:
                change = Change(item.label, "create", item.resource_name or "",
                                [FieldDiff(k, None, v) for k, v in item.fields.items()])
                creates.append((item.label, item.parent, item.own_id, item.fields))
                create_changes[item.label] = change
                if item.resource_name:
                    self.new_parents.add(item.resource_name)
                report.changes.append(change)
                continue
            diffs, changes = diff(item, row)
            name = str(row.get("name") or "")
            if not changes:
                report.changes.append(Change(item.label, "unchanged", name))
                continue
            change = Change(item.label, "update", name, diffs)
            report.changes.append(change)
            path = {n: str(row[n]) for n in table.path}
            work.append((patch_statement(table, item.label, path, changes,
                                         item.etag or row.get(table.writes.etag or "")),
                         [change]))
        returning = tuple(dict.fromkeys((*block.exports, "name"))) \
            if len(desired) == 1 and creates else ()
        for statement in create_statements(table, creates, returning):
            work.insert(len([w for w in work if w[0].sql.startswith("INSERT")]),
                        (statement, [create_changes[label] for label in statement.labels]))
        report.statements = [s for s, _ in work]
        report.exports = self.exports(block, desired, live.get(0) if len(desired) == 1
                                      else None)
        return report, work


def _summary(report: BlockReport) -> str:
    counts = report.counts()
    return ", ".join(f"{n:,} {a}" for a, n in counts.items()) or "nothing declared"


def plan(connection: Connection, manifest: Manifest, *, progress: Progress | None = None
         ) -> Report:
    """What apply would do, resource by resource, and the statements it would run (reads only).
    """
    run = _Run(connection, manifest, progress)
    report = Report("plan", manifest)
    for block in manifest.blocks:
        block_report, _ = run.plan_block(block)
        run.context.update(block_report.exports)
        report.blocks.append(block_report)
        run.say(f"{block.name} ({block.table.name}): {_summary(block_report)}")
    return report


def test(connection: Connection, manifest: Manifest, *, progress: Progress | None = None
         ) -> Report:
    """Drift: each declared resource missing or differing from the manifest, field by field."""
    report = plan(connection, manifest, progress=progress)
    report.command = "test"
    return report


def apply(connection: Connection, manifest: Manifest, *, dry_run: bool = False,
          progress: Progress | None = None) -> Report:
    """Create what is missing, patch what differs (exactly the differing fields, etag-guarded),
    leave the rest: a second apply writes nothing. Stops at the first failure (ApplyError)."""
    run = _Run(connection, manifest, progress)
    report = Report("apply", manifest, dry_run=dry_run)
    done: list[Change] = []
    for block in manifest.blocks:
        block_report, work = run.plan_block(block)
        report.blocks.append(block_report)
        if not dry_run:
            for statement, changes in work:
                try:
                    returned = _execute(connection, statement)
                except Error as error:
                    done += _partly(error, changes)
                    raise ApplyError(f"{block.name} ({block.table.name})", error,
                                     done) from error
                done += changes
                if returned is not None:
                    for change in changes:
                        change.name = str(returned.get("name") or change.name)
                    block_report.exports.update({k: v for k, v in returned.items()
                                                 if k in block.exports})
        run.context.update(block_report.exports)
        run.say(f"{block.name} ({block.table.name}): {_summary(block_report)}")
    return report


def _partly(error: Error, changes: list[Change]) -> list[Change]:
    """The changes of a failed many-row statement that were made all the same."""
    written = set(error.rows_written or [])
    return [c for c in changes if c.name.rsplit("/", 1)[-1] in written
            or c.resource.rsplit("[", 1)[-1].rstrip("]") in written] if written else []


def _execute(connection: Connection, statement: Statement) -> dict[str, Any] | None:
    """Run a statement; the RETURNING row of a one-row statement that has one."""
    cursor = connection.cursor()
    try:
        logger.info("deploy: %s", statement.text(shown=1))
        if len(statement.rows) == 1:
            cursor.execute(statement.sql, list(statement.rows[0]))
        else:
            cursor.executemany(statement.sql, [list(r) for r in statement.rows])
        if statement.returning and cursor.description is not None:
            row = cursor.fetchone()
            names = [d[0] for d in cursor.description]
            return dict(zip(names, row, strict=True)) if row is not None else None
        return None
    finally:
        cursor.close()


def _child_table(table: Table) -> Table | None:
    """The table of the resources directly under `table`'s, when runs live under it."""
    if not (len(table.path) < len(RUNS.path) and RUNS.path[:len(table.path)] == table.path):
        return None
    return next((t for t in TABLES.values() if t.parent_path == table.path and t.writable),
                None)


def teardown(connection: Connection, manifest: Manifest, *, dry_run: bool = False,
             progress: Progress | None = None) -> Report:
    """Delete, in reverse order, the declared resources that exist, waiting for operations. A
    tensorboard or experiment still holding resources the manifest does not declare is kept
    (deleting it would delete them): only what the manifest names goes."""
    run = _Run(connection, manifest, progress)
    found: list[tuple[Block, list[tuple[Desired, Live | None]]]] = []
    for block in manifest.blocks:
        desired = run.desired(block)
        live = run.live(desired)
        pairs = [(item, live[n]) for n, item in enumerate(desired)]
        for item, row in pairs:
            if row is None and item.own_id and not item.unknown:
                run.missing_parents.add(item.table.resource_name(item.path))
        found.append((block, pairs))
        run.context.update(run.exports(block, desired, pairs[0][1] if len(pairs) == 1
                                       else None))
    report = Report("teardown", manifest, dry_run=dry_run)
    deleted: set[str] = set()
    done: list[Change] = []
    for block, pairs in reversed(found):
        table = block.table
        block_report = BlockReport(block.name, table.name)
        targets: list[tuple[str, dict[str, str]]] = []
        for item, row in pairs:
            if row is None:
                block_report.changes.append(Change(item.label, "absent", note="not found"))
                continue
            name = str(row["name"])
            others = _undeclared_children(connection, table, row, deleted)
            if others:
                block_report.changes.append(Change(
                    item.label, "kept", name,
                    note=f"it holds {len(others):,} resource{'s' if len(others) > 1 else ''} "
                         f"the manifest does not declare, e.g. {others[0]}"))
                continue
            block_report.changes.append(Change(item.label, "delete", name))
            targets.append((item.label, {n: str(row[n]) for n in table.path}))
            deleted.add(name)
        if targets:
            statement = delete_statement(table, targets)
            block_report.statements.append(statement)
            changes = [c for c in block_report.changes if c.action == "delete"]
            if not dry_run:
                try:
                    _execute(connection, statement)
                except Error as error:
                    raise ApplyError(f"{block.name} ({table.name})", error, done) from error
                done += changes
        report.blocks.insert(0, block_report)
        run.say(f"{block.name} ({table.name}): {_summary(block_report)}")
    return report


def _undeclared_children(connection: Connection, table: Table, row: Live,
                         deleted: set[str]) -> list[str]:
    child = _child_table(table)
    if child is None:
        return []
    rows = read_live(connection, child, {n: str(row[n]) for n in table.path})
    return [str(r["name"]) for r in rows if str(r["name"]) not in deleted]
