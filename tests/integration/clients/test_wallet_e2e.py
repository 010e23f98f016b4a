"""The citizen wallet end to end: headless Chromium, a real gateway, an embedded chain.

The citizen's keys are made in the page. Governance registers them (the citizen's account
never holds any ether); the citizen grants a company consent with one click (an EIP-712
message signed in the browser and relayed by the gateway, which pays the gas) and the
gateway's decision on the company's read turns from refused to allowed; one click on Revoke
turns it back. After the gateway anchors its decisions, the citizen signs in with the ML-DSA
key made in the page and sees the company's reads in the access history, each proof checked
in the page against the root on chain, and downloads the consent's receipt: a 27560 record
signed by the gateway, checked here against its JWKS.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn

from clients.receipts import verify_receipt
from clients.sdk import ConsentMissing, KeyFile, QcityClient
from clients.wallet import mount_wallet
from contracts import Chain, QcityContracts, connect, load_or_deploy
from gateway import GatewaySettings, create_app

ROOT = Path(__file__).resolve().parents[3]
SCRIPT = Path(__file__).parent / "js" / "browser.mjs"
CHROMIUM = os.environ.get("QCITY_CHROMIUM", "/usr/bin/chromium")
METER, SERVICE = "energy.household_meter", "dpv:ServiceProvision"
METER_ID = "urn:ngsi-ld:ThreePhaseAcMeasurement:wallet-home"


def _require(ok: bool, reason: str) -> None:
    if not ok:
        if os.environ.get("QCITY_REQUIRE_SERVICES") == "1":
            pytest.fail(reason)
        pytest.skip(reason)


@dataclass
class Live:
    url: str
    chain: Chain
    qc: QcityContracts
    admin: Any
    app: Any
    company: KeyFile
    operator: KeyFile
    profile: Path

    def browser(self, *steps: dict[str, Any]) -> list[dict[str, Any]]:
        proc = subprocess.run(
            ["node", str(SCRIPT), self.url + "/wallet/", str(self.profile)],
            input=json.dumps(list(steps)),
            capture_output=True,
            text=True,
            timeout=180,
            cwd=ROOT,
            check=False,
        )
        assert proc.returncode == 0, proc.stderr[-3000:]
        out = json.loads(proc.stdout)
        assert out["errors"] == [], out["errors"]
        return out["answers"]

    def client(self, keys: KeyFile) -> QcityClient:
        client = QcityClient(self.url, keys)
        client.login()
        return client

    def wait_for_block(self, block: int) -> None:
        deadline = time.monotonic() + 15
        while self.app.state.runtime.index.block < block:
            assert time.monotonic() < deadline, "gateway index did not catch up"
            time.sleep(0.02)


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Live]:
    _require(shutil.which("node") is not None, "node is not installed")
    _require((ROOT / "node_modules" / "playwright-core").is_dir(), "npm playwright-core missing")
    _require(Path(CHROMIUM).exists(), f"no Chromium at {CHROMIUM}")
    chain = connect()
    admin, recorder = Chain.new_account(), Chain.new_account()
    for account in (admin, recorder):
        chain.fund(account.address)
    deployment = load_or_deploy(chain, admin, None, recorder=recorder.address)
    qc = QcityContracts.attach(chain, deployment)
    company, operator = KeyFile.generate("company"), KeyFile.generate("operator")
    for keys, role in ((company, "ENTERPRISE"), (operator, "SENSOR_OPERATOR")):
        qc.registry.register_stakeholder(admin, keys.address, keys.public_key_hash, keys.name)
        qc.registry.grant_role(admin, role, keys.address)
    settings = GatewaySettings(
        data_dir=tmp_path_factory.mktemp("gw"),
        index_poll_s=0.02,
        chain_stale_s=3.0,
        anchor_every_n=1000,
        anchor_every_s=3600.0,
    )
    app = create_app(settings, chain=chain, deployment=deployment, recorder=recorder)
    mount_wallet(app)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert time.monotonic() < deadline, "gateway did not start"
        time.sleep(0.05)
    try:
        yield Live(
            f"http://127.0.0.1:{port}",
            chain,
            qc,
            admin,
            app,
            company,
            operator,
            tmp_path_factory.mktemp("chromium-profile"),
        )
    finally:
        server.should_exit = True
        thread.join(15)
        chain.close()


def test_grant_and_revoke_in_the_page_flip_the_gateways_decision(live: Live) -> None:
    [me] = live.browser({"op": "identity"})
    citizen = me["address"]
    # Governance registers the key hash the page shows; the city funds the new account.
    live.qc.registry.register_stakeholder(live.admin, citizen, bytes.fromhex(me["pkHash"][2:]), "")
    live.qc.registry.grant_role(live.admin, "CITIZEN", citizen)
    operator = live.client(live.operator)
    operator.ingest(
        [
            {
                "entity_id": METER_ID,
                "entity_type": "ThreePhaseAcMeasurement",
                "category": METER,
                "observed_at": int(time.time()) - 30,
                "values": {"activePower": 0.8},
                "lon": 4.35,
                "lat": 50.85,
                "subject": citizen,
            }
        ]
    )
    company = live.client(live.company)
    with pytest.raises(ConsentMissing):
        company.entity(METER_ID, purpose=SERVICE)

    [granted] = live.browser(
        {"op": "grant", "grantee": live.company.address, "category": METER, "purpose": SERVICE}
    )
    assert "grant mined" in granted["status"], granted
    assert granted["relayed"] and "no gas" in granted["status"]
    assert [r["cells"][:3] for r in granted["rows"]] == [[live.company.address, METER, SERVICE]]
    live.wait_for_block(granted["lastBlock"])
    assert company.entity(METER_ID, purpose=SERVICE).access.basis == "consent"

    [revoked] = live.browser({"op": "revoke"})
    assert "revoke mined" in revoked["status"] and revoked["rows"] == []
    assert revoked["relayed"]
    live.wait_for_block(revoked["lastBlock"])
    with pytest.raises(ConsentMissing):
        company.entity(METER_ID, purpose=SERVICE)

    live.app.state.runtime.anchorer.anchor_pending()
    [history] = live.browser({"op": "history"})
    assert "signed in as" in history["status"], history
    reads = [r for r in history["rows"] if r["cells"][1] == live.company.address]
    assert sorted(r["cells"][4] for r in reads) == ["allowed", "denied", "denied"]
    assert all(r["proof"] == "verified" and r["cells"][6] == "proof verified" for r in reads)

    [receipt] = history["receipts"]
    assert receipt["verified"] == "true" and receipt["cells"][:5] == [
        live.company.address, METER, SERVICE, "withdrawn", "signature verified"]
    jwks = httpx.get(live.url + "/.well-known/jwks.json").json()
    record = verify_receipt(receipt["file"], jwks)
    assert receipt["filename"] == f"consent-receipt-{record['record']['record_id']}.jws"
    assert record["record"]["pii_principal_id"] == citizen
    assert record["pii_processing"]["purposes"][0]["purpose"] == SERVICE
    assert [(e["state"], e["evidence"]["relayed"]) for e in record["event"]] == [
        ("given", True), ("withdrawn", True)]
    assert live.chain.balance(citizen) == 0  # every consent was relayed: no gas spent


def test_the_wallet_is_served_by_the_gateway(live: Live) -> None:
    page = httpx.get(live.url + "/wallet/")
    assert page.status_code == 200 and "wallet.bundle.js" in page.text
