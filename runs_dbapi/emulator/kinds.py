"""The emulated resource kinds, declared as data: fields, ID rules, list limits, what filters."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from .filtering import Field

# Field types understood by the request validator (see validation.py).
STRING, LABELS, VALUE_TYPE, BYTES, BOOL, MESSAGE, OUTPUT = (
    "string",
    "labels",
    "value_type",
    "bytes",
    "bool",
    "message",
    "output",
)

VALUE_TYPES = ["VALUE_TYPE_UNSPECIFIED", "SCALAR", "TENSOR", "BLOB_SEQUENCE"]

ID_PATTERN = re.compile(r"^[a-z0-9][a-z0-9-]{0,127}$")

_COMMON_OUTPUT = {"name": OUTPUT, "createTime": OUTPUT, "updateTime": OUTPUT, "etag": STRING}

_TIME_FILTER_FIELDS = {
    "display_name": Field("displayName", "string"),
    "displayName": Field("displayName", "string"),
    "create_time": Field("createTime", "timestamp"),
    "createTime": Field("createTime", "timestamp"),
    "update_time": Field("updateTime", "timestamp"),
    "updateTime": Field("updateTime", "timestamp"),
    "labels": Field("labels", "map"),
}

# orderBy name (either spelling) -> the stored column it sorts on.
_ORDER_FIELDS = {
    "display_name": "display_name",
    "displayName": "display_name",
    "create_time": "create_time",
    "createTime": "create_time",
    "update_time": "update_time",
    "updateTime": "update_time",
}


@dataclass(frozen=True)
class Kind:
    """One resource kind of the TensorBoard API."""

    name: str  # method-counter prefix and collection segment, e.g. "runs"
    message: str  # proto message name, used in error texts
    snake: str  # the request field name in error texts, e.g. "tensorboard_run"
    parent: str | None  # collection name of the parent kind
    fields: dict[str, str]  # camelCase field -> type
    updatable: frozenset[str]
    immutable: frozenset[str] = frozenset()
    required: frozenset[str] = frozenset({"displayName"})
    unique_display_name: bool = False
    id_param: str | None = None  # query parameter carrying a client-chosen ID
    id_required: bool = False
    page_default: int = 50
    page_max: int = 1000
    create_is_operation: bool = False
    patch_is_operation: bool = False
    filter_fields: dict[str, Field] = field(default_factory=lambda: dict(_TIME_FILTER_FIELDS))
    order_fields: dict[str, str] = field(default_factory=lambda: dict(_ORDER_FIELDS))


TENSORBOARDS = Kind(
    name="tensorboards",
    message="Tensorboard",
    snake="tensorboard",
    parent=None,
    fields={
        **_COMMON_OUTPUT,
        "displayName": STRING,
        "description": STRING,
        "labels": LABELS,
        "encryptionSpec": MESSAGE,
        "isDefault": BOOL,
        "blobStoragePathPrefix": OUTPUT,
        "runCount": OUTPUT,
        "satisfiesPzi": OUTPUT,
        "satisfiesPzs": OUTPUT,
    },
    updatable=frozenset({"displayName", "description", "labels", "isDefault"}),
    immutable=frozenset({"encryptionSpec"}),
    page_default=100,
    page_max=100,
    create_is_operation=True,
    patch_is_operation=True,
)

EXPERIMENTS = Kind(
    name="experiments",
    message="TensorboardExperiment",
    snake="tensorboard_experiment",
    parent="tensorboards",
    fields={
        **_COMMON_OUTPUT,
        "displayName": STRING,
        "description": STRING,
        "labels": LABELS,
        "source": STRING,
    },
    updatable=frozenset({"displayName", "description", "labels"}),
    immutable=frozenset({"source"}),
    required=frozenset(),
    id_param="tensorboardExperimentId",
    id_required=True,
)

RUNS = Kind(
    name="runs",
    message="TensorboardRun",
    snake="tensorboard_run",
    parent="experiments",
    fields={**_COMMON_OUTPUT, "displayName": STRING, "description": STRING, "labels": LABELS},
    updatable=frozenset({"displayName", "description", "labels"}),
    unique_display_name=True,
    id_param="tensorboardRunId",
    id_required=True,
)

TIME_SERIES = Kind(
    name="timeSeries",
    message="TensorboardTimeSeries",
    snake="tensorboard_time_series",
    parent="runs",
    fields={
        **_COMMON_OUTPUT,
        "displayName": STRING,
        "description": STRING,
        "valueType": VALUE_TYPE,
        "pluginName": STRING,
        "pluginData": BYTES,
        "metadata": OUTPUT,
    },
    updatable=frozenset({"displayName", "description", "pluginData"}),
    immutable=frozenset({"valueType", "pluginName"}),
    required=frozenset({"displayName", "valueType"}),
    unique_display_name=True,
    id_param="tensorboardTimeSeriesId",
    filter_fields={
        **_TIME_FILTER_FIELDS,
        "value_type": Field("valueType", "string"),
        "valueType": Field("valueType", "string"),
        "plugin_name": Field("pluginName", "string"),
        "pluginName": Field("pluginName", "string"),
    },
)

KINDS: dict[str, Kind] = {k.name: k for k in (TENSORBOARDS, EXPERIMENTS, RUNS, TIME_SERIES)}

# Filter fields of time-series data points (`:read` and `:exportTensorboardTimeSeries`).
POINT_FILTER_FIELDS = {
    "step": Field("step", "number"),
    "wall_time": Field("wallTime", "timestamp"),
    "wallTime": Field("wallTime", "timestamp"),
}
