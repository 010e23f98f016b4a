"""The permission engine on a real chain: each rejection of issue 3, item 3, and fail-closed."""

from __future__ import annotations

import time

import pytest

from contracts import ChainUnavailable

HOUSEHOLD, TRAFFIC = "energy.household_meter", "traffic.flow"
SERVICE, PUBLIC = "dpv:ServiceProvision", "dpv:PublicBenefit"
METER_ID = "urn:ngsi-ld:ThreePhaseAcMeasurement:tiny:M-S00F0H00"
DETECTOR_ID = "urn:ngsi-ld:TrafficFlowObserved:tiny:TD-BE00-J0300"


@pytest.fixture
def ready(gateway):
    """A gateway with sample data ingested by the sensor operator."""
    gateway.ingest_sample(gateway.token(gateway.world["operator"]))
    return gateway


def test_personal_read_with_live_consent_is_allowed_and_names_its_block(ready) -> None:
    token = ready.token(ready.world["enterprise"])
    response = ready.get(f"/twin/entities/{METER_ID}", token, purpose=SERVICE)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["access"]["basis"] == "consent"
    assert body["access"]["block"] == ready.runtime.index.block
    assert body["entity"]["values"] == {"activePower": 1.5}


def test_consent_revoked_on_chain_denies_the_next_request(ready) -> None:
    world = ready.world
    token = ready.token(world["enterprise"])
    assert ready.get(f"/twin/entities/{METER_ID}", token, purpose=SERVICE).status_code == 200
    result = world.qc.consent.revoke_consent(world["citizen"].account, world["enterprise"].address,
                                             HOUSEHOLD, SERVICE)
    ready.wait_for_block(result.block_number)
    response = ready.get(f"/twin/entities/{METER_ID}", token, purpose=SERVICE)
    assert response.status_code == 403
    body = response.json()
    assert body["code"] == "consent_missing"
    assert body["block"] >= result.block_number  # checked at or after the revoking block


def test_consent_is_per_purpose_and_per_grantee(ready) -> None:
    enterprise = ready.token(ready.world["enterprise"])
    other_purpose = ready.get(f"/twin/entities/{METER_ID}", enterprise, purpose=PUBLIC)
    assert other_purpose.status_code == 403 and other_purpose.json()["code"] == "consent_missing"
    agency = ready.token(ready.world["agency"])  # a role does not open personal data
    response = ready.get(f"/twin/entities/{METER_ID}", agency, purpose=SERVICE)
    assert response.status_code == 403 and response.json()["code"] == "consent_missing"


def test_subject_reads_own_data_without_consent(ready) -> None:
    token = ready.token(ready.world["citizen"])
    response = ready.get(f"/twin/entities/{METER_ID}", token, purpose=SERVICE)
    assert response.status_code == 200 and response.json()["access"]["basis"] == "own_data"
    neighbour = ready.token(ready.world["neighbour"])
    denied = ready.get(f"/twin/entities/{METER_ID}", neighbour, purpose=SERVICE)
    assert denied.json()["code"] == "consent_missing"


def test_expired_consent_is_denied(ready) -> None:
    world = ready.world
    expiry = world.chain.timestamp() + 30
    result = world.qc.consent.grant_consent(world["citizen"].account, world["research"].address,
                                            HOUSEHOLD, "dpv:AcademicResearch", expiry)
    ready.wait_for_block(result.block_number)
    token = ready.token(world["research"])
    ok = ready.get(f"/twin/entities/{METER_ID}", token, purpose="dpv:AcademicResearch")
    assert ok.status_code == 200 and ok.json()["access"]["basis"] == "consent"
    world.chain.increase_time(60)  # a block past the expiry
    ready.wait_for_block(world.chain.block_number())
    denied = ready.get(f"/twin/entities/{METER_ID}", token, purpose="dpv:AcademicResearch")
    assert denied.status_code == 403 and denied.json()["code"] == "consent_missing"


