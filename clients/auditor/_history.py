"""The chain's governance state at any block, rebuilt from events alone.

`ChainHistory` is event sourcing over the three contracts (contracts.events types): for every
(subject, grantee, category, purpose) it keeps the ordered grants and revocations, for every
(account, role) its grants and revocations, and the anchored batches by sequence. Queries take
a block (and, for expiries, a time) and answer from the last event at or before the end of
that block: what the contracts would have said then, without trusting anything the gateway
stored and without reading contract storage.
"""

from __future__ import annotations

import bisect
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from contracts.events import (
    AgreementGranted,
    AgreementRevoked,
    BatchAnchored,
    CategoryClassified,
    ChainEvent,
    ConsentGranted,
    ConsentRevoked,
    DecisionRecorded,
    RoleGranted,
    RoleRevoked,
    StakeholderRegistered,
)

_END = 2**62
ConsentEvent = ConsentGranted | ConsentRevoked
TermsKey = tuple[str, str, bytes, bytes]


def _upto(events: list[ChainEvent], block: int) -> ChainEvent | None:
    """The last event in `events` (in chain order) at or before the end of `block`."""
    i = bisect.bisect_right([e.order for e in events], (block, _END, _END))
    return events[i - 1] if i else None


@dataclass(frozen=True)
class ConsentStatus:
    """Whether a consent held at a block and time, and which events say so."""

    valid: bool
    reason: str
    grant: ConsentGranted | None = None
    """The grant in force (or the last grant, when it expired or was revoked)."""
    revocation: ConsentRevoked | None = None
    """The revocation in force, when the consent was withdrawn."""


@dataclass
class ChainHistory:
    """Roles, keys, consents, agreements and audit anchors, replayed from events."""

    events: list[ChainEvent]
    block_times: Mapping[int, int]
    """Timestamps of the blocks that carry events (and of the head)."""
    head_block: int
    batches: dict[int, BatchAnchored] = field(default_factory=dict)
    decisions: dict[bytes, DecisionRecorded] = field(default_factory=dict)
    keys: dict[str, StakeholderRegistered] = field(default_factory=dict)
    _roles: dict[tuple[str, bytes], list[ChainEvent]] = field(default_factory=dict, repr=False)
    _consents: dict[TermsKey, list[ChainEvent]] = field(default_factory=dict, repr=False)
    _agreements: dict[TermsKey, list[ChainEvent]] = field(default_factory=dict, repr=False)
    _categories: dict[bytes, list[ChainEvent]] = field(default_factory=dict, repr=False)

    @classmethod
    def from_events(
        cls, events: Iterable[ChainEvent], block_times: Mapping[int, int], head_block: int
    ) -> ChainHistory:
        """Replay `events` in chain order."""
        ordered = sorted(events, key=lambda e: e.order)
        history = cls(events=ordered, block_times=dict(block_times), head_block=head_block)
        roles, consents = defaultdict(list), defaultdict(list)
        agreements, categories = defaultdict(list), defaultdict(list)
        for e in ordered:
            match e:
                case RoleGranted() | RoleRevoked():
                    roles[(e.account, e.role)].append(e)
                case ConsentGranted() | ConsentRevoked():
                    consents[(e.subject, e.grantee, e.category, e.purpose)].append(e)
                case AgreementGranted() | AgreementRevoked():
                    agreements[(e.provider, e.consumer, e.category, e.purpose)].append(e)
                case CategoryClassified():
                    categories[e.category].append(e)
                case BatchAnchored():
                    history.batches[e.sequence] = e
                case DecisionRecorded():
                    history.decisions[e.leaf] = e
                case StakeholderRegistered():
                    history.keys[e.account] = e
        history._roles, history._consents = dict(roles), dict(consents)
        history._agreements, history._categories = dict(agreements), dict(categories)
        return history

    def time_of(self, event: ChainEvent) -> int:
        """The timestamp of the block that mined `event`."""
        return self.block_times[event.block_number]

    # ------------------------------------------------------------------ roles

    def roles_at(self, account: str, block: int) -> set[bytes]:
        """The role ids `account` held at the end of `block`."""
        held = set()
        for (who, role), changes in self._roles.items():
            if who == account and isinstance(_upto(changes, block), RoleGranted):
                held.add(role)
        return held

    # ------------------------------------------------------------------ consents

    def consent_at(
        self, subject: str, grantee: str, category: bytes, purpose: bytes, block: int, at_time: int
    ) -> ConsentStatus:
        """ConsentLedger.isAllowed as of the end of `block`, its expiry compared to `at_time`.

        The latest grant or revocation decides; a grant holds while `at_time` < expiry.
        """
        changes = self._consents.get((subject, grantee, category, purpose), [])
        last = _upto(changes, block)
        if last is None:
            return ConsentStatus(
                False, f"no consent had been granted for these terms by block {block}"
            )
        if isinstance(last, ConsentRevoked):
            earlier = [c for c in changes if isinstance(c, ConsentGranted) and c.order < last.order]
            return ConsentStatus(
                False,
                f"revoked at block {last.block_number} (tx {last.tx_hash})",
                grant=earlier[-1] if earlier else None,
                revocation=last,
            )
        assert isinstance(last, ConsentGranted)
        if at_time >= last.expiry:
            return ConsentStatus(False, f"expired at {last.expiry}, before {at_time}", grant=last)
        return ConsentStatus(
            True, f"granted at block {last.block_number}, until {last.expiry}", grant=last
        )

    def consent_changes(self, subject: str | None = None) -> list[ConsentEvent]:
        """Every grant and revocation (optionally of one subject), in chain order."""
        return [
            e
            for e in self.events
            if isinstance(e, ConsentGranted | ConsentRevoked)
            and (subject is None or e.subject == subject)
        ]

    def is_personal(self, category: bytes, block: int, default: bool) -> bool:
        """Whether governance had marked `category` personal by `block` (else `default`)."""
        last = _upto(self._categories.get(category, []), block)
        return last.personal if isinstance(last, CategoryClassified) else default

    def agreement_at(
        self,
        provider: str,
        consumer: str,
        category: bytes,
        purpose: bytes,
        block: int,
        at_time: int,
    ) -> AgreementGranted | None:
        """The organisation agreement in force at `block` and `at_time`, if any."""
        last = _upto(self._agreements.get((provider, consumer, category, purpose), []), block)
        if isinstance(last, AgreementGranted) and at_time < last.expiry:
            return last
        return None

    # ------------------------------------------------------------------ anchors

    def batch_chain_breaks(self) -> list[str]:
        """Problems in the batch sequence: gaps, or a previous root that is not the last root."""
        problems, previous = [], bytes(32)
        for seq in range(1, max(self.batches, default=0) + 1):
            batch = self.batches.get(seq)
            if batch is None:
                problems.append(f"batch {seq} is missing from the chain's events")
                continue
            if batch.previous_root != previous:
                problems.append(f"batch {seq} does not chain to batch {seq - 1}'s root")
            previous = batch.root
        return problems

    def anchored_entries(self) -> int:
        """Decisions anchored in batches (sum of entry counts)."""
        return sum(b.entry_count for b in self.batches.values())
