"""Governed optimisation jobs through the gateway: a real chain (eth-tester), the twin's
SQLite store, a real process pool, the SDK over the app in-process.

Long jobs are made deterministic by their solver settings, not by sleeps: an "endless" QAOA
(thousands of iterations, progress at every few) ends only when cancelled; a "slow" one
runs a few seconds; the quick ones finish in well under a second on a warm worker.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from clients.sdk import Conflict, InvalidRequest, KeyFile, NotFound, QcityClient, RoleMissing
from gateway import GatewaySettings, create_app
from gateway.audit.records import decode
from gateway.jobs import BorrowedBackend, JobStore
from gateway.runtime import Runtime
from quantum import LocalProcessBackend

HOUSEHOLD, SERVICE, PUBLIC = "energy.household_meter", "dpv:ServiceProvision", "dpv:PublicBenefit"
FEEDER = "urn:ngsi-ld:Feeder:tiny:S00F0"
LP = ("Minimize\n obj: x + 2 y - 3 z + w\nSubject To\n c1: x + y + z + w >= 2\n"
      "Binaries\n x y z w\nEnd\n")
QUICK = {"name": "milp"}
HYBRID_QUICK = {"name": "hybrid", "hybrid": {"qaoa": {"reps": 1, "maxiter": 10, "shots": 256}}}
SLOW = {"name": "qaoa", "baseline": "none",
        "qaoa": {"reps": 4, "maxiter": 250, "grid": 0, "shots": 256}}
ENDLESS = {"name": "qaoa", "baseline": "none",
           "qaoa": {"reps": 8, "maxiter": 10000, "grid": 0, "shots": 256}}
ENDLESS_HYBRID = {"name": "hybrid", "hybrid": {"qaoa": {"reps": 8, "maxiter": 5000}}}


def lp_job(solver: dict[str, Any], purpose: str = PUBLIC) -> dict[str, Any]:
    return {"kind": "lp", "purpose": purpose, "lp": LP, "name": "tiny", "solver": solver}


def wait_until(predicate: Callable[[], bool], timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "condition not reached in time"
        time.sleep(0.05)


class JobGateway:
    """A gateway app (in-process) and SDK clients for the world's stakeholders."""

    def __init__(self, http: TestClient, world: Any) -> None:
        self.http, self.world = http, world
        self.closed = False

    @property
    def runtime(self) -> Runtime:
        return self.http.app.state.runtime  # type: ignore[attr-defined,no-any-return]

    def client(self, who: str) -> QcityClient:
        actor = self.world[who]
        keys = KeyFile(eth_private_key=bytes(actor.account.key),
                       mldsa_seed=actor.mldsa.private_bytes_raw(), kem_seed=os.urandom(32),
                       name=who)
        client = QcityClient("http://testserver", keys, transport=self.http._transport)
        client.login()
        return client

    def audit_entry(self, seq: int) -> Any:
        return self.runtime.audit.entry(seq)

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            self.http.__exit__(None, None, None)


def seed_city(settings: GatewaySettings, world: Any) -> None:
    """The tiny demo city; the households of FEEDER belong to the citizen and the neighbour."""
    from twin_core import DemoCityConfig, TwinStore, generate_city, link_subject

    store = TwinStore.open(settings.database_url)
    try:
        try:
            store.load_city()
            return
        except Exception:  # noqa: BLE001 - no city yet
            pass
        city = generate_city(DemoCityConfig.tiny())
        store.save_city(city)
        homes = sorted(b.id for b in city.buildings if b.feeder_id == FEEDER)
        for k, home in enumerate(homes):
            link_subject(store, home, world["citizen" if k % 2 == 0 else "neighbour"].address)
    finally:
        store.close()


@pytest.fixture(scope="module")
def warm_pool() -> Iterator[LocalProcessBackend]:
    """One process pool for the module's gateways (each borrows it; workers stay warm)."""
    backend = LocalProcessBackend(max_workers=2)
    yield backend
    backend.close()


