"""Harvest-now-decrypt-later protection: personal-data responses sealed to the client's KEM key.

A client that registers a post-quantum KEM public key gets its personal-data responses
encrypted with HPKE (RFC 9180, base mode) using the hybrid KEM MLKEM768-X25519 (X-Wing,
KEM id 0x647a in draft-ietf-hpke-pq), HKDF-SHA256 and AES-256-GCM. Traffic recorded today
then stays unreadable to a future quantum computer (ML-KEM) and to anyone today should ML-KEM
fall (X25519). Every primitive comes from `cryptography.hazmat.primitives.hpke`; this module
only fixes the suite, the wire format and the key encodings.

Keys follow X-Wing's encodings, so other X-Wing implementations can read them: the private key
is a 32-byte seed, expanded with SHAKE256 into the ML-KEM-768 seed (d || z) and the X25519
scalar; the public key is the ML-KEM-768 encapsulation key (1,184 bytes) followed by the
X25519 public key (32 bytes).

The sealed body is a small JSON envelope (`SealedBody`); `info` binds it to qcity and, when the
caller gives one, to a context (the request path) so that a ciphertext cannot be replayed as
the answer to another request.
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
from dataclasses import dataclass
from typing import Any, ClassVar, Final

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hpke
from cryptography.hazmat.primitives.asymmetric import mlkem, x25519

SUITE_NAME: Final = "MLKEM768-X25519/HKDF-SHA256/AES-256-GCM"
"""The one suite qcity seals with; carried in every envelope so a later suite can coexist."""
INFO_PREFIX: Final = b"qcity/hpke-response/v1"
"""HPKE `info`: separates qcity's responses from any other use of the same key."""
MEDIA_TYPE: Final = "application/vnd.qcity.hpke+json"
"""Content type of a sealed response body."""
KEY_HEADER: Final = "X-Qcity-KEM-Key"
"""Request header naming the client's registered KEM key (its `key_id`)."""

SEED_LEN: Final = 32
MLKEM_PK_LEN: Final = 1184
X25519_LEN: Final = 32
PUBLIC_KEY_LEN: Final = MLKEM_PK_LEN + X25519_LEN

_SUITE = hpke.Suite(hpke.KEM.MLKEM768_X25519, hpke.KDF.HKDF_SHA256, hpke.AEAD.AES_256_GCM)


class HpkeError(Exception):
    """Base of this module's errors; `code` is stable, `http_status` for the gateway's handler."""

    code: ClassVar[str] = "hpke_error"
    http_status: ClassVar[int] = 400


class InvalidKemKey(HpkeError):
    """The KEM key bytes are not an X-Wing (MLKEM768-X25519) key."""

    code = "invalid_kem_key"
    http_status = 422


class SealedBodyInvalid(HpkeError):
    """The sealed body is not a qcity HPKE envelope, or uses another suite or key."""

    code = "sealed_body_invalid"


class DecryptionFailed(HpkeError):
    """The ciphertext does not open with this key and context (wrong key, tampered, replayed)."""

    code = "decryption_failed"


