"""Audit records: the ABI-encoded entry of one decision, and the tables that keep them.

`entry` = abi.encode(seq, prevHash, decidedAtMs, actor, action, resource, category, purpose,
subject, provider, allowed, reason, block); the entry's keccak256 is its `entry_hash`, which
the next entry names as `prevHash` (a hash chain: no entry can be changed or dropped without
breaking every later one). Its Merkle leaf is keccak256(keccak256(entry)), as AuditTrail and
contracts.merkle define leaves (computed when a batch is anchored). An auditor with nothing
but web3.py checks both with `Web3.keccak`.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any

from eth_abi import decode as abi_decode
from eth_utils import to_checksum_address
from sqlalchemy import BigInteger, Column, Index, Integer, text
from sqlmodel import Field, SQLModel

from contracts.merkle import encode_entry

try:  # safe-pysha3: keccak256 in one C call, ~4x cheaper than eth_utils' pycryptodome path
    from sha3 import keccak_256 as _keccak_256

    def keccak(data: bytes) -> bytes:
        """keccak256 (Ethereum's, not NIST SHA3-256)."""
        return _keccak_256(data).digest()
except ImportError:  # pragma: no cover - the same digest, slower
    from eth_utils import keccak

ZERO_ADDRESS = "0x" + "00" * 20
GENESIS_HASH = b"\x00" * 32

ENTRY_TYPES = (
    "uint64",   # seq
    "bytes32",  # prevHash
    "uint64",   # decidedAtMs
    "address",  # actor
    "string",   # action
    "string",   # resource
    "string",   # category ("" when none)
    "string",   # purpose ("" when none)
    "address",  # subject (zero when none)
    "address",  # provider (zero when none)
    "bool",     # allowed
    "string",   # reason: the grant kind or the denial code
    "int64",    # block the answer held for (-1 when the chain was unavailable)
)
ENTRY_FIELDS = (
    "seq", "prev_hash", "decided_at_ms", "actor", "action", "resource", "category", "purpose",
    "subject", "provider", "allowed", "reason", "block",
)


@dataclass(frozen=True, slots=True)
class DecisionRecord:
    """One decision as the recorder receives it (before it has a place in the chain)."""

    decided_at_ms: int
    actor: str
    action: str
    resource: str
    category: str | None
    purpose: str | None
    subject: str | None
    provider: str | None
    allowed: bool
    reason: str
    block: int


def _values(seq: int, prev_hash: bytes, record: DecisionRecord) -> tuple[Any, ...]:
    return (
        seq, prev_hash, record.decided_at_ms, record.actor or ZERO_ADDRESS, record.action,
        record.resource, record.category or "", record.purpose or "",
        record.subject or ZERO_ADDRESS, record.provider or ZERO_ADDRESS, record.allowed,
        record.reason, record.block,
    )


def encode_reference(seq: int, prev_hash: bytes, record: DecisionRecord) -> bytes:
    """The entry through eth_abi (contracts.merkle.encode_entry): the reference encoding."""
    return encode_entry(ENTRY_TYPES, _values(seq, prev_hash, record))


def _word(value: int) -> bytes:
    return value.to_bytes(32, "big", signed=value < 0)


# The same few actors, subjects, actions, categories, purposes and reasons recur in every
# entry: their encodings are remembered (bounded, pure functions of their argument).
@functools.lru_cache(maxsize=4096)
def _address(value: str) -> bytes:
    raw = bytes.fromhex(value[2:] if value.startswith(("0x", "0X")) else value)
    if len(raw) != 20:
        raise ValueError("an address has 20 bytes")
    return bytes(12) + raw


@functools.lru_cache(maxsize=4096)
def _string_tail(value: str) -> bytes:
    raw = value.encode()
    return _word(len(raw)) + raw + bytes(-len(raw) % 32)


def encode(seq: int, prev_hash: bytes, record: DecisionRecord) -> bytes:
    """The ABI-encoded entry of `record` at position `seq` after `prev_hash`.

    Byte for byte what eth_abi produces for ENTRY_TYPES (a property test holds the two
    together), written out because eth_abi spends ~200 µs on it and every request pays this.
    """
    if len(prev_hash) != 32 or not 0 <= seq < 2**64 or not 0 <= record.decided_at_ms < 2**64:
        raise ValueError("seq, decidedAtMs and prevHash out of range")
    return b"".join((_word(seq), prev_hash, _word(record.decided_at_ms), _rest(
        record.actor, record.action, record.resource, record.category, record.purpose,
        record.subject, record.provider, record.allowed, record.reason, record.block)))


# Everything after decidedAtMs is a pure function of the decision's facts, and a busy
# gateway decides the same few (actor, entity, purpose, block) many times over.
@functools.lru_cache(maxsize=4096)
def _rest(actor: str, action: str, resource: str, category: str | None, purpose: str | None,
          subject: str | None, provider: str | None, allowed: bool, reason: str,
          block: int) -> bytes:
    """The entry's words from `actor` on, with the strings' tails."""
    if not -(2**63) <= block < 2**63:
        raise ValueError("block out of int64 range")
    tails = [_string_tail(s) for s in (action, resource, category or "", purpose or "", reason)]
    offsets, at = [], 32 * len(ENTRY_TYPES)
    for tail in tails:
        offsets.append(_word(at))
        at += len(tail)
    return b"".join((
        _address(actor or ZERO_ADDRESS), offsets[0], offsets[1], offsets[2], offsets[3],
        _address(subject or ZERO_ADDRESS), _address(provider or ZERO_ADDRESS),
        _word(1 if allowed else 0), offsets[4], _word(block), *tails,
    ))


def decode(entry: bytes) -> dict[str, Any]:
    """The fields of an encoded entry (what an auditor reads back)."""
    values = abi_decode(list(ENTRY_TYPES), entry)
    out = dict(zip(ENTRY_FIELDS, values, strict=True))
    out["prev_hash"] = "0x" + bytes(out["prev_hash"]).hex()
    for key in ("actor", "subject", "provider"):
        out[key] = to_checksum_address(out[key])
    return out


def entry_hash(entry: bytes) -> bytes:
    """keccak256 of the entry: the hash chain's link."""
    return keccak(entry)


def leaf_of(entry: bytes) -> bytes:
    """The Merkle leaf of the entry (double keccak256, as AuditTrail and
    contracts.merkle.leaf_hash define it)."""
    return keccak(keccak(entry))


def leaf_of_hash(entry_hash: bytes) -> bytes:
    """The Merkle leaf of the entry whose hash-chain link is `entry_hash`
    (`leaf_of(entry) == leaf_of_hash(entry_hash(entry))`)."""
    return keccak(entry_hash)


def node_of(a: bytes, b: bytes) -> bytes:
    """An inner Merkle node, as contracts.merkle.hash_pair defines it (sorted pair)."""
    return keccak(a + b) if a < b else keccak(b + a)


_HAS_SUBJECT = text("subject IS NOT NULL")
# SQLite: INTEGER PRIMARY KEY is the row id itself (one B-tree fewer to write per commit).
_SEQ = BigInteger().with_variant(Integer(), "sqlite")


class AuditEntryRow(SQLModel, table=True):
    """One decision in the local, append-only, hash-chained log.

    Written once, never updated: which batch holds an entry follows from the batches'
    ranges. One partial index (data subjects, for a citizen's access log); every index is a
    page written on each commit, and `entry_hash` with its random keys would dirty a page
    per row.
    """

    __tablename__ = "gateway_audit_entry"
    __table_args__ = (
        Index("ix_gateway_audit_subject", "subject", "seq", sqlite_where=_HAS_SUBJECT,
              postgresql_where=_HAS_SUBJECT),
    )

    seq: int = Field(sa_column=Column(_SEQ, primary_key=True, autoincrement=False))
    entry: bytes
    entry_hash: bytes
    decided_at_ms: int = Field(sa_column=Column(BigInteger, nullable=False))
    actor: str
    subject: str | None = None
    allowed: bool
    reason: str


class AuditBatchRow(SQLModel, table=True):
    """A Merkle batch of consecutive entries (first_seq..last_seq) and its anchoring."""

    __tablename__ = "gateway_audit_batch"

    sequence: int = Field(sa_column=Column(BigInteger, primary_key=True, autoincrement=False))
    root: bytes
    first_seq: int = Field(sa_column=Column(BigInteger, nullable=False, unique=True))
    last_seq: int = Field(sa_column=Column(BigInteger, nullable=False, unique=True))
    first_decision_at: int = Field(sa_column=Column(BigInteger, nullable=False))
    last_decision_at: int = Field(sa_column=Column(BigInteger, nullable=False))
    status: str = Field(default="pending", index=True)  # pending | anchored
    tx_hash: str | None = None
    block_number: int | None = Field(default=None, sa_column=Column(BigInteger))
