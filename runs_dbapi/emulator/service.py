"""The emulated TensorboardService: resource methods over the store, independent of HTTP."""

from __future__ import annotations

import base64
import hashlib
import logging
from dataclasses import dataclass
from typing import Any

from . import choices
from .errors import ApiError, invalid, not_found
from .filtering import FieldSpec, FilterError, Node, check_fields, evaluate, parse_filter
from .kinds import KINDS, TENSORBOARDS, Kind
from .paging import PageTokens
from .store import Record, Store
from .validation import check_id, check_labels, merge_system_labels, parse_message
from .wire import apply_read_mask, parse_field_mask, parse_time, strip_defaults

logger = logging.getLogger(__name__)

Query = dict[str, list[str]]
Json = dict[str, Any]

MAX_BATCH = 1000
NUMBER_BASE = 1_000_000_000_000_000_000  # server-made IDs are 19-digit numbers, as on Vertex


def project_number(project: str) -> str:
    """The stable numeric project number the emulator uses for a project ID."""
    if project.isdigit():
        return project
    digest = hashlib.sha256(project.encode()).digest()
    return str(100_000_000_000 + int.from_bytes(digest[:8], "big") % 900_000_000_000)


def canonical_name(name: str) -> str:
    """A resource name from a request body, with the project spelled as its number."""
    parts = name.split("/")
    if len(parts) > 1 and parts[0] == "projects":
        parts[1] = project_number(parts[1])
    return "/".join(parts)


def first(query: Query, key: str) -> str | None:
    values = query.get(key)
    return values[0] if values else None


def compile_filter(text: str | None, fields: FieldSpec) -> Node | None:
    try:
        node = parse_filter(text or "")
        check_fields(node, fields)
    except FilterError as exc:
        raise invalid(f"Invalid filter {text!r}: {exc}") from exc
    except RecursionError as exc:  # the parser recurses per parenthesis / NOT
        raise invalid("Invalid filter: expression nested too deeply.") from exc
    return node


def page_size(query: Query, default: int, maximum: int) -> int:
    raw = first(query, "pageSize")
    if raw in (None, ""):
        return default
    try:
        if not raw.isascii() or not raw.lstrip("-").isdigit():
            raise ValueError(raw)
        size = int(raw)
    except ValueError as exc:
        raise invalid(f"Invalid value at 'page_size' (TYPE_INT32), \"{raw}\"") from exc
    if size < 0:
        raise invalid(f"Invalid page_size {size}: it must not be negative.")
    return default if size == 0 else min(size, maximum)


@dataclass(frozen=True)
class Settings:
    """Behaviour switches of one emulator instance."""

    operation_polls: int = 0  # polls an Operation needs before it reports done


