"""The canonical bytes of one decision: what its Merkle leaf and hash-chain link commit to.

The encoding is the gateway's audit entry, re-implemented here from its specification so
that the auditor trusts no gateway code: abi.encode(uint64 seq, bytes32 prevHash,
uint64 decidedAtMs, address actor, string action, string resource, string category,
string purpose, address subject, address provider, bool allowed, string reason, int64 block),
with "" and the zero address standing for "none". A unit test pins it to the gateway's own
encoder, so the two cannot drift apart unnoticed.

The auditor recomputes each leaf from the decision's fields, never from bytes stored next to
them: a stored decision edited after the fact hashes to a leaf that is not under the root.
"""

from __future__ import annotations

from eth_utils import keccak

from clients.auditor._decisions import AuditedDecision
from contracts.merkle import encode_entry, leaf_hash

ZERO_ADDRESS = "0x" + "00" * 20
ENTRY_TYPES = (
    "uint64", "bytes32", "uint64", "address", "string", "string", "string", "string",
    "address", "address", "bool", "string", "int64",
)  # fmt: skip


def decision_entry(d: AuditedDecision) -> bytes:
    """The ABI encoding of a decision's fields."""
    return encode_entry(
        ENTRY_TYPES,
        [
            d.seq, d.prev_hash, d.decided_at_ms, d.actor, d.action, d.resource,
            d.category or "", d.purpose or "", d.subject or ZERO_ADDRESS,
            d.provider or ZERO_ADDRESS, d.allowed, d.reason, d.block,
        ],
    )  # fmt: skip


def decision_leaf(d: AuditedDecision) -> bytes:
    """The Merkle leaf of a decision: keccak256(keccak256(entry))."""
    return leaf_hash(decision_entry(d))


def entry_hash(d: AuditedDecision) -> bytes:
    """keccak256(entry): the link the next decision names as its prev_hash."""
    return keccak(decision_entry(d))
