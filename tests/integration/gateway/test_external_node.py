"""`--chain-url`: the gateway on an external node (Hardhat), deploying on first start, and
failing closed with 503 the moment that node goes away."""

from __future__ import annotations

import base64
import hashlib
import json
import os
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.mldsa import MLDSA65PrivateKey
from eth_account import Account
from fastapi.testclient import TestClient

from contracts import ChainUnavailable, Deployment, QcityContracts, connect, wait_until_reachable
from gateway import GatewaySettings, create_app
from gateway.keys import KeyFileError

REPO_ROOT = Path(__file__).resolve().parents[3]


def _skip_or_fail(reason: str) -> None:
    if os.environ.get("QCITY_REQUIRE_SERVICES", "") in {"1", "true", "yes"}:
        pytest.fail(f"{reason} (QCITY_REQUIRE_SERVICES is set, so this is mandatory)")
    pytest.skip(reason)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)


@pytest.fixture
def hardhat(tmp_path: Path) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """A Hardhat node of this test's own (the test stops it on purpose)."""
    if not (REPO_ROOT / "node_modules" / ".bin" / "hardhat").exists():
        _skip_or_fail("npm hardhat is not installed (run `npm ci` in the repository root)")
    port = _free_port()
    with (tmp_path / "node.log").open("wb") as log:
        proc = subprocess.Popen(
            ["npx", "--no-install", "hardhat", "node", "--hostname", "127.0.0.1",
             "--port", str(port)],
            cwd=REPO_ROOT, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    try:
        try:
            wait_until_reachable(url, timeout=90)
        except ChainUnavailable as exc:
            pytest.fail(f"hardhat node did not start: {exc}")
        yield url, proc
    finally:
        _stop(proc)


@pytest.mark.node
def test_external_node_then_node_down_is_503(hardhat, tmp_path: Path) -> None:
    url, proc = hardhat
    settings = GatewaySettings(data_dir=tmp_path / "gw", chain_url=url, index_poll_s=0.05,
                               chain_stale_s=3.0)
    with TestClient(create_app(settings)) as client:
        # governance (the key the gateway made for this dev deployment) registers an agency
        chain = connect(url)
        record = json.loads((settings.data_dir / "deployment-31337.json").read_text())
        qc = QcityContracts.attach(chain, Deployment(**record))
        admin = Account.from_key((settings.data_dir / "governance-admin.key").read_text().strip())
        agency, key = Account.create(), MLDSA65PrivateKey.generate()
        public = key.public_key().public_bytes_raw()
        qc.registry.register_stakeholder(admin, agency.address, hashlib.sha256(public).digest(),
                                         "agency")
        mined = qc.registry.grant_role(admin, "AGENCY", agency.address).block_number
        deadline = time.monotonic() + 10
        while client.get("/health").json()["block"] < mined:
            assert time.monotonic() < deadline
            time.sleep(0.05)

        text = client.post("/auth/challenge", json={"address": agency.address}).json()
        signature = key.sign(text["challenge"].encode(), context=b"qcity-login-v1")
        b64 = lambda raw: base64.urlsafe_b64encode(raw).rstrip(b"=").decode()  # noqa: E731
        token = client.post("/auth/token", json={
            "challenge": text["challenge"], "public_key": b64(public),
            "signature": b64(signature)}).json()["access_token"]
        headers = {"Authorization": f"Bearer {token}"}
        path = "/twin/entities"
        params = {"category": "traffic.flow", "purpose": "dpv:PublicBenefit"}
        assert client.get(path, params=params, headers=headers).status_code == 200

        _stop(proc)  # the node goes away
        time.sleep(settings.chain_stale_s + 0.5)
        response = client.get(path, params=params, headers=headers)
        assert response.status_code == 503
        assert response.json()["code"] == "chain_unavailable"
        assert client.get("/health").json()["in_step"] is False
        rpc = client.post("/rpc", json={"jsonrpc": "2.0", "id": 1, "method": "eth_blockNumber"})
        assert rpc.json()["error"]["message"] == "chain unavailable"


@pytest.mark.node
def test_a_funder_key_file_pays_the_gateways_accounts_on_a_node(hardhat, tmp_path: Path
                                                                 ) -> None:
    """A node without the gateway's accounts funded: the operator names a funded key file."""
    url, _proc = hardhat
    node = connect(url)
    funder = Account.create()
    node.fund(funder.address, 1_000 * 10**18)  # the dev node's unlocked account pays it once
    key_file = tmp_path / "funder.key"
    key_file.write_text("0x" + bytes(funder.key).hex())
    key_file.chmod(0o644)
    settings = GatewaySettings(data_dir=tmp_path / "gw", chain_url=url,
                               funder_key_file=key_file)
    with pytest.raises(KeyFileError, match="readable by others"):
        create_app(settings)
    key_file.chmod(0o600)
    with TestClient(create_app(settings)) as client:
        assert client.get("/health").json()["in_step"]
    recorder = Account.from_key((settings.data_dir / "recorder.key").read_text().strip())
    assert node.balance(recorder.address) >= 10**18
    assert node.balance(funder.address) < 1_000 * 10**18 - 100 * 10**18  # it paid