def test_aggregate_needs_role_or_agreement(ready) -> None:
    world = ready.world
    agency = ready.token(world["agency"])
    allowed = ready.get(f"/twin/entities/{DETECTOR_ID}", agency, purpose=PUBLIC)
    assert allowed.status_code == 200 and allowed.json()["access"]["basis"] == "role:AGENCY"
    enterprise = ready.token(world["enterprise"])
    denied = ready.get(f"/twin/entities/{DETECTOR_ID}", enterprise, purpose=PUBLIC)
    assert denied.status_code == 403 and denied.json()["code"] == "agreement_missing"
    citizen = ready.token(world["citizen"])
    assert ready.get(f"/twin/entities/{DETECTOR_ID}", citizen,
                     purpose=PUBLIC).json()["code"] == "role_missing"
    # governance lets the operator share traffic data with the enterprise
    result = world.qc.consent.grant_agreement(
        world.admin, world["operator"].address, world["enterprise"].address, TRAFFIC, PUBLIC,
        int(time.time()) + 3600)
    ready.wait_for_block(result.block_number)
    granted = ready.get(f"/twin/entities/{DETECTOR_ID}", enterprise, purpose=PUBLIC)
    assert granted.status_code == 200 and granted.json()["access"]["basis"] == "agreement"
    result = world.qc.consent.revoke_agreement(
        world.admin, world["operator"].address, world["enterprise"].address, TRAFFIC, PUBLIC)
    ready.wait_for_block(result.block_number)
    again = ready.get(f"/twin/entities/{DETECTOR_ID}", enterprise, purpose=PUBLIC)
    assert again.status_code == 403 and again.json()["code"] == "agreement_missing"


def test_research_role_covers_research_purposes_only(ready) -> None:
    token = ready.token(ready.world["research"])
    ok = ready.get("/twin/observations", token, category=TRAFFIC, purpose="dpv:AcademicResearch")
    assert ok.status_code == 200 and len(ok.json()["observations"]) == 3
    no = ready.get("/twin/observations", token, category=TRAFFIC, purpose="dpv:CommercialResearch")
    assert no.status_code == 403 and no.json()["code"] == "agreement_missing"


def test_personal_category_query_needs_subject_and_returns_only_theirs(ready) -> None:
    world = ready.world
    token = ready.token(world["enterprise"])
    missing = ready.get("/twin/observations", token, category=HOUSEHOLD, purpose=SERVICE)
    assert missing.status_code == 422 and missing.json()["code"] == "subject_required"
    ok = ready.get("/twin/observations", token, category=HOUSEHOLD, purpose=SERVICE,
                   subject=world["citizen"].address)
    assert ok.status_code == 200 and len(ok.json()["observations"]) == 3
    assert all(o["entity_id"] == METER_ID for o in ok.json()["observations"])
    other = ready.get("/twin/observations", token, category=HOUSEHOLD, purpose=SERVICE,
                      subject=world["neighbour"].address)
    assert other.status_code == 403 and other.json()["code"] == "consent_missing"


def test_ingest_needs_sensor_operator(gateway) -> None:
    token = gateway.token(gateway.world["agency"])
    response = gateway.post("/twin/observations", token, {"observations": [{
        "entity_id": DETECTOR_ID, "observed_at": int(time.time()),
        "values": {"intensity": 1.0}}]})
    assert response.status_code == 403 and response.json()["code"] == "role_missing"


def test_audit_routes_need_auditor(ready) -> None:
    token = ready.token(ready.world["agency"])
    response = ready.get("/audit/decisions/1", token)
    assert response.status_code == 403 and response.json()["code"] == "role_missing"


