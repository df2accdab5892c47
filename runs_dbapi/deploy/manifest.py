"""A deploy manifest: YAML read with the line of every prop, its shape and its props checked
against the catalog before anything is rendered or called.

The format follows stackql-deploy's manifests and the seed page's Manifest tab:

    version: 1
    name: nlp-baselines
    globals:                       # template variables: {{ project }}
      - name: project
        value: "{{ GOOGLE_CLOUD_PROJECT }}"
    resources:                     # in dependency order
      - name: board                # a label of the block
        type: tensorboards         # tensorboards, experiments, runs (default) or time_series
        props:                     # name / value / description, as in the seed
          - name: displayName
            value: team-board
        exports:                   # columns of the resource later blocks use
          - tensorboardsId

Which props a block may declare is read from the catalog: the table's path parameters, its ID
parameter, the columns create or patch may set, `etag`, and `requests` for a table whose
batchCreate is posted to its collection (the seed's batch_create).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import yaml

from ..catalog import BATCH_REQUESTS_COLUMN, TABLES, Table
from ..exceptions import ProgrammingError
from ..suggest import did_you_mean

__all__ = ["Block", "GlobalValue", "Manifest", "ManifestError", "Prop", "declarable",
           "deployable", "parse_manifest"]

DEFAULT_TYPE = "runs"
TOP_KEYS = ("version", "name", "description", "globals", "resources")
BLOCK_KEYS = ("name", "type", "description", "props", "exports")
PROP_KEYS = ("name", "value", "description")


class ManifestError(ProgrammingError):
    """A manifest that cannot be applied: the file, the line, and the resource and prop."""

    def __init__(self, file: str, line: int | None, message: str, *, resource: str = "",
                 prop: str = "") -> None:
        where = [f"{file}, line {line}" if line else file]
        if resource:
            where.append(f"resource {resource!r}")
        if prop:
            where.append(f"prop {prop!r}")
        super().__init__(f"{', '.join(where)}: {message}")
        self.file, self.line, self.resource, self.prop = file, line, resource, prop


@dataclass(frozen=True)
class Prop:
    name: str
    value: Any  # as YAML wrote it: text (a template), a number, a mapping or a list
    line: int
    description: str = ""
    item_lines: tuple[int, ...] = ()  # the line of each item of a list value


@dataclass(frozen=True)
class GlobalValue:
    name: str
    value: Any
    line: int


@dataclass(frozen=True)
class Block:
    """One entry of `resources`: a resource, or many runs through `requests`."""

    name: str
    table: Table
    props: tuple[Prop, ...]
    exports: tuple[str, ...]
    line: int
    description: str = ""

    def prop(self, name: str) -> Prop | None:
        return next((p for p in self.props if p.name == name), None)


@dataclass
class Manifest:
    file: str
    version: str
    name: str
    description: str
    globals: tuple[GlobalValue, ...]
    blocks: tuple[Block, ...]
    context: dict[str, Any] = field(default_factory=dict)  # filled by load_manifest

    def error(self, line: int | None, message: str, *, resource: str = "", prop: str = ""
              ) -> ManifestError:
        return ManifestError(self.file, line, message, resource=resource, prop=prop)


def deployable(table: Table) -> bool:
    """Whether a manifest may declare rows of `table`: writable resources, each with its own
    resource name (not, e.g., the data points of a time series)."""
    return table.writable and table.column("name") is not None


def declarable(table: Table) -> dict[str, str]:
    """The props a block of `table` may declare, each with what it is."""
    props: dict[str, str] = {}
    for name in table.path:
        props[name] = "ID" if name == table.id_column else "path"
    if table.id_parameter:
        props[table.id_parameter] = "ID"
    for column in table.columns:
        if column.writable or column.name in table.writes.immutable:
            props[column.name] = "field"
    if table.writes.etag:
        props[table.writes.etag] = "etag"
    batch = table.writes.batch
    if batch is not None and batch.through_collection and table.id_parameter:
        props[BATCH_REQUESTS_COLUMN] = "requests"
    return props


# -- YAML with lines ---------------------------------------------------------------------------


def _line(node: yaml.Node) -> int:
    return int(node.start_mark.line) + 1


class _Reader:
    def __init__(self, file: str) -> None:
        self.file = file
        self._constructor = yaml.SafeLoader("")

    def error(self, node: yaml.Node | None, message: str, *, resource: str = "",
              prop: str = "") -> ManifestError:
        return ManifestError(self.file, _line(node) if node is not None else None, message,
                             resource=resource, prop=prop)

    def value(self, node: yaml.Node) -> Any:
        try:
            return self._constructor.construct_object(node, deep=True)
        except yaml.YAMLError as error:
            problem = " ".join(str(getattr(error, "problem", "") or error).split())
            if "unhashable" in problem:
                problem = 'a value starting with {{ must be quoted: value: "{{ name }}"'
            raise self.error(node, f"not valid YAML: {problem}") from None

    def mapping(self, node: yaml.Node, what: str, keys: tuple[str, ...], *,
                resource: str = "", prop: str = "") -> dict[str, yaml.Node]:
        if not isinstance(node, yaml.MappingNode):
            raise self.error(node, f"{what} must be a mapping with {', '.join(keys)}",
                             resource=resource, prop=prop)
        found: dict[str, yaml.Node] = {}
        for key_node, value_node in node.value:
            key = str(self.value(key_node))
            if key in found:
                raise self.error(key_node, f"{key!r} is given twice in {what}",
                                 resource=resource, prop=prop)
            if key not in keys:
                raise self.error(key_node, f"unknown key {key!r} in {what} (known: "
                                 f"{', '.join(keys)}).{did_you_mean(key, keys)}",
                                 resource=resource, prop=prop)
            found[key] = value_node
        return found

    def sequence(self, node: yaml.Node, what: str, *, resource: str = "") -> list[yaml.Node]:
        if isinstance(node, yaml.ScalarNode) and self.value(node) is None:
            return []
        if not isinstance(node, yaml.SequenceNode):
            raise self.error(node, f"{what} must be a list", resource=resource)
        return list(node.value)

    def text(self, node: yaml.Node, what: str, *, resource: str = "", prop: str = "") -> str:
        value = self.value(node) if isinstance(node, yaml.ScalarNode) else None
        if value is None or isinstance(value, bool) or str(value).strip() == "":
            raise self.error(node, f"{what} must be a non-empty text", resource=resource,
                             prop=prop)
        return str(value)


def _compose(text: str, file: str) -> yaml.Node:
    loader = yaml.SafeLoader(text)
    try:
        node = loader.get_single_node()
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        problem = " ".join(str(error.problem or error.context or "").split())
        raise ManifestError(file, int(mark.line) + 1 if mark else None,
                            f"not valid YAML: {problem}") from None
    except yaml.YAMLError as error:
        raise ManifestError(file, None, f"not valid YAML: {error}") from None
    finally:
        loader.dispose()
    if node is None:
        raise ManifestError(file, None, "the manifest is empty")
    return node


def parse_manifest(text: str, file: str = "<manifest>") -> Manifest:
    """The manifest's structure, its types and its props checked; templates are not rendered."""
    reader = _Reader(file)
    top = reader.mapping(_compose(text, file), "the manifest", TOP_KEYS)
    for key in ("version", "name", "resources"):
        if key not in top:
            raise ManifestError(file, 1, f"the manifest needs '{key}'")
    version = reader.text(top["version"], "version")
    if version not in ("1", "1.0"):
        raise reader.error(top["version"], f"version {version!r} is not supported (use 1)")
    name = reader.text(top["name"], "name")
    description = str(reader.value(top["description"]) or "") if "description" in top else ""
    globals_ = tuple(_globals(reader, top.get("globals")))
    blocks: list[Block] = []
    seen: dict[str, int] = {}
    resources = reader.sequence(top["resources"], "resources")
    if not resources:
        raise reader.error(top["resources"], "resources lists no resource")
    for node in resources:
        block = _block(reader, node)
        if block.name in seen:
            raise reader.error(node, f"duplicate resource name {block.name!r} (first at line "
                               f"{seen[block.name]}): each block needs its own name",
                               resource=block.name)
        seen[block.name] = block.line
        blocks.append(block)
    return Manifest(file, version, name, description, globals_, tuple(blocks))


