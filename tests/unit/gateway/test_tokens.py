"""Session tokens: RFC 9964 JWS with ML-DSA-65, interop with the RFC example and dilithium-py."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric import mldsa
from dilithium_py.ml_dsa import ML_DSA_65
from jwcrypto.jwk import JWK
from jwcrypto.jws import JWS, InvalidJWSSignature

from gateway.errors import BadSignature, SessionExpired, SessionInvalid, WrongAudience
from gateway.tokens import TokenService

EXAMPLE = json.loads((Path(__file__).parent / "data" / "ML_DSA_65.jose.json").read_text())


def b64d(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def b64e(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


class Clock:
    def __init__(self, now: float = 1_800_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture(scope="module")
def key() -> JWK:
    k = JWK.generate(kty="AKP", alg="ML-DSA-65")
    k["kid"] = k.thumbprint()
    return k


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def tokens(key: JWK, clock: Clock) -> TokenService:
    return TokenService(key, audience="qcity-test", issuer="qcity-test", ttl_s=900, clock=clock)


# ---------------------------------------------------------------- the RFC example


def test_rfc_example_key_derives_from_its_seed() -> None:
    seed = bytes.fromhex(EXAMPLE["seed"])
    private = mldsa.MLDSA65PrivateKey.from_seed_bytes(seed)
    assert b64e(private.public_key().public_bytes_raw()) == EXAMPLE["jwk"]["pub"]
    assert b64d(EXAMPLE["jwk"]["priv"]) == seed
    assert JWK(**EXAMPLE["jwk"]).thumbprint() == EXAMPLE["jwk"]["kid"]


def test_rfc_example_token_verifies_with_jwcrypto() -> None:
    public = {k: EXAMPLE["jwk"][k] for k in ("kty", "alg", "pub")}
    jws = JWS()
    jws.deserialize(EXAMPLE["jws"])
    jws.verify(JWK(**public), alg="ML-DSA-65")
    assert jws.jose_header["alg"] == "ML-DSA-65"
    assert jws.payload.decode().startswith("It’s a dangerous business, Frodo")


def test_rfc_example_token_verifies_with_dilithium_py_and_empty_context() -> None:
    header, payload, signature = EXAMPLE["jws"].split(".")
    signing_input = f"{header}.{payload}".encode()
    assert signing_input.hex() == EXAMPLE["raw_to_be_signed"]
    assert b64d(signature).hex() == EXAMPLE["raw_signature"]
    pub = bytes.fromhex(EXAMPLE["raw_public_key"])
    assert ML_DSA_65.verify(pub, signing_input, b64d(signature), ctx=b"")
    assert not ML_DSA_65.verify(pub, signing_input, b64d(signature), ctx=b"qcity-login-v1")


def test_tampered_rfc_example_token_is_rejected() -> None:
    header, _payload, signature = EXAMPLE["jws"].split(".")
    forged = f"{header}.{b64e(b'Frodo stays home.')}.{signature}"
    jws = JWS()
    jws.deserialize(forged)
    with pytest.raises(InvalidJWSSignature):
        jws.verify(JWK(**{k: EXAMPLE["jwk"][k] for k in ("kty", "alg", "pub")}))


# ---------------------------------------------------------------- the gateway's tokens


def test_issued_token_is_rfc9964_compact_jws(tokens: TokenService, key: JWK) -> None:
    token, claims = tokens.issue("0x" + "ab" * 20, {"AGENCY"})
    header = json.loads(b64d(token.split(".")[0]))
    assert header == {"alg": "ML-DSA-65", "kid": key.thumbprint(), "typ": "JWT"}
    body = json.loads(b64d(token.split(".")[1]))
    assert set(body) == {"sub", "roles", "aud", "iss", "iat", "exp", "jti"}
    assert body["exp"] - body["iat"] == 900
    assert body["roles"] == ["AGENCY"]
    assert claims.jti == body["jti"]


def test_issued_token_verifies_with_dilithium_py(tokens: TokenService) -> None:
    token, _ = tokens.issue("0x" + "ab" * 20, {"AGENCY"})
    (jwk,) = tokens.jwks()["keys"]
    assert jwk["kty"] == "AKP" and jwk["alg"] == "ML-DSA-65" and "priv" not in jwk
    header, payload, signature = token.split(".")
    assert ML_DSA_65.verify(b64d(jwk["pub"]), f"{header}.{payload}".encode(), b64d(signature))


def test_token_signed_by_dilithium_py_with_gateway_seed_verifies(key: JWK, clock: Clock) -> None:
    """An independent signer holding the same seed produces tokens the gateway accepts."""
    seed = b64d(key["priv"])
    _pk, sk = ML_DSA_65.key_derive(seed)
    tokens = TokenService(key, audience="qcity-test", issuer="qcity-test", clock=clock)
    header = b64e(json.dumps({"alg": "ML-DSA-65", "kid": key.thumbprint()}).encode())
    now = int(clock.now)
    payload = b64e(json.dumps({
        "sub": "0x" + "cd" * 20, "roles": ["AUDITOR"], "aud": "qcity-test", "iss": "qcity-test",
        "iat": now, "exp": now + 60, "jti": "independent-1",
    }).encode())
    signature = ML_DSA_65.sign(sk, f"{header}.{payload}".encode(), ctx=b"")
    claims = tokens.verify(f"{header}.{payload}.{b64e(signature)}")
    assert claims.roles == frozenset({"AUDITOR"})


def test_verify_round_trip_and_cache(tokens: TokenService) -> None:
    token, issued = tokens.issue("0x" + "ab" * 20, {"AGENCY", "AUDITOR"})
    assert tokens.verify(token) == issued
    assert tokens.verify(token) == issued  # second use hits the cache


def test_expired_token_rejected_even_when_cached(tokens: TokenService, clock: Clock) -> None:
    token, _ = tokens.issue("0x" + "ab" * 20, {"AGENCY"})
    tokens.verify(token)
    clock.now += 901 + 5
    with pytest.raises(SessionExpired):
        tokens.verify(token)


def test_expired_token_rejected_on_first_use(tokens: TokenService, clock: Clock) -> None:
    token, _ = tokens.issue("0x" + "ab" * 20, {"AGENCY"})
    clock.now += 2000
    with pytest.raises(SessionExpired) as info:
        tokens.verify(token)
    assert info.value.code == "session_expired"


def test_wrong_audience_rejected(key: JWK, clock: Clock) -> None:
    other = TokenService(key, audience="another-service", issuer="qcity-test", clock=clock)
    token, _ = other.issue("0x" + "ab" * 20, {"AGENCY"})
    ours = TokenService(key, audience="qcity-test", issuer="qcity-test", clock=clock)
    with pytest.raises(WrongAudience) as info:
        ours.verify(token)
    assert info.value.code == "wrong_audience"


def test_token_from_another_key_is_bad_signature(tokens: TokenService, clock: Clock) -> None:
    stranger = JWK.generate(kty="AKP", alg="ML-DSA-65")
    stranger["kid"] = tokens.kid  # claims to be ours
    forged, _ = TokenService(stranger, audience="qcity-test", issuer="qcity-test",
                             clock=clock).issue("0x" + "ab" * 20, {"AGENCY"})
    with pytest.raises(BadSignature) as info:
        tokens.verify(forged)
    assert info.value.code == "bad_signature"


def test_modified_claims_break_signature(tokens: TokenService) -> None:
    token, _ = tokens.issue("0x" + "ab" * 20, {"CITIZEN"})
    header, payload, signature = token.split(".")
    body = json.loads(b64d(payload))
    body["roles"] = ["AGENCY"]
    forged = f"{header}.{b64e(json.dumps(body).encode())}.{signature}"
    with pytest.raises(BadSignature):
        tokens.verify(forged)


@pytest.mark.parametrize(
    "header",
    [{"alg": "none"}, {"alg": "HS256"}, {"alg": "EdDSA"}, {"alg": "ML-DSA-44"}],
)
def test_other_algorithms_are_refused(tokens: TokenService, header: dict[str, str]) -> None:
    token, _ = tokens.issue("0x" + "ab" * 20, {"AGENCY"})
    _h, payload, signature = token.split(".")
    with pytest.raises(SessionInvalid):
        tokens.verify(f"{b64e(json.dumps(header).encode())}.{payload}.{signature}")


@pytest.mark.parametrize(
    "garbage", ["", "a", "a.b", "a.b.c", "....", "x" * 20000, "eyJ.eyJ.", "é.é.é"]
)
def test_garbage_tokens_are_session_invalid(tokens: TokenService, garbage: str) -> None:
    with pytest.raises(SessionInvalid):
        tokens.verify(garbage)


def test_token_lifetime_is_capped_at_15_minutes(key: JWK, clock: Clock) -> None:
    tokens = TokenService(key, audience="a", issuer="a", ttl_s=10_000, clock=clock)
    _, claims = tokens.issue("0x" + "ab" * 20, {"AGENCY"})
    assert claims.exp - claims.iat == 900
