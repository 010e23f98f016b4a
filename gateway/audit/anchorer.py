"""The anchorer: commits Merkle roots of audit batches to AuditTrail.

A batch is first written locally as `pending` (root, entry range), then anchored under the
next on-chain sequence number, then marked `anchored` with its transaction. A crash at any
point loses nothing: entries without a batch are batched on the next round, and a pending
batch is either found on chain (same sequence and root) or sent again. AuditTrail refuses a
sequence twice, so a retry can never anchor a batch twice.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable, Generator, Sequence
from dataclasses import dataclass
from typing import TypeVar

from eth_account.signers.local import LocalAccount

from contracts.chain import run_steps
from contracts.deploy import QcityContracts
from contracts.errors import ChainError, SequenceMismatch
from contracts.events import BatchAnchored
from contracts.merkle import MerkleTree
from gateway.audit.log import AuditLog, FastWriterBusy, PendingEntry
from gateway.audit.records import AuditBatchRow, leaf_of, leaf_of_hash, node_of
from gateway.chain_work import chain_steps, chain_work
from gateway.logs import log_event

_log = logging.getLogger("qcity.gateway.anchorer")
_T = TypeVar("_T")

ANCHOR_GAS = 120_000
"""Gas given to anchorBatch (it uses ~61,500 whatever the batch size, gas_report.py): with
the gas known, the transaction needs no estimate or pre-flight call (on the embedded chain,
a 13 ms py-evm run holding the GIL against the event loop)."""


@dataclass(frozen=True, slots=True)
class AnchoredBatch:
    """A batch confirmed on chain."""

    sequence: int
    size: int
    tx_hash: str
    block_number: int


def batch_tree(entries: Sequence[bytes]) -> MerkleTree:
    """The Merkle tree of a batch's encoded entries, in sequence order."""
    return MerkleTree.from_leaves([leaf_of(e) for e in entries])


def hashed_batch_tree(entry_hashes: Sequence[bytes]) -> MerkleTree:
    """`batch_tree` from the entries' stored hashes (one short keccak per leaf)."""
    return MerkleTree.from_leaves([leaf_of_hash(h) for h in entry_hashes])


async def build_tree(entries: Sequence[bytes], slice_size: int = 128) -> MerkleTree:
    """`batch_tree`, yielding to the event loop every `slice_size` hashes.

    The same levels as contracts.merkle.MerkleTree.from_leaves (pairs left to right, an odd
    last node moves up unchanged); a test holds the two together.
    """
    return await _build_tree(entries, leaf_of, slice_size)


async def build_hashed_tree(entry_hashes: Sequence[bytes], slice_size: int = 128) -> MerkleTree:
    """`hashed_batch_tree`, yielding to the event loop like `build_tree`: what the anchorer
    uses, as the entries' hashes are already stored (reading and hashing the entries again
    cost ~4 µs a leaf, on the event loop)."""
    return await _build_tree(entry_hashes, leaf_of_hash, slice_size)


async def _build_tree(items: Sequence[bytes], leaf: Callable[[bytes], bytes],
                      slice_size: int) -> MerkleTree:
    leaves: list[bytes] = []
    for start in range(0, len(items), slice_size):
        leaves.extend(leaf(e) for e in items[start:start + slice_size])
        await asyncio.sleep(0)
    if not leaves:
        raise ValueError("a Merkle tree needs at least one leaf")
    levels = [tuple(leaves)]
    while len(levels[-1]) > 1:
        below, above = levels[-1], []
        for i in range(0, len(below) - 1, 2):
            above.append(node_of(below[i], below[i + 1]))
            if len(above) % slice_size == 0:
                await asyncio.sleep(0)
        if len(below) % 2:
            above.append(below[-1])
        levels.append(tuple(above))
    return MerkleTree(tuple(levels))


def _new_batch(entries: Sequence[PendingEntry], tree: MerkleTree, sequence: int,
               ) -> AuditBatchRow:
    return AuditBatchRow(
        sequence=sequence,
        root=tree.root,
        first_seq=entries[0].seq,
        last_seq=entries[-1].seq,
        first_decision_at=entries[0].decided_at_ms // 1000,
        last_decision_at=entries[-1].decided_at_ms // 1000,
    )


