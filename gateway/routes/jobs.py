"""Optimisation jobs: launch, list, poll, result, cancel, and progress as server-sent events.

A launch's checks are its dependency (`checked_launch`): the launch itself (`launch_job`) and
every input it reads are decisions in the audit log before the job exists. The other routes
show a caller only their own jobs (someone else's is `job_not_found`, like a missing one).

Sealing: a result computed from personal data (an energy job reads household meters) is
sealed to the caller's KEM key like any personal answer. Job views (state, progress, the
consents relied on: addresses and block numbers that the chain holds publicly) carry no
personal data, so they and their event stream are not sealed.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Annotated

from fastapi import APIRouter, Body, Depends, Path, Request
from sse_starlette import EventSourceResponse, ServerSentEvent

from gateway.deps import RuntimeDep, Session, SessionDep, authenticate
from gateway.jobs.inputs import PreparedJob, prepare
from gateway.jobs.models import (
    EmergencyJobRequest,
    EnergyJobRequest,
    JobList,
    JobRequest,
    JobResult,
    JobView,
    LpJobRequest,
    TrafficJobRequest,
)
from gateway.runtime import Runtime
from gateway.sealing import personal_data

router = APIRouter(prefix="/jobs", tags=["jobs"])

JobRequestBody = Annotated[
    TrafficJobRequest | EmergencyJobRequest | EnergyJobRequest | LpJobRequest,
    Body(discriminator="kind"),
]
JobId = Annotated[str, Path(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.-]+$")]


@dataclass(frozen=True, slots=True)
class Launch:
    """A launch that passed every check, and the job id its decisions name."""

    session: Session
    request: JobRequest
    prepared: PreparedJob
    job_id: str


async def checked_launch(request: Request, body: JobRequestBody) -> Launch:
    """The launch permission and each input read (audited; raises the first refusal)."""
    session = await authenticate(request)
    runtime: Runtime = request.app.state.runtime
    job_id = uuid.uuid4().hex
    prepared = await prepare(runtime, session, body, job_id)
    return Launch(session, body, prepared, job_id)


LaunchDep = Annotated[Launch, Depends(checked_launch)]


@router.post("", status_code=202)
async def submit_job(launch: LaunchDep, runtime: RuntimeDep) -> JobView:
    """Queue a checked launch; poll it, or follow `/jobs/{job_id}/events`."""
    return await runtime.jobs.launch(launch.session.address, launch.request, launch.prepared,
                                     launch.job_id)


@router.get("")
async def list_jobs(session: SessionDep, runtime: RuntimeDep) -> JobList:
    """The caller's jobs, newest first."""
    return JobList(jobs=await runtime.jobs.jobs(session.address))


@router.get("/{job_id}")
async def get_job(job_id: JobId, session: SessionDep, runtime: RuntimeDep) -> JobView:
    """One of the caller's jobs: state, progress, and the decisions and consents it rests on."""
    return await runtime.jobs.get(session.address, job_id)


@router.get("/{job_id}/result")
async def get_job_result(job_id: JobId, request: Request, session: SessionDep,
                         runtime: RuntimeDep) -> JobResult:
    """A succeeded job's report with the twin's KPIs (409 before the end or without one)."""
    view = await runtime.jobs.get(session.address, job_id)
    if view.consents or view.kind == "energy":
        personal_data(request, session)
    return await runtime.jobs.result(session.address, job_id)


@router.post("/{job_id}/cancel")
async def cancel_job(job_id: JobId, session: SessionDep, runtime: RuntimeDep) -> JobView:
    """Cancel a queued or running job (its partial results are discarded); answers once it
    has stopped, or after a few seconds with it still stopping."""
    return await runtime.jobs.cancel(session.address, job_id)


@router.get("/{job_id}/events", response_class=EventSourceResponse)
async def job_events(job_id: JobId, session: SessionDep,
                     runtime: RuntimeDep) -> EventSourceResponse:
    """`event: status` with the job's view, first as it is now, then at each change; the
    stream ends after a terminal state."""
    await runtime.jobs.get(session.address, job_id)  # 404 before the stream starts

    async def stream() -> AsyncIterator[ServerSentEvent]:
        async for view in runtime.jobs.watch(session.address, job_id):
            yield ServerSentEvent(data=view.model_dump_json(), event="status")

    return EventSourceResponse(stream(), ping=15)
