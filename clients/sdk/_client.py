"""`QcityClient`: log in with an ML-DSA key file and call every gateway route, typed.

Login is the gateway's two-step challenge: ask for a challenge, sign it with ML-DSA-65 under
its context, trade it for a session token (a JWS the gateway signed with its own ML-DSA key).
Every refusal becomes the typed exception of its code (`_errors`). When the key file has a
KEM key, each request names it in `X-Qcity-KEM-Key`; a response the gateway sealed to it
(HPKE, X-Wing) is opened here, so callers only ever see plain answers.
"""

from __future__ import annotations

import base64
import json as jsonlib
import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any, TypeVar

import httpx
from pydantic import BaseModel, ValidationError

from clients import hpke_box
from clients.sdk._errors import (
    JobTimeout,
    QcityError,
    SessionInvalid,
    TransportError,
    error_for,
)
from clients.sdk._keys import KeyFile
from clients.sdk._models import (
    AuditChain,
    Decision,
    DecisionPage,
    Decisions,
    Entities,
    EntityRead,
    Health,
    Ingested,
    JobList,
    JobResult,
    JobView,
    Observations,
    Receipts,
    Relayed,
    SessionInfo,
    Token,
)

if TYPE_CHECKING:
    from contracts.eip712 import SignedConsent

M = TypeVar("M", bound=BaseModel)


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


