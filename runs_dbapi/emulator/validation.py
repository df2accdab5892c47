"""Request validation: message fields and their types, resource IDs and labels."""

from __future__ import annotations

import base64
import binascii
from typing import Any

from . import choices
from .errors import ApiError, invalid
from .kinds import (
    BOOL,
    BYTES,
    ID_PATTERN,
    LABELS,
    MESSAGE,
    OUTPUT,
    STRING,
    VALUE_TYPE,
    VALUE_TYPES,
    Kind,
)
from .wire import camel_to_snake, snake_to_camel

MAX_LABELS = 64
MAX_LABEL_LENGTH = 64


def parse_message(kind: Kind, body: Any) -> dict[str, Any]:
    """Check a request body against the kind's fields; return the settable fields, camelCase.

    proto3 JSON parsers accept the proto (snake_case) names too, and ignore output-only fields.
    """
    if not isinstance(body, dict):
        raise invalid(
            f"Invalid JSON payload received. Expected an object for '{kind.snake}', "
            f"got {type(body).__name__}."
        )
    parsed: dict[str, Any] = {}
    for raw_key, value in body.items():
        key = snake_to_camel(raw_key) if "_" in raw_key else raw_key
        field_type = kind.fields.get(key)
        if field_type is None:
            raise invalid(
                f'Invalid JSON payload received. Unknown name "{raw_key}" at '
                f"'{kind.snake}': Cannot find field."
            )
        where = f"{kind.snake}.{camel_to_snake(key)}"
        if value is None or field_type == OUTPUT:
            continue
        parsed[key] = _check_type(field_type, value, where)
        if field_type == VALUE_TYPE and parsed[key] == VALUE_TYPES[0]:
            del parsed[key]  # proto3: an enum at its default value is unset
    return parsed


def _check_type(field_type: str, value: Any, where: str) -> Any:
    if field_type == STRING:
        if not isinstance(value, str):
            raise invalid(f"Invalid value at '{where}' (TYPE_STRING), {_show(value)}")
        return value
    if field_type == LABELS:
        if not isinstance(value, dict) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in value.items()
        ):
            raise invalid(f"Invalid value at '{where}' (map<string, string>), {_show(value)}")
        return dict(value)
    if field_type == VALUE_TYPE:
        return parse_value_type(value, where)
    if field_type == BYTES:
        if not isinstance(value, str) or not _is_base64(value):
            raise invalid(f"Invalid value at '{where}' (TYPE_BYTES), {_show(value)}")
        return value
    if field_type == BOOL:
        if not isinstance(value, bool):
            raise invalid(f"Invalid value at '{where}' (TYPE_BOOL), {_show(value)}")
        return value
    if field_type == MESSAGE:
        if not isinstance(value, dict):
            raise invalid(f"Invalid value at '{where}' (TYPE_MESSAGE), {_show(value)}")
        return value
    raise AssertionError(f"unknown field type {field_type}")


def parse_value_type(value: Any, where: str) -> str:
    """Enums arrive as names or as numbers (the official client sends numbers)."""
    if isinstance(value, bool):
        raise invalid(f"Invalid value at '{where}' (type.googleapis.com/ValueType), {value}")
    if isinstance(value, int) and 0 <= value < len(VALUE_TYPES):
        return VALUE_TYPES[value]
    if isinstance(value, str) and value in VALUE_TYPES:
        return value
    raise invalid(
        f"Invalid value at '{where}' (type.googleapis.com/"
        f"google.cloud.aiplatform.v1.TensorboardTimeSeries.ValueType), {_show(value)}"
    )


def _is_base64(text: str) -> bool:
    try:
        base64.b64decode(text.replace("-", "+").replace("_", "/") + "=" * (-len(text) % 4),
                         validate=True)
    except (binascii.Error, ValueError):
        return False
    return True


def _show(value: Any) -> str:
    return f'"{value}"' if isinstance(value, str) else str(value)


def check_id(value: str, field: str) -> None:
    if not ID_PATTERN.fullmatch(value):  # match() would let a trailing newline through
        raise invalid(
            choices.INVALID_ID_MESSAGE.format(
                field=field,
                rule="The ID must be 1-128 characters long, of lowercase letters, digits and "
                "hyphens, starting with a letter or digit.",
            )
        )


def _label_text_ok(text: str) -> bool:
    # Lowercase letters (international ones too), digits, underscores and dashes.
    return all(c in "_-" or c.isdigit() or (c.isalpha() and c == c.lower()) for c in text)


def check_labels(labels: dict[str, str], *, allow_system: bool = True) -> None:
    user_keys = [k for k in labels if not k.startswith(choices.SYSTEM_LABEL_PREFIX)]
    if len(user_keys) > MAX_LABELS:
        raise invalid(
            f"Too many labels: {len(user_keys)}. No more than {MAX_LABELS} user labels can be "
            "associated with one resource."
        )
    for key, value in labels.items():
        bare = key
        if key.startswith(choices.SYSTEM_LABEL_PREFIX):
            if not allow_system:
                raise invalid(f"Label key {key!r} is system reserved and immutable.")
            bare = key[len(choices.SYSTEM_LABEL_PREFIX):]
        if not bare or len(bare) > MAX_LABEL_LENGTH:
            raise invalid(
                f"Invalid label key {key!r}: keys must be 1-{MAX_LABEL_LENGTH} characters."
            )
        if not (bare[0].isalpha() and bare[0] == bare[0].lower()) or not _label_text_ok(bare):
            raise invalid(
                f"Invalid label key {key!r}: keys must start with a lowercase letter and contain "
                "only lowercase letters, numeric characters, underscores and dashes."
            )
        if len(value) > MAX_LABEL_LENGTH:
            raise invalid(
                f"Invalid label value {value!r} for key {key!r}: values can be no longer than "
                f"{MAX_LABEL_LENGTH} characters."
            )
        if not _label_text_ok(value):
            raise invalid(
                f"Invalid label value {value!r} for key {key!r}: values can only contain "
                "lowercase letters, numeric characters, underscores and dashes."
            )


def merge_system_labels(old: dict[str, str], new: dict[str, str]) -> dict[str, str]:
    """Apply a patch's labels: system labels cannot be added, changed or removed."""
    prefix = choices.SYSTEM_LABEL_PREFIX
    for key, value in new.items():
        if key.startswith(prefix) and old.get(key) != value:
            raise ApiError(
                "INVALID_ARGUMENT",
                f"Label key {key!r} is system reserved and immutable.",
            )
    kept = {k: v for k, v in old.items() if k.startswith(prefix)}
    return {**new, **kept}
