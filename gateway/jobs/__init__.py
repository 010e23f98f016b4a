"""Governed optimisation jobs: launched through the gateway, checked, audited, recovered.

A launch is permission-checked like a read (`gateway.jobs.inputs.prepare`, imported by the
route: it needs the runtime), persisted (`store`), executed by quantum's `JobRunner` on a
process pool or a Dask cluster (`engine`) and watched by `JobService`, which records every
job's end in the audit log and cancels a job whose consents are revoked while it runs.
"""

from gateway.jobs.engine import BorrowedBackend, Engine, open_engine
from gateway.jobs.errors import (
    JobFinished,
    JobHasNoResult,
    JobInputUnavailable,
    JobNotFinished,
    JobNotFound,
    JobsUnavailable,
)
from gateway.jobs.models import (
    ConsentUse,
    EmergencyJobRequest,
    EnergyJobRequest,
    JobList,
    JobRequest,
    JobResult,
    JobView,
    KpiChange,
    LpJobRequest,
    ResultSummary,
    TrafficJobRequest,
)
from gateway.jobs.service import JobService
from gateway.jobs.store import JobRow, JobStore, Recovery, plan_recovery, view_of

__all__ = [
    "BorrowedBackend",
    "ConsentUse",
    "EmergencyJobRequest",
    "EnergyJobRequest",
    "Engine",
    "JobFinished",
    "JobHasNoResult",
    "JobInputUnavailable",
    "JobList",
    "JobNotFinished",
    "JobNotFound",
    "JobRequest",
    "JobResult",
    "JobRow",
    "JobService",
    "JobStore",
    "JobView",
    "JobsUnavailable",
    "KpiChange",
    "LpJobRequest",
    "Recovery",
    "ResultSummary",
    "TrafficJobRequest",
    "open_engine",
    "plan_recovery",
    "view_of",
]
