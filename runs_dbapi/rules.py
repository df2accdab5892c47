"""The API's documented input rules, checked before any call so a bad row never half-writes.

The emulator enforces the same rules on its side, independently: it stands in for Google, so
sharing this code with it would hide a mistake here from every test.
"""

from __future__ import annotations

import json
import re
from typing import Any

from .exceptions import DataError

RESOURCE_ID = re.compile(r"^[a-z0-9][a-z0-9-]{0,127}$")
SYSTEM_LABEL_PREFIX = "aiplatform.googleapis.com/"
MAX_LABELS = 64
MAX_LABEL_LENGTH = 64


def check_resource_id(value: str, parameter: str) -> None:
    if not RESOURCE_ID.fullmatch(value):  # match() would let a trailing newline through
        raise DataError(
            f"Invalid {parameter} {value!r}: use 1-128 lowercase letters, digits and hyphens, "
            "starting with a letter or digit."
        )


def check_path_value(value: str, parameter: str) -> None:
    """A path parameter's value is one segment of a resource name: never empty, `.` or `..`,
    and with no `/`, `?`, `#`, `%` or whitespace, so that it cannot address another resource."""
    if value in ("", ".", "..") or any(c in "/?#%" or c.isspace() or not c.isprintable()
                                       for c in value):
        raise DataError(
            f"Invalid {parameter} {value!r}: a path parameter is one segment of a resource "
            "name (no '/', '?', '#', '%' or spaces)."
        )


def _label_text_ok(text: str) -> bool:
    return all(c in "_-" or c.isdigit() or (c.isalpha() and c == c.lower()) for c in text)


def parse_labels(value: Any) -> dict[str, str]:
    """Labels from a dict parameter or JSON text; NULL and '' mean no labels."""
    if value is None or value == "":
        return {}
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError as error:
            raise DataError(
                f"labels must be a JSON object such as '{{\"team\": \"nlp\"}}': {error}"
            ) from None
    if not isinstance(value, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in value.items()
    ):
        raise DataError("labels must map strings to strings, e.g. {\"team\": \"nlp\"}.")
    return dict(value)


def check_labels(labels: dict[str, str], *, allow_system: bool) -> None:
    """Key and value charset and length, label count, and the reserved system prefix."""
    user = [k for k in labels if not k.startswith(SYSTEM_LABEL_PREFIX)]
    if len(user) > MAX_LABELS:
        raise DataError(f"{len(user)} labels given; at most {MAX_LABELS} user labels are allowed.")
    for key, value in labels.items():
        bare = key
        if key.startswith(SYSTEM_LABEL_PREFIX):
            if not allow_system:
                raise DataError(
                    f"Label {key!r} is reserved by Vertex AI ({SYSTEM_LABEL_PREFIX}...) and cannot "
                    "be set or changed."
                )
            bare = key[len(SYSTEM_LABEL_PREFIX):]
        if not bare or len(bare) > MAX_LABEL_LENGTH or not (
            bare[0].isalpha() and bare[0] == bare[0].lower() and _label_text_ok(bare)
        ):
            raise DataError(
                f"Invalid label key {key!r}: 1-{MAX_LABEL_LENGTH} lowercase letters, digits, "
                "underscores or dashes, starting with a letter."
            )
        if len(value) > MAX_LABEL_LENGTH or not _label_text_ok(value):
            raise DataError(
                f"Invalid value {value!r} of label {key!r}: at most {MAX_LABEL_LENGTH} lowercase "
                "letters, digits, underscores or dashes."
            )


def same_resource_name(given: str, expected: str) -> bool:
    """Whether the resource name `given` names `expected`.

    Names the API returns spell the project as its number (`projects/123456789012/...`) where a
    request may use the project ID, and the driver cannot map one to the other: a numeric project
    segment in `given` matches any project, every other segment must be equal.
    """
    if given == expected:
        return True
    mine, theirs = given.split("/"), expected.split("/")
    return (len(mine) == len(theirs) > 2 and mine[0] == theirs[0] == "projects"
            and mine[1].isdigit() and mine[2:] == theirs[2:])
