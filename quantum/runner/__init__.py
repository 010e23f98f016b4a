"""The job runner: solve jobs in a local process pool or on a Dask cluster, same API."""

from quantum.runner.backends import DaskBackend, JobBackend, LocalProcessBackend
from quantum.runner.jobs import (
    EmergencyJob,
    EnergyJob,
    JobError,
    JobSpec,
    JobState,
    JobStatus,
    LpJob,
    SolverSpec,
    TrafficJob,
)
from quantum.runner.runner import JobRunner, RunnerConfig

__all__ = [
    "DaskBackend",
    "EmergencyJob",
    "EnergyJob",
    "JobBackend",
    "JobError",
    "JobRunner",
    "JobSpec",
    "JobState",
    "JobStatus",
    "LocalProcessBackend",
    "LpJob",
    "RunnerConfig",
    "SolverSpec",
    "TrafficJob",
]
