"""The tables the driver exposes, declared as data: columns, types, path, push-down and methods.

Everything the planner, the dialect and the CLI know about a table comes from here.
"""

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

    @property
    def default(self) -> Any:
        """The value of the field when the API omits it: proto3's default for its type (a
        timestamp is a message, so an omitted one is unset: NULL)."""
        if self.path_parameter:
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


def _path_columns(names: tuple[str, ...]) -> tuple[Column, ...]:
    return tuple(
        Column(n, STRING, f"Path parameter: the `{n[:-2]}` segment of the resource name.",
               path_parameter=True)
        for n in names
    )


_LABELS_TEXT = (
    "The labels with user-defined metadata to organize your TensorboardRuns. This field will be "
    "used to filter and visualize Runs in the Tensorboard UI. For example, a Vertex AI training "
    "job can set a label aiplatform.googleapis.com/training_job_id=xxxxx to all the runs created "
    "within that job. An end user can set a label experiment_id=xxxxx for all the runs produced "
    "in a Jupyter notebook. These runs can be grouped by a label value and visualized together "
    "in the Tensorboard UI. Label keys and values can be no longer than 64 characters (Unicode "
    "codepoints), can only contain lowercase letters, numeric characters, underscores and "
    "dashes. International characters are allowed. No more than 64 user labels can be "
    "associated with one TensorboardRun (System labels are excluded). See "
    "https://goo.gl/xmQnxf for more information and examples of labels. System reserved label "
    'keys are prefixed with "aiplatform.googleapis.com/" and are immutable.'
)
_ETAG_TEXT = (
    'Used to perform a consistent read-modify-write updates. If not set, a blind "overwrite" '
    "update happens."
)


def _common(kind: str, *, name_format: str, labels: str) -> dict[str, Column]:
    return {
        "name": Column("name", STRING, f"Output only. Name of the {kind}. Format: `{name_format}`",
                       api_field="name", output_only=True),
        "createTime": Column("createTime", TIMESTAMP,
                             f"Output only. Timestamp when this {kind} was created.",
                             api_field="createTime", filter_name="create_time",
                             order_name="create_time", output_only=True),
        "description": Column("description", STRING, f"Description of this {kind}.",
                              api_field="description", writable=True),
        "etag": Column("etag", STRING, _ETAG_TEXT, api_field="etag"),
        "labels": Column("labels", JSON, labels, api_field="labels", filter_name="labels",
                         writable=True),
        "updateTime": Column("updateTime", TIMESTAMP,
                             f"Output only. Timestamp when this {kind} was last updated.",
                             api_field="updateTime", filter_name="update_time",
                             order_name="update_time", output_only=True),
    }


def _display_name(text: str) -> Column:
    return Column("displayName", STRING, text, api_field="displayName",
                  filter_name="display_name", order_name="display_name", writable=True)


_RUN_PATH = ("projectsId", "locationsId", "tensorboardsId", "experimentsId", "runsId")
_RUN_COMMON = _common(
    "TensorboardRun",
    name_format="projects/{project}/locations/{location}/tensorboards/{tensorboard}/experiments/"
    "{experiment}/runs/{run}",
    labels=_LABELS_TEXT,
)

RUNS = Table(
    name="runs",
    message="TensorboardRun",
    list_field="tensorboardRuns",
    path=_RUN_PATH,
    description=(
        "TensorboardRun maps to a specific execution of a training job with a given set of "
        "hyperparameter values, model definition, dataset, etc"
    ),
    writable=True,
    id_parameter="tensorboardRunId",
    writes=Writes(id_required=True, driver_ids=True, batch=BatchCreate("experimentsId"),
                  required=("displayName",), unique=("displayName",), labels="labels"),
    procedures=(
        Procedure(
            name="write",
            verb="write",
            description=(
                "Write time series data points into multiple TensorboardTimeSeries under a "
                "TensorboardRun. If any data fail to be ingested, an error is returned."
            ),
            json_fields=("timeSeriesData",),
        ),
    ),
    # The seed's column order: the resource's fields, then the path parameters.
    columns=(
        _RUN_COMMON["name"],
        _RUN_COMMON["createTime"],
        _RUN_COMMON["description"],
        _display_name(
            "Required. User provided name of this TensorboardRun. This value must be unique "
            "among all TensorboardRuns belonging to the same parent TensorboardExperiment."
        ),
        _RUN_COMMON["etag"],
        _RUN_COMMON["labels"],
        _RUN_COMMON["updateTime"],
        *_path_columns(_RUN_PATH),
    ),
)

_EXPERIMENT_PATH = _RUN_PATH[:-1]
_EXPERIMENT_COMMON = _common(
    "TensorboardExperiment",
    name_format="projects/{project}/locations/{location}/tensorboards/{tensorboard}/experiments/"
    "{experiment}",
    labels="The labels with user-defined metadata to organize your TensorboardExperiment.",
)

EXPERIMENTS = Table(
    name="experiments",
    message="TensorboardExperiment",
    list_field="tensorboardExperiments",
    path=_EXPERIMENT_PATH,
    description="A TensorboardExperiment is a group of TensorboardRuns.",
    writable=True,
    id_parameter="tensorboardExperimentId",
    writes=Writes(id_required=True, driver_ids=True, immutable=("source",), labels="labels"),
    columns=(
        _EXPERIMENT_COMMON["name"],
        _EXPERIMENT_COMMON["createTime"],
        _EXPERIMENT_COMMON["description"],
        _display_name("User provided name of this TensorboardExperiment."),
        _EXPERIMENT_COMMON["etag"],
        _EXPERIMENT_COMMON["labels"],
        Column("source", STRING, "Immutable. Source of the TensorboardExperiment.",
               api_field="source"),
        _EXPERIMENT_COMMON["updateTime"],
        *_path_columns(_EXPERIMENT_PATH),
    ),
)

