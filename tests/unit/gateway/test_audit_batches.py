"""What the anchorer reads and writes in the audit log: unanchored entries kept in memory
(never different from the store's), and batches opened and closed on the event loop's own
connection (or from a thread when the file is busy)."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

import pytest

from gateway.audit import log as audit_log
from gateway.audit.log import AuditLog, FastWriterBusy
from gateway.audit.records import AuditBatchRow, DecisionRecord
from gateway.db import make_engine, make_fast_writer

ACTOR = "0x" + "ab" * 20


def _record(i: int) -> DecisionRecord:
    return DecisionRecord(
        decided_at_ms=1_700_000_000_000 + 1000 * i, actor=ACTOR, action="read",
        resource=f"urn:ngsi-ld:Meter:{i}", category="energy.household_meter",
        purpose="dpv:ServiceProvision", subject=None, provider=None, allowed=True,
        reason="consent", block=i,
    )


def _log(path: Path) -> AuditLog:
    url = f"sqlite:///{path}"
    return AuditLog(make_engine(url), fast_engine=make_fast_writer(url))


def _stored(path: Path, limit: int = 100, until: int | None = None) -> list:
    """The store's answer: a log with nothing in memory."""
    return _log(path).unbatched(limit, until)


def _append(log: AuditLog, first: int, n: int) -> None:
    async def main() -> None:
        await asyncio.gather(*(log.append(_record(first + i)) for i in range(n)))

    asyncio.run(main())


def _batch(sequence: int, first: int, last: int) -> AuditBatchRow:
    return AuditBatchRow(sequence=sequence, root=bytes([sequence]) * 32, first_seq=first,
                         last_seq=last, first_decision_at=0, last_decision_at=0)


def test_unbatched_entries_come_from_memory_and_match_the_store(tmp_path: Path) -> None:
    path = tmp_path / "a.db"
    log = _log(path)
    _append(log, 0, 12)
    assert log._kept(0, 100, 2**63 - 1) is not None  # answered from memory
    for limit, until in ((100, None), (5, None), (100, 7), (3, 2)):
        assert log.unbatched(limit, until) == _stored(path, limit, until)
    assert log.open_batch(_batch(1, 1, 5)) is not None
    assert log.unbatched(100) == _stored(path) and [e.seq for e in log.unbatched(2)] == [6, 7]
    assert len(log._tail) == 7  # what the batch holds is dropped from memory


def test_another_writers_entries_send_the_anchorer_to_the_store(tmp_path: Path) -> None:
    path = tmp_path / "a.db"
    first, second = _log(path), _log(path)
    _append(first, 0, 3)
    _append(second, 3, 2)  # entries 4 and 5 are not in `first`'s memory
    _append(first, 5, 2)
    assert [e.seq for e in first.unbatched(100)] == [1, 2, 3, 4, 5, 6, 7]
    assert first.unbatched(100) == _stored(path)
    assert first.open_batch(_batch(1, 1, 5)) is not None
    assert first._kept(5, 100, 2**63 - 1) is not None  # memory serves again from 6 on
    assert [e.seq for e in first.unbatched(100)] == [6, 7]


def test_a_full_memory_falls_back_to_the_store(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr(audit_log, "TAIL_MAX", 4)
    path = tmp_path / "a.db"
    log = _log(path)
    for i in range(10):
        _append(log, i, 1)
    assert len(log._tail) <= 4
    assert [e.seq for e in log.unbatched(100)] == list(range(1, 11))


def test_batches_open_and_close_on_the_loop_connection(tmp_path: Path) -> None:
    path = tmp_path / "a.db"
    log = _log(path)
    _append(log, 0, 6)
    assert log.open_batch_now(_batch(1, 1, 3)) is not None  # pending, never sent
    opened = log.open_batch_now(_batch(1, 4, 6))  # sequence 1 is pending: the next is used
    assert opened is not None and opened.sequence == 2
    assert log.unanchored == 0
    assert log.open_batch_now(_batch(3, 4, 6)) is None  # claimed already
    log.close_batch_now(2, "0x" + "11" * 32, 42)
    stored = log.batch(2)
    assert stored is not None and (stored.status, stored.block_number) == ("anchored", 42)
    assert [b.sequence for b in log.pending_batches()] == [1]


def test_a_busy_file_sends_the_batch_write_to_a_thread(tmp_path: Path) -> None:
    path = tmp_path / "a.db"
    log = _log(path)
    _append(log, 0, 2)
    blocker = sqlite3.connect(path, isolation_level=None)
    blocker.execute("BEGIN IMMEDIATE")
    with pytest.raises(FastWriterBusy):
        log.open_batch_now(_batch(1, 1, 2))
    blocker.execute("COMMIT")
    blocker.close()
    assert not log._fast.in_transaction
    assert log.pending_batches() == []  # nothing half-written
    assert log.open_batch(_batch(1, 1, 2)) is not None  # the thread's way


def test_without_a_fast_writer_the_loop_writes_are_refused(tmp_path: Path) -> None:
    log = AuditLog(make_engine(f"sqlite:///{tmp_path / 'a.db'}"))
    with pytest.raises(FastWriterBusy):
        log.close_batch_now(1, "0x", 1)
