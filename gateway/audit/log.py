"""The local audit log: append-only, hash-chained, written before the response leaves.

Appends are group-committed: requests that arrive while a commit is running wait for the
next one, so one database transaction carries many decisions under load and a lone
request still commits at once. Sequence numbers and hash links are assigned inside the
transaction from the stored tail, so several gateway processes can share one database
(a unique sequence makes a racing writer retry).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine, func, insert, select, update
from sqlalchemy.exc import IntegrityError, OperationalError

from gateway.audit.records import (
    GENESIS_HASH,
    AuditBatchRow,
    AuditEntryRow,
    DecisionRecord,
    encode,
    entry_hash,
)
from gateway.errors import GatewayError
from gateway.logs import log_event

_log = logging.getLogger("qcity.gateway.audit")
_ENTRY = AuditEntryRow.__table__  # type: ignore[attr-defined]
_BATCH = AuditBatchRow.__table__  # type: ignore[attr-defined]


class AuditUnavailable(GatewayError):
    """The decision could not be written to the audit log, so it is not acted on."""

    code = "audit_unavailable"
    http_status = 503


class FastWriterBusy(Exception):
    """The event loop's own SQLite connection cannot take this write now (there is none, or
    the file is busy): make the same write from a worker thread instead."""


class AuditChainBroken(GatewayError):
    """The stored audit log's hash chain does not verify."""

    code = "audit_chain_broken"
    http_status = 500


@dataclass(frozen=True, slots=True)
class PendingEntry:
    """An entry waiting for a batch: its hash-chain link, keccak256(entry), is all its Merkle
    leaf needs (records.leaf_of_hash)."""

    seq: int
    entry_hash: bytes
    decided_at_ms: int


@dataclass(frozen=True, slots=True)
class AuditReceipt:
    """Where a decision landed in the log."""

    seq: int
    entry_hash: bytes


_ROWS_PER_INSERT = 256
"""Rows per multi-row INSERT of the fast writer (2,048 parameters; SQLite allows 32,766)."""

WAL_TRUNCATE_FRAMES = 16_384
"""Pages (4 KiB each) the SQLite write-ahead log may hold before `compact` truncates it."""

TAIL_MAX = 65_536
"""Unanchored entries the log keeps in memory for the anchorer (~150 bytes each); beyond
that (a long chain outage) the anchorer reads them back from the store."""

_INSERT_COLUMNS = ("seq", "entry", "entry_hash", "decided_at_ms", "actor", "subject", "allowed",
                   "reason")


def _driver_sql(paramstyle: str) -> tuple[str, str, str]:
    """The tail query, the insert and the unbatched entries' query (after, until, limit) in
    the driver's own parameter style."""

    def marks(n: int) -> list[str]:
        if paramstyle == "qmark":
            return ["?"] * n
        if paramstyle in ("format", "pyformat"):
            return ["%s"] * n
        if paramstyle == "numeric":
            return [f":{i + 1}" for i in range(n)]
        raise ValueError(f"unsupported DB-API paramstyle {paramstyle!r}")

    table = _ENTRY.name
    tail = f"SELECT seq, entry_hash FROM {table} ORDER BY seq DESC LIMIT 1"
    insert_sql = (f"INSERT INTO {table} ({', '.join(_INSERT_COLUMNS)}) "
                  f"VALUES ({', '.join(marks(len(_INSERT_COLUMNS)))})")
    after, until, limit = marks(3)
    unbatched = (f"SELECT seq, entry_hash, decided_at_ms FROM {table} "
                 f"WHERE seq > {after} AND seq <= {until} ORDER BY seq LIMIT {limit}")
    return tail, insert_sql, unbatched


def _last(until: int | None) -> int:
    return 2**63 - 1 if until is None else until


def _pending(rows: Sequence[Any]) -> list[PendingEntry]:
    return [PendingEntry(int(r[0]), bytes(r[1]), int(r[2])) for r in rows]


def _renumbered(batch: AuditBatchRow, last_pending: Any) -> AuditBatchRow:
    """`batch` under the first sequence that is >= its own and after every pending batch."""
    sequence = max(batch.sequence, int(last_pending or 0) + 1)
    return AuditBatchRow(**{**batch.model_dump(), "sequence": sequence})


