"""The gateway's exception tree: every refusal is an exception with a stable `code`.

One handler (gateway.handlers) turns any exception carrying `code` and `http_status`
(this tree, contracts' ChainError tree, twin_core's errors) into a JSON body, so routes
never build error responses themselves.
"""

from __future__ import annotations

from typing import Any, ClassVar


class GatewayError(Exception):
    """Base of every gateway refusal; `code` is stable and machine-readable."""

    code: ClassVar[str] = "gateway_error"
    http_status: ClassVar[int] = 400

    def __init__(self, message: str | None = None, **facts: Any) -> None:
        super().__init__(message or (self.__doc__ or self.code).strip().splitlines()[0])
        self.message = str(self.args[0])
        self.facts = facts


# ------------------------------------------------------------------ sessions (401)


class SessionInvalid(GatewayError):
    """The session token is missing or malformed."""

    code = "session_invalid"
    http_status = 401


class BadSignature(SessionInvalid):
    """A signature (login challenge or session token) does not verify."""

    code = "bad_signature"


class SessionExpired(SessionInvalid):
    """The session token has expired; log in again."""

    code = "session_expired"


class WrongAudience(SessionInvalid):
    """The session token was issued for another audience."""

    code = "wrong_audience"


class ChallengeUnknown(SessionInvalid):
    """No such login challenge was issued by this gateway."""

    code = "challenge_unknown"


class ChallengeReused(SessionInvalid):
    """The login challenge was already used."""

    code = "challenge_reused"


class ChallengeExpired(SessionInvalid):
    """The login challenge is too old; ask for a new one."""

    code = "challenge_expired"


class UnknownStakeholder(SessionInvalid):
    """The address has no ML-DSA-65 key registered on chain."""

    code = "unknown_stakeholder"


class KeyMismatch(SessionInvalid):
    """The public key presented is not the one registered on chain for this address."""

    code = "key_mismatch"


class NoRoles(SessionInvalid):
    """The stakeholder holds no role on chain, so no session can be issued."""

    code = "no_roles"
    http_status = 403


class TooManyChallenges(GatewayError):
    """Too many login challenges are outstanding; try again shortly."""

    code = "too_many_challenges"
    http_status = 429


class RoleRevoked(SessionInvalid):
    """A role named in the session token was revoked on chain after the token was issued."""

    code = "role_revoked"


# ------------------------------------------------------------------ permission (403)


class PermissionDenied(GatewayError):
    """The permission engine refused the request."""

    code = "permission_denied"
    http_status = 403


class RoleMissing(PermissionDenied):
    """The caller lacks the role this action requires."""

    code = "role_missing"


class ConsentMissing(PermissionDenied):
    """The data subject has not given live consent for this grantee, category and purpose."""

    code = "consent_missing"


class AgreementMissing(PermissionDenied):
    """Neither a role nor an organisation agreement allows this aggregate read."""

    code = "agreement_missing"


# ------------------------------------------------------------------ availability (503)


class IndexLagging(GatewayError):
    """The permission index is behind the chain by more than allowed; failing closed."""

    code = "index_lagging"
    http_status = 503


class ChainStale(GatewayError):
    """The chain has not answered recently; failing closed."""

    code = "chain_unavailable"
    http_status = 503


# ------------------------------------------------------------------ requests (4xx)


class NotFound(GatewayError):
    """No such resource."""

    code = "not_found"
    http_status = 404


class InvalidRequest(GatewayError):
    """The request is well-formed JSON but makes no sense."""

    code = "invalid_request"
    http_status = 422


class UnknownPurpose(InvalidRequest):
    """The purpose is not a known W3C DPV term."""

    code = "unknown_purpose"


class UnknownCategory(InvalidRequest):
    """The data category is not a known qcity category."""

    code = "unknown_category"


class SubjectRequired(InvalidRequest):
    """Personal data categories need a data subject."""

    code = "subject_required"


class IngestConflict(GatewayError):
    """The entity exists with another provider, category or data subject."""

    code = "ingest_conflict"
    http_status = 409


# ------------------------------------------------------------------ relay and sealing


class TooManyRelays(GatewayError):
    """This subject has sent too many consents to relay recently; try again later."""

    code = "too_many_relays"
    http_status = 429


class KemKeyRequired(SessionInvalid):
    """This session is bound to a KEM key: name it in X-Qcity-KEM-Key to receive personal data."""

    code = "kem_key_required"


class KemKeyMismatch(SessionInvalid):
    """The KEM key sent is not the one this session was bound to at login."""

    code = "kem_key_mismatch"


class InvalidKemKey(InvalidRequest):
    """The KEM key is not an X-Wing (MLKEM768-X25519) public key in base64url."""

    code = "invalid_kem_key"
