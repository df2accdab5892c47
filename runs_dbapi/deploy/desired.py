"""The resources a block declares, with their values in the API's types, checked by the API's
rules (IDs, path values, labels, the values a field takes) before any call.

A block declares one resource, or, with `requests` (the seed's batch_create), many: each request
is `{<ID parameter>: ..., <create field>: {...}}` as the API takes it (`{"tensorboardRunId":
"r1", "tensorboardRun": {"displayName": ...}}`), or the fields written flat beside the ID. A
resource is identified by its ID when it has one, else by its displayName within its parent.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ..catalog import BATCH_REQUESTS_COLUMN, BOOLEAN, FLOAT, INTEGER, JSON, STRING, Column, Table
from ..exceptions import DataError
from ..rules import check_labels, check_path_value, check_resource_id, parse_labels
from .manifest import Block, Manifest, declarable
from .templates import has_unknown

__all__ = ["Desired", "resolve_block"]

DISPLAY_NAME = "displayName"


@dataclass
class Desired:
    """One resource as the manifest declares it."""

    block: Block
    key: str  # how it is named within its block: its ID, else its displayName
    line: int
    parent: dict[str, str]  # the parent's path parameters
    own_id: str | None
    fields: dict[str, Any]  # column -> value in the API's type (labels: a dict)
    etag: str | None = None
    unknown: bool = False  # depends on an export not known before apply
    many: bool = False  # one of a block's `requests`

    @property
    def table(self) -> Table:
        return self.block.table

    @property
    def label(self) -> str:
        return f"{self.block.name}[{self.key}]" if self.many else self.block.name

    @property
    def path(self) -> dict[str, str]:
        return {**self.parent, self.table.id_column: self.own_id} if self.own_id else \
            dict(self.parent)

    @property
    def resource_name(self) -> str | None:
        return self.table.resource_name(self.path) if self.own_id and not self.unknown \
            else None

    @property
    def parent_name(self) -> str:
        return self.table.resource_name(self.parent, parent=True)


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def convert(table: Table, column: Column, value: Any) -> Any:
    """A rendered value in the API's type for `column`; DataError when the API would refuse it."""
    if has_unknown(value):
        return value
    if column.name == table.writes.labels:
        labels = parse_labels(value)
        check_labels(labels, allow_system=False)
        return labels
    if column.type == BOOLEAN:
        if isinstance(value, bool):
            return value
        if _text(value).lower() in ("true", "false"):
            return _text(value).lower() == "true"
        raise DataError(f"{column.name} takes true or false, not {value!r}.")
    if column.type in (INTEGER, FLOAT):
        try:
            return int(value) if column.type == INTEGER else float(value)
        except (TypeError, ValueError):
            raise DataError(f"{column.name} takes a number, not {value!r}.") from None
    if column.type == JSON:
        if not isinstance(value, dict):
            raise DataError(f"{column.name} takes a mapping, not {value!r}.")
        return value
    text = _text(value) if column.type == STRING or not isinstance(value, (dict, list)) \
        else value
    choices = table.writes.choices_of(column.name)
    if choices and text not in choices:
        raise DataError(f"{column.name} takes one of {', '.join(choices)}, not {text!r}.")
    if column.name in table.writes.required and not text:
        raise DataError(f"{column.name} is required to create a row of {table.name}.")
    return text


def resolve_block(manifest: Manifest, block: Block, rendered: Mapping[str, Any],
                  defaults: Mapping[str, Any] | None) -> list[Desired]:
    """The resources `block` declares, from its rendered props. `defaults` are the
    connection's path parameters (None: not connected, missing ones are not checked)."""
    table = block.table
    kinds = declarable(table)

    def fail(prop: str, message: str, line: int | None = None) -> Exception:
        found = block.prop(prop)
        return manifest.error(line or (found.line if found else block.line), message,
                              resource=block.name, prop=prop)

    parent: dict[str, str] = {}
    for name in table.parent_path:
        value = rendered.get(name)
        value = _text(value) if value not in (None, "") else (defaults or {}).get(name)
        if not value:
            if defaults is None:
                continue
            raise fail(name, f"no value for {name}: declare the prop, or connect to a URL that "
                       "names it (runs://PROJECT/LOCATION[/TENSORBOARD[/EXPERIMENT]])")
        parent[name] = _text(value)
        if not has_unknown(parent[name]):
            try:
                check_path_value(parent[name], name)
            except DataError as error:
                raise fail(name, str(error)) from None
    etag = _text(rendered.get(table.writes.etag or "")) or None
    top = {k: v for k, v in rendered.items() if kinds.get(k) in ("ID", "field")}
    found: list[Desired] = []
    if set(top) & {DISPLAY_NAME, table.id_column, table.id_parameter or table.id_column} \
            or BATCH_REQUESTS_COLUMN not in rendered:
        found.append(_desired(manifest, block, top, parent, etag=etag, line=block.line,
                              many=False))
    requests = rendered.get(BATCH_REQUESTS_COLUMN)
    if requests is not None:
        prop = block.prop(BATCH_REQUESTS_COLUMN)
        assert prop is not None
        items = requests if isinstance(requests, list) else None
        if items is None:
            raise fail(BATCH_REQUESTS_COLUMN, "requests must be a list of {"
                       f"{table.id_parameter}: ..., {table.create_field}: {{...}}}}")
        for index, item in enumerate(items):
            line = prop.item_lines[index] if index < len(prop.item_lines) else prop.line
            found.append(_desired(manifest, block, _request_fields(manifest, block, item, line),
                                  parent, etag=None, line=line, many=True))
        if found and not found[0].many and len(found) > 1:
            found[0].many = True
    _check_duplicates(manifest, block, found)
    return found


