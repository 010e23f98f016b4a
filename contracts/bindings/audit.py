"""Typed wrapper of AuditTrail."""

from __future__ import annotations

from collections.abc import Generator, Sequence

from eth_account.signers.local import LocalAccount
from web3 import Web3

from ..chain import run_steps
from ..merkle import MerkleTree
from ..names import as_id
from ._base import ContractBinding, TxResult


class AuditTrail(ContractBinding):
    """Merkle-root batches of access decisions, and single high-stakes decisions."""

    NAME = "AuditTrail"

    def anchor_batch(
        self,
        recorder: LocalAccount,
        sequence: int,
        root: bytes,
        entry_count: int,
        first_decision_at: int,
        last_decision_at: int,
        *,
        gas: int | None = None,
    ) -> TxResult:
        """Anchor one batch. Errors: AccountMissingRole, SequenceMismatch, EmptyRoot,
        EmptyBatch, InvalidWindow. With `gas` given nothing is estimated or pre-flighted: a
        revert then costs a mined, failed transaction, decoded into the same error."""
        return run_steps(self.anchor_batch_steps(
            recorder, sequence, root, entry_count, first_decision_at, last_decision_at,
            gas=gas))

    def anchor_batch_steps(
        self,
        recorder: LocalAccount,
        sequence: int,
        root: bytes,
        entry_count: int,
        first_decision_at: int,
        last_decision_at: int,
        *,
        gas: int | None = None,
    ) -> Generator[None, None, TxResult]:
        """`anchor_batch` in steps (Chain.transact_steps)."""
        return self._send_steps(
            recorder,
            "anchorBatch",
            int(sequence),
            bytes(root),
            int(entry_count),
            int(first_decision_at),
            int(last_decision_at),
            gas=gas,
        )

    def anchor_tree(
        self,
        recorder: LocalAccount,
        tree: MerkleTree,
        first_decision_at: int,
        last_decision_at: int,
    ) -> TxResult:
        """Anchor `tree` as the next batch (sequence read from chain)."""
        return self.anchor_batch(
            recorder,
            self.next_sequence(),
            tree.root,
            len(tree),
            first_decision_at,
            last_decision_at,
        )

    def record_decision(
        self,
        recorder: LocalAccount,
        leaf: bytes,
        requester: str,
        category: str | bytes,
        purpose: str | bytes,
        allowed: bool,
        decided_at: int,
    ) -> TxResult:
        """Record one decision at once. Errors: AccountMissingRole, EmptyLeaf,
        DecisionAlreadyRecorded."""
        return self._send(
            recorder,
            "recordDecision",
            bytes(leaf),
            Web3.to_checksum_address(requester),
            as_id(category),
            as_id(purpose),
            bool(allowed),
            int(decided_at),
        )

    def next_sequence(self) -> int:
        return int(self._view("nextSequence"))

    def total_entries(self) -> int:
        return int(self._view("totalEntries"))

    def batch_root(self, sequence: int) -> bytes:
        """Root of batch `sequence` (zero bytes when absent)."""
        return bytes(self._view("batchRoot", int(sequence)))

    def decision_recorded_at(self, leaf: bytes) -> int:
        return int(self._view("decisionRecordedAt", bytes(leaf)))

    def verify_inclusion(self, root: bytes, leaf: bytes, proof: Sequence[bytes]) -> bool:
        """The contract's own check (merkle.verify_inclusion gives the same answer off chain)."""
        return bool(
            self._view("verifyInclusion", bytes(root), bytes(leaf), [bytes(p) for p in proof])
        )

    def verify_batch_inclusion(self, sequence: int, leaf: bytes, proof: Sequence[bytes]) -> bool:
        return bool(
            self._view(
                "verifyBatchInclusion", int(sequence), bytes(leaf), [bytes(p) for p in proof]
            )
        )

    def registry_address(self) -> str:
        return Web3.to_checksum_address(self._view("registry"))
