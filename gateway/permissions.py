"""The permission engine: rules (gateway.policy) over facts from the index or the chain.

`indexed` (the default) answers from the in-memory event index in microseconds, after the
fail-closed freshness gate. `naive` asks the contracts with one eth_call per question and
exists only as the benchmark's baseline.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from contracts.deploy import QcityContracts
from contracts.names import DATA_CATEGORIES, term_id
from gateway.index import PermissionIndex
from gateway.policy import AccessRequest, Facts, decide
from gateway.sync import IndexSyncer


@dataclass(frozen=True, slots=True)
class Decision:
    """An answer of the engine, naming the block it holds for."""

    request: AccessRequest
    allowed: bool
    reason: str
    block: int
    decided_at_ms: int


class _IndexFacts:
    """Facts from the index, judged at the later of the head block's time and now.

    The embedded chain's block time stands still while nothing is mined; judging expiries
    against the wall clock too means an expired consent never outlives its expiry.
    """

    __slots__ = ("_index", "_now")

    def __init__(self, index: PermissionIndex, now: int) -> None:
        self._index = index
        self._now = now

    def has_role(self, account: str, role: str) -> bool:
        return self._index.has_role(account, role)

    def consent_live(self, subject: str, grantee: str, category: bytes, purpose: bytes) -> bool:
        return self._index.consent_live(subject, grantee, category, purpose, self._now)

    def agreement_live(self, provider: str, consumer: str, category: bytes,
                       purpose: bytes) -> bool:
        return self._index.agreement_live(provider, consumer, category, purpose, self._now)


class _ChainFacts:
    """Facts straight from the contracts: one eth_call per question (the naive baseline)."""

    def __init__(self, contracts: QcityContracts) -> None:
        self._c = contracts

    def has_role(self, account: str, role: str) -> bool:
        return self._c.registry.has_role(role, account)

    def consent_live(self, subject: str, grantee: str, category: bytes, purpose: bytes) -> bool:
        return self._c.consent.is_allowed(subject, grantee, category, purpose)

    def agreement_live(self, provider: str, consumer: str, category: bytes,
                       purpose: bytes) -> bool:
        return self._c.consent.is_agreed(provider, consumer, category, purpose)


class PermissionEngine:
    """Answers access requests and the identity questions sessions need."""

    def __init__(
        self,
        index: PermissionIndex,
        syncer: IndexSyncer,
        contracts: QcityContracts,
        *,
        mode: Literal["indexed", "naive"] = "indexed",
        extra_personal: Callable[[str], bool] | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.index = index
        self.syncer = syncer
        self.mode = mode
        self._chain_facts = _ChainFacts(contracts)
        self._extra_personal = extra_personal
        self._clock = clock
        self._personal_cache: dict[str, bool] = {}
        self._personal_block = -2

    @property
    def block(self) -> int:
        return self.index.block

    def is_personal(self, category: str) -> bool:
        """Personal if the chain, the contracts' registry or the twin says so (the strictest)."""
        if self._personal_block != self.index.block:
            self._personal_cache.clear()
            self._personal_block = self.index.block
        known = self._personal_cache.get(category)
        if known is None:
            known = (
                self.index.is_personal(term_id(category))
                or DATA_CATEGORIES.get(category, False)
                or bool(self._extra_personal and self._extra_personal(category))
            )
            self._personal_cache[category] = known
        return known

    def check(self, request: AccessRequest) -> Decision:
        """Decide one request; raises ChainStale / IndexLagging (503) when it cannot.

        In naive mode the facts come from eth_calls (ChainUnavailable when the node is down)
        and the block named is the index's, for information only.
        """
        now = self._clock()
        facts: Facts
        if self.mode == "naive":
            block = self.index.block
            facts = self._chain_facts
        else:
            block = self.syncer.ensure_fresh()
            facts = _IndexFacts(self.index, max(self.index.block_time, int(now)))
        verdict = decide(request, facts, self.is_personal)
        return Decision(request, verdict.allowed, verdict.reason, block, int(now * 1000))

    # ------------------------------------------------------------------ identity

    def key_hash(self, account: str) -> bytes | None:
        """sha256 of the account's registered ML-DSA-65 public key, or None."""
        self.syncer.ensure_fresh()
        return self.index.key_hashes.get(account)

    def roles_of(self, account: str) -> frozenset[str]:
        """The roles the account holds at the index's block."""
        self.syncer.ensure_fresh()
        return self.index.roles_of(account)
