"""The qcity Python SDK: log in with an ML-DSA key file, call every gateway route, typed.

```python
from clients.sdk import KeyFile, QcityClient

keys = KeyFile.load(Path("agency.keys.json"))
with QcityClient("http://127.0.0.1:8000", keys) as client:
    client.login()
    read = client.entity("urn:ngsi-ld:TrafficFlowObserved:j1", purpose="dpv:PublicBenefit")
```

Optimisation jobs: `submit_job({"kind": "lp", "purpose": ..., "lp": ...})`, then `wait_job`,
`watch_job` (server-sent events), `job_result`, `cancel_job`, `jobs`.

Refusals raise the typed exception of the gateway's error code (`ConsentMissing`,
`RoleMissing`, `SessionInvalid`, `Unavailable`, ...; all `QcityError`). Responses sealed to
the key file's KEM key (HPKE, X-Wing) are opened transparently.
"""

from clients.sdk._client import QcityClient
from clients.sdk._errors import (
    BY_CODE,
    AgreementMissing,
    Conflict,
    ConsentMissing,
    ConsentRefused,
    InvalidRequest,
    JobTimeout,
    NotFound,
    PermissionDenied,
    QcityError,
    RateLimited,
    RoleMissing,
    ServerError,
    SessionInvalid,
    TransportError,
    Unavailable,
    error_for,
)
from clients.sdk._keys import KeyFile, KeyFileError
from clients.sdk._models import (
    Access,
    Anchor,
    AuditChain,
    ConsentUse,
    Decision,
    DecisionPage,
    Decisions,
    Entities,
    Entity,
    EntityRead,
    Health,
    Ingested,
    JobError,
    JobList,
    JobProgress,
    JobResult,
    JobView,
    KpiChange,
    Observation,
    Observations,
    Receipt,
    Receipts,
    Relayed,
    ResultSummary,
    SessionInfo,
    Token,
)

__all__ = [
    "BY_CODE",
    "Access",
    "AgreementMissing",
    "Anchor",
    "AuditChain",
    "Conflict",
    "ConsentMissing",
    "ConsentRefused",
    "ConsentUse",
    "Decision",
    "DecisionPage",
    "Decisions",
    "Entities",
    "Entity",
    "EntityRead",
    "Health",
    "Ingested",
    "InvalidRequest",
    "JobError",
    "JobList",
    "JobProgress",
    "JobResult",
    "JobTimeout",
    "JobView",
    "KeyFile",
    "KeyFileError",
    "KpiChange",
    "NotFound",
    "Observation",
    "Observations",
    "PermissionDenied",
    "QcityClient",
    "QcityError",
    "RateLimited",
    "Receipt",
    "Receipts",
    "Relayed",
    "ResultSummary",
    "RoleMissing",
    "ServerError",
    "SessionInfo",
    "SessionInvalid",
    "Token",
    "TransportError",
    "Unavailable",
    "error_for",
]
