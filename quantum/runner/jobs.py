"""The job API's data: what a job asks for, and what the runner says about it.

Everything is a pydantic model that round-trips through JSON, so the gateway can persist a
``JobStatus`` after every event and stream it as a server-sent event unchanged.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from enum import StrEnum
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from quantum.hybrid import HybridConfig
from quantum.problems.emergency import EmergencyInput
from quantum.problems.energy import FeederInput
from quantum.problems.traffic import TrafficInput
from quantum.report import SolveReport
from quantum.solvers.base import Progress
from quantum.solvers.qaoa import QAOAConfig


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class TrafficJob(_Frozen):
    """Signal timing from twin inputs."""

    kind: Literal["traffic"] = "traffic"
    data: TrafficInput


class EmergencyJob(_Frozen):
    """Dispatch from twin inputs."""

    kind: Literal["emergency"] = "emergency"
    data: EmergencyInput


class EnergyJob(_Frozen):
    """Feeder dispatch from twin inputs."""

    kind: Literal["energy"] = "energy"
    data: FeederInput


class LpJob(_Frozen):
    """Any model, as LP text."""

    kind: Literal["lp"] = "lp"
    lp: str = Field(min_length=1)
    name: str | None = None


ProblemSpec = Annotated[TrafficJob | EmergencyJob | EnergyJob | LpJob,
                        Field(discriminator="kind")]

SolverName = Literal["hybrid", "qaoa", "milp", "annealing", "exact"]


class SolverSpec(_Frozen):
    """Which solver runs and with what settings; the classical baseline runs alongside."""

    name: SolverName = "hybrid"
    hybrid: HybridConfig = Field(default_factory=HybridConfig)
    qaoa: QAOAConfig = Field(default_factory=QAOAConfig)
    baseline: Literal["milp", "none"] = "milp"
    milp_time_limit_s: float | None = Field(default=None, gt=0)


class JobSpec(_Frozen):
    """A solve job. ``labels`` are opaque to the runner (the gateway keeps the requester,
    purpose and the consents the inputs were read under there)."""

    job_id: str = Field(default_factory=lambda: uuid.uuid4().hex, pattern=r"^[A-Za-z0-9_.-]{1,64}$")
    problem: ProblemSpec
    solver: SolverSpec = Field(default_factory=SolverSpec)
    labels: dict[str, str] = Field(default_factory=dict)


class JobState(StrEnum):
    """queued -> running -> succeeded | failed | cancelled."""

    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"

    @property
    def terminal(self) -> bool:
        """True for the three end states."""
        return self in {JobState.SUCCEEDED, JobState.FAILED, JobState.CANCELLED}


class JobError(_Frozen):
    """Why a job failed: a stable code (the quantum error tree's, or ``internal_error``)."""

    code: str
    message: str


class JobStatus(_Frozen):
    """A job as the runner knows it. A cancelled or failed job never carries a result."""

    job_id: str
    state: JobState
    backend: str
    submitted_at: datetime
    started_at: datetime | None = None
    finished_at: datetime | None = None
    progress: Progress | None = None
    result: SolveReport | None = None
    error: JobError | None = None
    cancel_reason: str | None = None
    labels: dict[str, str] = Field(default_factory=dict)


def now() -> datetime:
    """Timezone-aware UTC now (stored and compared across processes)."""
    return datetime.now(UTC)
