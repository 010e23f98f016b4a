"""Job lifecycle in the default local process pool: progress, results, cancellation."""

from __future__ import annotations

import threading

import pytest

from quantum import (
    JobConflict,
    JobNotFound,
    JobRunner,
    JobSpec,
    JobState,
    JobStatus,
    LocalProcessBackend,
    LpJob,
)


@pytest.fixture(scope="module")
def pool(jobkit):
    recorder = jobkit.Recorder()
    runner = JobRunner(LocalProcessBackend(max_workers=2), on_event=recorder)
    runner.recorder = recorder
    yield runner
    runner.close()


def test_job_runs_to_success_with_progress_events(pool, jobkit):
    spec = jobkit.quick_spec()
    queued = pool.submit(spec)
    assert queued.state == JobState.QUEUED and queued.backend == "local"
    done = pool.wait(spec.job_id, timeout=120)
    assert done.state == JobState.SUCCEEDED, done.error
    assert pool.recorder.states(spec.job_id) == [
        JobState.QUEUED, JobState.RUNNING, JobState.SUCCEEDED]
    progress = [e.progress for e in pool.recorder.events
                if e.job_id == spec.job_id and e.progress is not None]
    assert progress and all(0.0 <= p.fraction <= 1.0 for p in progress)
    assert done.result.result.feasible and done.result.baseline.solver == "milp"
    assert done.started_at <= done.finished_at
    assert JobStatus.model_validate_json(done.model_dump_json()) == done


def test_cancelling_queued_and_running_jobs_discards_their_results(pool, jobkit):
    revoked = threading.Event()
    first, second, third = jobkit.long_spec(), jobkit.long_spec(), jobkit.long_spec()
    pool.submit(first)
    pool.submit(second, should_cancel=revoked.is_set)
    pool.submit(third)
    jobkit.wait_until(jobkit.running_with_progress(pool, first.job_id))
    jobkit.wait_until(jobkit.running_with_progress(pool, second.job_id))
    queued = pool.cancel(third.job_id, reason="requested")
    assert queued.state == JobState.CANCELLED and queued.started_at is None

    pool.cancel(first.job_id, reason="requested")
    revoked.set()  # e.g. a consent this job relied on was revoked
    for spec, reason in ((first, "requested"), (second, "hook")):
        status = pool.wait(spec.job_id, timeout=30)
        assert status.state == JobState.CANCELLED
        assert status.cancel_reason == reason
        assert status.result is None and status.error is None
    assert pool.cancel(first.job_id).state == JobState.CANCELLED  # idempotent


def test_a_bad_model_fails_with_a_stable_code(pool):
    spec = JobSpec(problem=LpJob(lp="Minimize\n obj: x +\nEnd\n"))
    pool.submit(spec)
    status = pool.wait(spec.job_id, timeout=60)
    assert status.state == JobState.FAILED
    assert status.error.code == "invalid_problem" and status.result is None


def test_job_ids_are_unique_and_known(pool, jobkit):
    spec = jobkit.quick_spec()
    pool.submit(spec)
    with pytest.raises(JobConflict):
        pool.submit(spec)
    with pytest.raises(JobNotFound):
        pool.status("no-such-job")
    assert pool.wait(spec.job_id, timeout=60).state == JobState.SUCCEEDED
