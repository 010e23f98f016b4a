"""The gateway's own ML-DSA-65 signing key: generated on first start, kept with mode 0600."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

from jwcrypto.jwk import JWK

ALG = "ML-DSA-65"


class KeyFileError(RuntimeError):
    """The gateway key file is unreadable, malformed or readable by others."""


def _create(path: Path) -> JWK:
    key = JWK.generate(kty="AKP", alg=ALG)
    key["kid"] = key.thumbprint()
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    # O_EXCL: two gateways starting at once must not overwrite each other's key.
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(key.export_private())
    return key


def _load(path: Path) -> JWK:
    mode = stat.S_IMODE(path.stat().st_mode)
    if mode & 0o077:
        raise KeyFileError(f"{path} has mode {mode:o}; the gateway key must be 0600")
    try:
        data = json.loads(path.read_text())
        key = JWK(**data)
    except (ValueError, TypeError) as exc:
        raise KeyFileError(f"{path} is not a valid JWK: {type(exc).__name__}") from exc
    if key.get("kty") != "AKP" or key.get("alg") != ALG or not key.has_private:
        raise KeyFileError(f"{path} is not an ML-DSA-65 private key")
    if key.get("kid") is None:
        key["kid"] = key.thumbprint()
    return key


def load_or_create_key(path: Path) -> JWK:
    """The gateway's private JWK (kty AKP, alg ML-DSA-65, `priv` = 32-byte seed)."""
    try:
        return _load(path)
    except FileNotFoundError:
        pass
    try:
        return _create(path)
    except FileExistsError:  # another process won the race: use its key
        return _load(path)
