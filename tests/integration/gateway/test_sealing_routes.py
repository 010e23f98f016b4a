"""Personal data on the real routes is sealed to the KEM key bound at login (HNDL protection).

A recording of the traffic holds only HPKE envelopes: without the client's X-Wing key nothing
in it opens; aggregate answers stay plain; a bound session that does not name its key is
refused before any decision is recorded.
"""

from __future__ import annotations

import base64
import hashlib
import json

import pytest

from clients import hpke_box
from clients.hpke_box import DecryptionFailed, KemPrivateKey, SealedBodyInvalid

HOUSEHOLD, SERVICE, PUBLIC = "energy.household_meter", "dpv:ServiceProvision", "dpv:PublicBenefit"
METER_ID = "urn:ngsi-ld:ThreePhaseAcMeasurement:tiny:M-S00F0H00"
DETECTOR_ID = "urn:ngsi-ld:TrafficFlowObserved:tiny:TD-BE00-J0300"


def b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def bound_token(gateway, actor, kem: KemPrivateKey) -> str:  # type: ignore[no-untyped-def]
    """Log in with the KEM key named in the challenge (what the SDK does)."""
    challenge = gateway.client.post("/auth/challenge", json={
        "address": actor.address, "kem_public_key": kem.public_key().to_b64()}).json()
    assert "\nkem: " in challenge["challenge"]
    signature = actor.mldsa.sign(challenge["challenge"].encode(), context=b"qcity-login-v1")
    answer = gateway.client.post("/auth/token", json={
        "challenge": challenge["challenge"], "public_key": b64(actor.public_key),
        "signature": b64(signature)})
    assert answer.status_code == 200, answer.text
    return str(answer.json()["access_token"])


def get(gateway, path: str, token: str, kem: KemPrivateKey | None = None,  # type: ignore[no-untyped-def]
        **params):
    headers = {"Authorization": f"Bearer {token}"}
    if kem is not None:
        headers[hpke_box.KEY_HEADER] = kem.public_key().to_b64()
    return gateway.client.get(path, params=params, headers=headers)


@pytest.fixture
def fed(gateway):  # type: ignore[no-untyped-def]
    gateway.ingest_sample(gateway.token(gateway.world["operator"]))
    return gateway


def test_recorded_personal_read_cannot_be_read_without_the_clients_key(fed) -> None:
    world, kem = fed.world, KemPrivateKey.generate()
    token = bound_token(fed, world["enterprise"], kem)
    claims = json.loads(base64.urlsafe_b64decode(token.split(".")[1] + "=="))
    assert claims["cnf"] == {"kem#S256": b64(hashlib.sha256(kem.public_key().raw).digest())}
    path = f"/twin/entities/{METER_ID}"
    answer = get(fed, path, token, kem, purpose=SERVICE)
    assert answer.status_code == 200
    recorded = answer.content  # what an eavesdropper stores today
    assert answer.headers["content-type"] == hpke_box.MEDIA_TYPE
    for secret in (b"activePower", METER_ID.encode(), world["citizen"].address.encode()):
        assert secret not in recorded
    envelope = json.loads(recorded)
    with pytest.raises(SealedBodyInvalid):
        hpke_box.open_json(envelope, KemPrivateKey.generate(), context=path)
    forged = {**envelope, "kid": KemPrivateKey.generate().public_key().key_id}
    with pytest.raises((SealedBodyInvalid, DecryptionFailed)):
        hpke_box.open_json(forged, KemPrivateKey.generate(), context=path)
    opened = hpke_box.open_json(envelope, kem, context=path)
    assert opened["entity"]["id"] == METER_ID and opened["access"]["basis"] == "consent"
    assert opened["entity"]["values"] == {"activePower": 1.5}

    history = get(fed, f"{path}/observations", token, kem, purpose=SERVICE)
    assert hpke_box.is_sealed(history.json())
    listed = get(fed, "/twin/observations", token, kem, category=HOUSEHOLD, purpose=SERVICE,
                 subject=world["citizen"].address)
    rows = hpke_box.open_json(listed.json(), kem, context="/twin/observations")["observations"]
    assert len(rows) == 3


def test_aggregates_stay_plain_for_a_bound_session(fed) -> None:
    kem = KemPrivateKey.generate()
    token = bound_token(fed, fed.world["agency"], kem)
    plain = get(fed, f"/twin/entities/{DETECTOR_ID}", token, kem, purpose=PUBLIC)
    assert plain.status_code == 200 and plain.json()["entity"]["id"] == DETECTOR_ID
    no_key = get(fed, f"/twin/entities/{DETECTOR_ID}", token, purpose=PUBLIC)
    assert no_key.status_code == 200


def test_bound_session_without_its_key_is_refused_before_any_decision(fed) -> None:
    kem = KemPrivateKey.generate()
    token = bound_token(fed, fed.world["enterprise"], kem)
    missing = get(fed, f"/twin/entities/{METER_ID}", token, purpose=SERVICE)
    assert missing.status_code == 401 and missing.json()["code"] == "kem_key_required"
    other = get(fed, f"/twin/entities/{METER_ID}", token, KemPrivateKey.generate(),
                purpose=SERVICE)
    assert other.status_code == 401 and other.json()["code"] == "kem_key_mismatch"
    mine = get(fed, "/me/decisions", bound_token(fed, fed.world["citizen"], kem), kem)
    decisions = hpke_box.open_json(mine.json(), kem, context="/me/decisions")["decisions"]
    reads = [d for d in decisions if d["fields"]["actor"] == fed.world["enterprise"].address]
    assert reads == []  # neither refusal left a decision about the citizen's data


def test_citizens_own_history_and_receipts_are_sealed(fed) -> None:
    kem = KemPrivateKey.generate()
    token = bound_token(fed, fed.world["citizen"], kem)
    for path in ("/me/decisions", "/me/consents/receipts"):
        answer = get(fed, path, token, kem)
        assert answer.status_code == 200 and hpke_box.is_sealed(answer.json()), path
        assert isinstance(hpke_box.open_json(answer.json(), kem, context=path), dict)


def test_unbound_session_is_sealed_only_when_it_names_a_key(fed) -> None:
    token, kem = fed.token(fed.world["citizen"]), KemPrivateKey.generate()
    plain = get(fed, f"/twin/entities/{METER_ID}", token, purpose=SERVICE)
    assert plain.status_code == 200 and plain.json()["access"]["basis"] == "own_data"
    sealed = get(fed, f"/twin/entities/{METER_ID}", token, kem, purpose=SERVICE)
    opened = hpke_box.open_json(sealed.json(), kem, context=f"/twin/entities/{METER_ID}")
    assert opened["entity"]["subject"] == fed.world["citizen"].address
    bad = fed.client.post("/auth/challenge", json={
        "address": fed.world["citizen"].address, "kem_public_key": "AAAA"})
    assert bad.status_code == 422 and bad.json()["code"] == "invalid_kem_key"
