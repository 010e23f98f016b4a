"""Check the gateway's exported decisions against the chain's history.

For each decision the auditor recomputes the entry and its Merkle leaf from the decision's
own fields (so a stored decision edited later no longer matches what was anchored), checks
the inclusion proof against the root anchored on chain for its batch (or a DecisionRecorded
event), checks the hash chain between consecutive decisions, and re-judges every allowed
decision with the chain's facts at its block: an allowed read of personal data needs the
subject's consent to have been valid then. Every problem is a `Finding` naming the decision.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from clients.auditor._decisions import AuditedDecision
from clients.auditor._entry import decision_entry, decision_leaf, entry_hash
from clients.auditor._history import ChainHistory
from clients.auditor._rules import judge
from contracts.merkle import verify_inclusion
from contracts.names import Names
from gateway.policy import AccessRequest, Action


@dataclass(frozen=True)
class Finding:
    """One problem: a stable `code`, the decision it concerns (if any) and what is wrong."""

    code: str
    decision_id: str | None
    message: str


@dataclass(frozen=True)
class DecisionCheck:
    """The verdict on one decision: where it is anchored and what the chain said."""

    decision: AuditedDecision
    anchored_in: str | None
    chain_says: str | None
    findings: tuple[Finding, ...]

    @property
    def ok(self) -> bool:
        return not self.findings


@dataclass(frozen=True)
class VerificationReport:
    """Everything `qcity audit verify` found."""

    head_block: int
    batches: int
    anchored_entries: int
    checks: tuple[DecisionCheck, ...]
    chain_findings: tuple[Finding, ...] = field(default=())

    @property
    def findings(self) -> list[Finding]:
        return [*self.chain_findings, *(f for c in self.checks for f in c.findings)]

    @property
    def ok(self) -> bool:
        return not self.findings


def _anchor(d: AuditedDecision, history: ChainHistory) -> tuple[str | None, list[Finding]]:
    leaf = decision_leaf(d)
    if d.batch is None:
        single = history.decisions.get(leaf)
        if single is None:
            return None, [
                Finding(
                    "not_anchored",
                    d.id,
                    "in no batch, and no DecisionRecorded event carries its leaf",
                )
            ]
        return f"single record, block {single.block_number}", []
    batch = history.batches.get(d.batch)
    if batch is None:
        return None, [Finding("not_anchored", d.id, f"batch {d.batch} is not on chain")]
    if not verify_inclusion(batch.root, leaf, d.proof):
        return None, [
            Finding(
                "not_anchored",
                d.id,
                f"its leaf is not under batch {d.batch}'s root: the stored "
                "decision differs from the one anchored",
            )
        ]
    problems = []
    if not batch.first_decision_at <= d.decided_at <= batch.last_decision_at:
        problems.append(
            Finding(
                "outside_batch_window",
                d.id,
                f"decided at {d.decided_at}, outside batch {d.batch}'s window "
                f"{batch.first_decision_at}..{batch.last_decision_at}",
            )
        )
    return f"batch {batch.sequence}, block {batch.block_number}", problems


def _rejudge(
    d: AuditedDecision, history: ChainHistory, time_of_block: Callable[[int], int], names: Names
) -> tuple[str | None, list[Finding]]:
    if not d.allowed:
        return None, []  # refusing more than the rules require is never a breach
    if d.block < 0:
        return None, [
            Finding(
                "allowed_without_chain", d.id, "allowed while the chain was unavailable (block -1)"
            )
        ]
    if d.block > history.head_block:
        return None, [
            Finding(
                "block_in_future",
                d.id,
                f"block {d.block} is past the chain head {history.head_block}",
            )
        ]
    try:
        action = Action(d.action)
    except ValueError:
        return None, [Finding("unknown_action", d.id, f"unknown action {d.action!r}")]
    request = AccessRequest(
        actor=d.actor,
        action=action,
        resource=d.resource,
        category=d.category,
        purpose=d.purpose,
        subject=d.subject,
        provider=d.provider,
    )
    j = judge(history, request, block=d.block, at_time=time_of_block(d.block), names=names)
    if j.verdict.allowed:
        return f"{j.verdict.reason}: {j.explanation}", []
    code = "consent_invalid" if j.personal else "not_permitted"
    return j.explanation, [
        Finding(
            code,
            d.id,
            f"allowed at block {d.block}, but the chain "
            f"says no ({j.verdict.reason}: {j.explanation})",
        )
    ]


def _hash_chain(decisions: list[AuditedDecision]) -> dict[int, Finding]:
    by_seq = {d.seq: d for d in decisions}
    found = {}
    for d in decisions:
        before = by_seq.get(d.seq - 1)
        if before is not None and entry_hash(before) != d.prev_hash:
            found[d.seq] = Finding(
                "hash_chain_broken", d.id, f"prev_hash does not match decision #{before.seq}"
            )
    return found


def verify_decisions(
    decisions: Iterable[AuditedDecision],
    history: ChainHistory,
    *,
    time_of_block: Callable[[int], int],
    names: Names | None = None,
) -> VerificationReport:
    """Check every decision against `history`; `time_of_block` gives block timestamps."""
    names = names or Names()
    listed = list(decisions)
    chain_breaks = _hash_chain(listed)
    seen: set[int] = set()
    checks = []
    for d in listed:
        findings: list[Finding] = []
        if d.seq in seen:
            findings.append(Finding("duplicate_decision", d.id, "listed more than once"))
        seen.add(d.seq)
        if d.entry is not None and d.entry != decision_entry(d):
            findings.append(
                Finding(
                    "entry_mismatch", d.id, "its fields differ from the entry bytes stored with it"
                )
            )
        anchored_in, anchor_findings = _anchor(d, history)
        chain_says, rule_findings = _rejudge(d, history, time_of_block, names)
        findings += anchor_findings + rule_findings
        if d.seq in chain_breaks:
            findings.append(chain_breaks[d.seq])
        checks.append(DecisionCheck(d, anchored_in, chain_says, tuple(findings)))
    chain_findings = tuple(
        Finding("batch_chain_broken", None, p) for p in history.batch_chain_breaks()
    )
    return VerificationReport(
        head_block=history.head_block,
        batches=len(history.batches),
        anchored_entries=history.anchored_entries(),
        checks=tuple(checks),
        chain_findings=chain_findings,
    )