class Service:
    def __init__(self, store: Store, settings: Settings | None = None) -> None:
        self.store = store
        self.settings = settings or Settings()
        self.tokens = PageTokens()

    # -- rendering ---------------------------------------------------------------------------

    def render(self, record: Record) -> Json:
        body = dict(record.body)
        body["name"] = record.name
        body["createTime"] = record.create_time
        body["updateTime"] = record.update_time
        if record.kind == TENSORBOARDS.name:
            count = self.store.count_children("runs", record.name)
            if count:
                body["runCount"] = count
        return strip_defaults(body)

    def _filter_view(self, record: Record) -> Json:
        return {
            **record.body,
            "displayName": record.display_name,
            "createTime": parse_time(record.create_time),
            "updateTime": parse_time(record.update_time),
        }

    # -- lookups -----------------------------------------------------------------------------

    def require(self, name: str, kind: str) -> Record:
        record = self.store.get(name)
        if record is None or record.kind != kind:
            raise not_found(name)
        return record

    def require_parent(self, kind: Kind, parent: str) -> None:
        if kind.parent is not None:
            self.require(parent, kind.parent)

    # -- generic methods ---------------------------------------------------------------------

    def get(self, kind: Kind, name: str) -> Json:
        return self.render(self.require(name, kind.name))

    def list_resources(self, kind: Kind, parent: str, query: Query) -> Json:
        size = page_size(query, kind.page_default, kind.page_max)
        text = first(query, "filter")
        node = compile_filter(text, kind.filter_fields)
        order = self._order(kind, first(query, "orderBy"))
        mask = parse_field_mask(first(query, "readMask"))
        unknown = [path for path in mask if path.split(".")[0] not in kind.fields]
        if unknown:
            raise invalid(f"Invalid read_mask path {unknown[0]!r} for {kind.message}.")
        binding = [kind.name, parent, text or "", first(query, "orderBy") or "", mask]
        token = first(query, "pageToken")
        after = self.tokens.decode(token, binding) if token else None
        columns = [column for column, _ in order] + ["seq"]
        with self.store.lock:
            self.require_parent(kind, parent)
            found = self.store.children(
                kind.name,
                parent,
                order,
                after,
                accept=lambda r: node is None or evaluate(node, self._filter_view(r),
                                                          kind.filter_fields),
                limit=size + 1,
            )
            page = found[:size]
            items = [apply_read_mask(self.render(r), mask) for r in page]
        response: Json = {self._list_field(kind): items} if items else {}
        if len(found) > size:
            response["nextPageToken"] = self.tokens.encode(binding, page[-1].sort_key(columns))
        return response

    @staticmethod
    def _list_field(kind: Kind) -> str:
        return {
            "tensorboards": "tensorboards",
            "experiments": "tensorboardExperiments",
            "runs": "tensorboardRuns",
            "timeSeries": "tensorboardTimeSeries",
        }[kind.name]

    def _order(self, kind: Kind, text: str | None) -> list[tuple[str, bool]]:
        order: list[tuple[str, bool]] = []
        for part in (text or "").split(","):
            words = part.split()
            if not words:
                if text and text.strip():
                    raise invalid(f"Invalid orderBy {text!r}: empty field.")
                continue
            column = kind.order_fields.get(words[0])
            descending = len(words) == 2 and words[1].lower() == "desc"
            ascending = len(words) == 1 or (len(words) == 2 and words[1].lower() == "asc")
            if column is None or not (descending or ascending):
                raise invalid(
                    f"Invalid orderBy {text!r}: supported fields are "
                    + ", ".join(sorted({k for k in kind.order_fields if "_" in k}))
                    + ", each optionally followed by desc."
                )
            order.append((column, descending))
        return order

    def create(self, kind: Kind, parent: str, query: Query, body: Any) -> Json:
        rid = self._new_id(kind, query)
        fields = parse_message(kind, body)
        with self.store.transaction():
            record = self._insert(kind, parent, rid, fields)
        resource = self.render(record)
        if kind.create_is_operation:
            return self._operation(
                record.name, "CreateTensorboardOperationMetadata", record.create_time,
                response={"@type": f"type.googleapis.com/google.cloud.aiplatform.v1.{kind.message}",
                          **resource},
            )
        return resource

    def _new_id(self, kind: Kind, query: Query) -> str:
        if kind.id_param is None:
            return str(self.store.next_number(kind.name, NUMBER_BASE))
        rid = first(query, kind.id_param) or ""
        snake = kind.id_param[0].lower() + "".join(
            "_" + c.lower() if c.isupper() else c for c in kind.id_param[1:]
        )
        if not rid:
            if kind.id_required:
                raise invalid(f"{snake} must be specified.")
            return str(self.store.next_number(kind.name, NUMBER_BASE))
        check_id(rid, snake)
        return rid

    def _insert(self, kind: Kind, parent: str, rid: str, fields: Json) -> Record:
        """Validate and store one new resource; the caller holds a transaction."""
        self.require_parent(kind, parent)
        for required in sorted(kind.required):
            if not fields.get(required):
                raise invalid(f"{kind.message}.{required} is required but was not set.")
        if "labels" in fields:
            check_labels(fields["labels"])
        name = f"{parent}/{kind.name}/{rid}"
        if self.store.get(name) is not None:
            raise ApiError(choices.DUPLICATE_ID_STATUS, f'{kind.message} "{name}" already exists.')
        self._check_unique_display_name(kind, parent, fields.get("displayName", ""), name)
        moment = self.store.now()
        fields = {k: v for k, v in fields.items() if k != "etag"}
        fields["etag"] = self._etag(name, moment)
        return self.store.insert(kind.name, parent, rid, fields, moment)

    def _check_unique_display_name(self, kind: Kind, parent: str, display: str, name: str) -> None:
        if not kind.unique_display_name or not display:
            return
        holder = self.store.find_display_name(kind.name, parent, display)
        if holder is not None and holder != name:
            raise invalid(
                f'{kind.message} with display name "{display}" already exist in {parent}.'
            )

    @staticmethod
    def _etag(name: str, moment: str) -> str:
        digest = hashlib.sha256(f"{name}@{moment}".encode()).digest()
        return "AMEw9y" + base64.urlsafe_b64encode(digest[:24]).decode()

    def batch_create(self, kind: Kind, parent: str, body: Any, request_field: str) -> Json:
        """Create up to 1000 children in request order, all or nothing."""
        if not isinstance(body, dict) or not isinstance(body.get("requests"), list):
            raise invalid("Invalid JSON payload received: 'requests' must be a list.")
        requests = body["requests"]
        if not requests:
            raise invalid("requests must not be empty.")
        if len(requests) > MAX_BATCH:
            raise invalid(
                f"At most {MAX_BATCH} {kind.message}s can be created in a batch; got "
                f"{len(requests)}."
            )
        prepared = []
        for index, request in enumerate(requests):
            if not isinstance(request, dict):
                raise invalid(f"requests[{index}] must be an object.")
            item_parent = request.get("parent", "")
            prepared.append(
                (
                    self._batch_parent(kind, parent, item_parent, index),
                    self._new_id(kind, {kind.id_param or "": [request.get(kind.id_param or "")
                                                             or ""]}),
                    parse_message(kind, request.get(request_field, {})),
                )
            )
        with self.store.transaction():
            records = [self._insert(kind, p, rid, fields) for p, rid, fields in prepared]
        return {self._list_field(kind): [self.render(r) for r in records]}

    def _batch_parent(self, kind: Kind, url_parent: str, item_parent: Any, index: int) -> str:
        if isinstance(item_parent, str):
            item_parent = canonical_name(item_parent)
        if kind.name == "runs":
            if item_parent != url_parent:
                raise invalid(
                    f"requests[{index}].parent {item_parent!r} does not match the parent "
                    f"{url_parent!r} of the batch request."
                )
            return url_parent
        # Time series are created under runs of the URL's experiment.
        if not isinstance(item_parent, str) or not item_parent.startswith(url_parent + "/runs/"):
            raise invalid(
                f"requests[{index}].parent {item_parent!r} must be a run of {url_parent!r}."
            )
        return item_parent

    def patch(self, kind: Kind, name: str, query: Query, body: Any) -> Json:
        fields = parse_message(kind, body)
        mask = parse_field_mask(first(query, "updateMask"))
        for path in mask:
            if path not in kind.fields:
                raise invalid(f"Invalid update_mask path {path!r} for {kind.message}.")
            if path not in kind.updatable:
                raise invalid(f"{kind.message}.{path} cannot be updated: it is output only "
                              "or immutable.")
        with self.store.transaction():
            record = self.require(name, kind.name)
            stored = dict(record.body)
            etag = fields.pop("etag", None)
            if etag and etag != stored.get("etag"):
                raise ApiError(
                    "ABORTED",
                    f"Specified {kind.message} etag {etag} does not match server etag "
                    f"{stored.get('etag')}.",
                )
            if mask:
                changes = {path: fields.get(path, "" if kind.fields[path] != "labels" else {})
                           for path in mask}
            else:
                for path in fields:
                    if path in kind.immutable and fields[path] != stored.get(path):
                        raise invalid(f"{kind.message}.{path} is immutable.")
                changes = {k: v for k, v in fields.items() if k in kind.updatable and v}
            if "labels" in changes:
                check_labels(changes["labels"])
                changes["labels"] = merge_system_labels(stored.get("labels", {}),
                                                        changes["labels"])
            stored.update(changes)
            for required in kind.required:
                if not stored.get(required):
                    raise invalid(f"{kind.message}.{required} is required and cannot be empty.")
            self._check_unique_display_name(kind, record.parent, stored.get("displayName", ""),
                                            name)
            moment = self.store.now()
            stored["etag"] = self._etag(name, moment)
            updated = self.store.update(record, stored, moment)
        resource = self.render(updated)
        if kind.patch_is_operation:
            return self._operation(
                name, "UpdateTensorboardOperationMetadata", moment,
                response={"@type": f"type.googleapis.com/google.cloud.aiplatform.v1.{kind.message}",
                          **resource},
            )
        return resource

    def delete(self, kind: Kind, name: str) -> Json:
        with self.store.transaction():
            self.require(name, kind.name)
            removed = self.store.delete_tree(name)
            moment = self.store.now()
        logger.debug("deleted %s (%d resources)", name, removed)
        return self._operation(
            name, "DeleteOperationMetadata", moment,
            response={"@type": "type.googleapis.com/google.protobuf.Empty"},
        )

    # -- operations --------------------------------------------------------------------------

    def _operation(self, parent: str, metadata_type: str, moment: str, response: Json) -> Json:
        op_id = self.store.next_number("operations", 7_000_000_000_000_000_000)
        name = f"{parent}/operations/{op_id}"
        body = {
            "name": name,
            "metadata": {
                "@type": f"type.googleapis.com/google.cloud.aiplatform.v1.{metadata_type}",
                "genericMetadata": {"createTime": moment, "updateTime": moment},
            },
            "done": True,
            "response": response,
        }
        polls = self.settings.operation_polls
        self.store.put_operation(name, parent, body, polls)
        return self._operation_view(body, polls)

    @staticmethod
    def _operation_view(body: Json, polls_left: int) -> Json:
        if polls_left > 0:
            return {k: v for k, v in body.items() if k not in ("done", "response", "error")}
        return body

    def get_operation(self, name: str) -> Json:
        polled = self.store.poll_operation(name)
        if polled is None:
            raise not_found(name)
        return self._operation_view(*polled)

    def wait_operation(self, name: str) -> Json:
        self.store.finish_operation(name)
        return self.get_operation(name)

    def cancel_operation(self, name: str) -> Json:
        # Effects apply when requested (see choices.py): nothing to undo.
        if self.store.poll_operation(name) is None:
            raise not_found(name)
        self.store.finish_operation(name)
        return {}

    def delete_operation(self, name: str) -> Json:
        if not self.store.delete_operation(name):
            raise not_found(name)
        return {}

    def list_operations(self, parent: str, query: Query) -> Json:
        size = page_size(query, 100, 1000)
        start = 0
        token = first(query, "pageToken")
        binding = ["operations", parent, first(query, "filter") or ""]
        if token:
            start = int(self.tokens.decode(token, binding)[0])
        operations = self.store.operations(parent)
        page = operations[start:start + size]
        response: Json = {}
        if page:
            response["operations"] = [self._operation_view(body, left) for _, body, left in page]
        if start + size < len(operations):
            response["nextPageToken"] = self.tokens.encode(binding, [start + size])
        return response

    @staticmethod
    def kind(name: str) -> Kind:
        return KINDS[name]