def _globals(reader: _Reader, node: yaml.Node | None) -> Iterator[GlobalValue]:
    if node is None:
        return
    names: set[str] = set()
    for item in reader.sequence(node, "globals"):
        entry = reader.mapping(item, "a global", PROP_KEYS)
        if "name" not in entry or "value" not in entry:
            raise reader.error(item, "a global needs a name and a value")
        name = reader.text(entry["name"], "a global's name")
        if not name.isidentifier():
            raise reader.error(entry["name"], f"global {name!r} is not a template variable "
                               "name (letters, digits and underscores)")
        if name in names:
            raise reader.error(entry["name"], f"global {name!r} is given twice")
        names.add(name)
        yield GlobalValue(name, reader.value(entry["value"]), _line(entry["value"]))


def _block(reader: _Reader, node: yaml.Node) -> Block:
    entry = reader.mapping(node, "a resource", BLOCK_KEYS)
    if "name" not in entry:
        raise reader.error(node, "a resource needs a name")
    name = reader.text(entry["name"], "a resource's name")
    kind = (reader.text(entry["type"], "type", resource=name) if "type" in entry
            else DEFAULT_TYPE)
    writable = sorted(t.name for t in TABLES.values() if deployable(t))
    table = TABLES.get(kind)
    if table is None or not deployable(table):
        raise reader.error(entry.get("type", node), f"unknown type {kind!r} (known: "
                           f"{', '.join(writable)}).{did_you_mean(kind, writable)}",
                           resource=name)
    if "props" not in entry:
        raise reader.error(node, "a resource needs props", resource=name)
    allowed = declarable(table)
    props: list[Prop] = []
    for item in reader.sequence(entry["props"], "props", resource=name):
        props.append(_prop(reader, item, table, name, allowed))
        if sum(p.name == props[-1].name for p in props) > 1:
            raise reader.error(item, "given twice", resource=name, prop=props[-1].name)
    exports = tuple(_exports(reader, entry.get("exports"), table, name))
    block = Block(name, table, tuple(props), exports, _line(node),
                  str(reader.value(entry["description"]) or "") if "description" in entry
                  else "")
    ids = [p for p in props if allowed[p.name] == "ID"]
    if not ids and block.prop("displayName") is None and block.prop(BATCH_REQUESTS_COLUMN) is None:
        id_name = table.id_parameter or table.id_column
        raise reader.error(node, f"a resource of {table.name} is found by its ID prop "
                           f"({id_name}) or its displayName: declare one", resource=name)
    if exports and block.prop(BATCH_REQUESTS_COLUMN) is not None:
        raise reader.error(entry["exports"], "a block declaring many resources (requests) "
                           "has nothing to export: export from a block of one resource",
                           resource=name)
    return block


