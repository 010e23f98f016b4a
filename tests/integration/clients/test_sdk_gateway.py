"""The SDK against a real gateway on an embedded chain, and the auditor on what it exports.

A company is refused a citizen's meter reading (typed ConsentMissing), allowed once the
citizen grants consent on chain, refused again after the revocation; the citizen sees those
decisions about their data with anchor proofs that verify against the chain; the auditor
exports them through the auditor route and `clients.auditor` verifies them from the chain
alone, and names a tampered one.
"""

from __future__ import annotations

import copy
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from clients.auditor import load_history, parse_decision, verify_decisions
from clients.sdk import ConsentMissing, KeyFile, QcityClient
from contracts import Chain, QcityContracts, connect, load_or_deploy
from contracts.merkle import verify_inclusion
from gateway import GatewaySettings, create_app

METER, SERVICE = "energy.household_meter", "dpv:ServiceProvision"
METER_ID = "urn:ngsi-ld:ThreePhaseAcMeasurement:home-7"
ROLES = {
    "enterprise": "ENTERPRISE",
    "citizen": "CITIZEN",
    "operator": "SENSOR_OPERATOR",
    "auditor": "AUDITOR",
}


@dataclass
class Setup:
    chain: Chain
    qc: QcityContracts
    http: TestClient
    keys: dict[str, KeyFile]

    def client(self, who: str) -> QcityClient:
        client = QcityClient(
            "http://testserver", self.keys[who], transport=self.http._transport
        )  # the app, in-process
        client.login()
        return client

    def wait_for_block(self, block: int) -> None:
        runtime = self.http.app.state.runtime  # type: ignore[attr-defined]
        deadline = time.monotonic() + 10
        while runtime.index.block < block:
            assert time.monotonic() < deadline, "index did not catch up"
            time.sleep(0.01)


@pytest.fixture(scope="module")
def setup(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Setup]:
    chain = connect()
    admin, recorder = Chain.new_account(), Chain.new_account()
    for account in (admin, recorder):
        chain.fund(account.address)
    deployment = load_or_deploy(chain, admin, None, recorder=recorder.address)
    qc = QcityContracts.attach(chain, deployment)
    keys = {name: KeyFile.generate(name) for name in ROLES}
    for name, role in ROLES.items():
        chain.fund(keys[name].address)
        qc.registry.register_stakeholder(
            admin, keys[name].address, keys[name].public_key_hash, name
        )
        qc.registry.grant_role(admin, role, keys[name].address)
    data_dir: Path = tmp_path_factory.mktemp("gw")
    settings = GatewaySettings(
        data_dir=data_dir,
        index_poll_s=0.02,
        chain_stale_s=2.0,
        anchor_every_n=1000,
        anchor_every_s=3600.0,
    )
    app = create_app(settings, chain=chain, deployment=deployment, recorder=recorder)
    with TestClient(app) as http:
        yield Setup(chain, qc, http, keys)
    chain.close()


@pytest.fixture(scope="module")
def story(setup: Setup) -> dict[str, Any]:
    operator = setup.client("operator")
    operator.ingest(
        [
            {
                "entity_id": METER_ID,
                "entity_type": "ThreePhaseAcMeasurement",
                "category": METER,
                "observed_at": int(time.time()) - 60,
                "values": {"activePower": 2.25},
                "lon": 4.35,
                "lat": 50.85,
                "subject": setup.keys["citizen"].address,
            }
        ]
    )
    company, citizen = setup.client("enterprise"), setup.keys["citizen"]
    outcomes: dict[str, Any] = {}
    with pytest.raises(ConsentMissing) as refused:
        company.entity(METER_ID, purpose=SERVICE)
    outcomes["refused"] = refused.value
    expiry = setup.chain.timestamp() + 3600
    granted = setup.qc.consent.grant_consent(
        citizen.account, company.keys.address, METER, SERVICE, expiry
    )
    setup.wait_for_block(granted.block_number)
    outcomes["allowed"] = company.entity(METER_ID, purpose=SERVICE)
    revoked = setup.qc.consent.revoke_consent(citizen.account, company.keys.address, METER, SERVICE)
    setup.wait_for_block(revoked.block_number)
    with pytest.raises(ConsentMissing):
        company.entity(METER_ID, purpose=SERVICE)
    setup.http.app.state.runtime.anchorer.anchor_pending()  # type: ignore[attr-defined]
    return outcomes


def test_consent_flips_the_gateways_answer_seen_through_the_sdk(story: dict[str, Any]) -> None:
    assert story["refused"].error_code == "consent_missing"
    assert "block" in story["refused"].facts
    allowed = story["allowed"]
    assert allowed.access.basis == "consent" and allowed.entity.values == {"activePower": 2.25}


def test_citizen_sees_the_reads_with_proofs_that_verify_on_chain(
    setup: Setup, story: dict[str, Any]
) -> None:
    decisions = setup.client("citizen").my_decisions().decisions
    company = setup.keys["enterprise"].address
    about = [d for d in decisions if d.fields["actor"] == company]
    assert [d.fields["allowed"] for d in sorted(about, key=lambda d: d.seq)] == [False, True, False]
    for d in about:
        assert d.anchor is not None and d.anchor.status == "anchored"
        root = setup.qc.audit.batch_root(d.anchor.sequence)
        assert verify_inclusion(
            root, bytes.fromhex(d.leaf[2:]), [bytes.fromhex(p[2:]) for p in d.anchor.proof]
        )


def test_auditor_verifies_the_exported_decisions_and_names_a_tampered_one(
    setup: Setup, story: dict[str, Any]
) -> None:
    auditor = setup.client("auditor")
    seqs = [d.seq for d in setup.client("citizen").my_decisions().decisions]
    exported = [auditor.decision(s).model_dump() for s in sorted(seqs)]
    snapshot = load_history(setup.chain, setup.qc.deployment)
    decisions = [parse_decision(d, i) for i, d in enumerate(exported)]
    report = verify_decisions(decisions, snapshot.history, time_of_block=snapshot.time_of_block)
    assert report.ok, report.findings
    assert any(c.chain_says and c.chain_says.startswith("consent") for c in report.checks)
    tampered = copy.deepcopy(exported)
    tampered[0]["fields"]["allowed"] = True
    bad = verify_decisions(
        [parse_decision(d, i) for i, d in enumerate(tampered)],
        snapshot.history,
        time_of_block=snapshot.time_of_block,
    )
    named = {(f.code, f.decision_id) for f in bad.findings}
    assert ("not_anchored", f"#{exported[0]['seq']}") in named
