"""The audit log's writer: the on-loop SQLite connection, its fallback, and shared files."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

from eth_utils import keccak as reference_keccak

from contracts.merkle import MerkleTree, hash_pair, leaf_hash
from gateway.audit.anchorer import build_tree
from gateway.audit.log import AuditLog
from gateway.audit.records import (
    AuditBatchRow,
    DecisionRecord,
    encode,
    entry_hash,
    leaf_of,
    node_of,
)
from gateway.db import make_engine, make_fast_writer

ACTOR = "0x" + "ab" * 20
SUBJECT = "0x" + "cd" * 20


def _record(i: int) -> DecisionRecord:
    return DecisionRecord(
        decided_at_ms=1_700_000_000_000 + i, actor=ACTOR, action="read",
        resource=f"urn:ngsi-ld:Meter:{i % 3}", category="energy.household_meter",
        purpose="dpv:ServiceProvision", subject=SUBJECT, provider=None, allowed=i % 2 == 0,
        reason="consent" if i % 2 == 0 else "consent_missing", block=i,
    )


def _log(path: Path) -> AuditLog:
    url = f"sqlite:///{path}"
    return AuditLog(make_engine(url), fast_engine=make_fast_writer(url))


def test_concurrent_appends_on_the_loop_form_one_verifiable_chain(tmp_path: Path) -> None:
    log = _log(tmp_path / "a.db")

    async def main() -> list:
        return await asyncio.gather(*(log.append(_record(i)) for i in range(50)))

    receipts = asyncio.run(main())
    assert sorted(r.seq for r in receipts) == list(range(1, 51))
    assert log.verify_chain() == 50
    for receipt in receipts:
        row = log.entry(receipt.seq)
        assert row is not None and row.entry_hash == receipt.entry_hash
        assert row.entry_hash == reference_keccak(row.entry)
    assert log.unanchored == 50


def test_busy_database_defers_to_a_thread_and_commits_once_free(tmp_path: Path) -> None:
    path = tmp_path / "a.db"
    log = _log(path)
    blocker = sqlite3.connect(path, isolation_level=None)
    blocker.execute("BEGIN IMMEDIATE")  # another writer holds the file

    async def main() -> list:
        pending = asyncio.gather(*(log.append(_record(i)) for i in range(5)))
        await asyncio.sleep(0.2)
        assert not pending.done()  # nothing is acknowledged before it is committed
        blocker.execute("COMMIT")
        return await pending

    receipts = asyncio.run(main())
    blocker.close()
    assert sorted(r.seq for r in receipts) == [1, 2, 3, 4, 5]
    assert not log._fast.in_transaction  # the failed fast attempt left nothing open
    asyncio.run(log.append(_record(5)))  # and the fast path works again
    assert log.verify_chain() == 6


def test_two_writers_sharing_one_file_keep_one_chain(tmp_path: Path) -> None:
    first, second = _log(tmp_path / "a.db"), _log(tmp_path / "a.db")

    async def main() -> None:
        for i in range(20):
            await (first if i % 2 else second).append(_record(i))
        await asyncio.gather(*(w.append(_record(i)) for i in range(10) for w in (first, second)))

    asyncio.run(main())
    assert first.verify_chain() == 40


def test_fast_hashes_match_the_chain_layer_definitions() -> None:
    entries = [encode(i + 1, bytes(32), _record(i)) for i in range(9)]
    assert [entry_hash(e) for e in entries] == [reference_keccak(e) for e in entries]
    assert [leaf_of(e) for e in entries] == [leaf_hash(e) for e in entries]
    a, b = leaf_of(entries[0]), leaf_of(entries[1])
    assert node_of(a, b) == node_of(b, a) == hash_pair(a, b)
    tree = asyncio.run(build_tree(entries, slice_size=2))
    assert tree.root == MerkleTree.from_leaves([leaf_hash(e) for e in entries]).root


def test_unbatched_stops_at_the_given_entry(tmp_path: Path) -> None:
    log = _log(tmp_path / "a.db")
    log.write([_record(i) for i in range(6)])
    assert log.last_seq() == 6
    assert [e.seq for e in log.unbatched(10, until=4)] == [1, 2, 3, 4]
    assert [e.seq for e in log.unbatched(2, until=4)] == [1, 2]
    assert [e.seq for e in log.unbatched(10)] == [1, 2, 3, 4, 5, 6]


def test_multi_row_inserts_keep_one_chain_across_chunks(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr("gateway.audit.log._ROWS_PER_INSERT", 3)
    log = _log(tmp_path / "a.db")
    receipts = log._write_now([_record(i) for i in range(8)])
    assert receipts is not None and [r.seq for r in receipts] == list(range(1, 9))
    receipts = log._write_now([_record(i) for i in range(2)])
    assert receipts is not None and [r.seq for r in receipts] == [9, 10]
    assert log.verify_chain() == 10
    assert [log.entry(r.seq).entry_hash for r in receipts] == [r.entry_hash for r in receipts]


def test_unbatched_starts_after_the_last_batch_and_carries_the_stored_hashes(
        tmp_path: Path) -> None:
    log = _log(tmp_path / "a.db")
    log.write([_record(i) for i in range(6)])
    assert [e.entry_hash for e in log.unbatched(10)] == [
        log.entry(i).entry_hash for i in range(1, 7)]
    assert log.open_batch(AuditBatchRow(sequence=1, root=bytes(32), first_seq=1, last_seq=4,
                                        first_decision_at=0, last_decision_at=0))
    assert [e.seq for e in log.unbatched(10)] == [5, 6]
    assert [e.decided_at_ms for e in log.unbatched(1, until=5)] == [_record(4).decided_at_ms]
