"""Read the chain for the auditor: contract events, block times, and time-to-block lookups.

Everything goes through contracts/ (Chain, EventReader, verify_deployment): the auditor first
checks that each address holds exactly the committed, audited contract code, then replays
the events from the deployment's first block to the head. Nothing the gateway stored is read.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from clients.auditor._history import ChainHistory
from contracts.chain import Chain
from contracts.deploy import Deployment, verify_deployment
from contracts.events import EventReader


@dataclass(frozen=True)
class ChainSnapshot:
    """The history and where it was read: chain id, deployment, head block."""

    chain_id: int
    deployment: Deployment
    history: ChainHistory
    time_of_block: Callable[[int], int] = field(repr=False)
    """Timestamp of any block (cached reads for blocks without events)."""


def _timestamp(chain: Chain, block: int) -> int:
    with chain.rpc_errors():
        return int(chain.w3.eth.get_block(block)["timestamp"])


def load_history(
    chain: Chain, deployment: Deployment, *, to_block: int | None = None
) -> ChainSnapshot:
    """Verify the deployment's code, then replay its events up to `to_block` (default head)."""
    verify_deployment(chain, deployment)
    head = chain.block_number() if to_block is None else to_block
    events = EventReader(chain, deployment.addresses()).fetch(deployment.start_block, head)
    blocks = {e.block_number for e in events} | {head}
    times = {b: _timestamp(chain, b) for b in sorted(blocks)}
    history = ChainHistory.from_events(events, times, head)

    def time_of_block(block: int) -> int:
        if block not in times:
            times[block] = _timestamp(chain, block)
        return times[block]

    return ChainSnapshot(chain.chain_id, deployment, history, time_of_block)


def block_at_time(chain: Chain, when: int, head: int) -> int:
    """The last block mined at or before unix time `when` (binary search, log2(head) reads)."""
    if _timestamp(chain, 0) > when:
        raise ValueError(f"time {when} is before the chain's first block")
    lo, hi = 0, head
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if _timestamp(chain, mid) <= when:
            lo = mid
        else:
            hi = mid - 1
    return lo


def block_time(chain: Chain, block: int) -> int:
    """The timestamp of `block`."""
    return _timestamp(chain, block)