def test_chain_unreachable_fails_closed_with_503(ready) -> None:
    token = ready.token(ready.world["agency"])
    assert ready.get(f"/twin/entities/{DETECTOR_ID}", token, purpose=PUBLIC).status_code == 200
    real = ready.runtime.chain.block_number

    def unreachable() -> int:
        raise ChainUnavailable("node down")

    ready.runtime.chain.block_number = unreachable  # type: ignore[method-assign]
    try:
        time.sleep(ready.runtime.settings.chain_stale_s + 0.3)
        response = ready.get(f"/twin/entities/{DETECTOR_ID}", token, purpose=PUBLIC)
        assert response.status_code == 503
        assert response.json()["code"] == "chain_unavailable"
        health = ready.client.get("/health").json()
        assert health["in_step"] is False and health["status"] == "degraded"
    finally:
        ready.runtime.chain.block_number = real  # type: ignore[method-assign]
    time.sleep(0.3)
    assert ready.get(f"/twin/entities/{DETECTOR_ID}", token, purpose=PUBLIC).status_code == 200


def test_index_lagging_behind_chain_fails_closed_with_503(ready) -> None:
    token = ready.token(ready.world["agency"])
    events = ready.runtime.contracts.events
    real_fetch = events.fetch

    def broken_fetch(*args, **kwargs):
        raise ChainUnavailable("log query timed out")

    events.fetch = broken_fetch  # type: ignore[method-assign]
    try:
        block = ready.world.chain.mine()  # the head moves, the index cannot follow
        deadline = time.monotonic() + 5
        while ready.runtime.syncer.head < block and time.monotonic() < deadline:
            time.sleep(0.01)
        response = ready.get(f"/twin/entities/{DETECTOR_ID}", token, purpose=PUBLIC)
        assert response.status_code == 503
        body = response.json()
        assert body["code"] == "index_lagging" and body["head"] > body["block"]
    finally:
        events.fetch = real_fetch  # type: ignore[method-assign]
    ready.wait_for_block(block)
    assert ready.get(f"/twin/entities/{DETECTOR_ID}", token, purpose=PUBLIC).status_code == 200


def test_closed_chain_is_503_not_500(ready) -> None:
    """The embedded chain itself refusing (closed) reaches clients as chain_unavailable."""
    token = ready.token(ready.world["agency"])
    ready.runtime.chain.w3.provider.closed = True
    try:
        time.sleep(ready.runtime.settings.chain_stale_s + 0.3)
        response = ready.get(f"/twin/entities/{DETECTOR_ID}", token, purpose=PUBLIC)
        assert response.status_code == 503 and response.json()["code"] == "chain_unavailable"
        rpc = ready.client.post("/rpc", json={"jsonrpc": "2.0", "id": 1,
                                              "method": "eth_blockNumber", "params": []})
        assert rpc.json()["error"]["message"] == "chain unavailable"
    finally:
        ready.runtime.chain.w3.provider.closed = False


def test_every_decision_is_recorded_including_denials_and_503s(ready) -> None:
    world = ready.world
    token = ready.token(world["neighbour"])
    before = ready.runtime.audit.unanchored
    ready.get(f"/twin/entities/{METER_ID}", token, purpose=SERVICE)  # denied
    ready.get(f"/twin/entities/{METER_ID}", ready.token(world["citizen"]), purpose=SERVICE)
    assert ready.runtime.audit.unanchored == before + 2
    last = ready.runtime.audit.entry(before + 2)
    first = ready.runtime.audit.entry(before + 1)
    assert first is not None and last is not None
    assert (first.allowed, first.reason, first.actor) == (False, "consent_missing",
                                                          world["neighbour"].address)
    assert (last.allowed, last.reason) == (True, "own_data")
    assert ready.runtime.audit.verify_chain() == before + 2


def test_logs_name_no_token_address_or_entity(ready, caplog) -> None:
    import logging

    caplog.set_level(logging.DEBUG, logger="qcity")
    token = ready.token(ready.world["neighbour"])
    assert ready.get(f"/twin/entities/{METER_ID}", token, purpose=SERVICE).status_code == 403
    text = caplog.text
    assert "consent_missing" in text and "/twin/entities/{entity_id}" in text
    for secret in (token, ready.world["neighbour"].address, METER_ID,
                   ready.world["citizen"].address):
        assert secret not in text and secret.lower() not in text.lower()
