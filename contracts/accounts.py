"""Keys generated at run time and kept in a data dir (mode 0600), never in the repository.

The embedded chain's deployment is owned by whichever admin key deployed it; the gateway
and the demo keep their keys here so that a restart signs with the same accounts.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from eth_account import Account
from eth_account.signers.local import LocalAccount


def load_account(path: Path | str) -> LocalAccount:
    """The account whose key is stored at `path`; a file others may read is refused
    (PermissionError), a missing one is an OSError."""
    path = Path(path)
    if path.stat().st_mode & 0o077:
        raise PermissionError(f"{path} is readable by others; chmod 600 it")
    return Account.from_key(path.read_text().strip())


def load_or_create_account(path: Path | str) -> LocalAccount:
    """The account whose key is stored at `path`, creating key and file on first use."""
    path = Path(path)
    if path.exists():
        return load_account(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    key = "0x" + secrets.token_hex(32)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(key + "\n")
    return Account.from_key(key)
