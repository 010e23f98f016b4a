"""The sealing hook on its own: which answers are sealed, to which key, and what is refused."""

from __future__ import annotations

import json
import time
from types import SimpleNamespace
from typing import Any

import pytest
from fastapi import FastAPI, Request
from fastapi.testclient import TestClient

from clients import hpke_box
from clients.hpke_box import DecryptionFailed, KemPrivateKey, SealedBodyInvalid
from gateway.challenges import ChallengeBook
from gateway.errors import GatewayError, NotFound
from gateway.handlers import install_error_handlers
from gateway.keys import load_or_create_key
from gateway.sealing import install_sealing, kem_thumbprint, personal_data
from gateway.tokens import TokenService

SECRET = {"entity": {"id": "urn:ngsi-ld:Meter:home-1", "values": {"activePower": 2.5}}}
KEY = KemPrivateKey.generate()
HEADER = {hpke_box.KEY_HEADER: KEY.public_key().to_b64()}


def _app(bound: str | None = None) -> TestClient:
    """Routes that mark personal data for a session bound to `bound` (a thumbprint)."""
    app = FastAPI()
    install_error_handlers(app, (GatewayError,))
    install_sealing(app)
    session: Any = SimpleNamespace(claims=SimpleNamespace(kem=bound))

    @app.get("/personal/{item}")
    async def personal(item: str, request: Request) -> dict[str, Any]:
        personal_data(request, session)
        if item == "missing":
            raise NotFound("No such entity.")
        return SECRET

    @app.get("/aggregate")
    async def aggregate() -> dict[str, Any]:
        return SECRET

    return TestClient(app)


def test_unbound_session_without_a_key_gets_plain_json() -> None:
    answer = _app().get("/personal/1")
    assert answer.json() == SECRET and answer.headers["content-type"] == "application/json"


def test_a_named_key_gets_a_sealed_answer_only_that_key_opens() -> None:
    answer = _app().get("/personal/1", headers=HEADER)
    assert answer.status_code == 200
    assert answer.headers["content-type"] == hpke_box.MEDIA_TYPE
    assert answer.headers["cache-control"] == "no-store"
    recorded = answer.content  # what a passive recorder of the traffic keeps
    assert b"activePower" not in recorded and b"home-1" not in recorded
    envelope = json.loads(recorded)
    assert hpke_box.is_sealed(envelope)
    assert int(answer.headers["content-length"]) == len(recorded)
    assert hpke_box.open_json(envelope, KEY, context="/personal/1") == SECRET
    with pytest.raises(SealedBodyInvalid):  # another key cannot even claim to be the recipient
        hpke_box.open_json(envelope, KemPrivateKey.generate(), context="/personal/1")
    with pytest.raises(DecryptionFailed):  # nor can it be replayed as another request's answer
        hpke_box.open_json(envelope, KEY, context="/personal/2")


def test_unmarked_answers_and_errors_are_never_sealed() -> None:
    client = _app()
    assert client.get("/aggregate", headers=HEADER).json() == SECRET
    refused = client.get("/personal/missing", headers=HEADER)
    assert refused.status_code == 404 and refused.json()["code"] == "not_found"


def test_bound_session_must_name_its_own_key() -> None:
    client = _app(bound=kem_thumbprint(KEY.public_key()))
    missing = client.get("/personal/1")
    assert missing.status_code == 401 and missing.json()["code"] == "kem_key_required"
    other = {hpke_box.KEY_HEADER: KemPrivateKey.generate().public_key().to_b64()}
    wrong = client.get("/personal/1", headers=other)
    assert wrong.status_code == 401 and wrong.json()["code"] == "kem_key_mismatch"
    sealed = client.get("/personal/1", headers=HEADER)
    assert hpke_box.open_json(sealed.json(), KEY, context="/personal/1") == SECRET


def test_a_header_that_is_no_xwing_key_is_refused() -> None:
    refused = _app().get("/personal/1", headers={hpke_box.KEY_HEADER: "AAAA"})
    assert refused.status_code == 422 and refused.json()["code"] == "invalid_kem_key"


def test_the_signed_challenge_and_the_token_carry_the_kem_binding(tmp_path: Any) -> None:
    thumb = kem_thumbprint(KEY.public_key())
    book = ChallengeBook(audience="qcity-gateway", ttl_s=60)
    issued = book.issue("0x" + "ab" * 20, thumb)
    assert issued.text.endswith(f"\nkem: {thumb}")
    assert book.consume(issued.text).kem == thumb
    altered = book.issue("0x" + "ab" * 20, thumb)
    other = kem_thumbprint(KemPrivateKey.generate().public_key())
    with pytest.raises(Exception) as refused:
        book.consume(altered.text.replace(thumb, other))
    assert getattr(refused.value, "code", None) == "challenge_unknown"
    tokens = TokenService(load_or_create_key(tmp_path / "k.jwk"), audience="a", issuer="i")
    token, _ = tokens.issue("0x" + "ab" * 20, ["CITIZEN"], kem=thumb)
    fresh = TokenService(load_or_create_key(tmp_path / "k.jwk"), audience="a", issuer="i")
    assert fresh.verify(token).kem == thumb  # read back from the signed claims, not a cache
    plain, _ = tokens.issue("0x" + "ab" * 20, ["CITIZEN"])
    assert fresh.verify(plain).kem is None
    assert time.time() < fresh.verify(token).exp
