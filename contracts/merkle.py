"""Merkle trees for audit batches, hashed exactly as AuditTrail.verifyInclusion checks them.

- leaf = keccak256(keccak256(entry)), entry being the bytes of one decision (the gateway's
  canonical encoding; `encode_entry` gives an ABI encoding for typed values). Hashing twice
  keeps a 64-byte inner node from passing as a leaf (OpenZeppelin StandardMerkleTree).
- node = keccak256(min(a, b) ++ max(a, b)): sorted pairs, so a proof is just the siblings.
- levels pair nodes left to right; an odd last node moves up unchanged (nothing is
  duplicated, so no two different leaf lists share a root by repetition); one leaf is its own
  root. Leaves keep their order: leaf i is the i-th decision of the batch.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from eth_abi import encode as abi_encode
from eth_utils import keccak


def encode_entry(types: Sequence[str], values: Sequence[Any]) -> bytes:
    """ABI-encode one entry's typed values (abi.encode in Solidity)."""
    return abi_encode(list(types), list(values))


def leaf_hash(entry: bytes) -> bytes:
    """The leaf of one entry: keccak256(keccak256(entry))."""
    return keccak(keccak(entry))


def hash_pair(a: bytes, b: bytes) -> bytes:
    """An inner node: keccak256 of the two children, smaller first."""
    return keccak(a + b) if a < b else keccak(b + a)


def process_proof(leaf: bytes, proof: Sequence[bytes]) -> bytes:
    """The root that `proof` leads to from `leaf`."""
    node = leaf
    for sibling in proof:
        node = hash_pair(node, sibling)
    return node


def verify_inclusion(root: bytes, leaf: bytes, proof: Sequence[bytes]) -> bool:
    """Whether `proof` shows `leaf` under `root` (same answer as the contract's view)."""
    return process_proof(leaf, proof) == root


@dataclass(frozen=True)
class MerkleTree:
    """A built tree: every level from the leaves (level 0) to the root."""

    levels: tuple[tuple[bytes, ...], ...]

    @classmethod
    def from_leaves(cls, leaves: Sequence[bytes]) -> MerkleTree:
        """Build from already-hashed 32-byte leaves, in order."""
        if not leaves:
            raise ValueError("a Merkle tree needs at least one leaf")
        if any(len(leaf) != 32 for leaf in leaves):
            raise ValueError("leaves are 32-byte hashes (use leaf_hash)")
        levels = [tuple(bytes(leaf) for leaf in leaves)]
        while len(levels[-1]) > 1:
            below = levels[-1]
            above = [hash_pair(below[i], below[i + 1]) for i in range(0, len(below) - 1, 2)]
            if len(below) % 2:
                above.append(below[-1])
            levels.append(tuple(above))
        return cls(tuple(levels))

    @classmethod
    def from_entries(cls, entries: Sequence[bytes]) -> MerkleTree:
        """Build from raw entries, hashing each with leaf_hash."""
        return cls.from_leaves([leaf_hash(e) for e in entries])

    @property
    def root(self) -> bytes:
        return self.levels[-1][0]

    @property
    def leaves(self) -> tuple[bytes, ...]:
        return self.levels[0]

    def __len__(self) -> int:
        return len(self.levels[0])

    def proof(self, index: int) -> list[bytes]:
        """Sibling hashes from leaf `index` up to the root."""
        if not 0 <= index < len(self):
            raise IndexError(f"leaf {index} out of range 0..{len(self) - 1}")
        proof = []
        for level in self.levels[:-1]:
            sibling = index ^ 1
            if sibling < len(level):
                proof.append(level[sibling])
            index //= 2
        return proof
