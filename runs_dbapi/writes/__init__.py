"""INSERT, UPDATE and DELETE: statements to creates, batchCreates, patches and deletes.

Split by statement kind (`insert`, `update`, `delete`), with what they share in `common`
(RETURNING, partial-failure errors, operations, parent checks), `values` (SQL values to the
API's JSON by the column's type) and `targets` (which rows an UPDATE or DELETE addresses). No
module names a resource: each reads the table's columns and its `Writes` from the catalog.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from sqlglot import exp

from ..executor import Result
from ..rest import RestClient
from .common import Parameters, Path, QueryRunner, partial_failure, written_table
from .delete import Deleter
from .insert import Inserter
from .points import PointWriter, refuse_point_change
from .update import Updater

__all__ = ["WriteExecutor", "partial_failure"]


class WriteExecutor:
    """The connection's writes: `insert`, `update` and `delete` of a parsed statement."""

    def __init__(self, client: RestClient, pool: ThreadPoolExecutor, run_query: QueryRunner,
                 defaults: Path, *, wait_operations: bool = True,
                 ordered_inserts: bool = True) -> None:
        """`ordered_inserts` False sends an INSERT's batchCreate chunks at once: faster for
        large loads, the order of creation across chunks not kept."""
        self.client = client
        options = {"wait_operations": wait_operations, "ordered_inserts": ordered_inserts}
        self._inserter = Inserter(client, pool, run_query, defaults, **options)
        self._updater = Updater(client, pool, run_query, defaults, **options)
        self._deleter = Deleter(client, pool, run_query, defaults, **options)
        self._points = PointWriter(self._inserter)

    def insert(self, tree: exp.Insert, parameter_sets: list[Parameters] | None = None
               ) -> Result | int:
        """INSERT ... VALUES / SELECT; `parameter_sets` are executemany's parameters. Rows of
        a table of data points are written through its series' write verb (`points`)."""
        table, _ = written_table(tree.this)
        if table.points is not None:
            return self._points.insert(table, tree, parameter_sets)
        return self._inserter.insert(tree, parameter_sets)

    def update(self, tree: exp.Update) -> Result | int:
        refuse_point_change(written_table(tree.this)[0], "UPDATE")
        return self._updater.update(tree)

    def delete(self, tree: exp.Delete) -> Result | int:
        refuse_point_change(written_table(tree.this)[0], "DELETE")
        return self._deleter.delete(tree)
