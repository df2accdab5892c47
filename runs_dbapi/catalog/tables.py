"""The tables the driver exposes, declared as data (see `model` for what a declaration says)."""

from __future__ import annotations

from .model import (
    BOOLEAN,
    BYTES,
    FLOAT,
    INTEGER,
    JSON,
    STRING,
    TIMESTAMP,
    BatchCreate,
    Column,
    PointReads,
    Procedure,
    Table,
    Writes,
)


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
               api_field="metadata", output_only=True, message=True),
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

TIME_SERIES_DATA = Table(
    name="time_series_data",
    collection="timeSeries",
    message="TimeSeriesDataPoint",
    list_field="timeSeriesDataPoints",
    path=_TIME_SERIES_PATH,  # a point's own path is its series'; its key is the step
    description="The data points of TensorboardTimeSeries, one row per point: a training curve "
                "(scalar by step), tensors or blob references. Read exactly (never a sample), "
                "written in bulk; points cannot be updated or deleted (delete the series).",
    writable=True,
    points=PointReads(
        series_table="time_series",
        series_fields=("displayName", "valueType"),
        batch_read_verb="batchRead",
        batch_read_max=100,
        sample_limits=(("SCALAR", 1000), ("TENSOR", 100), ("BLOB_SEQUENCE", 100)),
        export_verb="exportTensorboardTimeSeries",
        export_field="timeSeriesDataPoints",
        export_page_max=10_000,
        write_verb="write",
        write_points_max=5000,
        value_fields=(("SCALAR", "scalar"), ("TENSOR", "tensor"), ("BLOB_SEQUENCE", "blobs")),
        plugin_names=(("SCALAR", "scalars"),),
    ),
    columns=(
        *_path_columns(_TIME_SERIES_PATH),
        Column("displayName", STRING, "The display name of the point's series (TensorBoard's "
               "tag, e.g. loss).", api_field="displayName", filter_name="display_name",
               writable=True),
        Column("valueType", STRING, "The value type of the point's series: SCALAR, TENSOR or "
               "BLOB_SEQUENCE.", api_field="valueType", filter_name="value_type", writable=True),
        Column("step", INTEGER, "Step index of this data point within the run.",
               api_field="step", filter_name="step", order_name="step", writable=True),
        Column("wallTime", TIMESTAMP, "Wall clock timestamp when this data point is "
               "generated by the end user.", api_field="wallTime", filter_name="wall_time",
               order_name="wall_time", writable=True),
        Column("scalar", FLOAT, "The value of a SCALAR series' point.", api_field="scalar.value",
               writable=True, message=True),
        Column("tensor", JSON, "A TENSOR series' point: its value (base64) and version number.",
               api_field="tensor", writable=True, message=True),
        Column("blobs", JSON, "A BLOB_SEQUENCE series' point: its blob references.",
               api_field="blobs.values", writable=True, message=True),
    ),
)

TABLES: dict[str, Table] = {t.name: t for t in (RUNS, EXPERIMENTS, TENSORBOARDS, TIME_SERIES,
                                                TIME_SERIES_DATA)}

# The seed's list response, one row per API page (`SELECT nextPageToken, tensorboardRuns ...`).
PAGE_COLUMNS: dict[str, tuple[Column, ...]] = {
    t.name: (
        Column("nextPageToken", STRING,
               "A token to retrieve the next page; omitted on the last page."),
        Column(t.list_field, JSON, f"The {t.message}s of this page."),
    )
    for t in TABLES.values() if t.points is None
}


def find_table(parts: list[str]) -> Table | None:
    """Resolve `runs`, `google.aiplatform.runs`, `aiplatform.runs` or `<any schema>.runs`."""
    return TABLES.get(parts[-1].lower()) if parts else None
