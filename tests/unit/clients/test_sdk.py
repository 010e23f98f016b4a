"""The SDK without a gateway: typed errors, transparent HPKE, key files, route coverage."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric.mldsa import MLDSA65PublicKey
from fastapi import FastAPI

from clients import hpke_box
from clients.sdk import (
    BY_CODE,
    ConsentMissing,
    KeyFile,
    KeyFileError,
    PermissionDenied,
    QcityClient,
    SessionInvalid,
    TransportError,
    Unavailable,
)

ENTITY = {
    "access": {"block": 7, "decision": 3, "basis": "consent"},
    "entity": {
        "id": "urn:ngsi-ld:Meter:1",
        "type": "Meter",
        "category": "energy.household_meter",
        "subject": None,
        "location": [4.3, 50.8],
        "values": {"kWh": 2.5},
    },
}


def _client(handler: Any, keys: KeyFile | None = None) -> QcityClient:
    client = QcityClient("http://gw", keys, transport=httpx.MockTransport(handler))
    client.token = type("T", (), {"access_token": "tok"})()  # type: ignore[assignment]
    return client


def test_refusal_codes_become_typed_exceptions_with_their_facts() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(
            403,
            json={"code": "consent_missing", "message": "no consent", "block": 12, "decision": 9},
        )

    with pytest.raises(ConsentMissing) as caught:
        _client(handler).entity("urn:ngsi-ld:Meter:1", purpose="dpv:ServiceProvision")
    assert isinstance(caught.value, PermissionDenied)
    assert caught.value.facts == {"block": 12, "decision": 9} and caught.value.status == 403


def test_unknown_codes_fall_back_to_their_status_family() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(503, json={"code": "brand_new_outage", "message": "later"})

    with pytest.raises(Unavailable) as caught:
        _client(handler).health()
    assert caught.value.error_code == "brand_new_outage"


def test_non_json_answer_is_a_transport_error() -> None:
    with pytest.raises(TransportError):
        _client(lambda r: httpx.Response(502, text="<html>bad gateway</html>")).health()


def test_requests_carry_token_and_kem_key_and_sealed_answers_open(tmp_path: Path) -> None:
    keys = KeyFile.generate()
    seen: dict[str, Any] = {}

    def handler(request: httpx.Request) -> httpx.Response:
        seen.update(request.headers)
        seen["params"] = dict(request.url.params)
        recipient = hpke_box.KemPublicKey.from_b64(request.headers[hpke_box.KEY_HEADER])
        return httpx.Response(
            200, json=hpke_box.seal_json(ENTITY, recipient, context=request.url.path)
        )

    read = _client(handler, keys).entity("urn:ngsi-ld:Meter:1", purpose="dpv:ServiceProvision")
    assert read.entity.values == {"kWh": 2.5} and read.access.basis == "consent"
    assert seen["authorization"] == "Bearer tok"
    assert seen["params"] == {"purpose": "dpv:ServiceProvision"}


def test_sealed_answer_for_another_path_does_not_open() -> None:
    keys = KeyFile.generate()

    def handler(request: httpx.Request) -> httpx.Response:
        recipient = hpke_box.KemPublicKey.from_b64(request.headers[hpke_box.KEY_HEADER])
        return httpx.Response(200, json=hpke_box.seal_json(ENTITY, recipient, context="/other"))

    with pytest.raises(hpke_box.DecryptionFailed):
        _client(handler, keys).entity("urn:ngsi-ld:Meter:1", purpose="dpv:ServiceProvision")


def test_calls_needing_a_session_refuse_before_sending() -> None:
    client = QcityClient("http://gw", transport=httpx.MockTransport(lambda r: httpx.Response(500)))
    with pytest.raises(SessionInvalid):
        client.my_decisions()


def test_login_signs_the_challenge_under_the_login_context() -> None:
    keys = KeyFile.generate()
    challenge = "qcity-login-v1\naud: qcity\naddress: x\nnonce: n\nissued_at: 1"

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/auth/challenge":
            assert json.loads(request.content) == {
                "address": keys.address,
                "kem_public_key": keys.kem.public_key().to_b64(),  # binds the session's KEM key
            }
            return httpx.Response(
                200, json={"challenge": challenge, "context": "qcity-login-v1", "expires_at": 2}
            )
        body = json.loads(request.content)
        public = MLDSA65PublicKey.from_public_bytes(_unb64(body["public_key"]))
        public.verify(_unb64(body["signature"]), challenge.encode(), context=b"qcity-login-v1")
        return httpx.Response(
            200,
            json={
                "access_token": "jws",
                "token_type": "Bearer",
                "expires_in": 300,
                "sub": keys.address,
                "roles": ["CITIZEN"],
                "block": 5,
            },
        )

    token = QcityClient("http://gw", keys, transport=httpx.MockTransport(handler)).login()
    assert token.roles == ["CITIZEN"] and token.access_token == "jws"


def test_key_file_round_trips_with_mode_0600_and_refuses_loose_modes(tmp_path: Path) -> None:
    keys = KeyFile.generate("city energy")
    path = tmp_path / "k.json"
    keys.save(path)
    assert os.stat(path).st_mode & 0o777 == 0o600
    loaded = KeyFile.load(path)
    assert loaded.address == keys.address and loaded.public_key_hash == keys.public_key_hash
    assert keys.eth_private_key.hex() not in repr(loaded)
    with pytest.raises(KeyFileError, match="exists"):
        keys.save(path)
    os.chmod(path, 0o644)
    with pytest.raises(KeyFileError, match="0600"):
        KeyFile.load(path)


def test_every_gateway_error_code_has_a_typed_exception() -> None:
    from gateway import errors as gateway_errors

    codes = {
        cls.code
        for cls in vars(gateway_errors).values()
        if isinstance(cls, type)
        and issubclass(cls, gateway_errors.GatewayError)
        and cls is not gateway_errors.GatewayError
    }
    assert codes - set(BY_CODE) == set()


def test_every_gateway_route_has_an_sdk_method() -> None:
    from gateway.routes import ROUTERS

    app = FastAPI()
    for router in ROUTERS:
        app.include_router(router)
    routes = {(m.upper(), path) for path, item in app.openapi()["paths"].items() for m in item}
    covered = {
        ("GET", "/health"),
        ("GET", "/.well-known/jwks.json"),
        ("POST", "/auth/challenge"),
        ("POST", "/auth/token"),
        ("GET", "/auth/session"),
        ("GET", "/twin/entities/{entity_id}"),
        ("GET", "/twin/entities/{entity_id}/observations"),
        ("GET", "/twin/entities"),
        ("GET", "/twin/observations"),
        ("POST", "/twin/observations"),
        ("GET", "/audit/decisions"),
        ("GET", "/audit/decisions/{seq}"),
        ("GET", "/audit/verify"),
        ("GET", "/me/decisions"),
        ("POST", "/rpc"),
        ("POST", "/consents/relay"),
        ("GET", "/me/consents/receipts"),
        ("POST", "/jobs"),
        ("GET", "/jobs"),
        ("GET", "/jobs/{job_id}"),
        ("GET", "/jobs/{job_id}/result"),
        ("POST", "/jobs/{job_id}/cancel"),
        ("GET", "/jobs/{job_id}/events"),
    }
    assert routes - covered == set(), "new gateway routes need SDK methods"


def _unb64(text: str) -> bytes:
    import base64

    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
