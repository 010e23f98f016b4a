"""A stakeholder's key file: Ethereum key, ML-DSA-65 seed and X-Wing KEM seed, mode 0600.

One JSON file holds the three secrets a client needs: the Ethereum key (its address is the
stakeholder's identity on chain; it signs consents and transactions), the 32-byte ML-DSA-65
seed (the post-quantum identity registered on chain as sha256 of the public key; it signs
login challenges) and the 32-byte X-Wing seed (responses are sealed to it with HPKE). Seeds,
not expanded keys, so the same file works with any FIPS 204 / X-Wing implementation.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import secrets
import stat
from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.mldsa import MLDSA65PrivateKey
from eth_account import Account
from eth_account.signers.local import LocalAccount

from clients.hpke_box import KemPrivateKey

LOGIN_CONTEXT = b"qcity-login-v1"
FORMAT = "qcity-keys/v1"


class KeyFileError(ValueError):
    """The key file is missing, malformed, or readable by others."""


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


@dataclass(frozen=True, repr=False)
class KeyFile:
    """The secrets of one stakeholder (never logged: repr shows the address only)."""

    eth_private_key: bytes
    mldsa_seed: bytes
    kem_seed: bytes
    name: str = ""

    def __repr__(self) -> str:
        return f"KeyFile(address={self.address!r}, name={self.name!r})"

    @classmethod
    def generate(cls, name: str = "") -> KeyFile:
        """Fresh keys from the operating system's CSPRNG."""
        return cls(secrets.token_bytes(32), secrets.token_bytes(32), secrets.token_bytes(32), name)

    @property
    def account(self) -> LocalAccount:
        return Account.from_key(self.eth_private_key)

    @property
    def address(self) -> str:
        return str(self.account.address)

    @property
    def mldsa(self) -> MLDSA65PrivateKey:
        return MLDSA65PrivateKey.from_seed_bytes(self.mldsa_seed)

    @property
    def mldsa_public_key(self) -> bytes:
        """The raw 1,952-byte ML-DSA-65 public key."""
        return self.mldsa.public_key().public_bytes_raw()

    @property
    def public_key_hash(self) -> bytes:
        """sha256 of the raw ML-DSA-65 public key: what StakeholderRegistry stores."""
        return hashlib.sha256(self.mldsa_public_key).digest()

    @property
    def kem(self) -> KemPrivateKey:
        return KemPrivateKey(self.kem_seed)

    def sign_login(self, challenge: str) -> bytes:
        """ML-DSA-65 signature of a login challenge under the login context."""
        return self.mldsa.sign(challenge.encode("utf-8"), context=LOGIN_CONTEXT)

    def save(self, path: Path, *, overwrite: bool = False) -> None:
        """Write the file with mode 0600 (refuses to overwrite unless asked)."""
        body = (
            json.dumps(
                {
                    "format": FORMAT,
                    "name": self.name,
                    "address": self.address,
                    "eth_private_key": "0x" + self.eth_private_key.hex(),
                    "mldsa_seed": _b64(self.mldsa_seed),
                    "kem_seed": _b64(self.kem_seed),
                },
                indent=2,
            )
            + "\n"
        )
        path.parent.mkdir(parents=True, exist_ok=True)
        flags = os.O_WRONLY | os.O_CREAT | (os.O_TRUNC if overwrite else os.O_EXCL)
        try:
            fd = os.open(path, flags, 0o600)
        except FileExistsError:
            raise KeyFileError(f"{path} exists; refusing to overwrite keys") from None
        with os.fdopen(fd, "w") as f:
            f.write(body)
        os.chmod(path, 0o600)

    @classmethod
    def load(cls, path: Path) -> KeyFile:
        """Read a key file; refuses one that group or others may read."""
        try:
            mode = stat.S_IMODE(path.stat().st_mode)
            data = json.loads(path.read_text())
        except FileNotFoundError:
            raise KeyFileError(f"no key file at {path}") from None
        except (OSError, ValueError) as exc:
            raise KeyFileError(f"{path} is not a qcity key file ({exc})") from None
        if mode & 0o077:
            raise KeyFileError(f"{path} has mode {mode:o}; key files must be 0600")
        if not isinstance(data, dict) or data.get("format") != FORMAT:
            raise KeyFileError(f"{path} is not a {FORMAT} key file")
        try:
            keys = cls(
                bytes.fromhex(data["eth_private_key"].removeprefix("0x")),
                _unb64(data["mldsa_seed"]),
                _unb64(data["kem_seed"]),
                str(data.get("name", "")),
            )
        except (KeyError, ValueError, AttributeError) as exc:
            raise KeyFileError(f"{path}: malformed key ({exc})") from None
        if len(keys.mldsa_seed) != 32 or len(keys.kem_seed) != 32:
            raise KeyFileError(f"{path}: seeds must be 32 bytes")
        if data.get("address") and data["address"] != keys.address:
            raise KeyFileError(f"{path}: address does not match the Ethereum key")
        return keys
