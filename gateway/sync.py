"""Keeps the permission index in step with the chain, block by block, and says when not.

A background loop polls the head; new blocks' events are fetched (where gateway.chain_work
says) and applied on the event loop, so a request never sees half a block. `ensure_fresh`
is the fail-closed gate every permission check passes first.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable

from contracts.deploy import QcityContracts
from contracts.errors import ChainError
from contracts.events import ChainEvent
from gateway.chain_work import chain_work
from gateway.errors import ChainStale, IndexLagging
from gateway.index import PermissionIndex
from gateway.logs import log_event

_log = logging.getLogger("qcity.gateway.sync")

MAX_BLOCKS_PER_ROUND = 2_000
INLINE_BLOCKS = 8
"""On the embedded chain, rounds of fewer blocks are read inline (see gateway.chain_work);
a longer catch-up goes to a worker thread rather than hold the event loop."""


class IndexSyncer:
    """Feeds `index` from `contracts` and tracks how fresh it is."""

    def __init__(
        self,
        index: PermissionIndex,
        contracts: QcityContracts,
        *,
        poll_s: float,
        stale_s: float,
        max_lag: int,
        lag_wait_s: float = 1.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.index = index
        self.contracts = contracts
        self.poll_s = poll_s
        self.stale_s = stale_s
        self.max_lag = max_lag
        self.lag_wait_s = lag_wait_s
        self._clock = clock
        self.head = -1
        self.last_ok: float | None = None
        self.last_error: str | None = None
        self._round = asyncio.Lock()
        self._round_done = asyncio.Event()
        self._kicked: asyncio.Task[bool] | None = None
        self._listeners: list[Callable[[int], None]] = []

    def on_block(self, listener: Callable[[int], None]) -> None:
        """Call `listener(block)` after each applied round (caches keyed by block use it)."""
        self._listeners.append(listener)

    # ------------------------------------------------------------------ the gate

    def ensure_fresh(self) -> int:
        """The block the index holds for; raises 503 errors when it cannot be trusted."""
        if self.last_ok is None or self._clock() - self.last_ok > self.stale_s:
            raise ChainStale(last_error=self.last_error)
        lag = self.head - self.index.block
        if lag > self.max_lag:
            raise IndexLagging(head=self.head, block=self.index.block, max_lag=self.max_lag)
        return self.index.block

    async def in_step(self) -> int:
        """Like ensure_fresh, but a request that finds the index catching up with a new block
        waits (up to `lag_wait_s`) for it instead of failing: answers stay at the head."""
        try:
            return self.ensure_fresh()
        except IndexLagging:
            pass
        deadline = self._clock() + self.lag_wait_s
        while True:
            done = self._round_done
            if not self._round.locked() and (self._kicked is None or self._kicked.done()):
                self._kicked = asyncio.create_task(self.sync_now())
            remaining = deadline - self._clock()
            if remaining > 0:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(asyncio.shield(done.wait()), remaining)
            try:
                return self.ensure_fresh()
            except IndexLagging:
                if self._clock() >= deadline:
                    raise

    @property
    def healthy(self) -> bool:
        try:
            self.ensure_fresh()
        except (ChainStale, IndexLagging):
            return False
        return True

    # ------------------------------------------------------------------ syncing

    async def run(self) -> None:
        """Poll until cancelled; failures are logged and retried, never raised."""
        while True:
            try:
                await self.sync_now()
            except Exception as exc:  # noqa: BLE001 - a dead loop would only fail closed later
                log_event(_log, "sync_crashed", logging.ERROR, error=type(exc).__name__)
                self.last_error = "sync_crashed"
            await asyncio.sleep(self.poll_s)

    async def sync_now(self) -> bool:
        """One round: read the head, then catch up; True when fully in step afterwards."""
        async with self._round:
            try:
                chain = self.contracts.chain
                head = await chain_work(chain, chain.block_number)
                self.head = max(self.head, head)
                self.last_ok = self._clock()
                while self.index.block < self.head:
                    start = max(self.index.block + 1, self.contracts.deployment.start_block)
                    end = min(self.head, start + MAX_BLOCKS_PER_ROUND - 1)
                    events, block_time = await chain_work(
                        chain, self._fetch, start, end, inline=end - start < INLINE_BLOCKS)
                    self.index.apply(events, block=end, block_time=block_time)
                    for listener in self._listeners:
                        listener(end)
                self.last_error = None
                return True
            except ChainError as exc:
                if self.last_error != exc.code:
                    log_event(_log, "sync_failed", logging.WARNING, code=exc.code)
                self.last_error = exc.code
                return False
            finally:
                self._round_done.set()
                self._round_done = asyncio.Event()

    def _fetch(self, start: int, end: int) -> tuple[list[ChainEvent], int]:
        events = self.contracts.events.fetch(start, end) if start <= end else []
        chain = self.contracts.chain
        with chain.rpc_errors():
            block_time = int(chain.w3.eth.get_block(end)["timestamp"])
        return events, block_time

    async def wait_for_block(self, block: int, timeout: float = 10.0) -> None:
        """Wait until the index holds `block` (tests and read-your-writes)."""
        deadline = self._clock() + timeout
        while self.index.block < block:
            await self.sync_now()
            if self.index.block >= block:
                return
            if self._clock() > deadline:
                raise IndexLagging(head=self.head, block=self.index.block, max_lag=self.max_lag)
            await asyncio.sleep(self.poll_s)