def _anchored(batch: AuditBatchRow, sent: tuple[str, int]) -> AnchoredBatch:
    size = batch.last_seq - batch.first_seq + 1
    log_event(_log, "batch_anchored", sequence=batch.sequence, size=size, block=sent[1])
    return AnchoredBatch(batch.sequence, size, *sent)


class Anchorer:
    """Batches unanchored entries and anchors them; `run` is its background loop.

    A round anchors everything waiting (up to `max_batch` per root), so under heavy load the
    number of transactions follows the clock, not the request rate.
    """

    def __init__(
        self,
        log: AuditLog,
        contracts: QcityContracts,
        recorder: LocalAccount,
        *,
        every_n: int,
        every_s: float,
        max_batch: int = 8192,
        after_anchor: Callable[[], Awaitable[object]] | None = None,
    ) -> None:
        self.log = log
        self.contracts = contracts
        self.recorder = recorder
        self.every_n = every_n
        self.every_s = every_s
        self.max_batch = max_batch
        self._after_anchor = after_anchor
        self._lock = asyncio.Lock()
        # AuditTrail's next sequence as this anchorer last saw it (None: ask the chain). A
        # recorder that took it meanwhile makes the anchor revert with SequenceMismatch, and
        # the next round asks again.
        self._next_sequence: int | None = None

    async def run(self) -> None:
        """Anchor when `every_n` entries wait or every `every_s` seconds, until cancelled."""
        deadline = time.monotonic() + self.every_s
        while True:
            timeout = max(0.0, deadline - time.monotonic())
            if self.log.unanchored < self.every_n:
                self.log.appended.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wait_for_full(), timeout)
            try:
                await self.anchor_now()
            except ChainError as exc:  # chain down: entries wait safely in the log
                log_event(_log, "anchor_deferred", logging.WARNING, code=exc.code)
            except Exception as exc:  # noqa: BLE001 - the loop must outlive one bad round
                log_event(_log, "anchor_failed", logging.ERROR, error=type(exc).__name__)
            deadline = time.monotonic() + self.every_s

    async def _wait_for_full(self) -> None:
        while self.log.unanchored < self.every_n:
            await self.log.appended.wait()
            self.log.appended.clear()

    async def anchor_now(self) -> list[AnchoredBatch]:
        """Finish pending batches, then batch and anchor every entry there was when the round
        began; later entries wait for the next round (under load a round that chased the
        log's tail would never end, and would send a transaction per batch of stragglers).

        Hashing runs on the event loop in small slices between requests, database calls in
        worker threads, chain calls as gateway.chain_work says (inline on the embedded chain:
        one ~25 ms pause per anchor).
        """
        done: list[AnchoredBatch] = []
        async with self._lock:
            for pending in await asyncio.to_thread(self.log.pending_batches):
                finished = await self._settle(pending, fresh=False)
                if finished is not None:
                    done.append(finished)
            until = await asyncio.to_thread(self.log.last_seq)
            while True:
                entries = await asyncio.to_thread(self.log.unbatched, self.max_batch, until)
                if not entries:
                    break
                tree = await build_hashed_tree([e.entry_hash for e in entries])
                sequence = await chain_work(self.contracts.chain, self._chain_sequence)
                batch = await self._db_write(self.log.open_batch_now, self.log.open_batch,
                                             _new_batch(entries, tree, sequence))
                if batch is None:
                    continue  # another recorder claimed these entries first
                anchored = await self._settle(batch, fresh=True)
                if anchored is None:
                    break
                done.append(anchored)
        if done:
            await asyncio.to_thread(self.log.compact)  # keep SQLite's write-ahead log short
            if self._after_anchor is not None:
                await self._after_anchor()  # index the anchor's block now
        return done

    async def _settle(self, batch: AuditBatchRow, *, fresh: bool) -> AnchoredBatch | None:
        """`_finish` without blocking the event loop on the database."""
        steps = self._send_steps(batch, fresh)
        if fresh:
            sent = await chain_steps(self.contracts.chain, steps)
        else:  # recovery after a restart: looking for an earlier anchor may scan the chain
            sent = await asyncio.to_thread(run_steps, steps)
        if sent is None:
            await asyncio.to_thread(self._drop, batch)
            return None
        await self._db_write(self.log.close_batch_now, self.log.close_batch, batch.sequence,
                             *sent)
        return _anchored(batch, sent)

    @staticmethod
    async def _db_write(now: Callable[..., _T], later: Callable[..., _T], *args: object) -> _T:
        """`now(*args)` on the event loop through the log's fast writer (SQLite), or, if it
        cannot take the write, `later(*args)` in a worker thread."""
        try:
            return now(*args)
        except FastWriterBusy:
            return await asyncio.to_thread(later, *args)

    # ------------------------------------------------------------------ blocking work

    def anchor_pending(self) -> list[AnchoredBatch]:
        """`anchor_now` as one blocking call (scripts and tests outside the event loop)."""
        done = [b for b in (self._finish(p) for p in self.log.pending_batches()) if b]
        while True:
            entries = self.log.unbatched(self.max_batch)
            if not entries:
                return done
            batch = self._open(entries)
            if batch is None:
                continue  # another recorder claimed these entries first
            anchored = self._finish(batch, fresh=True)
            if anchored is None:
                return done
            done.append(anchored)

    def _chain_sequence(self) -> int:
        """AuditTrail's next sequence: as last seen, or asked of the chain."""
        if self._next_sequence is None:
            self._next_sequence = self.contracts.audit.next_sequence()
        return self._next_sequence

    def _open(self, entries: list[PendingEntry], tree: MerkleTree | None = None,
              ) -> AuditBatchRow | None:
        """Write a batch of `entries` as pending (claiming them) under the next sequence."""
        tree = tree or hashed_batch_tree([e.entry_hash for e in entries])
        return self.log.open_batch(_new_batch(entries, tree, self._chain_sequence()))

    def _finish(self, batch: AuditBatchRow, fresh: bool = False) -> AnchoredBatch | None:
        """Anchor a pending batch, or confirm that an earlier attempt already did."""
        sent = run_steps(self._send_steps(batch, fresh))
        if sent is None:
            self._drop(batch)
            return None
        self.log.close_batch(batch.sequence, *sent)
        return _anchored(batch, sent)

    def _drop(self, batch: AuditBatchRow) -> None:
        log_event(_log, "anchor_sequence_taken", logging.WARNING, sequence=batch.sequence)
        self.log.drop_batch(batch.sequence)

    def _send_steps(self, batch: AuditBatchRow, fresh: bool,
                    ) -> Generator[None, None, tuple[str, int] | None]:
        """The chain's part of `_finish`, in steps (Chain.transact_steps): the anchoring
        transaction and block, or None when another recorder took the batch's sequence.

        A `fresh` batch was opened just now under the chain's next sequence, so no earlier
        attempt can have sent it: the eth_call looking for it is skipped (a recorder that
        took the sequence meanwhile makes the anchor revert with SequenceMismatch).
        """
        audit = self.contracts.audit
        self._next_sequence = None  # until this batch is settled
        on_chain = bytes(32) if fresh else audit.batch_root(batch.sequence)
        if on_chain == bytes(batch.root):
            found = self._find_anchor(batch.sequence)
            sent = (found.tx_hash, found.block_number) if found else ("", -1)
        elif any(on_chain):
            return None
        else:
            try:
                result = yield from audit.anchor_batch_steps(
                    self.recorder, batch.sequence, bytes(batch.root),
                    batch.last_seq - batch.first_seq + 1,
                    batch.first_decision_at, batch.last_decision_at, gas=ANCHOR_GAS,
                )
            except SequenceMismatch:
                return None
            sent = (result.tx_hash, result.block_number)
        self._next_sequence = batch.sequence + 1
        return sent

    def _find_anchor(self, sequence: int) -> BatchAnchored | None:
        events = self.contracts.events.fetch(self.contracts.deployment.start_block)
        for event in events:
            if isinstance(event, BatchAnchored) and event.sequence == sequence:
                return event
        return None
