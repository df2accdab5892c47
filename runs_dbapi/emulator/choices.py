"""The emulator's answers where public sources leave real behaviour unconfirmed.

The reference marks these **[UNCONFIRMED]**; kept here, each is easy to find and change.
The values below are used where the behaviour is one value; behaviours that are the shape of
the code are listed here, with where they live:

- batchCreate validates every request first, then writes all of them or none, answering in
  request order (`Service.batch_create`).
- Lists without orderBy come back in creation order (`Store.children` sorts by `seq` last).
- A readMask returns only the fields it names, not even `name`, so clients cannot rely on it
  (`wire.apply_read_mask`).
- A page token is bound to the parent, filter, orderBy and readMask of the call that made it;
  the page size may change between pages, as AIP-158 allows and clients shrinking a page near a
  LIMIT need (`Service.list_resources`).
- Deletes take effect when requested; the Operation reports done after `operation_polls` polls
  (`Service.delete`), so cancelling has nothing to undo.
"""

from __future__ import annotations

# A second create with an existing run ID: 409 ALREADY_EXISTS.
DUPLICATE_ID_STATUS = "ALREADY_EXISTS"

# Text of an invalid resource ID (the reference's best evidence for the run ID error).
INVALID_ID_MESSAGE = "List of found errors:\t1.Field: {field}; Message: {rule}\t"


# Writing to an unknown time series is NOT_FOUND; a value of the wrong type is INVALID_ARGUMENT.
UNKNOWN_TIME_SERIES_STATUS = "NOT_FOUND"

# System labels (`aiplatform.googleapis.com/...`) may be set at creation (a training job does), but
# a patch cannot add, change or remove one: keys it leaves out are kept.
SYSTEM_LABEL_PREFIX = "aiplatform.googleapis.com/"