@pytest.fixture
def job_gateway(fresh_world: Any, tmp_path: Path, warm_pool: LocalProcessBackend
                ) -> Iterator[Callable[..., JobGateway]]:
    """Start gateways on the fresh world and one data dir (a second one is a restart)."""
    started: list[JobGateway] = []

    def factory(*, pool: Any = "warm", **overrides: Any) -> JobGateway:
        values: dict[str, Any] = {"data_dir": tmp_path / "gw", "index_poll_s": 0.02,
                                  "chain_stale_s": 3.0, "anchor_every_n": 1000,
                                  "anchor_every_s": 3600.0, **overrides}
        settings = GatewaySettings(**values)
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        seed_city(settings, fresh_world)
        backend = BorrowedBackend(warm_pool) if pool == "warm" else pool
        app = create_app(settings, chain=fresh_world.chain, deployment=fresh_world.deployment,
                         recorder=fresh_world.recorder, job_backend=backend)
        http = TestClient(app)
        http.__enter__()
        started.append(JobGateway(http, fresh_world))
        return started[-1]

    yield factory
    for gateway in reversed(started):
        gateway.close()


def test_twin_job_runs_with_progress_to_a_result_with_kpis(job_gateway):
    gw = job_gateway(pool=None, job_workers=1)  # the gateway's own process pool
    agency = gw.client("agency")
    queued = agency.submit_job({"kind": "emergency", "purpose": PUBLIC,
                                "solver": HYBRID_QUICK})
    assert queued.state == "queued" and queued.backend == "local" and queued.decisions
    seen = list(agency.watch_job(queued.job_id))
    assert [v.state for v in seen][-1] == "succeeded"
    assert any(v.state == "running" and v.progress is not None for v in seen)
    done = seen[-1]
    assert done.starts == 1 and done.started_at <= done.finished_at

    result = agency.job_result(done.job_id)
    assert result.summary.feasible and result.summary.baseline is not None
    assert any(k.source for k in result.summary.kpis), "re-simulated KPIs of the plan"
    assert result.report["result"]["solver"] == "hybrid"
    launch, outcome = gw.audit_entry(done.decisions[0]), gw.audit_entry(done.decisions[-1])
    assert launch.allowed and launch.reason == "role:AGENCY"
    assert outcome.allowed and outcome.reason == "job_succeeded"
    assert outcome.actor == gw.world["agency"].address
    assert [j.job_id for j in agency.jobs().jobs] == [done.job_id]


def test_refusals_are_typed_and_recorded(job_gateway):
    gw = job_gateway()
    citizen, agency = gw.client("citizen"), gw.client("agency")
    with pytest.raises(RoleMissing) as refused:
        citizen.submit_job(lp_job(QUICK))
    denial = gw.audit_entry(refused.value.facts["decision"])
    assert not denial.allowed and denial.reason == "role_missing"
    assert denial.actor == gw.world["citizen"].address
    assert citizen.jobs().jobs == []

    with pytest.raises(InvalidRequest) as bad:
        agency.submit_job({**lp_job(QUICK), "lp": "Minimize\n obj: x +\nEnd\n"})
    assert bad.value.error_code == "invalid_problem"
    with pytest.raises(InvalidRequest) as shape:
        agency.submit_job({"kind": "quantum-magic", "purpose": PUBLIC})
    assert shape.value.error_code == "validation_error" and shape.value.status == 422
    with pytest.raises(InvalidRequest) as purpose:
        agency.submit_job(lp_job(QUICK, purpose="dpv:Nonsense"))
    assert purpose.value.error_code == "unknown_purpose"

    job = agency.submit_job(lp_job(QUICK))
    enterprise = gw.client("enterprise")
    for call in (enterprise.job, enterprise.job_result, enterprise.cancel_job):
        with pytest.raises(NotFound) as hidden:
            call(job.job_id)
        assert hidden.value.error_code == "job_not_found"
    assert agency.wait_job(job.job_id, timeout_s=60).state == "succeeded"


