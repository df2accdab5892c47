"""A path that does not exist is not an empty table.

A tensorboard or experiment named by the connection (`connect()` or the runs:// URL) that does
not exist raises ProgrammingError naming it; one named by a statement's WHERE selects no rows,
as SQL says. The checks here cost calls only once the API has answered NOT_FOUND, so a query
over a path that exists makes no call for them.
"""

from __future__ import annotations

import logging
from collections.abc import Collection, Mapping

from .catalog import TABLES
from .exceptions import ProgrammingError
from .rest import RestClient

__all__ = ["PARENT_LEVELS", "check_connection_path", "missing_parent"]

logger = logging.getLogger(__name__)

# The path levels a connection may name below its project and location: (column, option).
PARENT_LEVELS = (("tensorboardsId", "tensorboard"), ("experimentsId", "experiment"))


def _resource_name(path: Mapping[str, str], level: str) -> str:
    table = next(t for t in TABLES.values() if t.id_column == level)
    return table.resource_name(path)


def _missing(path: Mapping[str, str], level: str, option: str) -> ProgrammingError:
    name = _resource_name(path, level)
    return ProgrammingError(
        f"The {option} {path[level]!r} named by the connection does not exist ({name} is "
        f"NOT_FOUND): check {option}= of connect() or the runs:// URL.",
        http_status=404, rpc_status="NOT_FOUND", http_method="GET", path=f"/v1/{name}",
    )


def missing_parent(client: RestClient, path: Mapping[str, str], named: Collection[str], *,
                   deepest_known_missing: bool) -> ProgrammingError | None:
    """After NOT_FOUND for a call under `path`: the error naming the connection's tensorboard
    or experiment that does not exist, or None when the missing resource is one the statement
    named (`named` holds the levels whose values came from the connection) or, for a get of a
    child, the child itself.

    `deepest_known_missing`: the call was a listing under `path` itself, so the deepest level
    is missing if every level above it exists. Otherwise (a get of a child) the deepest level
    is read first: one get tells a missing child from a missing parent. No call is made unless
    some level came from the connection.
    """
    levels = [(level, option) for level, option in PARENT_LEVELS if path.get(level)]
    if not levels or not any(level in named for level, _ in levels):
        return None
    (deepest, deepest_option), above = levels[-1], levels[:-1]
    if not deepest_known_missing and client.get(_resource_name(path, deepest)) is not None:
        return None  # the parent is there: the child is what is missing
    for level, option in above:
        if client.get(_resource_name(path, level)) is None:
            logger.debug("%s %r does not exist", option, path[level])
            return _missing(path, level, option) if level in named else None
    logger.debug("%s %r does not exist", deepest_option, path[deepest])
    return _missing(path, deepest, deepest_option) if deepest in named else None


def check_connection_path(client: RestClient, defaults: Mapping[str, str]) -> None:
    """Raise ProgrammingError naming the connection's tensorboard or experiment if it does not
    exist: one get when the path names them (two when the experiment is missing, to tell
    which), a listing of the tensorboards' experiments when it names an experiment but no
    tensorboard (the experiment must exist in one of them)."""
    path = {k: v for k, v in defaults.items() if v}
    if not path.get("projectsId") or not path.get("locationsId"):
        return
    if path.get("tensorboardsId"):
        deepest = "experimentsId" if path.get("experimentsId") else "tensorboardsId"
        if client.get(_resource_name(path, deepest)) is None:
            error = missing_parent(client, path, path, deepest_known_missing=True)
            raise error or _missing(path, deepest, dict(PARENT_LEVELS)[deepest])
        return
    if path.get("experimentsId"):
        location = f"projects/{path['projectsId']}/locations/{path['locationsId']}"
        for page in client.list_pages(location, "tensorboards", {"pageSize": 100}):
            for tensorboard in page.get("tensorboards", []):
                name = f"{tensorboard['name']}/experiments/{path['experimentsId']}"
                if client.get(name) is not None:
                    return
        raise ProgrammingError(
            f"The experiment {path['experimentsId']!r} named by the connection does not exist "
            f"in any tensorboard of {location}: check experiment= of connect() or the runs:// "
            "URL.", rpc_status="NOT_FOUND")
