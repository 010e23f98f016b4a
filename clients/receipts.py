"""Consent receipts: ISO/IEC TS 27560 consent records built from the chain, signed as a JWS.

A receipt is what a citizen can download and keep: the record (schema version, record id,
PII principal), the processing it covers (purpose as a W3C DPV term, data category, lawful
basis `dpv:Consent`), the parties (the citizen and the grantee, by address), and every event
of that consent (given, withdrawn, with block and transaction, so anyone can check it on
chain). The gateway signs it with its ML-DSA-65 key as a compact JWS (RFC 9964, `alg`
ML-DSA-65, empty ML-DSA context); `verify_receipt` checks it against the gateway's JWKS.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from jwcrypto import jwk, jws
from jwcrypto.common import JWException

from contracts.events import ConsentGranted, ConsentRevoked
from contracts.names import Names

SCHEMA_VERSION = "ISO/IEC TS 27560:2023"
MEDIA_TYPE = "qcity-consent-receipt+jws"
_NAMESPACE = uuid.UUID("6f1d2c4e-8b7a-4e34-9d0f-2a6c5b3e1f00")


class ReceiptInvalid(ValueError):
    """The receipt's signature does not verify with the given keys, or it is malformed."""

    code = "receipt_invalid"
    http_status = 422


def _iso(ts: int) -> str:
    return datetime.fromtimestamp(ts, tz=UTC).isoformat().replace("+00:00", "Z")


def consent_record(
    events: Sequence[ConsentGranted | ConsentRevoked],
    block_times: Mapping[int, int],
    *,
    chain_id: int,
    ledger: str,
    names: Names | None = None,
) -> dict[str, Any]:
    """The 27560 record of one consent (one subject, grantee, category, purpose).

    `events` are that consent's grants and revocations in chain order; `block_times` gives
    the timestamp of each event's block.
    """
    if not events:
        raise ValueError("a consent record needs at least one event")
    names, first = names or Names(), events[0]
    keys = {(e.subject, e.grantee, e.category, e.purpose) for e in events}
    if len(keys) != 1:
        raise ValueError("events of more than one consent")
    record_id = uuid.uuid5(
        _NAMESPACE,
        f"{chain_id}:{ledger}:{first.subject}:{first.grantee}:"
        f"{first.category.hex()}:{first.purpose.hex()}",
    )
    purpose, category = names.label(first.purpose), names.label(first.category)
    timeline = []
    for e in events:
        given = isinstance(e, ConsentGranted)
        timeline.append(
            {
                "event_time": _iso(block_times[e.block_number]),
                "duration": (e.expiry - block_times[e.block_number]) if given else 0,
                "entity_id": first.subject,
                "type": "explicit",
                "state": "given" if given else "withdrawn",
                "evidence": {
                    "chain_id": chain_id,
                    "contract": ledger,
                    "block": e.block_number,
                    "tx_hash": e.tx_hash,
                    "relayed": e.relayed,
                },
            }
        )
    return {
        "record": {
            "schema_version": SCHEMA_VERSION,
            "record_id": str(record_id),
            "pii_principal_id": first.subject,
        },
        "pii_processing": {
            "language": "en",
            "purposes": [
                {
                    "purpose": purpose,
                    "purpose_type": purpose,
                    "lawful_basis": "dpv:Consent",
                    "pii_information": [
                        {
                            "pii_type": category,
                            "pii_optional": False,
                            "sensitive_pii_category": False,
                            "special_pii_category": False,
                        }
                    ],
                    "pii_controllers": [first.grantee],
                    "processing_method": ["dpv:Use"],
                    "withdrawal_method": "qcity wallet (one click) or ConsentLedger.revokeConsent",
                    "jurisdiction": "EU",
                }
            ],
        },
        "party_identification": [
            {"party_id": first.subject, "party_role": "PII Principal"},
            {"party_id": first.grantee, "party_role": "PII Controller"},
        ],
        "event": timeline,
    }


def sign_receipt(record: Mapping[str, Any], key: jwk.JWK) -> str:
    """A compact JWS over the record, signed with an ML-DSA-65 JWK (kty AKP)."""
    payload = json.dumps(record, sort_keys=True, separators=(",", ":")).encode()
    token = jws.JWS(payload)
    header = {"alg": "ML-DSA-65", "typ": MEDIA_TYPE, "kid": key.get("kid") or key.thumbprint()}
    token.add_signature(key, None, json.dumps(header))
    return str(token.serialize(compact=True))


def verify_receipt(token: str, jwks: Mapping[str, Any]) -> dict[str, Any]:
    """The record inside `token` if it verifies with a key of `jwks` (a JWK Set)."""
    try:
        keys = jwk.JWKSet.from_json(json.dumps(jwks))
        parsed = jws.JWS()
        parsed.deserialize(token)
        header = parsed.jose_header
        if header.get("alg") != "ML-DSA-65" or header.get("typ") != MEDIA_TYPE:
            raise ReceiptInvalid("not an ML-DSA-65 qcity consent receipt")
    except (JWException, ValueError, TypeError) as exc:
        if isinstance(exc, ReceiptInvalid):
            raise
        raise ReceiptInvalid(f"malformed receipt: {type(exc).__name__}") from None
    kid = header.get("kid")
    for key in keys:
        if kid and key.get("kid") and key.get("kid") != kid:
            continue
        try:
            parsed.verify(key)
        except JWException:
            continue
        return dict(json.loads(parsed.payload))
    raise ReceiptInvalid("receipt does not verify with any key of the JWKS")