def test_lp_job_result_and_listing(job_gateway):
    gw = job_gateway()
    agency = gw.client("research")
    first = agency.submit_job(lp_job(QUICK, purpose="dpv:AcademicResearch"))
    second = agency.submit_job(lp_job(HYBRID_QUICK, purpose="dpv:AcademicResearch"))
    assert agency.wait_job(first.job_id, timeout_s=60).state == "succeeded"
    assert agency.wait_job(second.job_id, timeout_s=60).state == "succeeded"
    result = agency.job_result(first.job_id)
    assert result.summary.solver == "milp" and result.summary.objective == pytest.approx(-2.0)
    assert result.summary.kpis == []  # an LP model has no twin to re-simulate on
    assert [j.job_id for j in agency.jobs().jobs] == [second.job_id, first.job_id]
    with pytest.raises(Conflict) as finished:
        agency.cancel_job(first.job_id)
    assert finished.value.error_code == "job_finished"


def test_polling_and_events_see_progress_and_a_cancel_discards_the_job(job_gateway):
    gw = job_gateway()
    agency = gw.client("agency")
    job = agency.submit_job(lp_job(ENDLESS))
    seen, cancelled = [], None
    for view in agency.watch_job(job.job_id):
        seen.append(view)
        if cancelled is None and sum(v.progress is not None for v in seen) >= 2:
            polled = agency.job(job.job_id)
            assert polled.state == "running" and polled.progress is not None
            with pytest.raises(Conflict) as early:
                agency.job_result(job.job_id)
            assert early.value.error_code == "job_not_finished"
            cancelled = agency.cancel_job(job.job_id)
    assert cancelled is not None and cancelled.state == "cancelled"
    assert seen[-1].state == "cancelled" and seen[-1].cancel_reason == "requested"
    assert seen[-1].progress is None  # partial results (best objective so far) are dropped
    with pytest.raises(Conflict) as none:
        agency.job_result(job.job_id)
    assert none.value.error_code == "job_has_no_result"
    outcome = gw.audit_entry(seen[-1].decisions[-1])
    assert not outcome.allowed and outcome.reason == "job_cancelled:requested"


def test_revoking_a_consent_mid_run_cancels_the_job_and_is_recorded(job_gateway):
    gw = job_gateway()
    world = gw.world
    expiry = int(time.time()) + 24 * 3600
    granted = world.qc.consent.grant_consent(world["neighbour"].account,
                                             world["enterprise"].address, HOUSEHOLD, SERVICE,
                                             expiry)
    wait_until(lambda: gw.runtime.index.block >= granted.block_number)
    enterprise = gw.client("enterprise")
    job = enterprise.submit_job({"kind": "energy", "purpose": SERVICE, "feeder_id": FEEDER,
                                 "solver": ENDLESS_HYBRID})
    assert {c.subject for c in job.consents} == {world["citizen"].address,
                                                  world["neighbour"].address}
    wait_until(lambda: enterprise.job(job.job_id).progress is not None)

    revoked = world.qc.consent.revoke_consent(world["citizen"].account,
                                              world["enterprise"].address, HOUSEHOLD, SERVICE)
    done = enterprise.wait_job(job.job_id, timeout_s=30, poll_s=0.1)
    assert done.state == "cancelled" and done.cancel_reason == "consent_revoked"
    assert done.revoked is not None and done.revoked.subject == world["citizen"].address
    assert done.progress is None
    with pytest.raises(Conflict):
        enterprise.job_result(job.job_id)
    denial = gw.audit_entry(done.decisions[-1])
    assert not denial.allowed and denial.reason == "consent_revoked"
    assert denial.subject == world["citizen"].address
    assert denial.actor == world["enterprise"].address
    assert gw.runtime.index.block >= revoked.block_number