class QcityClient:
    """One stakeholder's connection to one gateway."""

    def __init__(
        self,
        base_url: str,
        keys: KeyFile | None = None,
        *,
        transport: httpx.BaseTransport | None = None,
        timeout: float = 30.0,
    ) -> None:
        self.keys = keys
        self.token: Token | None = None
        self._http = httpx.Client(
            base_url=base_url.rstrip("/"), transport=transport, timeout=timeout
        )

    def __enter__(self) -> QcityClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._http.close()

    # ------------------------------------------------------------------ plumbing

    def _headers(self, auth: bool) -> dict[str, str]:
        headers = {"Accept": "application/json"}
        if auth:
            if self.token is None:
                raise SessionInvalid("not logged in: call login() first", code="not_logged_in")
            headers["Authorization"] = f"Bearer {self.token.access_token}"
        if self.keys is not None:
            headers[hpke_box.KEY_HEADER] = self.keys.kem.public_key().to_b64()
        return headers

    def request(
        self,
        method: str,
        path: str,
        *,
        auth: bool = True,
        params: Mapping[str, Any] | None = None,
        json: Any = None,
    ) -> Any:
        """Send one request; return the decoded (and, if sealed, opened) JSON body."""
        query = {k: v for k, v in (params or {}).items() if v is not None}
        try:
            response = self._http.request(
                method, path, params=query, json=json, headers=self._headers(auth)
            )
        except httpx.HTTPError as exc:
            raise TransportError(f"{method} {path}: {exc}") from exc
        if response.status_code == 204:
            return None
        try:
            body = response.json()
        except ValueError:
            raise TransportError(
                f"{method} {path}: HTTP {response.status_code}, not JSON",
                status=response.status_code,
            ) from None
        if response.status_code >= 400:
            raise error_for(response.status_code, body)
        if hpke_box.is_sealed(body):
            if self.keys is None:
                raise TransportError("the gateway sealed its answer but no KEM key is loaded")
            body = hpke_box.open_json(body, self.keys.kem, context=path)
        return body

    def _get(self, model: type[M], path: str, **params: Any) -> M:
        return self._parse(model, self.request("GET", path, params=params))

    @staticmethod
    def _parse(model: type[M], body: Any) -> M:
        try:
            return model.model_validate(body)
        except ValidationError as exc:
            raise TransportError(f"unexpected answer for {model.__name__}: {exc}") from None

    # ------------------------------------------------------------------ public

    def health(self) -> Health:
        """GET /health: chain id, block, head, contract addresses, whether checks are live."""
        return self._parse(Health, self.request("GET", "/health", auth=False))

    def jwks(self) -> dict[str, Any]:
        """GET /.well-known/jwks.json: the gateway's ML-DSA-65 token-signing key."""
        return dict(self.request("GET", "/.well-known/jwks.json", auth=False))

    # ------------------------------------------------------------------ sessions

    def login(self) -> Token:
        """POST /auth/challenge then /auth/token with the key file's ML-DSA key; the session
        is bound to the key file's KEM key, so personal data comes back sealed to it."""
        if self.keys is None:
            raise SessionInvalid("no key file loaded", code="no_keys")
        # Binding the KEM key at login (the signed challenge names it) makes the gateway seal
        # this session's personal data to it on every request, whatever the headers say.
        kem = self.keys.kem.public_key().to_b64()
        challenge = self.request(
            "POST",
            "/auth/challenge",
            auth=False,
            json={"address": self.keys.address, "kem_public_key": kem},
        )
        text = str(challenge["challenge"])
        if challenge.get("context", "qcity-login-v1") != "qcity-login-v1":
            raise TransportError(f"unexpected login context {challenge.get('context')!r}")
        body = {
            "challenge": text,
            "public_key": _b64(self.keys.mldsa_public_key),
            "signature": _b64(self.keys.sign_login(text)),
        }
        self.token = self._parse(Token, self.request("POST", "/auth/token", auth=False, json=body))
        return self.token

    def session(self) -> SessionInfo:
        """GET /auth/session: who the token says the caller is, and its roles now."""
        return self._get(SessionInfo, "/auth/session")

    # ------------------------------------------------------------------ twin

    def entity(self, entity_id: str, *, purpose: str) -> EntityRead:
        """GET /twin/entities/{id}: an entity's latest state, read for `purpose`."""
        return self._get(EntityRead, f"/twin/entities/{entity_id}", purpose=purpose)

    def entity_observations(
        self,
        entity_id: str,
        *,
        purpose: str,
        start: int | None = None,
        end: int | None = None,
        limit: int | None = None,
    ) -> Observations:
        """GET /twin/entities/{id}/observations in [start, end) (epoch seconds)."""
        return self._get(
            Observations,
            f"/twin/entities/{entity_id}/observations",
            purpose=purpose,
            start=start,
            end=end,
            limit=limit,
        )

    def entities(
        self,
        *,
        category: str,
        purpose: str,
        subject: str | None = None,
        provider: str | None = None,
        bbox: Sequence[float] | None = None,
        limit: int | None = None,
    ) -> Entities:
        """GET /twin/entities: entities of a category (personal ones: one subject)."""
        return self._get(
            Entities,
            "/twin/entities",
            category=category,
            purpose=purpose,
            subject=subject,
            provider=provider,
            bbox=_bbox(bbox),
            limit=limit,
        )

    def observations(
        self,
        *,
        category: str,
        purpose: str,
        subject: str | None = None,
        provider: str | None = None,
        bbox: Sequence[float] | None = None,
        start: int | None = None,
        end: int | None = None,
        limit: int | None = None,
    ) -> Observations:
        """GET /twin/observations: a category's observations in a time range."""
        return self._get(
            Observations,
            "/twin/observations",
            category=category,
            purpose=purpose,
            subject=subject,
            provider=provider,
            bbox=_bbox(bbox),
            start=start,
            end=end,
            limit=limit,
        )

    def ingest(self, observations: Sequence[Mapping[str, Any]]) -> Ingested:
        """POST /twin/observations (sensor operators)."""
        body = self.request("POST", "/twin/observations", json={"observations": list(observations)})
        return self._parse(Ingested, body)

    # ------------------------------------------------------------------ audit

    def decision(self, seq: int) -> Decision:
        """GET /audit/decisions/{seq} (auditors): a decision with its Merkle proof."""
        return self._get(Decision, f"/audit/decisions/{int(seq)}")

    def decision_page(self, after: int = 0, limit: int | None = None) -> DecisionPage:
        """GET /audit/decisions (auditors): decisions after seq `after`, with proofs."""
        return self._get(DecisionPage, "/audit/decisions", after=int(after), limit=limit)

    def export_decisions(self, after: int = 0, page: int = 500) -> Iterator[Decision]:
        """Every decision after `after`, page by page, up to the head when the last page is
        read (each page is one audited read, itself included in the export)."""
        while True:
            found = self.decision_page(after, page)
            yield from found.decisions
            if found.next_after is None:
                return
            after = found.next_after

    def verify_audit_chain(self) -> AuditChain:
        """GET /audit/verify (auditors): the gateway re-checks its local hash chain."""
        return self._get(AuditChain, "/audit/verify")

    def my_decisions(self, limit: int | None = None) -> Decisions:
        """GET /me/decisions: decisions about the caller's own data, with proofs."""
        return self._get(Decisions, "/me/decisions", limit=limit)

    # ------------------------------------------------------------------ consents

    def relay_consent(self, signed: SignedConsent) -> Relayed:
        """POST /consents/relay: the gateway sends a consent the subject signed (EIP-712)
        and pays its gas. No session needed: the signature is the subject's authority.
        Refusals: ConsentRefused (`invalid_signature`, `invalid_nonce`, `signature_expired`,
        ...), RoleMissing (not a registered citizen), RateLimited."""
        m = signed.message
        grant = hasattr(m, "expiry")
        body: dict[str, Any] = {
            "kind": "grant" if grant else "revoke",
            "subject": m.subject,
            "grantee": m.grantee,
            "category": "0x" + m.category.hex(),
            "purpose": "0x" + m.purpose.hex(),
            "nonce": m.nonce,
            "deadline": m.deadline,
            "signature": "0x" + signed.signature.hex(),
        }
        if grant:
            body["expiry"] = m.expiry  # type: ignore[union-attr]
        return self._parse(Relayed, self.request("POST", "/consents/relay", auth=False, json=body))

    def consent_receipts(self) -> Receipts:
        """GET /me/consents/receipts: a signed 27560 receipt per consent the caller gave."""
        return self._get(Receipts, "/me/consents/receipts")

    # ------------------------------------------------------------------ optimisation jobs

    def submit_job(self, request: Mapping[str, Any] | BaseModel) -> JobView:
        """POST /jobs: launch a job (`kind` traffic, emergency, energy or lp; a `purpose`;
        optionally a `solver`). The launch and every input it reads are permission-checked:
        refusals raise RoleMissing, ConsentMissing, AgreementMissing, InvalidRequest
        (`invalid_problem`, `validation_error`, ...)."""
        body = (request.model_dump(mode="json") if isinstance(request, BaseModel)
                else dict(request))
        return self._parse(JobView, self.request("POST", "/jobs", json=body))

    def jobs(self) -> JobList:
        """GET /jobs: the caller's jobs, newest first."""
        return self._get(JobList, "/jobs")

    def job(self, job_id: str) -> JobView:
        """GET /jobs/{id}: one of the caller's jobs (NotFound for anyone else's)."""
        return self._get(JobView, f"/jobs/{job_id}")

    def job_result(self, job_id: str) -> JobResult:
        """GET /jobs/{id}/result: a succeeded job's result (Conflict `job_not_finished` or
        `job_has_no_result` otherwise); sealed when computed from personal data."""
        return self._get(JobResult, f"/jobs/{job_id}/result")

    def cancel_job(self, job_id: str) -> JobView:
        """POST /jobs/{id}/cancel: stop a queued or running job (Conflict `job_finished`)."""
        return self._parse(JobView, self.request("POST", f"/jobs/{job_id}/cancel"))

    def watch_job(self, job_id: str) -> Iterator[JobView]:
        """GET /jobs/{id}/events: the job's view now, then at each change, until it ends.

        Server-sent events, not sealed: a job view carries no personal data (state, progress,
        and the consents relied on, which the chain holds publicly); the result itself comes
        from `job_result`, sealed where it is personal."""
        path = f"/jobs/{job_id}/events"
        headers = {**self._headers(True), "Accept": "text/event-stream"}
        try:
            with self._http.stream("GET", path, headers=headers) as response:
                if response.status_code >= 400:
                    response.read()
                    try:
                        body = response.json()
                    except ValueError:
                        body = None
                    raise error_for(response.status_code, body)
                for event, data in _sse(response.iter_lines()):
                    if event != "status":
                        continue
                    view = self._parse(JobView, jsonlib.loads(data))
                    yield view
                    if view.terminal:
                        return
        except httpx.HTTPError as exc:
            raise TransportError(f"GET {path}: {exc}") from exc

    def wait_job(self, job_id: str, timeout_s: float = 600.0, poll_s: float = 0.5) -> JobView:
        """Poll until the job ends; JobTimeout after `timeout_s` (the job goes on)."""
        deadline = time.monotonic() + timeout_s
        while True:
            view = self.job(job_id)
            if view.terminal:
                return view
            left = deadline - time.monotonic()
            if left <= 0:
                raise JobTimeout(f"job {job_id} still {view.state} after {timeout_s} s",
                                 facts={"job_id": job_id, "state": view.state})
            time.sleep(min(poll_s, left))

    # ------------------------------------------------------------------ chain

    def rpc(self, method: str, params: Sequence[Any] = ()) -> Any:
        """POST /rpc: one Ethereum JSON-RPC call through the gateway's read-only door."""
        body = self.request(
            "POST",
            "/rpc",
            auth=False,
            json={"jsonrpc": "2.0", "id": 1, "method": method, "params": list(params)},
        )
        if isinstance(body, dict) and "error" in body:
            error = body["error"]
            raise QcityError(
                str(error.get("message")),
                code=f"rpc_{error.get('code')}",
                facts={"data": error.get("data")},
            )
        return body.get("result") if isinstance(body, dict) else None


def _bbox(bbox: Sequence[float] | None) -> str | None:
    return None if bbox is None else ",".join(str(float(v)) for v in bbox)


def _sse(lines: Iterable[str]) -> Iterator[tuple[str, str]]:
    """(event, data) of each server-sent event (comments and pings skipped)."""
    event, data = "message", []
    for line in lines:
        if not line:
            if data:
                yield event, "\n".join(data)
            event, data = "message", []
        elif line.startswith(":"):
            continue
        else:
            name, _, value = line.partition(":")
            value = value.removeprefix(" ")
            if name == "event":
                event = value
            elif name == "data":
                data.append(value)
    if data:
        yield event, "\n".join(data)