def _b64e(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _b64d(text: str) -> bytes:
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (ValueError, TypeError) as exc:
        raise SealedBodyInvalid("not base64url") from exc


def _info(context: str) -> bytes:
    return INFO_PREFIX + (b"|" + context.encode("utf-8") if context else b"")


@dataclass(frozen=True)
class KemPublicKey:
    """A client's X-Wing public key: what it registers with the gateway."""

    raw: bytes

    def __post_init__(self) -> None:
        if len(self.raw) != PUBLIC_KEY_LEN:
            raise InvalidKemKey(
                f"an X-Wing public key has {PUBLIC_KEY_LEN} bytes, not {len(self.raw)}"
            )
        try:
            self._components()
        except ValueError as exc:
            raise InvalidKemKey(f"not an X-Wing public key: {exc}") from exc

    def _components(self) -> hpke.MLKEM768X25519PublicKey:
        return hpke.MLKEM768X25519PublicKey(
            mlkem.MLKEM768PublicKey.from_public_bytes(self.raw[:MLKEM_PK_LEN]),
            x25519.X25519PublicKey.from_public_bytes(self.raw[MLKEM_PK_LEN:]),
        )

    @classmethod
    def from_b64(cls, text: str) -> KemPublicKey:
        """Parse the base64url form used in JSON (registration bodies, key files)."""
        try:
            raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
        except (ValueError, TypeError) as exc:
            raise InvalidKemKey("KEM public key is not base64url") from exc
        return cls(raw)

    def to_b64(self) -> str:
        """Base64url (no padding) of the 1,216 key bytes."""
        return _b64e(self.raw)

    @property
    def key_id(self) -> str:
        """A short stable name: base64url of the first 16 bytes of SHA-256 over the key."""
        return _b64e(hashlib.sha256(self.raw).digest()[:16])


@dataclass(frozen=True, repr=False)
class KemPrivateKey:
    """A client's X-Wing private key (a 32-byte seed). Never leaves the client."""

    seed: bytes

    def __post_init__(self) -> None:
        if len(self.seed) != SEED_LEN:
            raise InvalidKemKey(f"an X-Wing private key is a {SEED_LEN}-byte seed")

    def __repr__(self) -> str:
        return f"KemPrivateKey(key_id={self.public_key().key_id!r})"

    @classmethod
    def generate(cls) -> KemPrivateKey:
        """A fresh key from the operating system's CSPRNG."""
        return cls(secrets.token_bytes(SEED_LEN))

    def _components(self) -> tuple[mlkem.MLKEM768PrivateKey, x25519.X25519PrivateKey]:
        expanded = hashlib.shake_256(self.seed).digest(64 + X25519_LEN)
        return (
            mlkem.MLKEM768PrivateKey.from_seed_bytes(expanded[:64]),
            x25519.X25519PrivateKey.from_private_bytes(expanded[64:]),
        )

    def _hpke_key(self) -> hpke.MLKEM768X25519PrivateKey:
        return hpke.MLKEM768X25519PrivateKey(*self._components())

    def public_key(self) -> KemPublicKey:
        """The matching public key, in X-Wing's encoding."""
        m, x = self._components()
        return KemPublicKey(m.public_key().public_bytes_raw() + x.public_key().public_bytes_raw())


@dataclass(frozen=True)
class SealedBody:
    """The JSON envelope of a sealed response: suite, recipient key id, enc || ciphertext."""

    key_id: str
    ciphertext: bytes
    suite: str = SUITE_NAME

    FIELD: ClassVar[str] = "qcity_hpke"

    def to_json(self) -> dict[str, Any]:
        """The envelope as a JSON object."""
        return {
            self.FIELD: 1,
            "suite": self.suite,
            "kid": self.key_id,
            "ciphertext": _b64e(self.ciphertext),
        }

    @classmethod
    def from_json(cls, body: Any) -> SealedBody:
        """Parse an envelope; raises SealedBodyInvalid when `body` is not one."""
        if not is_sealed(body):
            raise SealedBodyInvalid("not a qcity HPKE envelope")
        if body.get("suite") != SUITE_NAME:
            raise SealedBodyInvalid(f"unsupported suite {body.get('suite')!r}")
        kid, ct = body.get("kid"), body.get("ciphertext")
        if not isinstance(kid, str) or not isinstance(ct, str):
            raise SealedBodyInvalid("envelope lacks kid or ciphertext")
        return cls(key_id=kid, ciphertext=_b64d(ct))


def is_sealed(body: Any) -> bool:
    """Whether a decoded JSON body is a sealed envelope (so the SDK opens it transparently)."""
    return isinstance(body, dict) and body.get(SealedBody.FIELD) == 1


def seal(plaintext: bytes, recipient: KemPublicKey, *, context: str = "") -> SealedBody:
    """Encrypt bytes to `recipient`; a fresh encapsulation every call."""
    ct = _SUITE.encrypt(plaintext, recipient._components(), info=_info(context))
    return SealedBody(key_id=recipient.key_id, ciphertext=ct)


def open_sealed(sealed: SealedBody, key: KemPrivateKey, *, context: str = "") -> bytes:
    """Decrypt a sealed body; raises DecryptionFailed unless key and context are the sender's."""
    if sealed.key_id != key.public_key().key_id:
        raise SealedBodyInvalid(f"sealed to key {sealed.key_id}, not to this key")
    if len(sealed.ciphertext) < hpke.KEM.MLKEM768_X25519.enc_length() + 16:
        raise SealedBodyInvalid("ciphertext too short")
    try:
        return _SUITE.decrypt(sealed.ciphertext, key._hpke_key(), info=_info(context))
    except (InvalidTag, ValueError) as exc:
        raise DecryptionFailed() from exc


def seal_json(obj: Any, recipient: KemPublicKey, *, context: str = "") -> dict[str, Any]:
    """Seal a JSON-serialisable object and return the envelope as a JSON object."""
    data = json.dumps(obj, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
    return seal(data, recipient, context=context).to_json()


def open_json(body: Any, key: KemPrivateKey, *, context: str = "") -> Any:
    """Open an envelope produced by `seal_json` and decode the JSON inside."""
    plaintext = open_sealed(SealedBody.from_json(body), key, context=context)
    try:
        return json.loads(plaintext)
    except ValueError as exc:
        raise SealedBodyInvalid("sealed plaintext is not JSON") from exc


def seal_response(obj: Any, kem_key_header: str | None, *, path: str) -> Any:
    """What the gateway sends for a personal-data answer: `obj` sealed to the KEM key the
    request named in `X-Qcity-KEM-Key` (base64url), with the request path as context; `obj`
    unchanged when the request named none. A malformed header raises InvalidKemKey (422)."""
    if not kem_key_header:
        return obj
    return seal_json(obj, KemPublicKey.from_b64(kem_key_header.strip()), context=path)
