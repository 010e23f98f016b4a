"""The audit recorder: the hash-chained local log of decisions and the anchorer that commits
Merkle roots of its batches to AuditTrail."""

from gateway.audit.anchorer import AnchoredBatch, Anchorer, batch_tree
from gateway.audit.log import (
    AuditChainBroken,
    AuditLog,
    AuditReceipt,
    AuditUnavailable,
    PendingEntry,
)
from gateway.audit.records import DecisionRecord, decode, encode, entry_hash, leaf_of

__all__ = [
    "AnchoredBatch",
    "Anchorer",
    "AuditChainBroken",
    "AuditLog",
    "AuditReceipt",
    "AuditUnavailable",
    "DecisionRecord",
    "PendingEntry",
    "batch_tree",
    "decode",
    "encode",
    "entry_hash",
    "leaf_of",
]
