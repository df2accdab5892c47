"""The REST layer: every HTTP call of the driver, with retries and PEP 249 error mapping.

It knows the verbs, long-running operations and error model of the Vertex AI v1 REST surface,
and nothing of SQL nor of any particular resource (its callers pass collections and fields).
One job per module:

* `transport`: HTTP through the session, retries and backoff, Retry-After, the call log,
  progress events, paging of listings (`Transport`, `RetryPolicy`, `Progress`);
* `errors`: google.rpc and HTTP statuses and the API's error bodies to PEP 249 exceptions
  (`error_class`, `api_error`, `RPC_CODES`);
* `resources`: get, create, batchCreate, patch, delete, custom verbs and operations, with the
  read-backs that resolve unknown outcomes (`RestClient`).
"""

from __future__ import annotations

from .errors import RPC_CODES, api_error, error_class
from .resources import SERVER_SET_FIELDS, RestClient
from .transport import Progress, RetryPolicy, Transport

__all__ = [
    "RPC_CODES",
    "SERVER_SET_FIELDS",
    "Progress",
    "RestClient",
    "RetryPolicy",
    "Transport",
    "api_error",
    "error_class",
]
