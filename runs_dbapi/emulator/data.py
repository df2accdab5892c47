"""Time-series data: run and experiment `:write`, `:read`, export and the tensorboard batchRead."""

from __future__ import annotations

import re
from typing import Any

from . import choices
from .errors import ApiError, invalid
from .filtering import evaluate
from .kinds import POINT_FILTER_FIELDS
from .service import Json, Query, Service, canonical_name, compile_filter, first
from .validation import parse_value_type
from .wire import format_time, parse_time

MAX_POINTS_PER_WRITE = 5000
READ_DEFAULT, READ_MAX = 1000, 10_000
EXPORT_DEFAULT, EXPORT_MAX = 1000, 10_000

Point = tuple[int, str, dict[str, Any]]  # step, wall time, value ({"scalar": ...} etc.)

_VALUE_FIELD = {"SCALAR": "scalar", "TENSOR": "tensor", "BLOB_SEQUENCE": "blobs"}

# proto3 JSON writes the doubles JSON has no literal for as these strings (the SDK sends NaN so).
_SPECIAL_DOUBLES = ("NaN", "Infinity", "-Infinity")


class DataService:
    def __init__(self, service: Service) -> None:
        self.service = service
        self.store = service.store

    # -- writing -----------------------------------------------------------------------------

    def write_run(self, run: str, body: Any) -> Json:
        if not isinstance(body, dict):
            raise invalid("Invalid JSON payload received: expected an object.")
        with self.store.transaction():
            self.service.require(run, "runs")
            batches = self._check_series_data(run, body.get("timeSeriesData"), "time_series_data")
            self._store(batches)
        return {}

    def write_experiment(self, experiment: str, body: Any) -> Json:
        if not isinstance(body, dict) or not isinstance(body.get("writeRunDataRequests"), list):
            raise invalid("Invalid JSON payload received: 'writeRunDataRequests' must be a list.")
        with self.store.transaction():
            self.service.require(experiment, "experiments")
            batches = []
            for index, request in enumerate(body["writeRunDataRequests"]):
                run = request.get("tensorboardRun") if isinstance(request, dict) else None
                if isinstance(run, str):
                    run = canonical_name(run)
                if not isinstance(run, str) or not run.startswith(experiment + "/runs/"):
                    raise invalid(
                        f"write_run_data_requests[{index}].tensorboard_run {run!r} must be a run "
                        f"of {experiment!r}."
                    )
                self.service.require(run, "runs")
                batches += self._check_series_data(
                    run, request.get("timeSeriesData"),
                    f"write_run_data_requests[{index}].time_series_data",
                )
            self._store(batches)
        return {}

    def _check_series_data(self, run: str, data: Any, where: str) -> list[tuple[Any, list[Point]]]:
        """Validate every point before anything is written: any bad point fails the request."""
        if not isinstance(data, list):
            raise invalid(f"'{where}' must be a list.")
        total = sum(len(d.get("values") or []) for d in data if isinstance(d, dict))
        if total > MAX_POINTS_PER_WRITE:
            raise invalid(
                f"Too many data points: {total}; at most {MAX_POINTS_PER_WRITE} per request."
            )
        checked = []
        for index, item in enumerate(data):
            here = f"{where}[{index}]"
            if not isinstance(item, dict):
                raise invalid(f"'{here}' must be an object.")
            series_id = item.get("tensorboardTimeSeriesId")
            if not isinstance(series_id, str) or not series_id:
                raise invalid(f"{here}.tensorboard_time_series_id is required.")
            series = self.store.get(f"{run}/timeSeries/{series_id}")
            if series is None:
                raise ApiError(choices.UNKNOWN_TIME_SERIES_STATUS,
                               f'TensorboardTimeSeries "{run}/timeSeries/{series_id}" not found.')
            declared = item.get("valueType")
            value_type = series.body["valueType"]
            if declared not in (None, 0, "VALUE_TYPE_UNSPECIFIED") and parse_value_type(
                declared, f"{here}.value_type"
            ) != value_type:
                raise invalid(
                    f"{here}.value_type {declared!r} does not match the time series' value type "
                    f"{value_type}."
                )
            values = item.get("values")
            if not isinstance(values, list):
                raise invalid(f"{here}.values must be a list.")
            points = [self._point(v, value_type, f"{here}.values[{i}]")
                      for i, v in enumerate(values)]
            checked.append((series, points))
        return checked

    @staticmethod
    def _point(value: Any, value_type: str, where: str) -> Point:
        if not isinstance(value, dict):
            raise invalid(f"'{where}' must be an object.")
        step = _int64(value.get("step", 0))
        if step is None:
            raise invalid(f"Invalid value at '{where}.step' (TYPE_INT64), {value.get('step')!r}")
        wall = value.get("wallTime")
        try:
            wall_time = format_time(parse_time(wall)) if wall else format_time(
                parse_time("1970-01-01T00:00:00Z"))
        except ValueError as exc:
            raise invalid(f"Invalid value at '{where}.wall_time' (type.googleapis.com/"
                          f"google.protobuf.Timestamp), {wall!r}") from exc
        present = [key for key in ("scalar", "tensor", "blobs") if key in value]
        expected = _VALUE_FIELD.get(value_type)
        if expected is None or present != [expected]:
            raise invalid(
                f"'{where}' must hold exactly one value of the series' type {value_type} "
                f"({expected}); got {present or 'none'}."
            )
        payload = value[expected]
        if expected == "scalar" and not (
            isinstance(payload, dict)
            and (isinstance(payload.get("value", 0), (int, float))
                 or payload.get("value") in _SPECIAL_DOUBLES)
            and not isinstance(payload.get("value", 0), bool)
        ):
            raise invalid(f"Invalid value at '{where}.scalar.value' (TYPE_DOUBLE), {payload!r}")
        if not isinstance(payload, dict):
            raise invalid(f"'{where}.{expected}' must be an object.")
        return step, wall_time, {expected: payload}

    def _store(self, batches: list[tuple[Any, list[Point]]]) -> None:
        for checked, points in batches:
            if not points:
                continue
            # Re-read: an earlier batch of this request may have updated the same series.
            series = self.store.get(checked.name) or checked
            self.store.put_points(series.name, points)
            body = dict(series.body)
            metadata = dict(body.get("metadata", {}))
            metadata["maxStep"] = str(max(int(metadata.get("maxStep", 0)),
                                          *(step for step, _, _ in points)))
            metadata["maxWallTime"] = max([metadata.get("maxWallTime", ""),
                                           *(wall for _, wall, _ in points)])
            if series.body["valueType"] == "BLOB_SEQUENCE":
                longest = max(len(v["blobs"].get("values", [])) for _, _, v in points)
                metadata["maxBlobSequenceLength"] = str(
                    max(int(metadata.get("maxBlobSequenceLength", 0)), longest))
            body["metadata"] = metadata
            self.store.update(series, body, series.update_time)

    # -- reading -----------------------------------------------------------------------------

    def _matching(self, series: str, text: str | None) -> list[Point]:
        node = compile_filter(text, POINT_FILTER_FIELDS)
        points = self.store.points(series)
        if node is None:
            return points
        return [p for p in points
                if evaluate(node, {"step": p[0], "wallTime": parse_time(p[1])},
                            POINT_FILTER_FIELDS)]

    @staticmethod
    def _render_point(point: Point) -> Json:
        step, wall, value = point
        return {"wallTime": wall, "step": str(step), **value}

    def read(self, series_name: str, query: Query) -> Json:
        series = self.service.require(series_name, "timeSeries")
        raw = first(query, "maxDataPoints")
        try:
            limit = int(raw) if raw not in (None, "") else READ_DEFAULT
        except ValueError as exc:
            raise invalid(f"Invalid max_data_points {raw!r}.") from exc
        if limit == 0:
            limit = READ_DEFAULT
        if limit < -1 or limit > READ_MAX:
            raise invalid(f"max_data_points must be -1 or between 1 and {READ_MAX}; got {limit}.")
        points = self._matching(series_name, first(query, "filter"))
        if limit != -1 and len(points) > limit:
            points = _sample(points, limit)
        return {"timeSeriesData": self._series_data(series, points)}

    def _series_data(self, series: Any, points: list[Point]) -> Json:
        data: Json = {"tensorboardTimeSeriesId": series.rid, "valueType": series.body["valueType"]}
        if points:
            data["values"] = [self._render_point(p) for p in points]
        return data

    def batch_read(self, tensorboard: str, query: Query) -> Json:
        self.service.require(tensorboard, "tensorboards")
        names = query.get("timeSeries", [])
        if not names:
            raise invalid("time_series must name at least one TensorboardTimeSeries.")
        out = []
        for name in map(canonical_name, names):
            if not name.startswith(tensorboard + "/"):
                raise invalid(f"TensorboardTimeSeries {name!r} is not in {tensorboard!r}.")
            series = self.service.require(name, "timeSeries")
            points = self.store.points(name)
            out.append(self._series_data(series, _sample(points, READ_DEFAULT)))
        return {"timeSeriesData": out}

    def export(self, series_name: str, body: Any) -> Json:
        if not isinstance(body, dict):
            raise invalid("Invalid JSON payload received: expected an object.")
        self.service.require(series_name, "timeSeries")
        size = body.get("pageSize") or EXPORT_DEFAULT
        if not isinstance(size, int) or size < 1:
            raise invalid(f"page_size must be between 1 and {EXPORT_MAX}; got {size!r}.")
        size = min(size, EXPORT_MAX)
        order = (body.get("orderBy") or "").split()
        descending = len(order) == 2 and order[1].lower() == "desc"
        if order and (order[0] not in ("step", "wall_time", "wallTime") or len(order) > 2):
            raise invalid(f"Invalid order_by {body.get('orderBy')!r}: use step or wall_time.")
        column = 1 if order and order[0] != "step" else 0
        binding = ["export", series_name, body.get("filter") or "", body.get("orderBy") or ""]
        start = 0
        if body.get("pageToken"):
            start = int(self.service.tokens.decode(body["pageToken"], binding)[0])
        if column == 0 and not body.get("filter"):
            # Every point by step: only the page is read (a long series is not decoded whole
            # for each of its pages).
            page, total = self.store.points_page(series_name, start, size, descending=descending)
        else:
            points = self._matching(series_name, body.get("filter"))
            points.sort(key=lambda p: (p[column], p[0]), reverse=descending)
            page, total = points[start:start + size], len(points)
        response: Json = {}
        if page:
            response["timeSeriesDataPoints"] = [self._render_point(p) for p in page]
        if start + size < total:
            response["nextPageToken"] = self.service.tokens.encode(binding, [start + size])
        return response

    def read_usage(self, tensorboard: str) -> Json:
        """Usage is not metered here: an existing tensorboard reports none."""
        self.service.require(tensorboard, "tensorboards")
        return {"monthlyUsageData": {}}

    def read_size(self, tensorboard: str) -> Json:
        self.service.require(tensorboard, "tensorboards")
        return {"storageSizeByte": str(self.store.points_size(tensorboard))}


def _int64(raw: Any) -> int | None:
    """A proto3 JSON int64 (an integral number or a decimal string, in range), else None."""
    if (isinstance(raw, str) and re.fullmatch(r"-?[0-9]+", raw)) or (
        isinstance(raw, float) and raw.is_integer()
    ):
        raw = int(raw)
    if isinstance(raw, bool) or not isinstance(raw, int) or not -(2**63) <= raw < 2**63:
        return None
    return raw


def _sample(points: list[Point], limit: int) -> list[Point]:
    """Evenly spaced points, always keeping the last one, as the service's sampling does."""
    if len(points) <= limit:
        return points
    if limit == 1:
        return [points[-1]]
    stride = (len(points) - 1) / (limit - 1)
    return [points[round(i * stride)] for i in range(limit)]
