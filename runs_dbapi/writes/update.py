"""UPDATE: patches with a field mask, one per row (concurrently), or one for a WHERE that names
one resource; the etag of the WHERE (or of each row, for values computed from the row) goes
with each patch. Every body is built and checked before the first call."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlglot import exp

from ..catalog import UPDATE_MASK_PARAMETER, Table
from ..exceptions import DataError, IntegrityError, ProgrammingError
from ..executor import Result
from ..rules import SYSTEM_LABEL_PREFIX, check_labels, parse_labels
from .common import Json, Matched, Path, WriteBase, refuse_clauses, returning, written_table
from .targets import find_target, matching_rows, row_clauses
from .values import api_value, evaluate, field_name, put_field

__all__ = ["Updater"]


def updatable(table: Table) -> list[str]:
    return [c.name for c in table.columns
            if c.writable and c.name not in table.writes.immutable]


class Updater(WriteBase):
    def update(self, tree: exp.Update) -> Result | int:
        table, table_node = written_table(tree.this)
        refuse_clauses(tree, {"from_": "UPDATE ... FROM", "from": "UPDATE ... FROM"})
        values, set_etag = self._assignments(table, tree)
        target = find_target(table, table_node.alias_or_name, tree.args.get("where"),
                             self.defaults)
        mask = target.update_mask or [self._field(table, name) for name in values]
        etag = set_etag or target.etag
        depends_on_row = any(v.find(exp.Column) for v in values.values())
        body: Json = {}
        if depends_on_row:
            _refuse_system_label_literals(table, values)
        else:
            # Checked before any call: a bad value must not half-apply.
            body = self._patch_body(table, values, evaluate(list(values.values())), etag, mask)
        if target.key is not None and not depends_on_row and not row_clauses(tree):
            patched = self._patch_one(table, table.resource_name(target.key), body, mask,
                                      target.key)
            results = [patched] if patched else []
            paths = [target.key] if patched else []
        else:
            extra: list[exp.Expression] = []
            labels = table.writes.labels
            if depends_on_row:
                extra = [exp.alias_(v.copy(), f"_v{i}") for i, v in enumerate(values.values())]
                if labels in values:
                    extra.append(exp.alias_(exp.column(labels), "_labels"))
            # The etag is sent with each patch (a mismatch must raise, not match no rows).
            rows = matching_rows(self.run_query, table, table_node, tree, extra=extra,
                                 write_terms=(UPDATE_MASK_PARAMETER, table.writes.etag or ""))
            bodies: list[tuple[Matched, Json]] = []
            for row in rows:  # every body is built (and checked) before the first patch
                if depends_on_row:
                    current = (parse_labels(row.extra[len(values)]) if labels in values
                               else None)
                    bodies.append((row, self._patch_body(
                        table, values, row.extra[:len(values)], etag or row.etag, mask,
                        current_labels=current, name=row.name)))
                else:
                    bodies.append((row, body))
            _check_unique(table, bodies, mask)
            jobs = [(row.name, row.path,
                     self.pool.submit(self._patch_one, table, row.name, patch, mask))
                    for row, patch in bodies]
            results, paths = self.collect(jobs)
        if tree.args.get("returning") is not None:
            return returning(tree, table, results, paths, len(results))
        return len(results)

    @staticmethod
    def _field(table: Table, name: str) -> str:
        column = table.column(name)
        return (column.api_field if column is not None and column.api_field else name)

    def _assignments(self, table: Table, tree: exp.Update
                     ) -> tuple[dict[str, exp.Expression], str | None]:
        """SET's columns (checked: updatable ones only) and the etag it sets, if any."""
        values: dict[str, exp.Expression] = {}
        set_etag: str | None = None
        names = updatable(table)
        for assignment in tree.expressions:
            if not isinstance(assignment, exp.EQ) or not isinstance(assignment.this, exp.Column):
                raise ProgrammingError("SET takes `column = value` pairs.")
            name = field_name(assignment.this.name)
            column = table.column(name)
            if column is not None and column.name == table.writes.etag:
                value = evaluate([assignment.expression])[0]
                set_etag = str(value) if value not in (None, "") else None
                continue
            if column is None or column.name not in names:
                why = ("it is immutable: set when a row of "
                       f"{table.name} is created. " if column is not None
                       and column.name in table.writes.immutable else
                       "it is output only or a path parameter. " if column else
                       "no such column. ")
                raise ProgrammingError(f"Column {name!r} cannot be updated: {why}Updatable: "
                                       f"{', '.join(names)}.")
            values[column.name] = assignment.expression
        if not values:
            raise ProgrammingError(f"UPDATE needs at least one of {', '.join(names)} in SET.")
        return values, set_etag

    def _patch_body(self, table: Table, values: dict[str, exp.Expression],
                    evaluated: Sequence[Any], etag: str | None, mask: list[str], *,
                    current_labels: dict[str, str] | None = None, name: str = "") -> Json:
        """The patch body. Labels computed from a row's own labels (`current_labels` given) may
        carry its system labels along unchanged; a system label set any other way is refused.
        A required field in the mask may not be emptied."""
        body: Json = {}
        for key, value in zip(values, evaluated, strict=True):
            column = table.column(key)
            assert column is not None
            field = column.api_field or key
            if key == table.writes.labels:
                labels = parse_labels(value)
                if current_labels is not None:
                    # Left out, a system label is kept by the API; added or changed, refused.
                    changed = [k for k, v in labels.items() if k.startswith(SYSTEM_LABEL_PREFIX)
                               and current_labels.get(k) != v]
                    if changed:
                        raise DataError(
                            f"The new labels of {name} set {changed[0]!r}, a label reserved by "
                            f"Vertex AI ({SYSTEM_LABEL_PREFIX}...) that cannot be set or changed. "
                            "Nothing was updated."
                        )
                    check_labels({k: v for k, v in labels.items()
                                  if not k.startswith(SYSTEM_LABEL_PREFIX)}, allow_system=False)
                else:
                    check_labels(labels, allow_system=False)
                put_field(body, field, labels)
                continue
            if key in table.writes.required and field in mask and value in (None, ""):
                raise DataError(f"{key} is required in {table.name}: an UPDATE cannot empty "
                                "it. Nothing was updated.")
            converted = api_value(table, column, value, allow_system_labels=False)
            if converted is not None:
                put_field(body, field, converted)
        if etag and table.writes.etag:
            body[table.writes.etag] = etag
        return body

    def _patch_one(self, table: Table, name: str, body: Json, mask: list[str],
                   key: Path | None = None) -> Json | None:
        """Patch one resource; None if it does not exist. `key`: the path of a row the
        statement named without listing it, whose parents may be missing too."""
        try:
            # Absolute values: a repeat leaves what one patch does (and with an etag, the client
            # reads an ABORTED repeat back), so the patch is retried like any idempotent call.
            answer = self.client.patch(name, body, mask, idempotent=True)
        except ProgrammingError as error:
            if error.rpc_status == "NOT_FOUND":
                if key is not None:
                    self.check_parents(table, key)
                return None
            raise
        return self.finished(answer, what="patch") if table.writes.patch_operation else answer