class AuditLog:
    """Appends decisions with group commit; reads entries and batches back."""

    def __init__(self, engine: Engine, *, fast_engine: Engine | None = None,
                 flush_max: int = 512, retries: int = 8) -> None:
        self.engine = engine
        self._flush_max = flush_max
        self._retries = retries
        self._queue: list[tuple[DecisionRecord, asyncio.Future[AuditReceipt]]] = []
        self._flushing: asyncio.Task[None] | None = None
        self.unanchored = 0
        self.appended = asyncio.Event()
        for table in (_ENTRY, _BATCH):
            table.create(engine, checkfirst=True)
        self._tail_sql, self._insert_sql, self._unbatched_sql = _driver_sql(
            engine.dialect.paramstyle)
        # The fast writer's own DB-API connection, checked out for the log's life: the
        # pool checkout, transaction and statement objects of SQLAlchemy cost more per
        # commit than the commit itself.
        self._fast_checkout = fast_engine.raw_connection() if fast_engine else None
        self._fast: Any = self._fast_checkout.driver_connection if self._fast_checkout else None
        self._fast_errors: tuple[type[Exception], ...] = ()
        self._insert_rows: dict[int, str] = {}
        # The newest entries this process wrote, contiguous, for `unbatched`: reading 8,192
        # rows back costs the anchorer's worker thread ~60 ms of Python, holding the GIL
        # against the event loop in 5 ms turns (every request in flight meanwhile waits).
        self._tail: list[PendingEntry] = []
        self._tail_lock = threading.Lock()
        if fast_engine is not None:
            dbapi = fast_engine.dialect.loaded_dbapi
            self._fast_errors = (dbapi.IntegrityError, dbapi.OperationalError)
        with engine.connect() as conn:
            last = conn.execute(select(func.max(_ENTRY.c.seq))).scalar()
            self.unanchored = int(last or 0) - self._batched_until(conn)

    # ------------------------------------------------------------------ appending

    async def append(self, record: DecisionRecord) -> AuditReceipt:
        """Write `record`; returns once it is committed (raises AuditUnavailable if not)."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[AuditReceipt] = loop.create_future()
        self._queue.append((record, future))
        if self._flushing is None or self._flushing.done():
            self._flushing = loop.create_task(self._flush())
        return await future

    async def drain(self) -> None:
        """Wait until every queued decision is committed (shutdown)."""
        while self._flushing is not None and not self._flushing.done():
            await asyncio.shield(self._flushing)

    async def _flush(self) -> None:
        while self._queue:
            batch = self._queue[: self._flush_max]
            del self._queue[: self._flush_max]
            records = [r for r, _ in batch]
            try:
                receipts = self._write_now(records)
                if receipts is None:
                    receipts = await asyncio.to_thread(self.write, records)
            except Exception as exc:  # noqa: BLE001 - every waiter must hear of the failure
                log_event(_log, "audit_write_failed", logging.ERROR, error=type(exc).__name__)
                for _, future in batch:
                    if not future.done():
                        future.set_exception(AuditUnavailable())
                continue
            for (_, future), receipt in zip(batch, receipts, strict=True):
                if not future.done():
                    future.set_result(receipt)
            self.unanchored += len(receipts)
            self.appended.set()

    def _write_now(self, records: Sequence[DecisionRecord]) -> list[AuditReceipt] | None:
        """One attempt on the event loop through the non-waiting SQLite connection.

        A commit here costs tens of microseconds; a worker thread would wait for the GIL
        behind the busy event loop at each of its database calls (milliseconds per commit
        under load). If the file is busy (another writer, a checkpoint) the attempt fails at
        once and the batch goes to `write` in a worker thread: the loop never waits.

        The rows go in as one multi-row INSERT, not `executemany`: SQLite steps a statement
        with the GIL released, and while a worker thread runs Python (the anchorer's chain
        calls) each release hands it the GIL for up to the switch interval (5 ms). Four
        statements a commit, not three plus one per row.
        """
        try:
            with self._fast_transaction() as conn:
                tail = conn.execute(self._tail_sql).fetchone()
                rows, receipts = self._chain(tail, records)
                for start in range(0, len(rows), _ROWS_PER_INSERT):
                    chunk = rows[start:start + _ROWS_PER_INSERT]
                    conn.execute(self._insert_rows_sql(len(chunk)),
                                 [value for row in chunk for value in row])
        except FastWriterBusy:
            return None
        self._remember(records, receipts)
        return receipts

    def _insert_rows_sql(self, n: int) -> str:
        """The fast writer's INSERT of `n` rows (SQLite's qmark style), built once per size."""
        sql = self._insert_rows.get(n)
        if sql is None:
            one = f"({', '.join('?' * len(_INSERT_COLUMNS))})"
            sql = self._insert_rows[n] = (f"INSERT INTO {_ENTRY.name} "
                                          f"({', '.join(_INSERT_COLUMNS)}) VALUES "
                                          + ", ".join([one] * n))
        return sql

    def write(self, records: Sequence[DecisionRecord]) -> list[AuditReceipt]:
        """Commit `records` as the next entries of the chain (blocking; one transaction)."""
        for _attempt in range(self._retries):
            try:
                receipts = self._write_once(records)
            except (IntegrityError, OperationalError):
                continue  # another process appended first, or the file was busy: re-read
            self._remember(records, receipts)
            return receipts
        raise AuditUnavailable()

    def _remember(self, records: Sequence[DecisionRecord],
                  receipts: Sequence[AuditReceipt]) -> None:
        """Keep committed entries' batch facts in memory while they stay contiguous."""
        if not receipts:
            return
        with self._tail_lock:
            tail = self._tail
            if tail and (tail[-1].seq + 1 != receipts[0].seq
                         or len(tail) + len(receipts) > TAIL_MAX):
                tail.clear()  # another writer's entries came between, or the tail is full
            tail.extend(PendingEntry(r.seq, r.entry_hash, record.decided_at_ms)
                        for r, record in zip(receipts, records, strict=True))

    def _write_once(self, records: Sequence[DecisionRecord]) -> list[AuditReceipt]:
        # Plain driver SQL: SQLAlchemy's statement machinery costs more per row than
        # encoding and hashing the entry.
        with self.engine.begin() as conn:
            rows, receipts = self._chain(conn.exec_driver_sql(self._tail_sql).first(), records)
            conn.exec_driver_sql(self._insert_sql, rows)
        return receipts

    @staticmethod
    def _chain(tail: Any, records: Sequence[DecisionRecord],
               ) -> tuple[list[tuple[Any, ...]], list[AuditReceipt]]:
        """The rows and receipts of `records` as the entries after the stored `tail`."""
        seq, prev = (int(tail[0]), bytes(tail[1])) if tail else (0, GENESIS_HASH)
        rows, receipts = [], []
        for record in records:
            seq += 1
            entry = encode(seq, prev, record)
            prev = entry_hash(entry)
            rows.append((seq, entry, prev, record.decided_at_ms, record.actor, record.subject,
                         record.allowed, record.reason))
            receipts.append(AuditReceipt(seq, prev))
        return rows, receipts

    # ------------------------------------------------------------------ reading

    def entry(self, seq: int) -> AuditEntryRow | None:
        """One stored entry."""
        with self.engine.connect() as conn:
            row = conn.execute(select(_ENTRY).where(_ENTRY.c.seq == seq)).first()
        return AuditEntryRow.model_validate(row._mapping) if row else None

    def entries(self, first: int, last: int) -> list[AuditEntryRow]:
        """Entries first..last inclusive, in order."""
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(_ENTRY).where(_ENTRY.c.seq.between(first, last)).order_by(_ENTRY.c.seq)
            ).all()
        return [AuditEntryRow.model_validate(r._mapping) for r in rows]

    def entries_about(self, subject: str, limit: int = 100) -> list[AuditEntryRow]:
        """The latest decisions whose data subject is `subject`."""
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(_ENTRY).where(_ENTRY.c.subject == subject)
                .order_by(_ENTRY.c.seq.desc()).limit(limit)
            ).all()
        return [AuditEntryRow.model_validate(r._mapping) for r in rows]

    @staticmethod
    def _batched_until(conn: Any) -> int:
        """The last sequence number inside a batch (batches cover 1..n without gaps)."""
        return int(conn.execute(select(func.max(_BATCH.c.last_seq))).scalar() or 0)

    def unbatched(self, limit: int, until: int | None = None) -> list[PendingEntry]:
        """The oldest entries not yet in any batch, up to entry `until` if given.

        From memory when this process wrote them all, in one run since the last batch;
        otherwise from the store (only what a batch needs: no entry bodies, and driver SQL,
        as a batch has thousands of rows).
        """
        with self.engine.connect() as conn:
            after = self._batched_until(conn)
            kept = self._kept(after, limit, _last(until))
            if kept is not None:
                return kept
            rows = conn.exec_driver_sql(self._unbatched_sql, (after, _last(until), limit)).all()
        return _pending(rows)

    def _kept(self, after: int, limit: int, last: int) -> list[PendingEntry] | None:
        """Entries after `after` (at most `limit`, none past `last`) from memory, or None when
        memory does not start right after `after`. Drops what batches already hold."""
        with self._tail_lock:
            tail = self._tail
            if tail and tail[0].seq <= after:
                del tail[:after + 1 - tail[0].seq]
            if not tail or tail[0].seq != after + 1:
                return None
            return tail[:max(0, min(limit, last - after))]

    def last_seq(self) -> int:
        """The sequence number of the newest entry (0 when the log is empty)."""
        with self.engine.connect() as conn:
            return int(conn.execute(select(func.max(_ENTRY.c.seq))).scalar() or 0)

    def batch_of(self, seq: int) -> AuditBatchRow | None:
        """The batch holding entry `seq`, if any."""
        with self.engine.connect() as conn:
            row = conn.execute(
                select(_BATCH).where(_BATCH.c.first_seq <= seq, _BATCH.c.last_seq >= seq)
            ).first()
        return AuditBatchRow.model_validate(row._mapping) if row else None

    def batch_entries(self, first: int, last: int) -> list[bytes]:
        """The encoded entries first..last, in order (a batch's leaves come from these)."""
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(_ENTRY.c.entry).where(_ENTRY.c.seq.between(first, last))
                .order_by(_ENTRY.c.seq)
            ).all()
        return [bytes(r[0]) for r in rows]

    def batch(self, sequence: int) -> AuditBatchRow | None:
        with self.engine.connect() as conn:
            row = conn.execute(select(_BATCH).where(_BATCH.c.sequence == sequence)).first()
        return AuditBatchRow.model_validate(row._mapping) if row else None

    def pending_batches(self) -> list[AuditBatchRow]:
        """Batches written locally whose anchoring is not confirmed yet, oldest first."""
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(_BATCH).where(_BATCH.c.status == "pending").order_by(_BATCH.c.sequence)
            ).all()
        return [AuditBatchRow.model_validate(r._mapping) for r in rows]

    def open_batch(self, batch: AuditBatchRow) -> AuditBatchRow | None:
        """Record `batch` as pending, claiming its entries, under its sequence or, if a
        pending batch (another recorder's unfinished work) holds that, the next free one.
        Returns the stored batch; None if another writer claimed the entries first."""
        try:
            with self.engine.begin() as conn:
                if self._batched_until(conn) != batch.first_seq - 1:
                    conn.rollback()
                    return None
                pending = conn.execute(select(func.max(_BATCH.c.sequence))
                                       .where(_BATCH.c.status == "pending")).scalar()
                stored = _renumbered(batch, pending)
                conn.execute(insert(_BATCH).values(**stored.model_dump()))
        except IntegrityError:  # another recorder took this sequence or range first
            return None
        self._claimed(stored)
        return stored

    def open_batch_now(self, batch: AuditBatchRow) -> AuditBatchRow | None:
        """`open_batch` on the event loop, through the fast writer (raises FastWriterBusy).

        The anchorer's few small writes take microseconds here; from a worker thread they
        hold SQLite's write lock while waiting for the GIL behind the busy loop, and every
        request's audit commit meanwhile finds the file busy and queues behind them.
        """
        table = _BATCH.name
        with self._fast_transaction() as conn:
            batched = conn.execute(f"SELECT max(last_seq) FROM {table}").fetchone()[0]
            if int(batched or 0) != batch.first_seq - 1:
                return None
            pending = conn.execute(
                f"SELECT max(sequence) FROM {table} WHERE status = 'pending'").fetchone()[0]
            stored = _renumbered(batch, pending)
            values = stored.model_dump()
            conn.execute(f"INSERT INTO {table} ({', '.join(values)}) "
                         f"VALUES ({', '.join('?' * len(values))})", list(values.values()))
        self._claimed(stored)
        return stored

    def _claimed(self, batch: AuditBatchRow) -> None:
        self.unanchored = max(0, self.unanchored - (batch.last_seq - batch.first_seq + 1))

    def close_batch(self, sequence: int, tx_hash: str, block_number: int) -> None:
        """Mark a batch anchored by `tx_hash`."""
        with self.engine.begin() as conn:
            conn.execute(
                update(_BATCH).where(_BATCH.c.sequence == sequence)
                .values(status="anchored", tx_hash=tx_hash, block_number=block_number)
            )

    def close_batch_now(self, sequence: int, tx_hash: str, block_number: int) -> None:
        """`close_batch` on the event loop, through the fast writer (raises FastWriterBusy)."""
        with self._fast_transaction() as conn:
            conn.execute(f"UPDATE {_BATCH.name} SET status = 'anchored', tx_hash = ?, "
                         "block_number = ? WHERE sequence = ?", (tx_hash, block_number, sequence))

    @contextlib.contextmanager
    def _fast_transaction(self) -> Iterator[Any]:
        """One write transaction on the fast writer, which never waits (see `_write_now`)."""
        conn = self._fast
        if conn is None:
            raise FastWriterBusy()
        try:
            # IMMEDIATE: take the write lock before reading anything (busy: fail at once)
            conn.execute("BEGIN IMMEDIATE")
            yield conn
            conn.commit()
        except self._fast_errors as exc:
            if conn.in_transaction:
                conn.rollback()
            raise FastWriterBusy() from exc
        except BaseException:
            if conn.in_transaction:
                conn.rollback()
            raise

    def drop_batch(self, sequence: int) -> None:
        """Forget a pending batch that lost its sequence to another recorder; entries return."""
        with self.engine.begin() as conn:
            batch = conn.execute(
                select(_BATCH.c.first_seq, _BATCH.c.last_seq).where(_BATCH.c.sequence == sequence)
            ).first()
            if batch is None:
                return
            conn.execute(_BATCH.delete().where(_BATCH.c.sequence == sequence))
        self.unanchored += int(batch[1]) - int(batch[0]) + 1

    def compact(self) -> None:
        """SQLite: fold the write-ahead log back into the database (worker threads only).

        PASSIVE never blocks the writer on the event loop (a blocked fast commit would go to
        a thread and sleep in SQLite's busy handler: a latency spike per anchor); the log
        is reused from its start once a checkpoint has caught up. Only a log that has grown
        past WAL_TRUNCATE_FRAMES anyway is truncated, which waits for writers.
        """
        if self.engine.dialect.name != "sqlite":
            return
        with self.engine.connect() as conn:
            row = conn.exec_driver_sql("PRAGMA wal_checkpoint(PASSIVE)").first()
            if row is not None and int(row[1]) > WAL_TRUNCATE_FRAMES:
                conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")

    def verify_chain(self, page: int = 1000) -> int:
        """Check every link of the hash chain; returns the number of entries checked."""
        prev, expected, checked = GENESIS_HASH, 1, 0
        while True:
            rows = self.entries(expected, expected + page - 1)
            for row in rows:
                if row.seq != expected or entry_hash(row.entry) != row.entry_hash:
                    raise AuditChainBroken(f"entry {expected} is altered or missing", seq=expected)
                if bytes(row.entry[32:64]) != prev:  # prevHash is the entry's second word
                    raise AuditChainBroken(f"entry {row.seq} does not link to its predecessor",
                                           seq=row.seq)
                prev, expected, checked = row.entry_hash, expected + 1, checked + 1
            if len(rows) < page:
                return checked
