"""Gas-free consent: the gateway relays citizens' EIP-712 signed grants and revocations.

A citizen signs a GrantConsent or RevokeConsent message in the wallet; the gateway's relayer
account sends it to `ConsentLedger.grantConsentBySig` / `revokeConsentBySig` and pays the
gas, so a citizen needs no ether. The contract stays the judge of deadline, nonce and
signer. The gateway checks the signer and the deadline first anyway, so that a forged or
stale message costs neither a chain call nor the subject's relay budget; it relays only for
registered citizens (the relayer's ether is the city's, not a faucet for any address), and
each subject gets a bounded number of relays per window.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from eth_account.signers.local import LocalAccount
from eth_keys.exceptions import BadSignature as _EthBadSignature

from contracts import (
    Chain,
    ChainError,
    Eip712Domain,
    GrantConsentMessage,
    QcityContracts,
    SignedConsent,
    TxResult,
    recover_signer,
)
from contracts.errors import InvalidSignature, SignatureExpired
from gateway.errors import RoleMissing, TooManyRelays
from gateway.logs import log_event
from gateway.permissions import PermissionEngine
from gateway.sync import IndexSyncer

_log = logging.getLogger("qcity.gateway.relay")
_ZERO = "0x0000000000000000000000000000000000000000"
MIN_BALANCE_WEI = 10**18
"""Below this the relayer is topped up from the chain's faucet or funder."""
TOP_UP_WEI = 100 * MIN_BALANCE_WEI


def ensure_funded(chain: Chain, address: str, *, minimum: int = MIN_BALANCE_WEI,
                  amount: int = TOP_UP_WEI) -> bool:
    """Top `address` up when its balance is below `minimum`; False when nobody could pay.

    On a chain without a faucet or funder the relayer must be funded by its operator; the
    gateway still starts, and relays then fail with the chain's refusal.
    """
    try:
        if chain.balance(address) >= minimum:
            return True
        chain.fund(address, amount)
        return True
    except ChainError as exc:
        log_event(_log, "relayer_unfunded", logging.WARNING, code=exc.code)
        return False


class RelayRateLimiter:
    """At most `max_events` relays per subject in any `window_s` seconds (sliding window).

    Memory is bounded: subjects whose window is empty are forgotten once many are tracked.
    """

    def __init__(self, max_events: int, window_s: float, *,
                 clock: Callable[[], float] = time.monotonic, max_subjects: int = 100_000) -> None:
        self.max_events = max_events
        self.window_s = window_s
        self._clock = clock
        self._max_subjects = max_subjects
        self._hits: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def hit(self, subject: str) -> None:
        """Count one relay for `subject`, or raise TooManyRelays (with `retry_after_s`)."""
        now = self._clock()
        with self._lock:
            hits = self._hits.setdefault(subject, deque())
            while hits and hits[0] <= now - self.window_s:
                hits.popleft()
            if len(hits) >= self.max_events:
                retry = max(1, int(hits[0] + self.window_s - now + 0.999))
                raise TooManyRelays(retry_after_s=retry, limit=self.max_events,
                                    window_s=self.window_s)
            hits.append(now)
            if len(self._hits) > self._max_subjects:
                self._forget(now)

    def _forget(self, now: float) -> None:
        for subject in [s for s, h in self._hits.items() if not h or h[-1] <= now - self.window_s]:
            del self._hits[subject]


@dataclass(frozen=True, slots=True)
class Relayed:
    """A relayed consent, mined: what the wallet shows and what a receipt's evidence names."""

    kind: Literal["grant", "revoke"]
    subject: str
    nonce: int
    tx_hash: str
    block_number: int
    relayer: str


class ConsentRelay:
    """Sends citizens' signed consents with the gateway's relayer account."""

    def __init__(
        self,
        contracts: QcityContracts,
        relayer: LocalAccount,
        *,
        engine: PermissionEngine,
        syncer: IndexSyncer,
        limiter: RelayRateLimiter,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.contracts = contracts
        self.relayer = relayer
        self.domain = Eip712Domain(contracts.chain.chain_id, contracts.deployment.consent_ledger)
        self._engine = engine
        self._syncer = syncer
        self._limiter = limiter
        self._clock = clock

    @property
    def address(self) -> str:
        """The relayer's address: ConsentGranted/Revoked events name it as `relayer`."""
        return str(self.relayer.address)

    def precheck(self, signed: SignedConsent) -> None:
        """The contract's own signer and deadline rules, judged here before any chain call.

        Raises the contract's errors (`InvalidSignature` with the recovered address,
        `SignatureExpired`), so a refusal reads the same whether the gateway or the chain
        made it. The deadline is judged by the wall clock: an embedded chain's latest block
        can be minutes old while nothing is sent.
        """
        message = signed.message
        try:
            recovered = recover_signer(self.domain, signed)
        except (ValueError, _EthBadSignature):
            recovered = _ZERO
        if recovered.lower() != message.subject.lower():
            raise InvalidSignature({"subject": message.subject, "recovered": recovered},
                                   contract="ConsentLedger")
        now = int(self._clock())
        if now > message.deadline:
            raise SignatureExpired({"deadline": message.deadline, "currentTime": now},
                                   contract="ConsentLedger")

    async def relay(self, signed: SignedConsent) -> Relayed:
        """Check, count against the subject's budget, send, and index the new block.

        Raises the contract's refusals (`InvalidSignature` 401, `SignatureExpired` 410,
        `InvalidNonce` 409, `ConsentNotFound` 404, ...), `RoleMissing` when the subject is not
        a registered citizen, `TooManyRelays` (429), or 503 when the chain is out of view.
        """
        self.precheck(signed)
        subject = signed.message.subject
        await self._syncer.in_step()
        if "CITIZEN" not in self._engine.roles_of(subject):
            raise RoleMissing("Only registered citizens' consents are relayed.", role="CITIZEN",
                              block=self._engine.block)
        self._limiter.hit(subject)
        result = await asyncio.to_thread(self._send, signed)
        await self._syncer.sync_now()  # read-your-writes: the next check sees this block
        kind: Literal["grant", "revoke"] = (
            "grant" if isinstance(signed.message, GrantConsentMessage) else "revoke"
        )
        log_event(_log, "consent_relayed", kind=kind, block=result.block_number,
                  tx_hash=result.tx_hash)
        return Relayed(kind, subject, signed.message.nonce, result.tx_hash, result.block_number,
                       self.address)

    def _send(self, signed: SignedConsent) -> TxResult:
        ledger = self.contracts.consent
        ensure_funded(self.contracts.chain, self.address)
        if isinstance(signed.message, GrantConsentMessage):
            return ledger.grant_consent_by_sig(self.relayer, signed)
        return ledger.revoke_consent_by_sig(self.relayer, signed)


def build_relay(contracts: QcityContracts, relayer: LocalAccount, engine: PermissionEngine,
                syncer: IndexSyncer, *, max_per_subject: int, window_s: float) -> ConsentRelay:
    """The relay a runtime holds; funds the relayer now so the first relay does not wait."""
    ensure_funded(contracts.chain, relayer.address)
    return ConsentRelay(contracts, relayer, engine=engine, syncer=syncer,
                        limiter=RelayRateLimiter(max_per_subject, window_s))
