"""Harvest-now-decrypt-later protection: personal-data answers sealed to the client's KEM key.

Traffic recorded today under classical TLS could be read by a future quantum computer; a
personal-data answer is therefore also encrypted with HPKE to the client's post-quantum KEM
key (X-Wing, `clients.hpke_box`), so the recording stays unreadable.

Which key: a client binds its KEM key to the session at login (the challenge names the key's
SHA-256 thumbprint, so the ML-DSA login signature covers it, and the token carries it as
`cnf` `kem#S256`). A bound session's personal data is always sealed to that key: a request
must name it in `X-Qcity-KEM-Key`, and a missing or different key is refused before the
permission check, so a stolen token alone never yields personal data in clear. A session
without a binding may still name a key per request and gets its answers sealed to it (opt-in
protection against passive recording; whoever holds such a token could read the data anyway).

One place: the permission dependencies call `personal_data(request, session)` for personal
categories (and `/me/...` routes through `PersonalSessionDep`); that checks the key and marks
the request; `SealingMiddleware` seals the marked request's successful JSON answer.
"""

from __future__ import annotations

import base64
import hashlib
import json
from typing import TYPE_CHECKING

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from clients import hpke_box
from clients.hpke_box import KemPublicKey
from gateway.errors import InvalidKemKey, KemKeyMismatch, KemKeyRequired

if TYPE_CHECKING:
    from fastapi import FastAPI, Request

    from gateway.deps import Session

SEAL_TO = "qcity_seal_to"
"""Request state key: the KemPublicKey a personal-data answer is sealed to."""


def kem_thumbprint(key: KemPublicKey) -> str:
    """base64url(SHA-256(raw X-Wing public key)): what the challenge and the token name."""
    return base64.urlsafe_b64encode(hashlib.sha256(key.raw).digest()).rstrip(b"=").decode()


def parse_kem_key(text: str) -> KemPublicKey:
    """A client's X-Wing public key from its base64url form (header or login body)."""
    try:
        return KemPublicKey.from_b64(text.strip())
    except hpke_box.InvalidKemKey as exc:
        raise InvalidKemKey(str(exc)) from None


def personal_data(request: Request, session: Session) -> None:
    """This request will receive personal data: check its KEM key against the session's
    binding and mark it for sealing. Call before the permission check, so that a refusal
    here never leaves an 'allowed' decision behind without data sent.

    Raises KemKeyRequired / KemKeyMismatch (401) for a bound session, InvalidKemKey (422)
    for a header that is not an X-Wing key.
    """
    header = request.headers.get(hpke_box.KEY_HEADER)
    key = parse_kem_key(header) if header else None
    bound = session.claims.kem
    if bound is not None:
        if key is None:
            raise KemKeyRequired(header=hpke_box.KEY_HEADER)
        if kem_thumbprint(key) != bound:
            raise KemKeyMismatch(bound=bound)
    if key is not None:
        setattr(request.state, SEAL_TO, key)


class SealingMiddleware:
    """Seals the successful JSON answer of a request marked by `personal_data`.

    A pure ASGI middleware (no extra task, no copy of the request): the body is buffered
    only for marked requests. Errors (4xx/5xx) are never sealed: they carry no personal data,
    and a client must be able to read why it was refused.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start: Message | None = None
        chunks: list[bytes] = []

        async def sealing_send(message: Message) -> None:
            nonlocal start
            key = scope.get("state", {}).get(SEAL_TO)
            if message["type"] == "http.response.start":
                if key is None or not 200 <= message["status"] < 300:
                    await send(message)
                else:
                    start = message
                return
            if start is None or message["type"] != "http.response.body":
                await send(message)
                return
            chunks.append(message.get("body", b""))
            if message.get("more_body", False):
                return
            await _send_sealed(send, start, b"".join(chunks), key, scope["path"])

        await self.app(scope, receive, sealing_send)


async def _send_sealed(send: Send, start: Message, body: bytes, key: KemPublicKey,
                       path: str) -> None:
    """The envelope `hpke_box.seal_response` makes, over the exact bytes the route produced
    (sealing them as they are spares a JSON decode and re-encode of every answer)."""
    envelope = hpke_box.seal(body, key, context=path).to_json()
    sealed = json.dumps(envelope, separators=(",", ":")).encode()
    headers = [(k, v) for k, v in start.get("headers", [])
               if k.lower() not in {b"content-length", b"content-type"}]
    headers += [(b"content-type", hpke_box.MEDIA_TYPE.encode()),
                (b"content-length", str(len(sealed)).encode()),
                (b"cache-control", b"no-store"), (b"vary", hpke_box.KEY_HEADER.encode())]
    await send({**start, "headers": headers})
    await send({"type": "http.response.body", "body": sealed, "more_body": False})


def install_sealing(app: FastAPI) -> None:
    """Add the sealing middleware to the gateway app (create_app does)."""
    app.add_middleware(SealingMiddleware)
