"""The same governed launch, executed on a Dask LocalCluster of separate worker processes
(`QCITY_DASK_SCHEDULER=local`): the gateway starts the cluster with its first job and closes
it when it stops."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from clients.sdk import KeyFile, QcityClient
from gateway import GatewaySettings, create_app

pytest.importorskip("distributed")

LP = ("Minimize\n obj: x + 2 y - 3 z + w\nSubject To\n c1: x + y + z + w >= 2\n"
      "Binaries\n x y z w\nEnd\n")
HYBRID_QUICK = {"name": "hybrid", "hybrid": {"qaoa": {"reps": 1, "maxiter": 10, "shots": 256}}}


@pytest.fixture
def dask_gateway(fresh_world: Any, tmp_path: Path) -> Iterator[TestClient]:
    settings = GatewaySettings(data_dir=tmp_path / "gw", index_poll_s=0.02, chain_stale_s=3.0,
                               anchor_every_n=1000, anchor_every_s=3600.0,
                               dask_scheduler="local", job_workers=1)
    app = create_app(settings, chain=fresh_world.chain, deployment=fresh_world.deployment,
                     recorder=fresh_world.recorder)
    with TestClient(app) as http:
        yield http


def login(http: TestClient, actor: Any) -> QcityClient:
    keys = KeyFile(eth_private_key=bytes(actor.account.key),
                   mldsa_seed=actor.mldsa.private_bytes_raw(), kem_seed=os.urandom(32))
    client = QcityClient("http://testserver", keys, transport=http._transport)
    client.login()
    return client


def test_a_launch_runs_on_the_dask_cluster(dask_gateway, fresh_world):
    agency = login(dask_gateway, fresh_world["agency"])
    job = agency.submit_job({"kind": "lp", "purpose": "dpv:PublicBenefit", "lp": LP,
                             "solver": HYBRID_QUICK})
    assert job.backend == "dask"
    seen = list(agency.watch_job(job.job_id))
    done = seen[-1]
    assert done.state == "succeeded", done.error
    assert any(v.state == "running" and v.progress is not None for v in seen)
    result = agency.job_result(job.job_id)
    assert result.summary.feasible and result.summary.objective == pytest.approx(-2.0)
    runtime = dask_gateway.app.state.runtime
    pids = runtime.jobs.runner.backend._client.run(os.getpid)  # one per worker process
    assert len(pids) == 1 and os.getpid() not in pids.values()
    outcome = runtime.audit.entry(done.decisions[-1])
    assert outcome.allowed and outcome.reason == "job_succeeded"
