"""Jobs in the gateway's database: one row per job, written at every state change.

The row is the job's truth across restarts: the spec it runs (inputs as read at launch), the
consents and audit decisions it rests on, and its state. A row in an end state is never
written again (every update is guarded by the state), so a late event cannot resurrect a
finished job.
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

from sqlalchemy import Engine, select, update
from sqlmodel import Field, SQLModel

from gateway.jobs.models import ConsentUse, JobView
from quantum import JobError, JobState, Progress

TERMINAL = tuple(s.value for s in JobState if s.terminal)
MAX_RECOVERIES = 1
"""A job found running at start-up (its gateway stopped mid-run) is re-queued this often."""


class JobRow(SQLModel, table=True):
    """A persisted job. JSON columns hold pydantic models dumped in JSON mode."""

    __tablename__ = "gateway_jobs"

    job_id: str = Field(primary_key=True, max_length=64)
    owner: str = Field(index=True, max_length=42)
    kind: str = Field(max_length=16)
    purpose: str = Field(max_length=64)
    state: str = Field(index=True, max_length=16)
    backend: str = Field(max_length=16)
    spec: str | None = None
    context: str | None = None
    consents: str = "[]"
    decisions: str = "[]"
    progress: str | None = None
    result: str | None = None
    error_code: str | None = Field(default=None, max_length=64)
    error_message: str | None = None
    cancel_reason: str | None = Field(default=None, max_length=64)
    revoked: str | None = None
    submitted_at: float = 0.0
    started_at: float | None = None
    finished_at: float | None = None
    updated_at: float = 0.0
    starts: int = 0
    recovered: int = 0


def _when(epoch: float | None) -> datetime | None:
    return None if epoch is None else datetime.fromtimestamp(epoch, UTC)


def view_of(row: JobRow) -> JobView:
    """The API's view of a row."""
    error = (JobError(code=row.error_code, message=row.error_message or "")
             if row.error_code else None)
    return JobView(
        job_id=row.job_id, kind=row.kind, state=JobState(row.state), owner=row.owner,
        purpose=row.purpose, backend=row.backend,
        submitted_at=_when(row.submitted_at) or datetime.now(UTC),
        started_at=_when(row.started_at), finished_at=_when(row.finished_at),
        progress=Progress.model_validate_json(row.progress) if row.progress else None,
        error=error, cancel_reason=row.cancel_reason,
        revoked=ConsentUse.model_validate_json(row.revoked) if row.revoked else None,
        consents=[ConsentUse.model_validate(c) for c in json.loads(row.consents)],
        decisions=list(json.loads(row.decisions)), starts=row.starts, recovered=row.recovered,
    )


@dataclass(frozen=True)
class Recovery:
    """What start-up does with a job it finds unfinished."""

    action: Literal["resubmit", "requeue", "fail"]
    updates: dict[str, Any]


def plan_recovery(row: JobRow, max_recoveries: int = MAX_RECOVERIES) -> Recovery:
    """Queued jobs never started: submit them again. A running one was interrupted (crash or
    shutdown): re-queue it once; interrupted again, it fails with `job_interrupted`."""
    if row.state == JobState.QUEUED:
        return Recovery("resubmit", {})
    if row.recovered < max_recoveries:
        return Recovery("requeue", {"state": JobState.QUEUED.value, "progress": None,
                                    "recovered": row.recovered + 1})
    return Recovery("fail", {
        "state": JobState.FAILED.value, "finished_at": time.time(), "progress": None,
        "error_code": "job_interrupted",
        "error_message": f"the gateway stopped while the job ran, {row.recovered + 1} times; "
                         "it is not run again",
    })


class JobStore:
    """Reads and guarded writes of `gateway_jobs` (synchronous: call from a worker thread)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        JobRow.__table__.create(engine, checkfirst=True)  # type: ignore[attr-defined]

    def insert(self, row: JobRow) -> None:
        row.updated_at = time.time()
        table = JobRow.__table__  # type: ignore[attr-defined]
        with self.engine.begin() as conn:
            conn.execute(table.insert().values(**row.model_dump()))

    def get(self, job_id: str) -> JobRow | None:
        with self.engine.connect() as conn:
            found = conn.execute(select(JobRow.__table__).where(  # type: ignore[attr-defined]
                JobRow.__table__.c.job_id == job_id)).mappings().first()  # type: ignore[attr-defined]
        return JobRow.model_validate(dict(found)) if found else None

    def update(self, job_id: str, **values: Any) -> bool:
        """Write `values` unless the job has already ended; True when a row changed."""
        table = JobRow.__table__  # type: ignore[attr-defined]
        values["updated_at"] = time.time()
        with self.engine.begin() as conn:
            done = conn.execute(update(table).where(
                table.c.job_id == job_id, table.c.state.not_in(TERMINAL)).values(**values))
        return bool(done.rowcount)

    def unfinished(self) -> list[JobRow]:
        """Queued and running jobs, oldest first."""
        return self._select(JobRow.__table__.c.state.not_in(TERMINAL))  # type: ignore[attr-defined]

    def owned_by(self, owner: str, limit: int = 100) -> list[JobRow]:
        """The owner's jobs, newest first."""
        table = JobRow.__table__  # type: ignore[attr-defined]
        rows = self._select(table.c.owner == owner, newest_first=True, limit=limit)
        return rows

    def _select(self, *where: Any, newest_first: bool = False, limit: int | None = None
                ) -> list[JobRow]:
        table = JobRow.__table__  # type: ignore[attr-defined]
        order = table.c.submitted_at.desc() if newest_first else table.c.submitted_at
        query = select(table).where(*where).order_by(order)
        if limit is not None:
            query = query.limit(limit)
        with self.engine.connect() as conn:
            return [JobRow.model_validate(dict(r)) for r in conn.execute(query).mappings()]


def dumps(models: Sequence[Any]) -> str:
    """A JSON list of pydantic models or plain values."""
    return json.dumps([m.model_dump(mode="json") if hasattr(m, "model_dump") else m
                       for m in models])
