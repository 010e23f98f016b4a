"""Where the gateway's background chain calls run: inline for the embedded chain, in a
worker thread for a node.

The embedded chain is py-evm, Python in this process. In a worker thread it holds the GIL in
5 ms turns against the event loop, which hands the GIL back at every SQLite statement and
socket write of every request it serves: for as long as the chain work lasts, every request
in flight waits several times over (measured: an anchor's ~30 ms of py-evm slowed ~100
requests past twice the usual p99). Inline, the same work is one short pause that delays
only the requests in flight, once. A node is reached over the network, so its calls wait in
a thread as usual. Inline work never waits on another thread's use of the chain (a
wallet's long eth_getLogs through /rpc, say): if the chain is busy, plain calls go to a
worker thread, and the next step of a transaction waits for it asynchronously.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Generator
from typing import TypeVar

from contracts.chain import Chain, run_steps

_T = TypeVar("_T")
BUSY_WAIT_S = 0.002
"""How often a transaction's next step looks again whether another thread left the chain."""


async def chain_work(chain: Chain, fn: Callable[..., _T], *args: object,
                     inline: bool = True) -> _T:
    """`fn(*args)`: inline on the embedded chain (unless `inline` is False: long work such as
    a catch-up over many blocks), else in a worker thread."""
    if inline and chain.embedded and chain.idle():
        return fn(*args)
    return await asyncio.to_thread(fn, *args)


async def chain_steps(chain: Chain, steps: Generator[None, None, _T]) -> _T:
    """Run a step generator (Chain.transact_steps): inline on the embedded chain, serving
    requests between its steps (an anchor's ~25 ms of py-evm becomes pauses of at most
    ~19 ms, the block's mining), else in a worker thread."""
    if not chain.embedded:
        return await asyncio.to_thread(run_steps, steps)
    try:
        while True:
            while not chain.idle():  # another thread is using the chain: wait off the loop
                await asyncio.sleep(BUSY_WAIT_S)
            try:
                next(steps)
            except StopIteration as done:
                return done.value  # type: ignore[no-any-return]
            await asyncio.sleep(0)
    finally:
        steps.close()  # cancelled mid-way: release the chain's send lock
