"""The model of a table declaration: columns, types, paths, push-down, reads and writes."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

STRING, TIMESTAMP, JSON, INTEGER, BOOLEAN = "STRING", "TIMESTAMP", "JSON", "INTEGER", "BOOLEAN"
FLOAT, BYTES = "FLOAT", "BYTES"
_PROTO3_DEFAULTS: dict[str, Any] = {STRING: "", INTEGER: 0, FLOAT: 0.0, BOOLEAN: False,
                                    JSON: {}, BYTES: b""}

# The seed's list parameters: WHERE terms sent to the API as written, never columns of a row.
LIST_PARAMETERS = ("filter", "orderBy", "pageSize", "pageToken", "readMask")
# The seed names request-body fields `data__<field>` (StackQL's convention) in INSERT and UPDATE.
BODY_PREFIX = "data__"
# The seed's UPDATE names the patch's field mask as a WHERE term.
UPDATE_MASK_PARAMETER = "updateMask"
# The seed's batch_create INSERT passes the batchCreate request list as written.
BATCH_REQUESTS_COLUMN = "requests"

SCHEMA_ALIASES = ("google.aiplatform", "aiplatform")


@dataclass(frozen=True)
class Column:
    name: str
    type: str
    description: str = ""
    api_field: str | None = None  # field of the API resource; None for path parameters
    filter_name: str | None = None  # AIP-160 field the predicate pushes down to
    order_name: str | None = None  # orderBy field
    output_only: bool = False
    path_parameter: bool = False
    writable: bool = False  # settable by create and patch

    message: bool = False  # a message field (or one inside one): unset is NULL, not a default

    @property
    def default(self) -> Any:
        """The value of the field when the API omits it: proto3's default for its type (a
        timestamp is a message, and so is a `message` field: an omitted one is unset, NULL)."""
        if self.path_parameter or self.message:
            return None
        return _PROTO3_DEFAULTS.get(self.type)


@dataclass(frozen=True)
class Procedure:
    """A method reached with EXEC (StackQL's lifecycle methods), e.g. runs.write."""

    name: str
    verb: str  # the `:verb` of the POST
    description: str
    json_fields: tuple[str, ...]  # fields of the @@json body that hold JSON values


@dataclass(frozen=True)
class BatchCreate:
    """A table's `:batchCreate`: where it is posted and how many requests one call takes.

    The URL is the resource named by the path up to `target`, then `/{collection}` when
    `through_collection` (`{experiment}/runs:batchCreate`), else nothing
    (`{experiment}:batchCreate`, whose requests each name a run as their parent).
    """

    target: str  # the path column of the resource the batchCreate is posted to
    through_collection: bool = True
    verb: str = "batchCreate"


@dataclass(frozen=True)
class Writes:
    """How a table's resources are written: the create, batchCreate, patch and delete rules of
    the API (reference, section 2 and 3), read by the write module, which names no resource.

    The create call's ID query parameter is `Table.id_parameter` (None: the server assigns the
    ID), the batch limit `Table.batch_max`; columns say what is `writable` (by create and
    patch) and `output_only`.
    """

    id_required: bool = False  # the API refuses a create without an ID
    driver_ids: bool = False  # the driver chooses an ID (a UUID) when the row gives none, so
    # that a retried create stays idempotent; without an ID a create is never repeated
    batch: BatchCreate | None = None  # None: one create per row
    required: tuple[str, ...] = ()  # columns a create must set (non-empty)
    unique: tuple[str, ...] = ()  # columns unique among the resources of one parent
    immutable: tuple[str, ...] = ()  # set by create only, never patched
    choices: tuple[tuple[str, tuple[str, ...]], ...] = ()  # (column, the values it takes)
    labels: str | None = None  # the column holding labels (the API's label rules apply)
    etag: str | None = "etag"  # the column of the AIP-154 etag sent with patches
    create_operation: bool = False  # create returns a long-running Operation
    patch_operation: bool = False  # patch returns a long-running Operation
    delete_operation: bool = True  # delete returns a long-running Operation

    def choices_of(self, column: str) -> tuple[str, ...]:
        return next((values for name, values in self.choices if name == column), ())


@dataclass(frozen=True)
class PointReads:
    """How a table of data points is read and written: each row is a point of a series (a row
    of `series_table`, whose ID is the table's last path column), and points are reached through
    the series' read verbs, never listed as resources.

    `batchRead` (on the tensorboard) reads many series per call but samples each above its
    limit (`sample_limits`, by value type); the export verb pages through every point, in order,
    with a filter: a series whose sampled answer reaches the limit is read again through it.
    """

    series_table: str  # the SQL name of the series' table
    series_fields: tuple[str, ...]  # columns whose values are the series' (its display name)
    batch_read_verb: str  # on the tensorboard: `batchRead?timeSeries=...`
    batch_read_max: int  # series per batchRead call
    sample_limits: tuple[tuple[str, int], ...]  # (value type, points returned before sampling)
    export_verb: str  # on the series: POST `{filter, orderBy, pageSize, pageToken}`
    export_field: str  # field of the export answer holding the points
    export_page_max: int
    write_verb: str  # on the experiment: `{writeRunDataRequests: [...]}`
    write_points_max: int  # points per write call
    value_fields: tuple[tuple[str, str], ...]  # (value type, the column holding its value)
    point_key: tuple[str, ...] = ("step",)  # what tells the points of a series apart
    # Writing (runs_dbapi.writes.points): a row names its series by the series table's unique
    # field (its display name) or its ID; missing series are created through the series
    # table's batchCreate, with the plugin name of their value type.
    write_target: str = "experimentsId"  # the path column of the resource `write_verb` is on
    write_requests_field: str = "writeRunDataRequests"  # the write body's list of requests
    write_run_field: str = "tensorboardRun"  # a request's run (its resource name)
    write_data_field: str = "timeSeriesData"  # a request's list of series data
    values_field: str = "values"  # a series data's list of points
    value_type_field: str = "valueType"  # the series' (and the row's) value type
    wall_time_field: str = "wallTime"  # the point's time, now (UTC) when a row gives none
    plugin_names: tuple[tuple[str, str], ...] = ()  # (value type, pluginName of a new series)
    plugin_field: str = "pluginName"  # the series' field naming its plugin

    def sample_limit(self, value_type: str) -> int:
        return dict(self.sample_limits).get(value_type, min(n for _, n in self.sample_limits))


@dataclass(frozen=True)
class Table:
    name: str  # SQL name
    message: str  # API message name
    list_field: str  # field of the list response holding the resources
    path: tuple[str, ...]  # path-parameter columns, outermost first; the last is the own ID
    columns: tuple[Column, ...]
    description: str = ""
    page_max: int = 1000
    writable: bool = False
    id_parameter: str | None = None  # the create call's ID query parameter (the seed's name)
    procedures: tuple[Procedure, ...] = ()
    batch_max: int = 1000  # requests per batchCreate
    collection: str = ""  # the API collection (`timeSeries`), when it is not the SQL name
    writes: Writes = Writes()  # how rows are written, when `writable`
    points: PointReads | None = None  # a table of data points (see PointReads), not resources

    @property
    def api_collection(self) -> str:
        return self.collection or self.name

    @property
    def create_field(self) -> str:
        """The field of a create request (batchCreate's `requests[]`) holding the resource:
        `tensorboardRun` for TensorboardRun."""
        return self.message[0].lower() + self.message[1:]

    def batch_url(self, path: Mapping[str, str]) -> str:
        """The `:batchCreate` URL (without `/v1/`) of rows whose path is `path`."""
        batch = self.writes.batch
        if batch is None:
            raise ValueError(f"{self.name} has no batchCreate")
        target = "/".join(f"{name[:-2]}/{path[name]}"
                          for name in self.path[:self.path.index(batch.target) + 1])
        collection = f"/{self.api_collection}" if batch.through_collection else ""
        return f"{target}{collection}:{batch.verb}"

    @property
    def key_columns(self) -> tuple[str, ...]:
        """The columns that identify a row: a resource's name, or a point's series and step."""
        return ("name",) if self.points is None else (*self.path, *self.points.point_key)

    @property
    def parent_path(self) -> tuple[str, ...]:
        return self.path[:-1]

    @property
    def id_column(self) -> str:
        return self.path[-1]

    def column(self, name: str) -> Column | None:
        folded = name.lower()
        return next((c for c in self.columns if c.name.lower() == folded), None)

    @property
    def column_names(self) -> list[str]:
        return [c.name for c in self.columns]

    def resource_name(self, path: Mapping[str, str], *, parent: bool = False) -> str:
        """`projects/p/locations/l/...` from path parameters (`projectsId` -> `projects/p`)."""
        names = self.parent_path if parent else self.path
        return "/".join(f"{name[:-2]}/{path[name]}" for name in names)

    def parse_name(self, name: str) -> dict[str, str] | None:
        """Path parameters from a resource name of this table, or None if it is not one."""
        parts = name.split("/")
        if len(parts) != 2 * len(self.path):
            return None
        path = {}
        for index, column in enumerate(self.path):
            if parts[2 * index] != column[:-2] or not parts[2 * index + 1]:
                return None
            path[column] = parts[2 * index + 1]
        return path
