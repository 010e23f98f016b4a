"""The permission index: roles, keys, consents, agreements and audit anchors, from events.

Rebuilt from the three contracts' events and advanced block by block; every answer names
the block it holds for. Pure state, no I/O: `gateway.sync` feeds it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from contracts.events import (
    AgreementGranted,
    AgreementRevoked,
    BatchAnchored,
    CategoryClassified,
    ChainEvent,
    ConsentGranted,
    ConsentRevoked,
    RoleGranted,
    RoleRevoked,
    StakeholderRegistered,
)
from contracts.names import ROLE_NAMES, term_id

ROLE_BY_ID: dict[bytes, str] = {term_id(name): name for name in ROLE_NAMES}

Terms = tuple[str, str, bytes, bytes]
"""(party a, party b, category id, purpose id): consents and agreements share the shape."""


@dataclass
class PermissionIndex:
    """What the chain says at block `block` (-1 before the first sync)."""

    block: int = -1
    block_time: int = 0
    roles: dict[str, set[str]] = field(default_factory=dict)
    key_hashes: dict[str, bytes] = field(default_factory=dict)
    consents: dict[Terms, int] = field(default_factory=dict)
    agreements: dict[Terms, int] = field(default_factory=dict)
    personal: dict[bytes, bool] = field(default_factory=dict)
    batches: dict[int, BatchAnchored] = field(default_factory=dict)
    batch_by_root: dict[bytes, BatchAnchored] = field(default_factory=dict)

    def apply(self, events: Iterable[ChainEvent], *, block: int, block_time: int) -> int:
        """Apply events of blocks up to `block` (in chain order); returns how many applied."""
        count = 0
        for event in events:
            self._apply_one(event)
            count += 1
        self.block = max(self.block, block)
        self.block_time = max(self.block_time, block_time)
        return count

    def _apply_one(self, event: ChainEvent) -> None:
        match event:
            case RoleGranted(role=role, account=account):
                name = ROLE_BY_ID.get(bytes(role))
                if name is not None:
                    self.roles.setdefault(account, set()).add(name)
            case RoleRevoked(role=role, account=account):
                name = ROLE_BY_ID.get(bytes(role))
                if name is not None:
                    self.roles.get(account, set()).discard(name)
            case StakeholderRegistered(account=account, public_key_hash=key_hash):
                self.key_hashes[account] = bytes(key_hash)
            case ConsentGranted(subject=s, grantee=g, category=c, purpose=p, expiry=expiry):
                self.consents[(s, g, bytes(c), bytes(p))] = int(expiry)
            case ConsentRevoked(subject=s, grantee=g, category=c, purpose=p):
                self.consents.pop((s, g, bytes(c), bytes(p)), None)
            case AgreementGranted(provider=a, consumer=b, category=c, purpose=p, expiry=expiry):
                self.agreements[(a, b, bytes(c), bytes(p))] = int(expiry)
            case AgreementRevoked(provider=a, consumer=b, category=c, purpose=p):
                self.agreements.pop((a, b, bytes(c), bytes(p)), None)
            case CategoryClassified(category=c, personal=personal):
                self.personal[bytes(c)] = bool(personal)
            case BatchAnchored(sequence=sequence, root=root):
                self.batches[int(sequence)] = event
                self.batch_by_root[bytes(root)] = event
            case _:
                pass  # admin proposals and single decisions change no permission

    # ------------------------------------------------------------------ questions

    def roles_of(self, account: str) -> frozenset[str]:
        """The roles `account` holds (checksummed address)."""
        return frozenset(self.roles.get(account, ()))

    def has_role(self, account: str, role: str) -> bool:
        return role in self.roles.get(account, ())

    def consent_live(self, subject: str, grantee: str, category: bytes, purpose: bytes,
                     now: int) -> bool:
        """Like ConsentLedger.isAllowed: a recorded consent whose expiry is after `now`."""
        return now < self.consents.get((subject, grantee, category, purpose), 0)

    def agreement_live(self, provider: str, consumer: str, category: bytes, purpose: bytes,
                       now: int) -> bool:
        """Like ConsentLedger.isAgreed."""
        return now < self.agreements.get((provider, consumer, category, purpose), 0)

    def is_personal(self, category: bytes) -> bool:
        """Whether governance marked the category personal on chain."""
        return self.personal.get(category, False)
