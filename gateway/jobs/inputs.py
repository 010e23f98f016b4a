"""A launch's inputs, read from the twin under the same permission check as any read.

Every input a job reads is one `enforce` call (decided on the event index, appended to the
audit log, refused with the stable code of the missing role, agreement or consent):

* traffic: `traffic.flow` for the purpose, once per provider of the detectors' data (a role,
  the provider itself, or an agreement with it);
* energy: `energy.household_meter` for the purpose, once per data subject of the feeder's
  households (each subject's live consent for the launcher, unless the launcher is the
  subject); the consents relied on are what the job watches while it runs;
* emergency (static city and its flood scenario) and LP (the caller's own model): an
  organisation role (`gateway.policy.JOB_ROLES`).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any

from web3 import Web3

from gateway.deps import Grant, Session, enforce, known_purpose
from gateway.jobs import twin_inputs
from gateway.jobs.errors import JobInputUnavailable
from gateway.jobs.models import (
    ConsentUse,
    EmergencyJobRequest,
    EnergyJobRequest,
    JobRequest,
    LpJobRequest,
    TrafficJobRequest,
)
from gateway.policy import AccessRequest, Action
from gateway.runtime import Runtime
from gateway.twin_store import TwinCoreStore
from quantum import LpJob, read_lp_string
from quantum.runner.jobs import ProblemSpec


@dataclass
class PreparedJob:
    """A launch that passed every check: the problem, and what it rests on."""

    problem: ProblemSpec
    context: dict[str, Any] = field(default_factory=dict)
    consents: list[ConsentUse] = field(default_factory=list)
    decisions: list[int] = field(default_factory=list)
    roles: set[str] = field(default_factory=set)
    """Roles the grants rested on (`role:AGENCY` -> AGENCY): watched while the job runs."""

    def granted(self, grant: Grant) -> Grant:
        self.decisions.append(grant.seq)
        if grant.decision.reason.startswith("role:"):
            self.roles.add(grant.decision.reason.removeprefix("role:"))
        return grant


def _store(runtime: Runtime) -> Any:
    twin = runtime.twin
    if not isinstance(twin, TwinCoreStore):
        raise JobInputUnavailable("This gateway's twin cannot provide optimisation inputs.")
    return twin.store


async def prepare(runtime: Runtime, session: Session, request: JobRequest, job_id: str
                  ) -> PreparedJob:
    """Check and read the inputs of `request`; raises the first refusal."""
    purpose = known_purpose(request.purpose)
    resource = f"job:{job_id}"

    def ask(category: str | None = None, subject: str | None = None,
            provider: str | None = None) -> AccessRequest:
        return AccessRequest(session.address, Action.LAUNCH_JOB, resource=resource,
                             category=category, purpose=purpose, subject=subject,
                             provider=provider)

    if isinstance(request, LpJobRequest):
        prepared = PreparedJob(LpJob(lp=request.lp, name=request.name))
        prepared.granted(await enforce(runtime, session, ask()))
        await asyncio.to_thread(read_lp_string, request.lp, request.name)  # invalid_problem
        return prepared
    store = _store(runtime)
    if isinstance(request, EmergencyJobRequest):
        grant = await enforce(runtime, session, ask())
        problem, context = await asyncio.to_thread(twin_inputs.emergency_problem, store,
                                                   request.turnout_delay_min)
        prepared = PreparedJob(problem, context)
        prepared.granted(grant)
        return prepared
    if isinstance(request, TrafficJobRequest):
        return await _traffic(runtime, session, request, ask, store)
    return await _energy(runtime, session, request, ask, store)


async def _traffic(runtime: Runtime, session: Session, request: TrafficJobRequest, ask: Any,
                   store: Any) -> PreparedJob:
    refs = await asyncio.to_thread(runtime.twin.entities, category=twin_inputs.TRAFFIC,
                                   limit=1_000_000)
    providers = sorted({r.provider for r in refs}, key=lambda p: p or "")
    grants = [await enforce(runtime, session, ask(twin_inputs.TRAFFIC, provider=p))
              for p in providers or [None]]
    problem, context = await asyncio.to_thread(twin_inputs.traffic_problem, store,
                                               request.shares, request.offsets_s)
    prepared = PreparedJob(problem, {**context, "sumo": request.sumo})
    for grant in grants:
        prepared.granted(grant)
    return prepared


async def _energy(runtime: Runtime, session: Session, request: EnergyJobRequest, ask: Any,
                  store: Any) -> PreparedJob:
    meters = await asyncio.to_thread(twin_inputs.feeder_meters, store, request.feeder_id)
    subjects = sorted({Web3.to_checksum_address(s) for _m, s in meters if s})
    prepared = PreparedJob(problem=None)  # type: ignore[arg-type]
    for subject in subjects:
        grant = prepared.granted(await enforce(runtime, session,
                                               ask(twin_inputs.HOUSEHOLD, subject=subject)))
        if grant.decision.reason == "consent":
            prepared.consents.append(ConsentUse(
                subject=subject, category=twin_inputs.HOUSEHOLD, purpose=request.purpose,
                block=grant.block, decision=grant.seq))
    complete = all(s for _m, s in meters)
    observed = await asyncio.to_thread(twin_inputs.measured_net_kw, store, request.feeder_id,
                                       [m for m, s in meters if s], complete)
    prepared.problem, prepared.context = await asyncio.to_thread(
        twin_inputs.energy_problem, store, request.feeder_id, request.periods,
        request.block_kw, observed)
    return prepared
