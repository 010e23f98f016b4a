"""Post-quantum sessions on a real chain: every rejection of issue 3, item 2, has its code."""

from __future__ import annotations

import base64
import json
import time

from cryptography.hazmat.primitives.asymmetric.mldsa import MLDSA65PrivateKey
from dilithium_py.ml_dsa import ML_DSA_65
from jwcrypto.jwk import JWK

from gateway.tokens import TokenService


def b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def b64d(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def test_login_issues_rfc9964_token_with_roles_from_chain(gateway) -> None:
    response = gateway.login(gateway.world["agency"])
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["roles"] == ["AGENCY"] and body["expires_in"] <= 900
    header, payload, signature = body["access_token"].split(".")
    assert json.loads(b64d(header))["alg"] == "ML-DSA-65"
    claims = json.loads(b64d(payload))
    assert claims["sub"] == gateway.world["agency"].address
    assert claims["aud"] == "qcity-gateway" and claims["exp"] - claims["iat"] <= 900
    assert set(claims) >= {"sub", "roles", "aud", "iat", "exp", "jti"}
    # the JWKS key verifies the token with an independent ML-DSA implementation
    (jwk,) = gateway.client.get("/.well-known/jwks.json").json()["keys"]
    assert jwk["kty"] == "AKP" and jwk["alg"] == "ML-DSA-65" and "priv" not in jwk
    assert ML_DSA_65.verify(b64d(jwk["pub"]), f"{header}.{payload}".encode(), b64d(signature))
    session = gateway.get("/auth/session", body["access_token"])
    assert session.status_code == 200 and session.json()["sub"] == claims["sub"]


def test_client_signing_with_dilithium_py_can_log_in(gateway) -> None:
    """A client using an independent FIPS 204 implementation (with the login context)."""
    from contracts import Chain

    world = gateway.world
    seed = bytes(range(32))
    public, secret = ML_DSA_65.key_derive(seed)
    assert MLDSA65PrivateKey.from_seed_bytes(seed).public_key().public_bytes_raw() == public
    import hashlib

    newcomer = Chain.new_account()
    world.qc.registry.register_stakeholder(world.admin, newcomer.address,
                                           hashlib.sha256(public).digest(), "lab")
    result = world.qc.registry.grant_role(world.admin, "RESEARCH_INSTITUTE", newcomer.address)
    gateway.wait_for_block(result.block_number)
    text = gateway.client.post("/auth/challenge", json={"address": newcomer.address}).json()
    signature = ML_DSA_65.sign(secret, text["challenge"].encode(), ctx=text["context"].encode())
    response = gateway.client.post("/auth/token", json={
        "challenge": text["challenge"], "public_key": b64(public), "signature": b64(signature)})
    assert response.status_code == 200, response.text
    assert response.json()["roles"] == ["RESEARCH_INSTITUTE"]


def test_bad_signature_is_rejected(gateway) -> None:
    response = gateway.login(gateway.world["agency"], key=MLDSA65PrivateKey.generate())
    assert response.status_code == 401
    assert response.json()["code"] == "bad_signature"


def test_signature_without_login_context_is_rejected(gateway) -> None:
    """A signature in another domain (the JWS empty context) cannot be used to log in."""
    actor = gateway.world["agency"]
    text = gateway.challenge(actor)
    signature = actor.mldsa.sign(text.encode())  # no context
    response = gateway.client.post("/auth/token", json={
        "challenge": text, "public_key": b64(actor.public_key), "signature": b64(signature)})
    assert response.json()["code"] == "bad_signature"


def test_key_not_registered_for_address_is_rejected(gateway) -> None:
    actor = gateway.world["agency"]
    other = MLDSA65PrivateKey.generate()
    text = gateway.challenge(actor)
    response = gateway.client.post("/auth/token", json={
        "challenge": text, "public_key": b64(other.public_key().public_bytes_raw()),
        "signature": b64(other.sign(text.encode(), context=b"qcity-login-v1"))})
    assert response.status_code == 401
    assert response.json()["code"] == "key_mismatch"


def test_unknown_stakeholder_is_rejected(gateway) -> None:
    response = gateway.login(gateway.world["stranger"])
    assert response.status_code == 401
    assert response.json()["code"] == "unknown_stakeholder"


def test_challenge_used_twice_is_rejected(gateway) -> None:
    actor = gateway.world["agency"]
    text = gateway.challenge(actor)
    body = {"challenge": text, "public_key": b64(actor.public_key),
            "signature": b64(actor.mldsa.sign(text.encode(), context=b"qcity-login-v1"))}
    assert gateway.client.post("/auth/token", json=body).status_code == 200
    again = gateway.client.post("/auth/token", json=body)
    assert again.status_code == 401
    assert again.json()["code"] == "challenge_reused"


def test_challenge_too_old_is_rejected(make_gateway) -> None:
    gateway = make_gateway(challenge_ttl_s=1)
    actor = gateway.world["agency"]
    text = gateway.challenge(actor)
    time.sleep(2.05)
    response = gateway.client.post("/auth/token", json={
        "challenge": text, "public_key": b64(actor.public_key),
        "signature": b64(actor.mldsa.sign(text.encode(), context=b"qcity-login-v1"))})
    assert response.status_code == 401
    assert response.json()["code"] == "challenge_expired"


def test_expired_token_is_rejected(make_gateway) -> None:
    gateway = make_gateway(token_ttl_s=1, clock_skew_s=0)
    token = gateway.token(gateway.world["agency"])
    assert gateway.get("/auth/session", token).status_code == 200
    time.sleep(2.05)
    response = gateway.get("/auth/session", token)
    assert response.status_code == 401
    assert response.json()["code"] == "session_expired"
    assert response.headers["www-authenticate"] == "Bearer"


def test_token_for_another_audience_is_rejected(gateway, tmp_path) -> None:
    """Same signing key, other audience: a token meant for another service is refused."""
    key = JWK(**json.loads((tmp_path / "gw" / "gateway-mldsa65.jwk.json").read_text()))
    other = TokenService(key, audience="qcity-billing", issuer="qcity-gateway")
    token, _ = other.issue(gateway.world["agency"].address, {"AGENCY"})
    response = gateway.get("/auth/session", token)
    assert response.status_code == 401
    assert response.json()["code"] == "wrong_audience"


def test_forged_token_is_rejected(gateway) -> None:
    token = gateway.token(gateway.world["citizen"])
    header, payload, signature = token.split(".")
    claims = json.loads(b64d(payload))
    claims["roles"] = ["AGENCY"]
    forged = f"{header}.{b64(json.dumps(claims).encode())}.{signature}"
    response = gateway.get("/auth/session", forged)
    assert response.status_code == 401
    assert response.json()["code"] == "bad_signature"


def test_role_revoked_after_issue_stops_existing_session(gateway) -> None:
    world = gateway.world
    token = gateway.token(world["agency"])
    assert gateway.get("/auth/session", token).status_code == 200
    result = world.qc.registry.revoke_role(world.admin, "AGENCY", world["agency"].address)
    gateway.wait_for_block(result.block_number)
    response = gateway.get("/auth/session", token)
    assert response.status_code == 401
    body = response.json()
    assert body["code"] == "role_revoked" and body["roles"] == ["AGENCY"]
    assert body["block"] >= result.block_number
    # and no new session either: the stakeholder holds no role now
    assert gateway.login(world["agency"]).json()["code"] == "no_roles"


def test_missing_or_malformed_authorization_is_session_invalid(gateway) -> None:
    assert gateway.client.get("/auth/session").json()["code"] == "session_invalid"
    for header in ["Basic abc", "Bearer", "Bearer a.b.c", "Bearer " + "x" * 20000]:
        response = gateway.client.get("/auth/session", headers={"Authorization": header})
        assert response.status_code == 401, header
        assert response.json()["code"] == "session_invalid"
