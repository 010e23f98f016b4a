"""The same job API on a Dask LocalCluster of separate worker processes."""

from __future__ import annotations

import pytest

from quantum import DaskBackend, JobRunner, JobState

distributed = pytest.importorskip("distributed")


@pytest.fixture(scope="module")
def cluster_runner(jobkit):
    cluster = distributed.LocalCluster(processes=True, n_workers=2, threads_per_worker=1,
                                       dashboard_address=None)
    client = distributed.Client(cluster)
    recorder = jobkit.Recorder()
    runner = JobRunner(DaskBackend(client=client), on_event=recorder)
    runner.recorder = recorder
    yield runner
    runner.close()
    client.close()
    cluster.close()


def test_dask_job_succeeds_with_progress(cluster_runner, jobkit):
    spec = jobkit.quick_spec()
    assert cluster_runner.submit(spec).backend == "dask"
    status = cluster_runner.wait(spec.job_id, timeout=120)
    assert status.state == JobState.SUCCEEDED, status.error
    assert cluster_runner.recorder.states(spec.job_id) == [
        JobState.QUEUED, JobState.RUNNING, JobState.SUCCEEDED]
    assert any(e.progress is not None for e in cluster_runner.recorder.events
               if e.job_id == spec.job_id)
    assert status.result.result.feasible


def test_dask_job_is_cancelled_cooperatively(cluster_runner, jobkit):
    spec = jobkit.long_spec()
    cluster_runner.submit(spec)
    jobkit.wait_until(jobkit.running_with_progress(cluster_runner, spec.job_id))
    cluster_runner.cancel(spec.job_id, reason="consent_revoked")
    status = cluster_runner.wait(spec.job_id, timeout=30)
    assert status.state == JobState.CANCELLED
    assert status.cancel_reason == "consent_revoked" and status.result is None
