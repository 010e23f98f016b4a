"""The job service: launches, state, audit and recovery around quantum's `JobRunner`.

The runner calls its listener on whichever thread changed a job (its monitor thread, or the
caller of submit/cancel, which may be the event loop), so the listener only queues the status.
One `qcity-job-events` thread applies them in order: it writes the row (guarded: a late event
never rewrites an ended job), re-simulates a succeeded plan on the twin, appends the outcome
decision to the audit log (on the event loop, where the log lives, so it is anchored like any
other decision) and wakes the watchers (server-sent events, a cancel waiting for its effect).
The event loop never waits for a solver or a job's database write.

The engine (a process pool, or a Dask cluster) starts when the first job needs it, so a
gateway that never runs a job never starts worker processes.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import queue
import threading
import time
from collections.abc import AsyncIterator, Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import Engine as DbEngine

from contracts.names import term_id
from gateway.audit.records import DecisionRecord
from gateway.jobs import twin_inputs
from gateway.jobs.engine import BorrowedBackend, Engine, open_engine
from gateway.jobs.errors import (
    JobFinished,
    JobHasNoResult,
    JobNotFinished,
    JobNotFound,
    JobsUnavailable,
)
from gateway.jobs.models import ConsentUse, JobRequest, JobResult, JobView, ResultSummary
from gateway.jobs.store import TERMINAL, JobRow, JobStore, dumps, plan_recovery, view_of
from gateway.logs import log_event
from gateway.policy import Action
from gateway.twin_store import TwinCoreStore
from quantum import JobBackend, JobRunner, JobSpec, JobState, JobStatus, SolveReport
from quantum.errors import JobNotFound as RunnerJobNotFound

if TYPE_CHECKING:
    from gateway.audit.log import AuditLog
    from gateway.index import PermissionIndex
    from gateway.jobs.inputs import PreparedJob
    from gateway.settings import GatewaySettings
    from gateway.twin import TwinPort

_log = logging.getLogger("qcity.gateway.jobs")

CLOSED_REASON = "runner_closed"
"""The runner's reason when it closes: such a job is left unfinished for the next start."""
BASIS_ROLES = "basis_roles"
"""Key in a job's stored context: the roles its launch rested on, watched while it runs."""
CANCEL_WAIT_S = 10.0
"""How long `POST /jobs/{id}/cancel` waits for a running job to stop before answering."""

Watcher = tuple[asyncio.AbstractEventLoop, "asyncio.Queue[JobView | None]"]


def _epoch(when: datetime | None) -> float | None:
    return None if when is None else when.timestamp()


