"""DELETE: one delete per row (concurrently), or one for a WHERE that names one resource; each
delete's long-running operation is waited for (unless the connection says not to)."""

from __future__ import annotations

import logging

from sqlglot import exp

from ..catalog import Table
from ..exceptions import Error, ProgrammingError
from ..executor import Result
from .common import (
    Json,
    Matched,
    Path,
    WriteBase,
    partial_failure,
    refuse_clauses,
    returning,
    written_table,
)
from .targets import find_target, matching_rows, row_clauses

__all__ = ["Deleter"]

logger = logging.getLogger(__name__)


class Deleter(WriteBase):
    def delete(self, tree: exp.Delete) -> Result | int:
        table, table_node = written_table(tree.this)
        refuse_clauses(tree, {"using": "DELETE ... USING"})
        target = find_target(table, table_node.alias_or_name, tree.args.get("where"),
                             self.defaults)
        wants_rows = tree.args.get("returning") is not None
        if (target.key is not None and not wants_rows and target.etag is None
                and not row_clauses(tree)):
            # Read first: a delete whose answer is lost and whose repeat finds the row gone
            # deleted it only if the row existed, which only a read before can tell.
            name = table.resource_name(target.key)
            if self.client.get(name) is None:
                self.check_parents(table, target.key)
                return 0
            return 1 if self._delete_one(table, name) else 0
        rows = matching_rows(self.run_query, table, table_node, tree, extra=[],
                             write_terms=())
        # RETURNING shows the rows as they were: read them (concurrently) before deleting.
        before = list(self.pool.map(self.client.get, [r.name for r in rows])) if wants_rows \
            else [None] * len(rows)
        jobs = [(row, self.pool.submit(self._delete_one, table, row.name)) for row in rows]
        deleted: list[tuple[Matched, Json | None]] = []
        failed: list[str] = []
        unknown: list[str] = []
        first_error: Error | None = None
        for (row, job), resource in zip(jobs, before, strict=True):
            try:
                if job.result():
                    deleted.append((row, resource))
            except Error as error:
                first_error = first_error or error
                (unknown if error.outcome_unknown else failed).append(row.name)
        if first_error is not None:
            raise partial_failure(first_error, [row.name for row, _ in deleted], failed,
                                  len(jobs), unknown)
        if wants_rows:
            kept = [(row, r) for row, r in deleted if r is not None]
            return returning(tree, table, [r for _, r in kept], [row.path for row, _ in kept],
                             len(deleted))
        return len(deleted)

    def _delete_one(self, table: Table, name: str, key: Path | None = None) -> bool:
        """Delete one resource; whether this statement deleted it.

        The resource existed just before (a predicate DELETE listed it, a keyed DELETE read
        it), so one found gone (NOT_FOUND) after an attempt whose answer was lost was deleted
        by that attempt. `key`: the path of a row the statement named without reading it,
        whose parents may be missing too.
        """
        try:
            answer = self.client.delete(name)
        except ProgrammingError as error:
            if error.rpc_status != "NOT_FOUND":
                raise
            if error.outcome_unknown:
                logger.info("delete of %s: gone after an attempt whose answer was lost, which "
                            "deleted it", name)
                return True
            if key is not None:
                self.check_parents(table, key)
            return False
        if table.writes.delete_operation and self.wait_operations:
            self.client.wait_operation(answer)
        return True