def _check_unique(table: Table, bodies: list[tuple[Matched, Json]], mask: list[str]) -> None:
    """One value of a field unique within a parent, set on two rows of one parent: the API
    would refuse the second patch; refused before the first."""
    for name in table.writes.unique:
        column = table.column(name)
        field = column.api_field if column is not None and column.api_field else name
        if field not in mask:
            continue
        seen: dict[tuple[str, str], str] = {}
        for row, body in bodies:
            value = body.get(field)
            if value in (None, ""):
                continue
            parent = row.name.rsplit("/", 2)[0]
            earlier = seen.setdefault((parent, str(value)), row.name)
            if earlier != row.name:
                raise IntegrityError(
                    f"The UPDATE would give {earlier} and {row.name} one {name}, {value!r}; it "
                    f"must be unique in {parent}. Nothing was updated.")


def _refuse_system_label_literals(table: Table, values: dict[str, exp.Expression]) -> None:
    """A SET of labels that names a system label key (`json_set(labels, '$."aiplatform...`)."""
    labels = values.get(table.writes.labels or "")
    if labels is None:
        return
    for node in labels.find_all(exp.Literal):
        if node.is_string and SYSTEM_LABEL_PREFIX in str(node.this):
            raise DataError(
                f"SET {table.writes.labels} names {node.this!r}: labels prefixed "
                f"{SYSTEM_LABEL_PREFIX!r} are reserved by Vertex AI and cannot be set or changed."
            )
