"""The gateway's refusals as typed exceptions, one class per stable error code.

The gateway answers every refusal as JSON `{code, message, ...facts}` (gateway/handlers.py).
The SDK raises the class registered for `code`; a code it does not know yet maps to the base
class of its HTTP status family, so new gateway codes never surface as a bare HTTP error.
Like httpx, one base (`QcityError`) and a shallow tree.
"""

from __future__ import annotations

from typing import Any, ClassVar


class QcityError(Exception):
    """Base of every error the SDK raises; `code` is the gateway's stable code."""

    code: ClassVar[str] = "qcity_error"
    http_status: ClassVar[int] = 0

    def __init__(
        self,
        message: str,
        *,
        code: str | None = None,
        status: int | None = None,
        facts: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.error_code = code or self.code
        self.status = status if status is not None else self.http_status
        self.facts = facts or {}

    def __str__(self) -> str:
        return f"{self.error_code}: {self.message}"


class TransportError(QcityError):
    """The gateway could not be reached or answered something that is not JSON."""

    code = "transport_error"


class SessionInvalid(QcityError):
    """No valid session: log in (again)."""

    code, http_status = "session_invalid", 401


class PermissionDenied(QcityError):
    """The permission engine refused the request."""

    code, http_status = "permission_denied", 403


class RoleMissing(PermissionDenied):
    """The caller lacks the role this action requires."""

    code = "role_missing"


class ConsentMissing(PermissionDenied):
    """The data subject has not given live consent for this grantee, category and purpose."""

    code = "consent_missing"


class AgreementMissing(PermissionDenied):
    """Neither a role nor an organisation agreement allows this aggregate read."""

    code = "agreement_missing"


class NotFound(QcityError):
    """No such resource."""

    code, http_status = "not_found", 404


class InvalidRequest(QcityError):
    """The request was refused as malformed or meaningless."""

    code, http_status = "invalid_request", 422


class Conflict(QcityError):
    """The request conflicts with the chain's state (e.g. a contract revert)."""

    code, http_status = "conflict", 409


class Unavailable(QcityError):
    """The gateway fails closed: chain unreachable or permission index behind."""

    code, http_status = "unavailable", 503


class RateLimited(QcityError):
    """Too many requests of this kind; `facts["retry_after_s"]` says when to try again."""

    code, http_status = "too_many_requests", 429


class ConsentRefused(QcityError):
    """The ConsentLedger refused a signed consent (signer, nonce, deadline or terms)."""

    code, http_status = "consent_refused", 409


class JobTimeout(QcityError):
    """A job did not end within the time the caller was willing to wait (it goes on)."""

    code = "job_timeout"


class ServerError(QcityError):
    """The gateway failed (it logged the details)."""

    code, http_status = "internal_error", 500


_SESSION_CODES = (
    "session_invalid", "bad_signature", "session_expired", "wrong_audience",
    "challenge_unknown", "challenge_reused", "challenge_expired", "unknown_stakeholder",
    "key_mismatch", "no_roles", "role_revoked", "unauthorized", "kem_key_required",
    "kem_key_mismatch",
)  # fmt: skip
_INVALID_CODES = (
    "invalid_request", "unknown_purpose", "unknown_category", "subject_required",
    "validation_error", "bad_request", "invalid_kem_key",
)  # fmt: skip
_CONSENT_CODES = (
    "invalid_signature", "invalid_nonce", "signature_expired", "consent_not_found",
    "invalid_grantee", "invalid_terms", "expiry_not_in_future",
)  # fmt: skip
_UNAVAILABLE_CODES = (
    "index_lagging", "chain_unavailable", "deployment_missing", "too_many_challenges",
    "jobs_unavailable",
)  # fmt: skip
_JOB_INVALID_CODES = ("job_input_unavailable", "invalid_problem", "problem_too_large")
_JOB_CONFLICT_CODES = ("job_not_finished", "job_has_no_result", "job_finished")

BY_CODE: dict[str, type[QcityError]] = {
    **dict.fromkeys(_SESSION_CODES, SessionInvalid),
    **dict.fromkeys(_INVALID_CODES, InvalidRequest),
    **dict.fromkeys(_UNAVAILABLE_CODES, Unavailable),
    **dict.fromkeys(_CONSENT_CODES, ConsentRefused),
    **dict.fromkeys(_JOB_INVALID_CODES, InvalidRequest),
    **dict.fromkeys(_JOB_CONFLICT_CODES, Conflict),
    "job_not_found": NotFound,
    "too_many_relays": RateLimited,
    "too_many_requests": RateLimited,
    "permission_denied": PermissionDenied,
    "forbidden": PermissionDenied,
    "role_missing": RoleMissing,
    "consent_missing": ConsentMissing,
    "agreement_missing": AgreementMissing,
    "not_found": NotFound,
    "ingest_conflict": Conflict,
    "internal_error": ServerError,
}
"""Gateway code -> class; a test checks every code the gateway defines is listed."""

_BY_STATUS: dict[int, type[QcityError]] = {
    401: SessionInvalid, 403: PermissionDenied, 404: NotFound, 409: Conflict,
    429: RateLimited, 503: Unavailable,
}  # fmt: skip


def error_for(status: int, body: Any) -> QcityError:
    """The typed exception for an error response (`body` decoded JSON, or anything)."""
    data = body if isinstance(body, dict) else {}
    code = str(data.get("code") or f"http_{status}")
    message = str(data.get("message") or f"HTTP {status}")
    facts = {k: v for k, v in data.items() if k not in {"code", "message"}}
    cls = BY_CODE.get(code)
    if cls is None:
        cls = _BY_STATUS.get(status)
    if cls is None:
        cls = ServerError if status >= 500 else InvalidRequest if status >= 400 else QcityError
    return cls(message, code=code, status=status, facts=facts)
