"""The auditor's tool: rebuild roles, consents and audit anchors from the chain alone.

`load_history` replays the contracts' events (after checking their code is the audited
artifact); `verify_decisions` checks exported decisions against it (anchored? allowed only
under a valid consent?); `could_read` answers what the chain allowed at any block or time;
`write_report` renders the trail as Markdown or HTML with a timeline plot;
`export_decisions` fetches the gateway's decisions and proofs (an AUDITOR's session).
"""

from clients.auditor._decisions import (
    AuditedDecision,
    DecisionFileError,
    load_decisions,
    parse_decision,
)
from clients.auditor._entry import decision_entry, decision_leaf, entry_hash
from clients.auditor._export import export_decisions
from clients.auditor._history import ChainHistory, ConsentStatus
from clients.auditor._rules import ChainFacts, Judgement, could_read, judge, read_request
from clients.auditor._source import ChainSnapshot, block_at_time, block_time, load_history
from clients.auditor._verify import DecisionCheck, Finding, VerificationReport, verify_decisions

__all__ = [
    "AuditedDecision",
    "ChainFacts",
    "ChainHistory",
    "ChainSnapshot",
    "ConsentStatus",
    "DecisionCheck",
    "DecisionFileError",
    "Finding",
    "Judgement",
    "VerificationReport",
    "block_at_time",
    "block_time",
    "could_read",
    "decision_entry",
    "decision_leaf",
    "entry_hash",
    "export_decisions",
    "judge",
    "load_decisions",
    "load_history",
    "parse_decision",
    "read_request",
    "verify_decisions",
]