class JobService:
    """Owns the runner, the job table and the job decisions of one gateway (see module doc)."""

    def __init__(self, settings: GatewaySettings, db: DbEngine, audit: AuditLog,
                 index: PermissionIndex, twin: TwinPort, *,
                 backend: JobBackend | None = None) -> None:
        self.store = JobStore(db)
        self._settings = settings
        self._audit = audit
        self._index = index
        self._twin = twin
        self._borrowed = backend
        self._engine: Engine | None = None
        self._runner: JobRunner | None = None
        self._opening = asyncio.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._events: queue.Queue[JobStatus | None] = queue.Queue()
        self._thread: threading.Thread | None = None
        self._watchers: dict[str, set[Watcher]] = {}
        self._watch_lock = threading.Lock()
        self._revoked: dict[str, ConsentUse] = {}
        self._lost_role: dict[str, str] = {}
        self._started: set[str] = set()
        self._closing = False

    @property
    def runner(self) -> JobRunner | None:
        """The runner, once the first job started it."""
        return self._runner

    # ------------------------------------------------------------------ lifecycle

    async def start(self) -> None:
        """Start the event thread, then recover what the last run left unfinished."""
        self._loop = asyncio.get_running_loop()
        self._closing = False
        self._thread = threading.Thread(target=self._apply_events, name="qcity-job-events",
                                        daemon=True)
        self._thread.start()
        rows = await asyncio.to_thread(self.store.unfinished)
        if rows:
            await self._recover(rows)

    async def close(self) -> None:
        """Stop the runner without ending any job: what was queued or running stays so in the
        store, and the next start re-queues it (`plan_recovery`)."""
        self._closing = True
        runner, self._runner = self._runner, None
        if runner is not None:
            await asyncio.to_thread(runner.close)
        engine, self._engine = self._engine, None
        if engine is not None:
            await asyncio.to_thread(engine.release)
        if self._thread is not None:
            self._events.put(None)
            await asyncio.to_thread(self._thread.join, 30)
            self._thread = None
        with self._watch_lock:
            watchers = [w for group in self._watchers.values() for w in group]
        for loop, waiting in watchers:
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(waiting.put_nowait, None)

    async def _ensure_runner(self) -> JobRunner:
        if self._closing or self._loop is None:
            raise JobsUnavailable("The job engine is not running.")
        async with self._opening:
            if self._runner is None:
                self._engine = await asyncio.to_thread(self._open_engine)
                self._runner = JobRunner(self._engine.backend, on_event=self._events.put)
                log_event(_log, "job_engine_started", backend=self._engine.backend.name,
                          capacity=self._engine.backend.capacity)
        return self._runner

    def _open_engine(self) -> Engine:
        if self._borrowed is not None:
            return Engine(BorrowedBackend(self._borrowed))
        return open_engine(self._settings.dask_scheduler, self._settings.job_workers)

    async def _recover(self, rows: list[JobRow]) -> None:
        """Queued rows are submitted again, running ones re-queued once, then failed."""
        runner = await self._ensure_runner()
        for row in rows:
            plan = plan_recovery(row)
            log_event(_log, "job_recovered", job_id=row.job_id, state=row.state,
                      action=plan.action)
            if plan.action == "fail":
                seq = await self._append_now(self._outcome(row, False,
                                                           "job_failed:job_interrupted"))
                await asyncio.to_thread(self.store.update, row.job_id, **plan.updates,
                                        decisions=self._with_decision(row, seq))
                continue
            await asyncio.to_thread(self.store.update, row.job_id, **plan.updates,
                                    backend=runner.backend.name)
            await asyncio.to_thread(self._submit, runner, row)

    # ------------------------------------------------------------------ the API's verbs

    async def launch(self, owner: str, request: JobRequest, prepared: PreparedJob,
                     job_id: str) -> JobView:
        """Persist and queue a launch whose checks all passed (`gateway.jobs.inputs`)."""
        runner = await self._ensure_runner()
        spec = JobSpec(job_id=job_id, problem=prepared.problem, solver=request.solver,
                       labels={"kind": request.kind, "purpose": request.purpose})
        row = JobRow(
            job_id=job_id, owner=owner, kind=request.kind, purpose=request.purpose,
            state=JobState.QUEUED.value, backend=runner.backend.name,
            spec=spec.model_dump_json(),
            context=json.dumps({**prepared.context, BASIS_ROLES: sorted(prepared.roles)}),
            consents=dumps(prepared.consents), decisions=json.dumps(prepared.decisions),
            submitted_at=time.time(),
        )
        await asyncio.to_thread(self.store.insert, row)
        await asyncio.to_thread(self._submit, runner, row)
        log_event(_log, "job_launched", job_id=job_id, kind=request.kind,
                  backend=row.backend, consents=len(prepared.consents))
        return view_of(row)

    async def get(self, owner: str, job_id: str) -> JobView:
        """The caller's job (someone else's is as unknown as a missing one)."""
        return view_of(await self._owned(owner, job_id))

    async def jobs(self, owner: str, limit: int = 100) -> list[JobView]:
        """The caller's jobs, newest first."""
        return [view_of(r) for r in await asyncio.to_thread(self.store.owned_by, owner, limit)]

    async def result(self, owner: str, job_id: str) -> JobResult:
        """A succeeded job's result; 409 while it runs or when it ended without one."""
        row = await self._owned(owner, job_id)
        if row.state not in TERMINAL:
            raise JobNotFinished(job_id=job_id, state=row.state)
        if row.state != JobState.SUCCEEDED or row.result is None:
            raise JobHasNoResult(job_id=job_id, state=row.state)
        return JobResult.model_validate_json(row.result)

    async def cancel(self, owner: str, job_id: str, timeout_s: float = CANCEL_WAIT_S
                     ) -> JobView:
        """Cancel the caller's job; waits up to `timeout_s` for a running one to stop."""
        row = await self._owned(owner, job_id)
        if row.state in TERMINAL:
            raise JobFinished(job_id=job_id, state=row.state)
        runner = self._runner
        if runner is None:
            raise JobsUnavailable("The job engine is not running.")
        async with self.watching(job_id) as changes:
            try:
                await asyncio.to_thread(runner.cancel, job_id, "requested")
            except RunnerJobNotFound:  # not ours to run (another gateway's): end the row here
                await self._cancel_orphan(row)
            view = view_of(await self._owned(owner, job_id))
            deadline = time.monotonic() + timeout_s
            while not view.state.terminal and (left := deadline - time.monotonic()) > 0:
                try:
                    changed = await asyncio.wait_for(changes.get(), left)
                except TimeoutError:
                    break
                if changed is None:
                    break
                view = changed
        return view

    async def watch(self, owner: str, job_id: str) -> AsyncIterator[JobView]:
        """The job's current view, then each change, ending after a terminal state."""
        async with self.watching(job_id) as changes:
            last = await self.get(owner, job_id)
            yield last
            while not last.state.terminal:
                view = await changes.get()
                if view is None:
                    return
                if view != last:
                    last = view
                    yield view

    @contextlib.asynccontextmanager
    async def watching(self, job_id: str) -> AsyncIterator[asyncio.Queue[JobView | None]]:
        """A queue of the job's views as the event thread writes them (None: closing)."""
        changes: asyncio.Queue[JobView | None] = asyncio.Queue()
        watcher = (asyncio.get_running_loop(), changes)
        with self._watch_lock:
            self._watchers.setdefault(job_id, set()).add(watcher)
        try:
            yield changes
        finally:
            with self._watch_lock:
                group = self._watchers.get(job_id, set())
                group.discard(watcher)
                if not group:
                    self._watchers.pop(job_id, None)

    async def _owned(self, owner: str, job_id: str) -> JobRow:
        row = await asyncio.to_thread(self.store.get, job_id[:64])
        if row is None or row.owner != owner:
            raise JobNotFound(job_id=job_id[:64])
        return row

    async def _cancel_orphan(self, row: JobRow) -> None:
        seq = await self._append_now(self._outcome(row, False, "job_cancelled:requested"))
        await asyncio.to_thread(
            self.store.update, row.job_id, state=JobState.CANCELLED.value, progress=None,
            finished_at=time.time(), cancel_reason="requested",
            decisions=self._with_decision(row, seq))
        await asyncio.to_thread(self._notify, row.job_id)

    # ------------------------------------------------------------------ submission

    def _submit(self, runner: JobRunner, row: JobRow) -> None:
        """Hand a stored job to the runner, watching the consents it rests on (blocking)."""
        spec = JobSpec.model_validate_json(row.spec or "{}")
        consents = [ConsentUse.model_validate(c) for c in json.loads(row.consents)]
        roles = list(json.loads(row.context or "{}").get(BASIS_ROLES, []))
        runner.submit(spec, should_cancel=self._watch_hook(row.job_id, row.owner, consents,
                                                           roles))

    def _watch_hook(self, job_id: str, owner: str, consents: list[ConsentUse],
                    roles: list[str]) -> Callable[[], bool] | None:
        """The runner's `should_cancel`: has the launcher lost a role its launch rested on,
        or is any consent the job relied on no longer live at the index's block? Judged like
        `PermissionEngine` does (expiry against the later of the block's time and now); the
        first one found gone is what the job records."""
        if not consents and not roles:
            return None
        terms = [(c, term_id(c.category), term_id(c.purpose)) for c in consents]

        def revoked() -> bool:
            if self._closing:
                return False
            for role in roles:
                if not self._index.has_role(owner, role):
                    self._lost_role.setdefault(job_id, role)
                    return True
            now = max(self._index.block_time, int(time.time()))
            for use, category, purpose in terms:
                if not self._index.consent_live(use.subject, owner, category, purpose, now):
                    self._revoked.setdefault(job_id, use)
                    return True
            return False

        return revoked

    # ------------------------------------------------------------------ the event thread

    def _apply_events(self) -> None:
        while (status := self._events.get()) is not None:
            try:
                self._apply(status)
            except Exception:  # noqa: BLE001 - one bad event must not stop the others
                _log.exception("event=job_event_failed job_id=%s state=%s", status.job_id,
                               status.state.value)

    def _apply(self, status: JobStatus) -> None:
        job_id, state = status.job_id, status.state
        if state == JobState.QUEUED:
            return  # the row was written queued before the job was submitted
        if state == JobState.RUNNING:
            values: dict[str, Any] = {}
            if job_id not in self._started:
                self._started.add(job_id)
                values.update(state=state.value, started_at=_epoch(status.started_at),
                              starts=JobRow.__table__.c.starts + 1)  # type: ignore[attr-defined]
            if status.progress is not None:
                values["progress"] = status.progress.model_dump_json()
            if values and self.store.update(job_id, **values):
                self._notify(job_id)
            return
        if self._closing and status.cancel_reason == CLOSED_REASON:
            return  # left queued or running: the next start picks it up
        row = self.store.get(job_id)
        if row is None or row.state in TERMINAL:
            return
        self._finish(row, status)
        self._notify(job_id)

    def _finish(self, row: JobRow, status: JobStatus) -> None:
        """Write the end state with its audit decision (the decision first: its seq is kept)."""
        values: dict[str, Any] = {"state": status.state.value,
                                  "finished_at": _epoch(status.finished_at) or time.time()}
        if status.state == JobState.SUCCEEDED and status.result is not None:
            report = self._with_kpis(row, status.result)
            values["result"] = JobResult(job_id=row.job_id, summary=ResultSummary.of(report),
                                         report=report).model_dump_json()
            record = self._outcome(row, True, "job_succeeded")
        elif status.state == JobState.FAILED:
            error = status.error
            values.update(error_code=error.code if error else "internal_error",
                          error_message=error.message if error else "", progress=None)
            record = self._outcome(row, False, f"job_failed:{values['error_code']}")
        else:  # cancelled: partial results (progress carries the best objective) are dropped
            revoked = self._revoked.pop(row.job_id, None)
            lost = self._lost_role.pop(row.job_id, None)
            reason = ("consent_revoked" if revoked is not None
                      else "role_revoked" if lost is not None
                      else "watch_failed" if status.cancel_reason == "hook"
                      else status.cancel_reason or "requested")
            values.update(state=JobState.CANCELLED.value, cancel_reason=reason, progress=None)
            if revoked is not None:
                values["revoked"] = revoked.model_dump_json()
                record = self._outcome(row, False, reason, category=revoked.category,
                                       purpose=revoked.purpose, subject=revoked.subject)
            elif lost is not None:
                record = self._outcome(row, False, f"role_revoked:{lost}")
            else:
                record = self._outcome(row, False, f"job_cancelled:{reason}")
        values["decisions"] = self._with_decision(row, self._append(record))
        self.store.update(row.job_id, **values)
        log_event(_log, "job_finished", job_id=row.job_id, state=values["state"],
                  reason=record.reason)

    def _with_kpis(self, row: JobRow, report: SolveReport) -> SolveReport:
        """The report with the twin's KPIs of the plan; without them if the twin cannot."""
        twin = self._twin
        if row.kind not in {"traffic", "emergency", "energy"} or not isinstance(
                twin, TwinCoreStore):
            return report
        try:
            spec = JobSpec.model_validate_json(row.spec or "{}")
            return twin_inputs.resimulate(twin.store, spec, json.loads(row.context or "{}"),
                                          report)
        except Exception as exc:  # noqa: BLE001 - the solve stands; the missing KPIs are logged
            log_event(_log, "job_kpis_failed", logging.WARNING, job_id=row.job_id,
                      error=type(exc).__name__)
            return report

    def _notify(self, job_id: str) -> None:
        with self._watch_lock:
            watchers = list(self._watchers.get(job_id, ()))
        if not watchers:
            return
        row = self.store.get(job_id)
        if row is None:
            return
        view = view_of(row)
        for loop, changes in watchers:
            with contextlib.suppress(RuntimeError):  # that loop has closed
                loop.call_soon_threadsafe(changes.put_nowait, view)

    # ------------------------------------------------------------------ audit

    def _outcome(self, row: JobRow, allowed: bool, reason: str, *, category: str | None = None,
                 purpose: str | None = None, subject: str | None = None) -> DecisionRecord:
        """A job's end as a decision on `job:<id>`: allowed only when its result is released
        to the launcher; a revoked consent is a denial naming that consent's terms."""
        return DecisionRecord(
            decided_at_ms=int(time.time() * 1000), actor=row.owner,
            action=str(Action.LAUNCH_JOB), resource=f"job:{row.job_id}", category=category,
            purpose=purpose or row.purpose, subject=subject, provider=None, allowed=allowed,
            reason=reason, block=self._index.block,
        )

    async def _append_now(self, record: DecisionRecord) -> int | None:
        try:
            return (await self._audit.append(record)).seq
        except Exception as exc:  # noqa: BLE001 - the job's state is written either way
            log_event(_log, "job_audit_failed", logging.ERROR, error=type(exc).__name__)
            return None

    def _append(self, record: DecisionRecord) -> int | None:
        """`_append_now` from the event thread, on the event loop."""
        if self._loop is None or self._loop.is_closed():
            return None
        future = asyncio.run_coroutine_threadsafe(self._append_now(record), self._loop)
        try:
            return future.result(timeout=30)
        except Exception as exc:  # noqa: BLE001 - e.g. the loop stopped meanwhile
            log_event(_log, "job_audit_failed", logging.ERROR, error=type(exc).__name__)
            return None

    @staticmethod
    def _with_decision(row: JobRow, seq: int | None) -> str:
        decisions = list(json.loads(row.decisions))
        if seq is not None:
            decisions.append(seq)
        return json.dumps(decisions)
