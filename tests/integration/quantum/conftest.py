"""Shared job specs and polling helpers for the runner tests (local pool and Dask).

Under ``--import-mode=importlib`` a conftest cannot be imported by name, so the helpers reach
the tests as one fixture, ``jobkit``.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest

from quantum import (
    HybridConfig,
    JobRunner,
    JobSpec,
    JobState,
    JobStatus,
    QAOAConfig,
    SolverSpec,
    TrafficJob,
    demo_traffic,
)


def quick_spec() -> JobSpec:
    """A hybrid job that finishes in a second or two once the worker is warm."""
    solver = SolverSpec(name="hybrid", hybrid=HybridConfig(
        qaoa=QAOAConfig(reps=1, maxiter=10, shots=256)))
    return JobSpec(problem=TrafficJob(data=demo_traffic(2, 3)), solver=solver)


def long_spec() -> JobSpec:
    """A QAOA job that would run for minutes: only cancellation ends it early."""
    solver = SolverSpec(name="qaoa", qaoa=QAOAConfig(reps=8, maxiter=5000, grid=2))
    return JobSpec(problem=TrafficJob(data=demo_traffic(4, 3)), solver=solver)


def wait_until(predicate: Callable[[], bool], timeout: float = 90.0) -> None:
    """Poll until ``predicate`` holds; fail the test after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            pytest.fail("condition not reached in time")
        time.sleep(0.05)


def running_with_progress(runner: JobRunner, job_id: str) -> Callable[[], bool]:
    def check() -> bool:
        status = runner.status(job_id)
        return status.state == JobState.RUNNING and status.progress is not None
    return check


class Recorder:
    """Collects every JobStatus event the runner emits."""

    def __init__(self) -> None:
        self.events: list[JobStatus] = []

    def __call__(self, status: JobStatus) -> None:
        self.events.append(status)

    def states(self, job_id: str) -> list[JobState]:
        seen: list[JobState] = []
        for event in self.events:
            if event.job_id == job_id and (not seen or seen[-1] != event.state):
                seen.append(event.state)
        return seen


class JobKit:
    """The helpers above, bundled for the tests."""

    quick_spec = staticmethod(quick_spec)
    long_spec = staticmethod(long_spec)
    wait_until = staticmethod(wait_until)
    running_with_progress = staticmethod(running_with_progress)
    Recorder = Recorder


@pytest.fixture(scope="session")
def jobkit() -> JobKit:
    """Job specs, a polling helper and an event recorder."""
    return JobKit()