_TENSORBOARD_PATH = _RUN_PATH[:3]
_TENSORBOARD_COMMON = _common(
    "Tensorboard",
    name_format="projects/{project}/locations/{location}/tensorboards/{tensorboard}",
    labels="The labels with user-defined metadata to organize your Tensorboards.",
)

TENSORBOARDS = Table(
    name="tensorboards",
    message="Tensorboard",
    list_field="tensorboards",
    path=_TENSORBOARD_PATH,
    page_max=100,
    description="A Tensorboard is a physical database of runs and their data.",
    writable=True,
    writes=Writes(required=("displayName",), labels="labels", create_operation=True,
                  patch_operation=True),
    columns=(
        _TENSORBOARD_COMMON["name"],
        Column("blobStoragePathPrefix", STRING,
               "Output only. Cloud Storage path prefix used to store blob data.",
               api_field="blobStoragePathPrefix", output_only=True),
        _TENSORBOARD_COMMON["createTime"],
        _TENSORBOARD_COMMON["description"],
        _display_name("Required. User provided name of this Tensorboard."),
        _TENSORBOARD_COMMON["etag"],
        Column("isDefault", BOOLEAN, "Whether this is the default TensorBoard instance.",
               api_field="isDefault", writable=True),
        _TENSORBOARD_COMMON["labels"],
        Column("runCount", INTEGER, "Output only. The number of Runs stored in this Tensorboard.",
               api_field="runCount", output_only=True),
        _TENSORBOARD_COMMON["updateTime"],
        *_path_columns(_TENSORBOARD_PATH),
    ),
)

_TIME_SERIES_PATH = (*_RUN_PATH, "timeSeriesId")

TIME_SERIES = Table(
    name="time_series",
    collection="timeSeries",
    message="TensorboardTimeSeries",
    list_field="tensorboardTimeSeries",
    path=_TIME_SERIES_PATH,
    description="A TensorboardTimeSeries maps to a time series produced in training runs: a "
                "metric such as loss, by step.",
    writable=True,
    id_parameter="tensorboardTimeSeriesId",
    writes=Writes(driver_ids=True,
                  batch=BatchCreate("experimentsId", through_collection=False),
                  required=("displayName", "valueType"), unique=("displayName",),
                  immutable=("valueType", "pluginName"),
                  choices=(("valueType", ("SCALAR", "TENSOR", "BLOB_SEQUENCE")),)),
    columns=(
        Column("name", STRING, "Output only. Name of the TensorboardTimeSeries.",
               api_field="name", output_only=True),
        Column("displayName", STRING, "Required. User provided name of this "
               "TensorboardTimeSeries. This value should be unique among all "
               "TensorboardTimeSeries resources belonging to the same TensorboardRun resource "
               "(parent resource).", api_field="displayName", filter_name="display_name",
               order_name="display_name", writable=True),
        Column("description", STRING, "Description of this TensorboardTimeSeries.",
               api_field="description", writable=True),
        Column("valueType", STRING, "Required. Immutable. Type of TensorboardTimeSeries value: "
               "SCALAR, TENSOR or BLOB_SEQUENCE.", api_field="valueType",
               filter_name="value_type", writable=True),
        Column("pluginName", STRING, "Immutable. Name of the plugin this time series pertain "
               "to, such as Scalars, Tensor, Blob.", api_field="pluginName",
               filter_name="plugin_name", writable=True),
        Column("pluginData", BYTES, "Data of the current plugin, with the size limited to "
               "65KB.", api_field="pluginData", writable=True),
        Column("metadata", JSON, "Output only. Scalar, Tensor, or Blob metadata for this "
               "TensorboardTimeSeries: maxStep, maxWallTime, maxBlobSequenceLength.",
               api_field="metadata", output_only=True),
        Column("createTime", TIMESTAMP, "Output only. Timestamp when this "
               "TensorboardTimeSeries was created.", api_field="createTime",
               filter_name="create_time", order_name="create_time", output_only=True),
        Column("updateTime", TIMESTAMP, "Output only. Timestamp when this "
               "TensorboardTimeSeries was last updated.", api_field="updateTime",
               filter_name="update_time", order_name="update_time", output_only=True),
        Column("etag", STRING, _ETAG_TEXT, api_field="etag"),
        *_path_columns(_TIME_SERIES_PATH),
    ),
)

TABLES: dict[str, Table] = {t.name: t for t in (RUNS, EXPERIMENTS, TENSORBOARDS, TIME_SERIES)}

# The seed's list response, one row per API page (`SELECT nextPageToken, tensorboardRuns ...`).
PAGE_COLUMNS: dict[str, tuple[Column, ...]] = {
    t.name: (
        Column("nextPageToken", STRING,
               "A token to retrieve the next page; omitted on the last page."),
        Column(t.list_field, JSON, f"The {t.message}s of this page."),
    )
    for t in TABLES.values()
}


def find_table(parts: list[str]) -> Table | None:
    """Resolve `runs`, `google.aiplatform.runs`, `aiplatform.runs` or `<any schema>.runs`."""
    return TABLES.get(parts[-1].lower()) if parts else None