def test_revoking_the_launchers_role_mid_run_cancels_the_job_and_is_recorded(job_gateway):
    """The launch rested on role:AGENCY; once governance revokes it, the job stops too (as
    the agency's session would)."""
    gw = job_gateway()
    world = gw.world
    agency = gw.client("agency")
    job = agency.submit_job(lp_job(ENDLESS))
    wait_until(lambda: agency.job(job.job_id).progress is not None)
    revoked = world.qc.registry.revoke_role(world.admin, "AGENCY", world["agency"].address)
    try:
        wait_until(lambda: gw.runtime.index.block >= revoked.block_number, timeout=10)
        wait_until(lambda: gw.runtime.jobs.store.get(job.job_id).state == "cancelled", 30)
        row = gw.runtime.jobs.store.get(job.job_id)
        assert row.cancel_reason == "role_revoked" and row.result is None
        denial = gw.audit_entry(json.loads(row.decisions)[-1])
        assert not denial.allowed and denial.reason == "role_revoked:AGENCY"
        assert denial.actor == world["agency"].address
    finally:
        world.qc.registry.grant_role(world.admin, "AGENCY", world["agency"].address)


def test_a_restart_requeues_the_running_job_and_resubmits_the_queued_one(job_gateway,
                                                                         warm_pool):
    one_at_a_time = BorrowedBackend(warm_pool)
    one_at_a_time.capacity = 1
    gw = job_gateway(pool=one_at_a_time)
    agency = gw.client("agency")
    running = agency.submit_job(lp_job(SLOW))
    waiting = agency.submit_job(lp_job(QUICK))
    wait_until(lambda: agency.job(running.job_id).progress is not None)
    assert agency.job(waiting.job_id).state == "queued"
    store: JobStore = gw.runtime.jobs.store
    gw.close()  # mid-run: the stop ends neither job
    assert store.get(running.job_id).state == "running"
    assert store.get(waiting.job_id).state == "queued"

    again = job_gateway(pool=one_at_a_time)
    agency = again.client("agency")
    first = agency.wait_job(running.job_id, timeout_s=60, poll_s=0.1)
    second = agency.wait_job(waiting.job_id, timeout_s=60, poll_s=0.1)
    assert (first.state, first.recovered, first.starts) == ("succeeded", 1, 2)
    assert (second.state, second.recovered, second.starts) == ("succeeded", 0, 1)
    for view in (first, second):
        outcomes = [gw.audit_entry(s) for s in view.decisions]
        assert [e.reason for e in outcomes].count("job_succeeded") == 1
    again.close()

    third = job_gateway(pool=one_at_a_time)  # nothing left to recover: nothing runs again
    assert third.runtime.jobs.runner is None
    assert third.client("agency").job(running.job_id).starts == 2


def test_a_traffic_job_reads_detector_flows_and_its_plan_is_resimulated_in_sumo(job_gateway):
    """Signal timing: launched under the traffic.flow check, re-simulated in the twin's
    model and in SUMO (before: Webster's proportional plan; after: the job's plan)."""
    gw = job_gateway()
    agency = gw.client("agency")
    queued = agency.submit_job({"kind": "traffic", "purpose": PUBLIC, "sumo": True,
                                "solver": HYBRID_QUICK})
    done = agency.wait_job(queued.job_id, timeout_s=240)
    assert done.state == "succeeded", done.error
    reads = [decode(gw.audit_entry(seq).entry) for seq in done.decisions[:-1]]  # per provider
    assert reads and all(e["category"] == "traffic.flow" and e["allowed"] for e in reads)
    kpis = {(k.source, k.name): k for k in agency.job_result(done.job_id).summary.kpis}
    sumo = kpis[("sumo", "total delay")]
    assert sumo.before > 0 and sumo.after > 0 and sumo.unit == "vehicle-hours"
    assert ("twin.store_and_forward", "total delay") in kpis