def _prop(reader: _Reader, node: yaml.Node, table: Table, resource: str,
          allowed: dict[str, str]) -> Prop:
    entry = reader.mapping(node, "a prop", PROP_KEYS, resource=resource)
    if "name" not in entry:
        raise reader.error(node, "a prop needs a name", resource=resource)
    name = reader.text(entry["name"], "a prop's name", resource=resource)
    if name not in allowed:
        column = table.column(name)
        if column is not None and column.output_only:
            why = f"is output only: the API sets it on {table.message}s"
        else:
            why = f"is not a prop of {table.name}.{did_you_mean(name, allowed)}"
        raise reader.error(entry["name"], f"{name!r} {why} (declarable: {', '.join(allowed)})",
                           resource=resource, prop=name)
    if "value" not in entry:
        raise reader.error(node, "a prop needs a value", resource=resource, prop=name)
    value_node = entry["value"]
    try:
        value = reader.value(value_node)
    except ManifestError as error:
        raise reader.error(value_node, str(error).split(": ", 1)[1], resource=resource,
                           prop=name) from None
    lines = tuple(_line(n) for n in value_node.value) if isinstance(
        value_node, yaml.SequenceNode) else ()
    description = str(reader.value(entry["description"]) or "") if "description" in entry \
        else ""
    return Prop(name, value, _line(value_node), description, lines)


def _exports(reader: _Reader, node: yaml.Node | None, table: Table, resource: str
             ) -> Iterator[str]:
    if node is None:
        return
    names = table.column_names
    for item in reader.sequence(node, "exports", resource=resource):
        name = reader.text(item, "an export", resource=resource)
        column = table.column(name)
        if column is None or column.name != name:
            raise reader.error(item, f"{name!r} is not a column of {table.name}, so it cannot "
                               f"be exported.{did_you_mean(name, names)}", resource=resource,
                               prop=name)
        yield name
