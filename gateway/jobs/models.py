"""What the job API takes and returns: launch requests, job views, results.

A launch names what to optimise and for which purpose; the inputs themselves are read from
the twin under the caller's permissions (an LP model is the one input a caller sends).
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from quantum import JobError, JobState, Progress, SolveReport, SolverSpec

EVENING_PEAK = (17, 18, 19, 20)


class _Request(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    purpose: str = Field(min_length=3, max_length=64,
                         description="A W3C DPV purpose, e.g. dpv:PublicBenefit.")
    solver: SolverSpec = Field(default_factory=SolverSpec)


class TrafficJobRequest(_Request):
    """Signal timing for every junction, from the latest detector flows (traffic.flow)."""

    kind: Literal["traffic"] = "traffic"
    shares: list[float] = Field(default=[0.4, 0.5, 0.6], min_length=1, max_length=8)
    offsets_s: list[float] = Field(default=[0.0], min_length=1, max_length=8)
    sumo: bool = Field(default=False, description="Also re-simulate the plan in SUMO (slow: "
                       "two microscopic runs of the city's peak hour).")


class EmergencyJobRequest(_Request):
    """Vehicles from depots to the incidents of the twin's flood scenario (static city)."""

    kind: Literal["emergency"] = "emergency"
    turnout_delay_min: float = Field(default=2.0, ge=0, le=60)


class EnergyJobRequest(_Request):
    """Dispatch of one feeder's flexible load and storage, from its household meters
    (personal data: every metered household's live consent is needed)."""

    kind: Literal["energy"] = "energy"
    feeder_id: str = Field(min_length=3, max_length=256)
    periods: list[int] = Field(default=list(EVENING_PEAK), min_length=1, max_length=24)
    block_kw: int = Field(default=5, ge=1, le=1000)


class LpJobRequest(_Request):
    """Any model the caller sends as LP text (no twin data is read)."""

    kind: Literal["lp"] = "lp"
    lp: str = Field(min_length=1, max_length=1_000_000)
    name: str | None = Field(default=None, max_length=128)


JobRequest = Annotated[
    TrafficJobRequest | EmergencyJobRequest | EnergyJobRequest | LpJobRequest,
    Field(discriminator="kind"),
]


class ConsentUse(BaseModel):
    """A consent a job relied on: checked live at `block` (audit decision `decision`)."""

    model_config = ConfigDict(frozen=True)

    subject: str
    category: str
    purpose: str
    block: int
    decision: int


class JobView(BaseModel):
    """A job as its launcher (or an auditor) sees it: state, progress, and its basis."""

    model_config = ConfigDict(frozen=True)

    job_id: str
    kind: str
    state: JobState
    owner: str
    purpose: str
    backend: str
    submitted_at: datetime
    started_at: datetime | None = None
    finished_at: datetime | None = None
    progress: Progress | None = None
    error: JobError | None = None
    cancel_reason: str | None = None
    revoked: ConsentUse | None = None
    consents: list[ConsentUse] = Field(default_factory=list)
    decisions: list[int] = Field(default_factory=list)
    starts: int = 0
    recovered: int = 0


class KpiChange(BaseModel):
    """A key figure before and after the plan, and the change (negative saves for costs)."""

    model_config = ConfigDict(frozen=True)

    name: str
    unit: str
    before: float
    after: float
    change: float
    source: str


class ResultSummary(BaseModel):
    """The report's headline figures, flat (what a table shows)."""

    model_config = ConfigDict(frozen=True)

    solver: str
    objective: float | None
    feasible: bool
    baseline: float | None
    bound: float | None
    gap: float | None
    wall_s: float
    circuit_width: int | None
    circuit_depth: int | None
    shots: int | None
    evaluations: int | None
    quantum_share: float
    kpis: list[KpiChange]

    @classmethod
    def of(cls, report: SolveReport) -> ResultSummary:
        r, b, c = report.result, report.baseline, report.result.circuit
        return cls(
            solver=r.solver, objective=r.objective, feasible=r.feasible,
            baseline=b.objective if b is not None else None, bound=report.bound, gap=report.gap,
            wall_s=r.wall_s, circuit_width=c.num_qubits if c else None,
            circuit_depth=c.depth if c else None, shots=c.shots if c else None,
            evaluations=c.evaluations if c else None, quantum_share=r.quantum_share,
            kpis=[KpiChange(name=k.name, unit=k.unit, before=k.before, after=k.after,
                            change=k.change, source=k.source) for k in report.kpis],
        )


class JobResult(BaseModel):
    """A succeeded job's typed report, with its headline figures."""

    model_config = ConfigDict(frozen=True)

    job_id: str
    summary: ResultSummary
    report: SolveReport


class JobList(BaseModel):
    """The caller's own jobs, newest first."""

    jobs: list[JobView]
