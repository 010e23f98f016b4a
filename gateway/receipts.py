"""Consent receipts served by the gateway: one signed ISO/IEC TS 27560 record per consent.

A citizen's receipts are rebuilt from the chain on request (the chain, not the gateway's
memory, is the record): the ConsentLedger's grant and revocation events of that subject,
asked of the node with the subject as a topic filter so that the cost follows the citizen's
own history, not the chain's length. `clients.receipts` shapes and signs each record; the
gateway's ML-DSA-65 key signs it, so anyone checks it against /.well-known/jwks.json.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from eth_abi import encode as abi_encode
from eth_utils import keccak
from jwcrypto.jwk import JWK

from clients.receipts import consent_record, sign_receipt
from contracts import QcityContracts
from contracts.events import ConsentGranted, ConsentRevoked, EventDecoder
from contracts.names import Names

_GRANTED = keccak(text="ConsentGranted(address,address,bytes32,bytes32,uint64,address)")
_REVOKED = keccak(text="ConsentRevoked(address,address,bytes32,bytes32,address)")
MAX_BLOCKS_PER_QUERY = 50_000
"""Kept under the /rpc door's eth_getLogs range, so an external node accepts it too."""

ConsentEvent = ConsentGranted | ConsentRevoked


@dataclass(frozen=True, slots=True)
class SignedReceipt:
    """One consent's receipt: the facts a wallet lists, and the compact JWS to keep."""

    record_id: str
    grantee: str
    category: str
    purpose: str
    state: str
    expiry: int | None
    jws: str
    record: dict[str, Any]


def consent_events(contracts: QcityContracts, subject: str, to_block: int) -> list[ConsentEvent]:
    """The subject's ConsentGranted/ConsentRevoked events up to `to_block`, in chain order."""
    chain, ledger = contracts.chain, contracts.deployment.consent_ledger
    decoder = EventDecoder.for_contracts({"ConsentLedger": ledger})
    subject_topic = "0x" + abi_encode(["address"], [subject]).hex()
    topics = [["0x" + _GRANTED.hex(), "0x" + _REVOKED.hex()], subject_topic]
    found: list[ConsentEvent] = []
    start = contracts.deployment.start_block
    while start <= to_block:
        end = min(start + MAX_BLOCKS_PER_QUERY - 1, to_block)
        with chain.rpc_errors():
            logs = chain.w3.eth.get_logs(
                {"fromBlock": start, "toBlock": end, "address": ledger, "topics": topics}
            )
        for log in logs:
            event = decoder.decode(log)
            if isinstance(event, ConsentGranted | ConsentRevoked):
                found.append(event)
        start = end + 1
    found.sort(key=lambda e: e.order)
    return found


_Terms = tuple[str, bytes, bytes]  # grantee, category, purpose


def _by_consent(events: Iterable[ConsentEvent]) -> dict[_Terms, list[ConsentEvent]]:
    groups: dict[_Terms, list[ConsentEvent]] = {}
    for e in events:
        groups.setdefault((e.grantee, e.category, e.purpose), []).append(e)
    return groups


def receipts_of(contracts: QcityContracts, subject: str, key: JWK, *, block: int,
                now: int, names: Names | None = None) -> list[SignedReceipt]:
    """Every consent `subject` ever gave, as of `block`, each as a signed 27560 receipt.

    `state` is the consent's standing at `now` (the later of the block's time and the wall
    clock, as the permission checks judge): given, expired or withdrawn.
    """
    names = names or Names()
    chain = contracts.chain
    events = consent_events(contracts, subject, block)
    times = {n: chain.block_info(n).timestamp for n in {e.block_number for e in events}}
    receipts = []
    for (grantee, category, purpose), history in _by_consent(events).items():
        record = consent_record(history, times, chain_id=chain.chain_id,
                                ledger=contracts.deployment.consent_ledger, names=names)
        last = history[-1]
        expiry = last.expiry if isinstance(last, ConsentGranted) else None
        state = ("withdrawn" if expiry is None else "given" if now < expiry else "expired")
        receipts.append(SignedReceipt(
            record_id=record["record"]["record_id"], grantee=grantee,
            category=names.label(category), purpose=names.label(purpose), state=state,
            expiry=expiry, jws=sign_receipt(record, key), record=record,
        ))
    return receipts
