"""qcity's access rules applied to facts replayed from the chain, at any block.

The rules themselves are the gateway's (`gateway.policy.decide`: they are the published
policy, not a fact to re-derive); the facts they ask for come from `ChainHistory` only, as of
the end of the judged block with expiries compared to that block's timestamp, which is how
the contracts' views judge them. So a decision the gateway allowed is re-judged on the
chain's own record of roles, consents and agreements.
"""

from __future__ import annotations

from dataclasses import dataclass

from clients.auditor._history import ChainHistory
from contracts.events import ConsentGranted
from contracts.names import Names, UnknownName, term_id
from gateway.policy import AccessRequest, Action, Verdict, decide


@dataclass(frozen=True)
class ChainFacts:
    """The `gateway.policy.Facts` protocol answered from replayed events."""

    history: ChainHistory
    block: int
    at_time: int

    def has_role(self, account: str, role: str) -> bool:
        return term_id(role) in self.history.roles_at(account, self.block)

    def consent_live(self, subject: str, grantee: str, category: bytes, purpose: bytes) -> bool:
        status = self.history.consent_at(
            subject, grantee, category, purpose, self.block, self.at_time
        )
        return status.valid

    def agreement_live(self, provider: str, consumer: str, category: bytes, purpose: bytes) -> bool:
        found = self.history.agreement_at(
            provider, consumer, category, purpose, self.block, self.at_time
        )
        return found is not None


@dataclass(frozen=True)
class Judgement:
    """The rules' verdict at a block, with the consent it rests on (for personal data)."""

    verdict: Verdict
    personal: bool
    roles: tuple[str, ...]
    explanation: str
    consent: ConsentGranted | None = None


def is_personal(history: ChainHistory, names: Names, category: str, block: int) -> bool:
    """Governance's classification by `block`, else the code's (unknown names: personal)."""
    try:
        default = names.is_personal(category)
    except UnknownName:
        default = True
    return history.is_personal(term_id(category), block, default)


def judge(
    history: ChainHistory,
    request: AccessRequest,
    *,
    block: int,
    at_time: int,
    names: Names | None = None,
) -> Judgement:
    """Apply the rules to `request` with the chain's facts at the end of `block`."""
    names = names or Names()
    facts = ChainFacts(history, block, at_time)
    personal = request.category is not None and is_personal(history, names, request.category, block)
    verdict = decide(request, facts, lambda c: is_personal(history, names, c, block))
    roles = tuple(sorted(names.label(r) for r in history.roles_at(request.actor, block)))
    consent, explanation = None, verdict.reason
    if (
        personal
        and request.subject
        and request.category
        and request.purpose
        and request.subject != request.actor
    ):
        status = history.consent_at(
            request.subject,
            request.actor,
            term_id(request.category),
            term_id(request.purpose),
            block,
            at_time,
        )
        explanation = status.reason
        consent = status.grant if status.valid else None
    return Judgement(verdict, personal, roles, explanation, consent)


def read_request(
    actor: str, category: str, purpose: str, subject: str | None = None, provider: str | None = None
) -> AccessRequest:
    """A read of `category` for `purpose`, as `qcity audit could-read` asks it."""
    return AccessRequest(
        actor=actor,
        action=Action.READ,
        resource=f"category:{category}",
        category=category,
        purpose=purpose,
        subject=subject,
        provider=provider,
    )


def could_read(
    history: ChainHistory,
    *,
    grantee: str,
    category: str,
    purpose: str,
    subject: str | None,
    block: int,
    at_time: int,
    provider: str | None = None,
    names: Names | None = None,
) -> Judgement:
    """`qcity audit could-read`: the rules' answer to a read at `block`, judged at `at_time`."""
    request = read_request(grantee, category, purpose, subject, provider)
    return judge(history, request, block=block, at_time=at_time, names=names)
