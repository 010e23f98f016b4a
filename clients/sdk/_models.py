"""Typed answers of the gateway's routes, as the SDK returns them.

They mirror the gateway's response models field by field (a test compares them with the
gateway's OpenAPI schema) but live here, so that a client needs none of the server's code.
Unknown extra fields are kept (`extra="allow"`): a newer gateway does not break an older SDK.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict


class _Answer(BaseModel):
    model_config = ConfigDict(extra="allow", frozen=True)


class Health(_Answer):
    status: str
    chain_id: int
    block: int
    head: int
    in_step: bool
    permission_mode: str
    unanchored: int
    contracts: dict[str, str]


class Token(_Answer):
    access_token: str
    token_type: str
    expires_in: int
    sub: str
    roles: list[str]
    block: int


class SessionInfo(_Answer):
    sub: str
    roles: list[str]
    expires_at: int
    block: int


class Access(_Answer):
    """Why a read was allowed: the block, the audit decision's number, the basis."""

    block: int
    decision: int
    basis: str


class Entity(_Answer):
    id: str
    type: str
    category: str
    subject: str | None = None
    location: tuple[float, float]
    observed_at: int | None = None
    values: dict[str, float] = {}


class EntityRead(_Answer):
    access: Access
    entity: Entity


class Entities(_Answer):
    access: Access
    entities: list[Entity]


class Observation(_Answer):
    entity_id: str
    observed_at: int
    values: dict[str, float]


class Observations(_Answer):
    access: Access
    observations: list[Observation]


class Ingested(_Answer):
    access: Access
    received: int
    stored: int


class Anchor(_Answer):
    sequence: int
    root: str
    leaf_index: int
    proof: list[str]
    status: str
    tx_hash: str | None = None
    block_number: int | None = None
    audit_trail: str
    chain_id: int


class Decision(_Answer):
    seq: int
    entry: str
    entry_hash: str
    leaf: str
    fields: dict[str, Any]
    anchor: Anchor | None = None


class Decisions(_Answer):
    decisions: list[Decision]


class DecisionPage(_Answer):
    """A page of the auditor's export: decisions after a seq, oldest first."""

    decisions: list[Decision]
    head: int
    next_after: int | None = None


class AuditChain(_Answer):
    entries: int
    chain_ok: bool


class Relayed(_Answer):
    """A consent the gateway relayed (it paid the gas); it holds or ends from `block`."""

    kind: str
    subject: str
    nonce: int
    tx_hash: str
    block: int
    relayer: str


class Receipt(_Answer):
    """One consent's ISO/IEC TS 27560 receipt; `jws` is what to keep (check it with
    `clients.receipts.verify_receipt` against the gateway's JWKS)."""

    record_id: str
    grantee: str
    category: str
    purpose: str
    state: str
    expiry: int | None = None
    jws: str
    record: dict[str, Any]


class Receipts(_Answer):
    subject: str
    block: int
    jwks_uri: str
    receipts: list[Receipt]


# ------------------------------------------------------------------ optimisation jobs

TERMINAL_STATES = frozenset({"succeeded", "failed", "cancelled"})
"""Job states after which nothing changes."""


class JobProgress(_Answer):
    """Where a running solve is (stage, 0..1) and the best objective it holds so far."""

    stage: str
    fraction: float
    message: str = ""
    best_objective: float | None = None


class JobError(_Answer):
    """Why a job failed: a stable code and a message."""

    code: str
    message: str


class ConsentUse(_Answer):
    """A consent a job relied on: checked live at `block` (audit decision `decision`)."""

    subject: str
    category: str
    purpose: str
    block: int
    decision: int


class JobView(_Answer):
    """A job's state (queued, running, succeeded, failed, cancelled) and what it rests on."""

    job_id: str
    kind: str
    state: str
    owner: str
    purpose: str
    backend: str
    submitted_at: datetime
    started_at: datetime | None = None
    finished_at: datetime | None = None
    progress: JobProgress | None = None
    error: JobError | None = None
    cancel_reason: str | None = None
    revoked: ConsentUse | None = None
    consents: list[ConsentUse] = []
    decisions: list[int] = []
    starts: int = 0
    recovered: int = 0

    @property
    def terminal(self) -> bool:
        """True once the job has ended (it changes no more)."""
        return self.state in TERMINAL_STATES


class JobList(_Answer):
    """The caller's jobs, newest first."""

    jobs: list[JobView]


class KpiChange(_Answer):
    """A key figure before and after the plan (re-simulated on the twin)."""

    name: str
    unit: str
    before: float
    after: float
    change: float
    source: str


class ResultSummary(_Answer):
    """A job report's headline figures."""

    solver: str
    objective: float | None = None
    feasible: bool
    baseline: float | None = None
    bound: float | None = None
    gap: float | None = None
    wall_s: float
    circuit_width: int | None = None
    circuit_depth: int | None = None
    shots: int | None = None
    evaluations: int | None = None
    quantum_share: float
    kpis: list[KpiChange] = []


class JobResult(_Answer):
    """A succeeded job's result: the summary, and the full report as JSON (the gateway's
    `quantum.SolveReport`; validate it with that model where quantum is installed)."""

    job_id: str
    summary: ResultSummary
    report: dict[str, Any]
