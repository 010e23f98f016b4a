"""The SDK reads sealed personal data transparently; a recording of its traffic stays sealed.

A transport under the SDK records every response body as it crossed the wire (over real HTTP
to a live gateway), as an eavesdropper harvesting traffic today would.
"""

from __future__ import annotations

import json
import time

import httpx
import pytest

from clients import hpke_box
from clients.hpke_box import KemPrivateKey, SealedBodyInvalid
from clients.sdk import KeyFile, QcityClient, SessionInvalid

METER, SERVICE = "energy.household_meter", "dpv:ServiceProvision"
METER_ID = "urn:ngsi-ld:ThreePhaseAcMeasurement:sealed-home"


class Recorder(httpx.HTTPTransport):
    """Keeps (path, raw body) of every response."""

    def __init__(self) -> None:
        super().__init__()
        self.recorded: list[tuple[str, bytes]] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        response = super().handle_request(request)
        response.read()
        self.recorded.append((request.url.path, response.content))
        return response


def test_sdk_opens_sealed_answers_and_the_recording_is_unreadable(served) -> None:
    citizen = served.keys["citizen"]
    served.client("operator").ingest([{
        "entity_id": METER_ID, "entity_type": "ThreePhaseAcMeasurement", "category": METER,
        "observed_at": int(time.time()) - 30, "values": {"activePower": 3.75},
        "lon": 4.35, "lat": 50.85, "subject": citizen.address,
    }])
    recorder = Recorder()
    with QcityClient(served.url, citizen, transport=recorder) as client:
        client.login()
        read = client.entity(METER_ID, purpose=SERVICE)  # the citizen's own meter
        decisions = client.my_decisions()
    assert read.entity.values == {"activePower": 3.75} and read.access.basis == "own_data"
    assert any(d.fields["resource"] == METER_ID for d in decisions.decisions)

    sealed = {p: body for p, body in recorder.recorded if hpke_box.is_sealed(json.loads(body))}
    assert set(sealed) == {f"/twin/entities/{METER_ID}", "/me/decisions"}
    for path, body in sealed.items():
        assert b"activePower" not in body and citizen.address.encode() not in body
        with pytest.raises(SealedBodyInvalid):  # harvested: no key, nothing to read
            hpke_box.open_json(json.loads(body), KemPrivateKey.generate(), context=path)
        assert hpke_box.open_json(json.loads(body), citizen.kem, context=path)

    # the same recording and the same token, replayed by someone without the KEM private key
    stranger = KeyFile.generate()
    with QcityClient(served.url, stranger) as thief:
        thief.token = client.token
        with pytest.raises(SessionInvalid) as refused:
            thief.entity(METER_ID, purpose=SERVICE)
    assert refused.value.error_code == "kem_key_mismatch"
