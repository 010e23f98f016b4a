"""The qcity Python SDK: log in with an ML-DSA key file, call every gateway route, typed.

```python
from clients.sdk import KeyFile, QcityClient

keys = KeyFile.load(Path("agency.keys.json"))
with QcityClient("http://127.0.0.1:8000", keys) as client:
    client.login()
    read = client.entity("urn:ngsi-ld:TrafficFlowObserved:j1", purpose="dpv:PublicBenefit")
```

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
    Decision,
    Decisions,
    Entities,
    Entity,
    EntityRead,
    Health,
    Ingested,
    Observation,
    Observations,
    Receipt,
    Receipts,
    Relayed,
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
    "Decision",
    "Decisions",
    "Entities",
    "Entity",
    "EntityRead",
    "Health",
    "Ingested",
    "InvalidRequest",
    "KeyFile",
    "KeyFileError",
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
    "RoleMissing",
    "ServerError",
    "SessionInfo",
    "SessionInvalid",
    "Token",
    "TransportError",
    "Unavailable",
    "error_for",
]
