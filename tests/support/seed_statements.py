"""The seed page's write statements (google.aiplatform.runs.md), byte for byte.

Trailing spaces, `--required` comments and the `;` the DELETE example puts inside its last
comment are kept; `test_seed_writes` checks them against the page when it is at hand.
"""

from __future__ import annotations

from pathlib import Path

SEED_PAGE = Path("/work/shared/seed/google.aiplatform.runs.md")

CREATE = "\n".join([
    "INSERT INTO google.aiplatform.runs (",
    "data__displayName,",
    "data__description,",
    "data__labels,",
    "data__etag,",
    "projectsId,",
    "locationsId,",
    "tensorboardsId,",
    "experimentsId,",
    "tensorboardRunId",
    ")",
    "SELECT ",
    "'{{ displayName }}',",
    "'{{ description }}',",
    "'{{ labels }}',",
    "'{{ etag }}',",
    "'{{ projectsId }}',",
    "'{{ locationsId }}',",
    "'{{ tensorboardsId }}',",
    "'{{ experimentsId }}',",
    "'{{ tensorboardRunId }}'",
    "RETURNING",
    "name,",
    "createTime,",
    "description,",
    "displayName,",
    "etag,",
    "labels,",
    "updateTime",
    ";",
    "",
])

BATCH_CREATE = "\n".join([
    "INSERT INTO google.aiplatform.runs (",
    "data__requests,",
    "projectsId,",
    "locationsId,",
    "tensorboardsId,",
    "experimentsId",
    ")",
    "SELECT ",
    "'{{ requests }}',",
    "'{{ projectsId }}',",
    "'{{ locationsId }}',",
    "'{{ tensorboardsId }}',",
    "'{{ experimentsId }}'",
    "RETURNING",
    "tensorboardRuns",
    ";",
    "",
])

PATCH = "\n".join([
    "UPDATE google.aiplatform.runs",
    "SET ",
    "data__displayName = '{{ displayName }}',",
    "data__description = '{{ description }}',",
    "data__labels = '{{ labels }}',",
    "data__etag = '{{ etag }}'",
    "WHERE ",
    "projectsId = '{{ projectsId }}' --required",
    "AND locationsId = '{{ locationsId }}' --required",
    "AND tensorboardsId = '{{ tensorboardsId }}' --required",
    "AND experimentsId = '{{ experimentsId }}' --required",
    "AND runsId = '{{ runsId }}' --required",
    "AND updateMask = '{{ updateMask}}'",
    "RETURNING",
    "name,",
    "createTime,",
    "description,",
    "displayName,",
    "etag,",
    "labels,",
    "updateTime;",
    "",
])

DELETE = "\n".join([
    "DELETE FROM google.aiplatform.runs",
    "WHERE projectsId = '{{ projectsId }}' --required",
    "AND locationsId = '{{ locationsId }}' --required",
    "AND tensorboardsId = '{{ tensorboardsId }}' --required",
    "AND experimentsId = '{{ experimentsId }}' --required",
    "AND runsId = '{{ runsId }}' --required;",
    "",
])

WRITE = "\n".join([
    "EXEC google.aiplatform.runs.write ",
    "@projectsId='{{ projectsId }}' --required, ",
    "@locationsId='{{ locationsId }}' --required, ",
    "@tensorboardsId='{{ tensorboardsId }}' --required, ",
    "@experimentsId='{{ experimentsId }}' --required, ",
    "@runsId='{{ runsId }}' --required ",
    "@@json=",
    "'{",
    '"tensorboardRun": "{{ tensorboardRun }}", ',
    '"timeSeriesData": "{{ timeSeriesData }}"',
    "}';",
    "",
])
