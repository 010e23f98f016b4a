"""The wallet bundle in headless Chromium (Debian's, driven by playwright-core).

The page is served as the gateway serves it (mount_wallet under uvicorn); keys are made in
the browser, and what it signs there verifies in Python: the EIP-712 grant with eth-account,
the ML-DSA-65 login signature (context qcity-login-v1) with `cryptography`.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import shutil
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.mldsa import MLDSA65PublicKey
from eth_account import Account
from eth_account.messages import encode_typed_data
from fastapi import FastAPI

from clients.wallet import mount_wallet
from contracts.eip712 import Eip712Domain, GrantConsentMessage, typed_data
from contracts.merkle import MerkleTree
from contracts.names import term_id

ROOT = Path(__file__).resolve().parents[3]
SCRIPT = Path(__file__).parent / "js" / "browser.mjs"
CHROMIUM = os.environ.get("QCITY_CHROMIUM", "/usr/bin/chromium")


def _require(ok: bool, reason: str) -> None:
    if ok:
        return
    if os.environ.get("QCITY_REQUIRE_SERVICES") == "1":
        pytest.fail(reason)
    pytest.skip(reason)


@pytest.fixture(scope="module")
def wallet_url() -> Iterator[str]:
    _require(shutil.which("node") is not None, "node is not installed")
    _require((ROOT / "node_modules" / "playwright-core").is_dir(), "npm playwright-core missing")
    _require(Path(CHROMIUM).exists(), f"no Chromium at {CHROMIUM} (apt-get install chromium)")
    app = FastAPI()
    mount_wallet(app)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}/wallet/"
    finally:
        server.should_exit = True
        thread.join(10)


def in_browser(url: str, *steps: dict[str, Any]) -> list[dict[str, Any]]:
    proc = subprocess.run(
        ["node", str(SCRIPT), url],
        input=json.dumps(list(steps)),
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    out = json.loads(proc.stdout)
    assert out["errors"] == [], out["errors"]
    return out["answers"]


def test_keys_made_in_chromium_sign_what_python_verifies(wallet_url: str) -> None:
    ledger, chain_id = "0x" + "cd" * 20, 131277322940537
    grantee = Account.create().address
    terms = {
        "grantee": grantee,
        "category": "energy.household_meter",
        "purpose": "dpv:ServiceProvision",
        "expiry": 1_900_000_000,
    }
    challenge = "qcity-login-v1\naud: qcity-gateway\naddress: 0x0\nnonce: abc\nissued_at: 1"
    ident, grant, login, status = in_browser(
        wallet_url,
        {"op": "identity"},
        {
            "op": "sign-grant",
            "chainId": chain_id,
            "ledger": ledger,
            "nonce": 0,
            "terms": terms,
            "deadline": 1_800_000_000,
        },
        {"op": "sign-challenge", "challenge": challenge, "context": "qcity-login-v1"},
        {"op": "text", "id": "status"},
    )
    message = GrantConsentMessage(
        ident["address"],
        grantee,
        term_id(terms["category"]),
        term_id(terms["purpose"]),
        terms["expiry"],
        0,
        1_800_000_000,
    )
    signable = encode_typed_data(full_message=typed_data(Eip712Domain(chain_id, ledger), message))
    assert Account.recover_message(signable, signature=grant["signature"]) == ident["address"]
    public = MLDSA65PublicKey.from_public_bytes(bytes.fromhex(ident["publicKey"]))
    signature = _b64url(login["signature"])
    public.verify(signature, challenge.encode(), context=b"qcity-login-v1")
    with pytest.raises(InvalidSignature):
        public.verify(signature, challenge.encode())
    assert ident["pkHash"] == "0x" + hashlib.sha256(public.public_bytes_raw()).hexdigest()
    # No gateway behind this static server: the page says so instead of breaking.
    assert "gateway unreachable" in status["text"]


def test_browser_checks_merkle_proofs_like_the_contract(wallet_url: str) -> None:
    leaves = [term_id(f"leaf-{i}") for i in range(5)]
    tree = MerkleTree.from_leaves(leaves)
    hexed = lambda b: "0x" + b.hex()  # noqa: E731
    good, bad = in_browser(
        wallet_url,
        {
            "op": "merkle",
            "root": hexed(tree.root),
            "leaf": hexed(leaves[3]),
            "proof": [hexed(p) for p in tree.proof(3)],
        },
        {
            "op": "merkle",
            "root": hexed(tree.root),
            "leaf": hexed(leaves[2]),
            "proof": [hexed(p) for p in tree.proof(3)],
        },
    )
    assert good["ok"] is True and bad["ok"] is False


def _b64url(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
