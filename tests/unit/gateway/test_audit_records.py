"""Audit entries: the fast encoder is byte-for-byte eth_abi's, and decodes back."""

from __future__ import annotations

import asyncio
from dataclasses import replace

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from contracts import MerkleTree, verify_inclusion
from gateway.audit.anchorer import batch_tree, build_hashed_tree, build_tree, hashed_batch_tree
from gateway.audit.records import (
    DecisionRecord,
    decode,
    encode,
    encode_reference,
    entry_hash,
    leaf_of,
    leaf_of_hash,
)

addresses = st.binary(min_size=20, max_size=20).map(lambda b: "0x" + b.hex())
texts = st.text(max_size=80)
records = st.builds(
    DecisionRecord,
    decided_at_ms=st.integers(0, 2**64 - 1),
    actor=addresses,
    action=st.sampled_from(["read", "ingest", "audit", "launch_job"]),
    resource=texts,
    category=st.none() | texts,
    purpose=st.none() | texts,
    subject=st.none() | addresses,
    provider=st.none() | addresses,
    allowed=st.booleans(),
    reason=texts,
    block=st.integers(-(2**63), 2**63 - 1),
)


@settings(max_examples=150, deadline=None)
@given(seq=st.integers(0, 2**64 - 1), prev=st.binary(min_size=32, max_size=32),
       record=records)
def test_fast_encoding_equals_eth_abi(seq: int, prev: bytes, record: DecisionRecord) -> None:
    assert encode(seq, prev, record) == encode_reference(seq, prev, record)


def test_entry_decodes_back_with_checksummed_addresses() -> None:
    record = DecisionRecord(1_800_000_000_000, "0x" + "ab" * 20, "read", "urn:ngsi-ld:X:1",
                            "traffic.flow", "dpv:PublicBenefit", None, None, True,
                            "role:AGENCY", 42)
    fields = decode(encode(7, b"\x01" * 32, record))
    assert fields["seq"] == 7 and fields["block"] == 42 and fields["allowed"] is True
    assert fields["actor"] == "0xABaBaBaBABabABabAbAbABAbABabababaBaBABaB"
    assert fields["subject"] == "0x" + "00" * 20
    assert fields["prev_hash"] == "0x" + "01" * 32
    assert len(leaf_of(encode(7, b"\x01" * 32, record))) == 32


@pytest.mark.parametrize("size", [1, 2, 3, 5, 8, 13, 130, 257])
def test_cooperative_tree_equals_contracts_merkle_tree(size: int) -> None:
    entries = [bytes([i % 256]) * (40 + i % 7) for i in range(size)]
    tree = asyncio.run(build_tree(entries, slice_size=4))
    reference = MerkleTree.from_entries(entries)
    assert tree.levels == reference.levels
    assert tree == batch_tree(entries)
    for i in (0, size // 2, size - 1):
        assert verify_inclusion(tree.root, tree.leaves[i], tree.proof(i))


@pytest.mark.parametrize("size", [1, 2, 3, 5, 130, 257])
def test_tree_from_stored_entry_hashes_equals_tree_from_entries(size: int) -> None:
    entries = [bytes([i % 256]) * (40 + i % 7) for i in range(size)]
    hashes = [entry_hash(e) for e in entries]
    assert [leaf_of_hash(h) for h in hashes] == [leaf_of(e) for e in entries]
    assert asyncio.run(build_hashed_tree(hashes, slice_size=4)) == batch_tree(entries)
    assert hashed_batch_tree(hashes) == batch_tree(entries)


def test_remembered_encoding_follows_every_field_of_the_decision() -> None:
    """The part of an entry remembered per decision's facts must change with each fact."""
    base = DecisionRecord(
        decided_at_ms=1, actor="0x" + "ab" * 20, action="read", resource="urn:x",
        category="energy.household_meter", purpose="dpv:ServiceProvision",
        subject="0x" + "cd" * 20, provider=None, allowed=True, reason="consent", block=7,
    )
    variants = [base, replace(base, block=8), replace(base, allowed=False),
                replace(base, reason="consent_missing"), replace(base, resource="urn:y"),
                replace(base, subject=None), replace(base, provider="0x" + "ef" * 20),
                replace(base, decided_at_ms=2), replace(base, actor="0x" + "ba" * 20)]
    for seq in (1, 2):
        encoded = [encode(seq, bytes(32), r) for r in variants]
        assert encoded == [encode_reference(seq, bytes(32), r) for r in variants]
        assert len(set(encoded)) == len(variants)