def _request_fields(manifest: Manifest, block: Block, item: Any, line: int) -> dict[str, Any]:
    table = block.table
    if not isinstance(item, dict):
        raise manifest.error(line, f"a request is a mapping ({table.id_parameter}, "
                             f"{table.create_field}), not {item!r}", resource=block.name,
                             prop=BATCH_REQUESTS_COLUMN)
    fields = {k: v for k, v in item.items() if k not in (table.create_field, "parent")}
    body = item.get(table.create_field, {})
    if not isinstance(body, dict):
        raise manifest.error(line, f"{table.create_field} must be a mapping of fields",
                             resource=block.name, prop=BATCH_REQUESTS_COLUMN)
    fields.update(body)
    kinds = declarable(table)
    for name in fields:
        if kinds.get(name) not in ("ID", "field") or name in table.parent_path:
            column = table.column(name)
            why = ("is output only" if column is not None and column.output_only
                   else "is not a field of a request")
            raise manifest.error(line, f"{name!r} {why} (a request takes "
                                 f"{', '.join(k for k, v in kinds.items() if v == 'field')} "
                                 f"and {table.id_parameter})", resource=block.name,
                                 prop=f"{BATCH_REQUESTS_COLUMN}.{name}")
    return fields


def _desired(manifest: Manifest, block: Block, values: Mapping[str, Any],
             parent: dict[str, str], *, etag: str | None, line: int, many: bool) -> Desired:
    table = block.table

    def fail(prop: str, message: str) -> Exception:
        found = block.prop(prop)
        where = found.line if found is not None and not many else line
        return manifest.error(where, message, resource=block.name,
                              prop=f"{BATCH_REQUESTS_COLUMN}.{prop}" if many else prop)

    ids = {_text(values[n]) for n in (table.id_column, table.id_parameter)
           if n and values.get(n) not in (None, "")}
    if len(ids) > 1:
        raise fail(table.id_parameter or table.id_column,
                   f"{table.id_column} and {table.id_parameter} name different resources")
    own_id = ids.pop() if ids else None
    if own_id is not None and not has_unknown(own_id):
        try:
            if table.id_parameter:
                check_resource_id(own_id, table.id_parameter)
            else:
                check_path_value(own_id, table.id_column)
        except DataError as error:
            raise fail(table.id_parameter or table.id_column, str(error)) from None
    fields: dict[str, Any] = {}
    for name, value in values.items():
        column = table.column(name)
        if column is None or column.path_parameter or name == table.id_parameter:
            continue
        try:
            fields[column.name] = convert(table, column, value)
        except DataError as error:
            raise fail(name, str(error)) from None
    if own_id is None and not fields.get(DISPLAY_NAME):
        raise fail(DISPLAY_NAME, f"a resource of {table.name} is found by its "
                   f"{table.id_parameter or table.id_column} or its displayName: give one")
    unknown = has_unknown(parent) or has_unknown(own_id) or has_unknown(fields)
    return Desired(block, own_id or str(fields.get(DISPLAY_NAME)), line, parent, own_id,
                   fields, etag, unknown, many)


def _check_duplicates(manifest: Manifest, block: Block, found: list[Desired]) -> None:
    unique = [DISPLAY_NAME] if DISPLAY_NAME in block.table.writes.unique else []
    for attribute in ("own_id", *unique):
        seen: dict[str, Desired] = {}
        for desired in found:
            value = desired.own_id if attribute == "own_id" else desired.fields.get(attribute)
            if not value or has_unknown(value):
                continue
            if value in seen:
                raise manifest.error(desired.line, f"{value!r} is declared twice in this block "
                                     f"(also at line {seen[value].line})", resource=block.name,
                                     prop=attribute if attribute != "own_id" else
                                     (block.table.id_parameter or block.table.id_column))
            seen[value] = desired
