"""HNDL protection: sealed responses open only with the client's key, and interoperate.

The interop half checks `cryptography`'s X-Wing HPKE against an independent implementation
written here from the specifications: kyber-py (pure-Python FIPS 203) for ML-KEM-768, the
X-Wing combiner (SHA3-256 over both shared secrets, the X25519 ciphertext and public key, and
the X-Wing label) and RFC 9180's base-mode key schedule. That implementation is first checked
against the X-Wing draft's published test vector, so a pass is not one library agreeing with
itself. X25519 there comes from `cryptography` too (a classical primitive with its own
long-standing test vectors); the post-quantum half and everything HPKE adds are independent.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import struct
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric import x25519
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from kyber_py.ml_kem import ML_KEM_768

from clients import hpke_box
from clients.hpke_box import (
    DecryptionFailed,
    InvalidKemKey,
    KemPrivateKey,
    KemPublicKey,
    SealedBody,
    SealedBodyInvalid,
)

VECTOR = json.loads((Path(__file__).parent / "data" / "xwing_draft08_vector1.json").read_text())
XWING_LABEL = bytes.fromhex("5c2e2f2f5e5c")  # "\.//^\"
SUITE_ID = b"HPKE" + struct.pack(">HHH", 0x647A, 0x0001, 0x0002)


# --------------------------------------------------------------- independent implementation


def _expand(seed: bytes) -> tuple[bytes, bytes, bytes, bytes]:
    """X-Wing key expansion: (ML-KEM ek, ML-KEM dk, X25519 sk, X25519 pk)."""
    expanded = hashlib.shake_256(seed).digest(96)
    ek, dk = ML_KEM_768.key_derive(expanded[:64])
    sk_x = expanded[64:]
    pk_x = x25519.X25519PrivateKey.from_private_bytes(sk_x).public_key().public_bytes_raw()
    return ek, dk, sk_x, pk_x


def _combine(ss_m: bytes, ss_x: bytes, ct_x: bytes, pk_x: bytes) -> bytes:
    return hashlib.sha3_256(ss_m + ss_x + ct_x + pk_x + XWING_LABEL).digest()


def _xwing_decaps(seed: bytes, ct: bytes) -> bytes:
    _ek, dk, sk_x, pk_x = _expand(seed)
    ss_m = ML_KEM_768.decaps(dk, ct[:1088])
    ss_x = x25519.X25519PrivateKey.from_private_bytes(sk_x).exchange(
        x25519.X25519PublicKey.from_public_bytes(ct[1088:])
    )
    return _combine(ss_m, ss_x, ct[1088:], pk_x)


def _xwing_encaps(pk: bytes) -> tuple[bytes, bytes]:
    ek, pk_x = pk[:1184], pk[1184:]
    ss_m, ct_m = ML_KEM_768.encaps(ek)
    eph = x25519.X25519PrivateKey.generate()
    ct_x = eph.public_key().public_bytes_raw()
    ss_x = eph.exchange(x25519.X25519PublicKey.from_public_bytes(pk_x))
    return _combine(ss_m, ss_x, ct_x, pk_x), ct_m + ct_x


def _extract(salt: bytes, label: bytes, ikm: bytes) -> bytes:
    return hmac.new(salt, b"HPKE-v1" + SUITE_ID + label + ikm, "sha256").digest()


def _expand_label(prk: bytes, label: bytes, info: bytes, length: int) -> bytes:
    labeled = struct.pack(">H", length) + b"HPKE-v1" + SUITE_ID + label + info
    out, block, counter = b"", b"", 1
    while len(out) < length:
        block = hmac.new(prk, block + labeled + bytes([counter]), "sha256").digest()
        out, counter = out + block, counter + 1
    return out[:length]


def _key_schedule(shared_secret: bytes, info: bytes) -> tuple[bytes, bytes]:
    """RFC 9180 section 5.1, mode_base, no PSK: (AES-256 key, base nonce)."""
    context = b"\x00" + _extract(b"", b"psk_id_hash", b"") + _extract(b"", b"info_hash", info)
    secret = _extract(shared_secret, b"secret", b"")
    key = _expand_label(secret, b"key", context, 32)
    return key, _expand_label(secret, b"base_nonce", context, 12)


def _independent_open(seed: bytes, ciphertext: bytes, info: bytes) -> bytes:
    key, nonce = _key_schedule(_xwing_decaps(seed, ciphertext[:1120]), info)
    return AESGCM(key).decrypt(nonce, ciphertext[1120:], b"")


def _independent_seal(pk: bytes, plaintext: bytes, info: bytes) -> bytes:
    shared_secret, enc = _xwing_encaps(pk)
    key, nonce = _key_schedule(shared_secret, info)
    return enc + AESGCM(key).encrypt(nonce, plaintext, b"")


# --------------------------------------------------------------- tests


def test_independent_xwing_matches_the_drafts_test_vector() -> None:
    seed, ct = bytes.fromhex(VECTOR["seed"]), bytes.fromhex(VECTOR["ct"])
    ek, _dk, _sk_x, pk_x = _expand(seed)
    assert (ek + pk_x).hex() == VECTOR["pk"]
    assert _xwing_decaps(seed, ct).hex() == VECTOR["ss"]


def test_key_encoding_follows_xwing_so_other_implementations_can_read_it() -> None:
    key = KemPrivateKey(bytes.fromhex(VECTOR["seed"]))
    assert key.public_key().raw.hex() == VECTOR["pk"]


def test_sealed_json_round_trips_with_the_clients_key() -> None:
    key = KemPrivateKey.generate()
    body = {"subject": "0xabc", "readings": [1.5, 2.25], "name": "Zoë"}
    sealed = hpke_box.seal_json(body, key.public_key(), context="/twin/meter")
    assert hpke_box.is_sealed(sealed)
    assert sealed["kid"] == key.public_key().key_id
    assert hpke_box.open_json(sealed, key, context="/twin/meter") == body


def test_recorded_response_cannot_be_read_without_the_clients_key() -> None:
    client, eavesdropper = KemPrivateKey.generate(), KemPrivateKey.generate()
    secret = {"household_meter_kwh": 3.14159, "subject": "citizen-7"}
    recorded = json.dumps(hpke_box.seal_json(secret, client.public_key()))
    assert "3.14159" not in recorded and "citizen-7" not in recorded
    envelope = json.loads(recorded)
    # Another key, even one that claims the recipient's key id, learns nothing.
    forged = SealedBody(
        key_id=eavesdropper.public_key().key_id,
        ciphertext=SealedBody.from_json(envelope).ciphertext,
    )
    with pytest.raises(DecryptionFailed):
        hpke_box.open_sealed(forged, eavesdropper)
    with pytest.raises(SealedBodyInvalid):
        hpke_box.open_json(envelope, eavesdropper)
    assert hpke_box.open_json(envelope, client) == secret


def test_tampered_ciphertext_or_other_context_fails_to_open() -> None:
    key = KemPrivateKey.generate()
    sealed = SealedBody.from_json(hpke_box.seal_json({"a": 1}, key.public_key(), context="/x"))
    flipped = bytearray(sealed.ciphertext)
    flipped[-1] ^= 1
    with pytest.raises(DecryptionFailed):
        hpke_box.open_sealed(SealedBody(sealed.key_id, bytes(flipped)), key, context="/x")
    with pytest.raises(DecryptionFailed):
        hpke_box.open_sealed(sealed, key, context="/y")


def test_each_seal_uses_a_fresh_encapsulation() -> None:
    pk = KemPrivateKey.generate().public_key()
    a, b = hpke_box.seal(b"same", pk), hpke_box.seal(b"same", pk)
    assert a.ciphertext[:1120] != b.ciphertext[:1120]


def test_cryptography_sealed_body_opens_with_the_independent_implementation() -> None:
    key = KemPrivateKey.generate()
    sealed = hpke_box.seal(b'{"kwh":1}', key.public_key(), context="/r")
    opened = _independent_open(key.seed, sealed.ciphertext, b"qcity/hpke-response/v1|/r")
    assert opened == b'{"kwh":1}'


def test_independently_sealed_body_opens_with_cryptography() -> None:
    key = KemPrivateKey.generate()
    ct = _independent_seal(key.public_key().raw, b"[1,2,3]", hpke_box.INFO_PREFIX)
    body = SealedBody(key_id=key.public_key().key_id, ciphertext=ct).to_json()
    assert hpke_box.open_json(body, key) == [1, 2, 3]


def test_public_key_serialisation_round_trips_and_rejects_garbage() -> None:
    pk = KemPrivateKey.generate().public_key()
    assert KemPublicKey.from_b64(pk.to_b64()) == pk
    with pytest.raises(InvalidKemKey):
        KemPublicKey(pk.raw[:-1])
    with pytest.raises(InvalidKemKey):
        KemPublicKey.from_b64("!!!")
    with pytest.raises(InvalidKemKey):
        KemPrivateKey(b"short")


def test_private_key_repr_does_not_leak_the_seed() -> None:
    key = KemPrivateKey.generate()
    assert key.seed.hex() not in repr(key)


def test_envelope_with_unknown_suite_is_refused() -> None:
    key = KemPrivateKey.generate()
    body = hpke_box.seal_json({}, key.public_key())
    body["suite"] = "X25519/HKDF-SHA256/AES-128-GCM"
    with pytest.raises(SealedBodyInvalid):
        hpke_box.open_json(body, key)
    assert not hpke_box.is_sealed({"plain": True})


def test_gateway_helper_seals_only_when_the_request_names_a_key() -> None:
    key = KemPrivateKey.generate()
    body = {"values": {"kWh": 1.0}}
    assert hpke_box.seal_response(body, None, path="/twin/x") is body
    sealed = hpke_box.seal_response(body, key.public_key().to_b64(), path="/twin/x")
    assert hpke_box.is_sealed(sealed)
    assert hpke_box.open_json(sealed, key, context="/twin/x") == body
    with pytest.raises(InvalidKemKey):
        hpke_box.seal_response(body, "AAAA", path="/twin/x")
