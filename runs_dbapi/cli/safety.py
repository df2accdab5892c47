"""Safe writes (like `mysql --safe-updates`): an UPDATE or DELETE with no WHERE clause, or one
that would touch more than SAFE_LIMIT runs, is confirmed in the shell and needs `--yes` in
one-shot and script use. The driver keeps plain SQL semantics; the count comes from the SELECT
the driver's write module runs to find the rows (runs_dbapi.explain.write_selection)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from runs_dbapi.connection import Connection

SAFE_LIMIT = 100
SAMPLE = 5


class Refused(Exception):
    """A risky write not confirmed: nothing was changed (exit status 1)."""


def _short(name: str) -> str:
    """`bert-glue/bert-glue-0001` from a run's resource name."""
    parts = name.split("/")
    return "/".join(parts[-3::2]) if len(parts) >= 4 else name


def describe_write(verb: str, where: bool, names: list[str]) -> str:
    count = len(names)
    runs = f"{count:,} run{'' if count == 1 else 's'}"
    why = "has no WHERE clause" if not where else f"touches more than {SAFE_LIMIT} runs"
    sample = ", ".join(_short(n) for n in names[:SAMPLE]) + (", ..." if count > SAMPLE else "")
    action = "delete" if verb == "DELETE" else "update"
    return f"this {verb} {why}: it would {action} {runs}" + (f" ({sample})" if names else "")


def check_write(connection: Connection, sql: str, parameters: Any, *, yes: bool,
                confirm: Callable[[str], bool] | None) -> None:
    """Raise Refused unless the write is safe, confirmed (`confirm`, the shell's question), or
    --yes was given."""
    from runs_dbapi.explain import matching_names, write_selection  # noqa: PLC0415

    if yes:
        return
    selection = write_selection(connection, sql, parameters)
    if selection is None or selection.select is None:
        return  # not an UPDATE or DELETE, or one naming a single run by its path
    names = matching_names(connection, selection.select)
    if selection.where and len(names) <= SAFE_LIMIT:
        return
    summary = describe_write(selection.verb, selection.where, names)
    if confirm is not None:
        if not confirm(f"{summary}. Go ahead? [y/N] "):
            raise Refused("cancelled: nothing was changed")
        return
    raise Refused(f"{summary}; nothing was changed. Pass --yes to run it, or narrow the WHERE "
                  "clause")
